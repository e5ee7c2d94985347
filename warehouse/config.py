"""The project's environment contract: every path and address, from `CREDIT_*` variables.

One place reads the environment; every other module calls :func:`get_settings`.
The defaults put all generated state under ``var/`` in the repository and documents for
people under ``reports/``; see README.md ("The contract") and .env.example.
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SECRET = "dev-only-not-a-secret"  # noqa: S105 - refused outside dev

# What each API key role may do (CREDIT_API_KEYS entries `name:role:sha256-of-key`):
# app = score; superset = score + make a client's file link; officer = score, read files, make links.
API_ROLES: dict[str, frozenset[str]] = {
    "app": frozenset({"score"}),
    "superset": frozenset({"score", "link"}),
    "officer": frozenset({"score", "file", "link"}),
}
_HEX = frozenset("0123456789abcdef")


class ApiKey(NamedTuple):
    """One accepted API key: its name (the audit log's "who"), role and SHA-256 of the key."""

    name: str
    role: str
    sha256: str
    plain: bool = False  # a bare key (dev and test only): role officer, named by its fingerprint


def parse_api_keys(text: str, env: str) -> list[ApiKey]:
    """CREDIT_API_KEYS: comma-separated `name:role:sha256` entries; bare keys outside prod only.

    Errors name the entry by its position (never its content: it may be a secret).
    """
    keys: list[ApiKey] = []
    for i, raw in enumerate((p.strip() for p in text.split(",")), start=1):
        if not raw:
            continue
        parts = raw.split(":")
        if len(parts) == 3:
            name, role, digest = (p.strip() for p in parts)
            digest = digest.lower()
            if not name:
                raise ValueError(f"CREDIT_API_KEYS entry {i}: empty name (expected name:role:sha256)")
            if role not in API_ROLES:
                raise ValueError(
                    f"CREDIT_API_KEYS entry {i} ({name}): unknown role {role!r}; one of {', '.join(API_ROLES)}"
                )
            if len(digest) != 64 or not set(digest) <= _HEX:
                raise ValueError(
                    f"CREDIT_API_KEYS entry {i} ({name}): the third part must be the key's SHA-256 "
                    "(64 hex digits; `python -m api key NAME ROLE` makes one)"
                )
            if any(k.name == name for k in keys):
                raise ValueError(f"CREDIT_API_KEYS entry {i}: the name {name!r} is used twice")
            keys.append(ApiKey(name, role, digest))
        elif env == "prod":
            raise ValueError(
                f"CREDIT_API_KEYS entry {i} is a bare key: CREDIT_ENV=prod accepts only name:role:sha256 entries"
            )
        else:
            digest = hashlib.sha256(raw.encode()).hexdigest()
            keys.append(ApiKey(f"key:{digest[:12]}", "officer", digest, plain=True))
    return keys


# Passwords that count as "not set" outside dev (the demo's and the usual factory values).
DEFAULT_PASSWORDS = frozenset({"", "admin", "analyst", "officer", "password", "postgres", "mlflow", "superset",
                               "changeme", "secret", "root", "test"})  # fmt: skip
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def store_uri_problem(var: str, uri: str, env: str, environ: dict[str, str] | None = None) -> str | None:
    """Why `uri` (a metadata or tracking store) may not be used outside dev, or None.

    A database URI (postgresql, mysql, ...) needs a password that is not a default one; an HTTP(S)
    tracking server off loopback needs credentials (MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME
    with a non-default MLFLOW_TRACKING_PASSWORD). File stores (sqlite, a path) hold no secret.
    The message never contains the URI (it may hold a password).
    """
    if env == "dev" or not uri:
        return None
    import os
    from urllib.parse import urlsplit

    environ = os.environ if environ is None else environ
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+")[0].lower()
    if scheme in ("postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "redis", "rediss"):
        if (parts.password or "").lower() in DEFAULT_PASSWORDS:
            return (
                f"CREDIT_ENV={env} refuses {var}: a {scheme} URI without a password or with a default one "
                "(set a long random password for that database user)"
            )
    elif scheme in ("http", "https") and (parts.hostname or "") not in LOOPBACK:
        token = environ.get("MLFLOW_TRACKING_TOKEN", "")
        password = environ.get("MLFLOW_TRACKING_PASSWORD", "")
        if not token and (
            not environ.get("MLFLOW_TRACKING_USERNAME") or password.lower() in DEFAULT_PASSWORDS
        ):
            return (
                f"CREDIT_ENV={env} refuses {var}: a tracking server off loopback needs MLFLOW_TRACKING_TOKEN "
                "or MLFLOW_TRACKING_USERNAME with a non-default MLFLOW_TRACKING_PASSWORD"
            )
    return None


class Settings(BaseSettings):
    """Paths, addresses and secrets. Derived paths follow ``home`` unless set explicitly."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    home: Path = Field(default=REPO_ROOT / "var")
    warehouse_path: Path | None = None
    serving_path: Path | None = None
    reports_dir: Path = Field(default=REPO_ROOT / "reports")
    duckdb_memory_limit: str = "1500MB"
    duckdb_threads: int = 2

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_keys: str = ""  # comma-separated name:role:sha256 entries (bare keys in dev/test); required in prod

    superset_port: int = 8088

    # The production stack's services on this machine (python -m deploy, `make prod-check`):
    # PostgreSQL (Superset's metadata, MLflow's backend store) and Redis (Superset's caches, the
    # API's rate-limit counts shared by its workers). CREDIT_REDIS_URL empty: counts in process.
    pg_port: int = Field(default=5433, ge=1, le=65535)
    redis_port: int = Field(default=6380, ge=1, le=65535)
    redis_url: str = ""
    # the pipeline container's daily `make pipeline` (python -m deploy daily), HH:MM UTC
    daily_at: str = Field(default="02:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    # The client's file (api/README.md): signed links on this base URL (default the API's own
    # address), their HMAC secret (the dev default is refused outside dev), how long a link lives,
    # and how long an applicant's data is kept (stated in every file).
    public_base_url: str = ""
    file_link_secret: str = DEFAULT_SECRET
    file_link_days: float = Field(default=7.0, gt=0, le=90)
    file_link_per_minute: int = Field(default=30, ge=1, le=10_000)
    retention_days: int = Field(default=1825, ge=1)

    _api_keys: list[ApiKey] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if self.warehouse_path is None:
            self.warehouse_path = self.home / "warehouse" / "build.duckdb"
        if self.serving_path is None:
            self.serving_path = self.home / "warehouse" / "serving.duckdb"
        self._api_keys = parse_api_keys(self.api_keys, self.env)
        if not self.file_link_secret.strip():
            self.file_link_secret = DEFAULT_SECRET  # empty = unset (refused outside dev by the API)
        if self.env == "prod" and not self._api_keys:
            raise ValueError("CREDIT_ENV=prod requires CREDIT_API_KEYS (name:role:sha256 entries)")
        if problem := store_uri_problem("MLFLOW_TRACKING_URI", self.mlflow_tracking_uri, self.env):
            raise ValueError(problem)
        if problem := store_uri_problem("CREDIT_REDIS_URL", self.redis_url, self.env):
            raise ValueError(problem)
        return self

    @property
    def api_key_entries(self) -> list[ApiKey]:
        return self._api_keys

    @property
    def public_url(self) -> str:
        return (self.public_base_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def mlflow_tracking_uri(self) -> str:
        import os

        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def dbt_target_path(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_log_path(self) -> Path:
        return self.home / "dbt" / "logs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached; call ``get_settings.cache_clear()`` after changing env).

    A setting the contract refuses (a default secret outside dev, a malformed key list...) ends the
    command with its message and exit status 2, without a traceback: every CLI reads settings first.
    """
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            (f"CREDIT_{str(e['loc'][0]).upper()}: " if e.get("loc") else "")
            + str(e.get("msg", "")).removeprefix("Value error, ")
            for e in exc.errors()
        )
        print(f"configuration refused: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
