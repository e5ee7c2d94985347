"""The environment contract as Superset's side reads it (no pydantic-settings in this venv)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SUPERSET_DIR = REPO_ROOT / "superset"
DEV_SECRET = "dev-only-superset-secret-not-for-production"  # noqa: S105 - refused outside dev


def credit_env() -> str:
    return os.environ.get("CREDIT_ENV", "dev")


def credit_home() -> Path:
    return Path(os.environ.get("CREDIT_HOME") or REPO_ROOT / "var").expanduser().resolve()


def superset_home() -> Path:
    """Superset's own state (metadata DB, pid file, logs, bundle) under CREDIT_HOME."""
    return credit_home() / "superset"


def serving_path() -> Path:
    explicit = os.environ.get("CREDIT_SERVING_PATH")
    path = Path(explicit) if explicit else credit_home() / "warehouse" / "serving.duckdb"
    return path.expanduser().resolve()


def reports_dir() -> Path:
    return Path(os.environ.get("CREDIT_REPORTS_DIR") or REPO_ROOT / "reports").expanduser().resolve()


def port() -> int:
    return int(os.environ.get("CREDIT_SUPERSET_PORT", "8088"))


def secret_key() -> str:
    """SUPERSET_SECRET_KEY, or the dev default, which is refused outside CREDIT_ENV=dev."""
    key = os.environ.get("SUPERSET_SECRET_KEY", "")
    if key and key != DEV_SECRET:
        return key
    if credit_env() != "dev":
        raise RuntimeError(
            f"CREDIT_ENV={credit_env()} refuses the default Superset secret key: set SUPERSET_SECRET_KEY "
            "to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return DEV_SECRET


def password(var: str, dev_default: str) -> str:
    """A user's password from the environment; dev may fall back to its documented default.

    Outside dev the variable must be set, and not to that default."""
    value = os.environ.get(var, "")
    if credit_env() == "dev":
        return value or dev_default
    if not value or value == dev_default:
        raise RuntimeError(f"CREDIT_ENV={credit_env()} requires {var} to be set to a non-default password")
    return value


# Passwords refused in SUPERSET_DATABASE_URI outside dev (as warehouse.config.DEFAULT_PASSWORDS;
# this venv does not import the pipeline's packages).
DEFAULT_DB_PASSWORDS = frozenset(
    {"", "admin", "password", "postgres", "superset", "changeme", "secret", "root"}
)
USER_PASSWORDS = {
    "SUPERSET_ADMIN_PASSWORD": "admin",
    "SUPERSET_ANALYST_PASSWORD": "analyst",
    "SUPERSET_OFFICER_PASSWORD": "officer",
}


def check_secrets() -> None:
    """Outside dev: the secret key, the users' passwords and the metadata database's password are
    set and not defaults (RuntimeError naming the variable otherwise). Called before anything starts."""
    secret_key()
    for var, dev_default in USER_PASSWORDS.items():
        password(var, dev_default)
    uri = os.environ.get("SUPERSET_DATABASE_URI", "")
    if credit_env() != "dev" and uri:
        from urllib.parse import urlsplit

        parts = urlsplit(uri)
        if not parts.scheme.startswith("sqlite") and (parts.password or "").lower() in DEFAULT_DB_PASSWORDS:
            raise RuntimeError(
                f"CREDIT_ENV={credit_env()} refuses SUPERSET_DATABASE_URI without a password or with a default one"
            )


def api_base_url() -> str:
    """The scoring API the live-score macros call: CREDIT_SUPERSET_API_URL, else CREDIT_API_HOST/PORT."""
    if explicit := os.environ.get("CREDIT_SUPERSET_API_URL", "").strip():
        return explicit.rstrip("/")
    host = os.environ.get("CREDIT_API_HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::"):  # noqa: S104 - a bind-all address: call it on loopback
        host = "127.0.0.1"
    return f"http://{host}:{os.environ.get('CREDIT_API_PORT', '8000')}"
