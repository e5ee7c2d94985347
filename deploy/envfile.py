"""The stack's env file, ``$CREDIT_HOME/.env.prod``: every address and secret of a production run.

Written once (mode 0600) with random secrets, never in the repository; later runs read it back so
that the databases' passwords and the API keys stay those the services were created with. It holds
the contract's variables (README, "The contract") plus the plain keys the stack's own clients need
(CREDIT_SUPERSET_API_KEY for Superset's live scores; CREDIT_STACK_*_KEY for the e2e tests and the
soak test); CREDIT_API_KEYS holds only their SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

NAME = ".env.prod"


def _entry(name: str, role: str, key: str) -> str:
    return f"{name}:{role}:{hashlib.sha256(key.encode()).hexdigest()}"


def env_file(home: Path) -> Path:
    return home / NAME


def read(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}: line {n}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def ensure(home: Path, pg_port: int, redis_port: int, api_port: int, superset_port: int) -> Path:
    """The env file of the stack under `home`, written with new secrets if it does not exist."""
    path = env_file(home)
    if path.exists():
        return path
    home.mkdir(parents=True, exist_ok=True)

    def pw() -> str:
        return secrets.token_hex(24)

    app_key, officer_key, superset_key = (secrets.token_urlsafe(32) for _ in range(3))
    values = {
        "CREDIT_ENV": "prod",
        "CREDIT_HOME": str(home),
        "CREDIT_PG_PORT": str(pg_port),
        "CREDIT_REDIS_PORT": str(redis_port),
        "CREDIT_REDIS_URL": f"redis://:{pw()}@127.0.0.1:{redis_port}/0",
        "MLFLOW_TRACKING_URI": f"postgresql+psycopg2://mlflow:{pw()}@127.0.0.1:{pg_port}/mlflow",
        "SUPERSET_DATABASE_URI": f"postgresql+psycopg2://superset:{pw()}@127.0.0.1:{pg_port}/superset",
        "CREDIT_API_HOST": "127.0.0.1",
        "CREDIT_API_PORT": str(api_port),
        "CREDIT_API_KEYS": ",".join(
            [
                _entry("shop-app", "app", app_key),
                _entry("desk", "officer", officer_key),
                _entry("superset", "superset", superset_key),
            ]
        ),  # fmt: skip
        "CREDIT_FILE_LINK_SECRET": secrets.token_hex(32),
        "CREDIT_SUPERSET_PORT": str(superset_port),
        "MLFLOW_PORT": str(superset_port + 1),
        "CREDIT_SUPERSET_API_KEY": superset_key,
        "SUPERSET_SECRET_KEY": secrets.token_hex(32),
        "SUPERSET_ADMIN_PASSWORD": pw(),
        "SUPERSET_ANALYST_PASSWORD": pw(),
        "SUPERSET_OFFICER_PASSWORD": pw(),
        "CREDIT_STACK_APP_KEY": app_key,
        "CREDIT_STACK_OFFICER_KEY": officer_key,
    }
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"# The production stack's addresses and secrets (python -m deploy env, {stamp}).\n"
        "# Never commit it; back it up with the warehouse and the registry (docs/deploy.md).\n"
        + "".join(f"{k}={v}\n" for k, v in values.items())
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def database_passwords(values: dict[str, str]) -> dict[str, str]:
    """{role: password} of the PostgreSQL databases named by the env file's URIs."""
    out = {}
    for var in ("MLFLOW_TRACKING_URI", "SUPERSET_DATABASE_URI"):
        parts = urlsplit(values[var])
        out[parts.username or ""] = parts.password or ""
    return out


def redis_password(values: dict[str, str]) -> str:
    return urlsplit(values["CREDIT_REDIS_URL"]).password or ""
