"""Superset configuration of the credit-scoring platform (loaded through SUPERSET_CONFIG_PATH).

Everything comes from the environment contract (README, .env.example):
- SUPERSET_SECRET_KEY: required unless CREDIT_ENV=dev (the dev default is refused elsewhere).
- SUPERSET_DATABASE_URI: the metadata database (any SQLAlchemy URI); by default SQLite under
  $CREDIT_HOME/superset/superset.db.
- CREDIT_SUPERSET_API_URL (else CREDIT_API_HOST / CREDIT_API_PORT) and CREDIT_SUPERSET_API_KEY:
  the scoring API that the Jinja macros `live_score_sql` and `live_reasons_sql` call for live
  scores (Client 360).
- The same API and key (role `superset`) make the signed links to a client's file that loan officers
  ask for from Client 360 (the blueprint of credit_superset/file_link.py).
- CREDIT_API_AUDIT_PATH (else $CREDIT_HOME/audit/api_audit.jsonl): the API's audit log, whose
  newest entries the macro `api_decisions_sql` shows on Monitoring.
DuckDB connections are forced read-only with external access off (no file reads from SQL Lab),
whatever the database's settings in the UI say (DB_CONNECTION_MUTATOR).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from credit_superset.audit import api_decisions_sql  # noqa: E402
from credit_superset.file_link import blueprint as file_link_blueprint  # noqa: E402
from credit_superset.live import live_reasons_sql, live_score_sql  # noqa: E402
from credit_superset.settings import DEV_SECRET, secret_key, superset_home  # noqa: E402

CREDIT_ENV = os.environ.get("CREDIT_ENV", "dev")
SECRET_KEY = secret_key()
_HOME = superset_home()
_HOME.mkdir(parents=True, exist_ok=True)
DATA_DIR = str(_HOME)

SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_DATABASE_URI") or f"sqlite:///{_HOME / 'superset.db'}"
SQLALCHEMY_TRACK_MODIFICATIONS = False

FEATURE_FLAGS = {
    "ENABLE_TEMPLATE_PROCESSING": True,  # Jinja in virtual datasets and RLS clauses
    "DASHBOARD_RBAC": True,  # dashboards open to the roles provisioning gives them
    "ALERT_REPORTS": False,
    "DRILL_TO_DETAIL": True,
    "DRILL_BY": True,
}

# Jinja macros available in SQL (virtual datasets): live scores from the scoring API, and its
# recent decisions read from the tail of its audit log (DuckDB itself keeps file access off).
JINJA_CONTEXT_ADDONS = {
    "live_score_sql": live_score_sql,
    "live_reasons_sql": live_reasons_sql,
    "api_decisions_sql": api_decisions_sql,
}

# Client 360's "Client file" chart links to /credit/file-link/<id>: the officer asks the scoring
# API for a signed link to give to the client (credit_superset/file_link.py; RLS's rule applies).
BLUEPRINTS = [file_link_blueprint]


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):  # noqa: N802
    """Force DuckDB connections read-only, without file access and with a frozen configuration."""
    if uri.drivername.startswith("duckdb"):
        connect_args = params.setdefault("connect_args", {})
        connect_args["read_only"] = True
        config = connect_args.setdefault("config", {})
        config["enable_external_access"] = False
        config["autoload_known_extensions"] = False
        config["autoinstall_known_extensions"] = False
        config["lock_configuration"] = True
    return uri, params


# Caches: in Redis when CREDIT_REDIS_URL is set (the production stack: shared by every gunicorn
# worker and kept across restarts), else small and in-process. The warehouse is replaced on
# publish, so results expire quickly.
_REDIS_URL = os.environ.get("CREDIT_REDIS_URL", "")


def _cache(prefix: str, timeout: int) -> dict:
    if _REDIS_URL:
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": _REDIS_URL,
                "CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_KEY_PREFIX": f"superset_{prefix}_"}  # fmt: skip
    return {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_KEY_PREFIX": f"{prefix}_"}


CACHE_CONFIG = _cache("credit", 300)
DATA_CACHE_CONFIG = _cache("data", 60)
FILTER_STATE_CACHE_CONFIG = _cache("filter", 86400)
EXPLORE_FORM_DATA_CACHE_CONFIG = _cache("explore", 86400)
RATELIMIT_STORAGE_URI = _REDIS_URL or "memory://"

# No uploads into the warehouse, no DML from SQL Lab.
UPLOAD_ENABLED = False
PREVENT_UNSAFE_DB_CONNECTIONS = True
SQLLAB_TIMEOUT = 60
SUPERSET_WEBSERVER_TIMEOUT = 60
ROW_LIMIT = 10000

# Served on loopback behind no proxy: no HTTPS, but keep session cookies strict.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
TALISMAN_ENABLED = CREDIT_ENV == "prod"
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

LOG_LEVEL = "WARNING"
APP_NAME = "Credit scoring"

__all__ = ["DEV_SECRET"]
