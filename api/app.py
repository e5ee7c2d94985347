"""`create_app()`: the FastAPI application, its lifespan (serving state, reloads, audit log) and errors."""

from __future__ import annotations

import gc
import logging
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from api.schemas import ErrorDetail
from api.security import Guard, SecurityLog, find_key, redact_paths
from api.services.audit import AuditLog, AuditUnavailable
from api.services.scoring import RequestProblem
from api.services.state import NotReady, ServingManager
from api.settings import get_api_settings
from warehouse.config import API_ROLES, DEFAULT_SECRET, get_settings
from warehouse.schema import load_schema

log = logging.getLogger(__name__)

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key (not needed when CREDIT_ENV=dev)"
)


class Unauthorized(Exception):
    pass


class Forbidden(Exception):
    pass


# Superset's proxy passes the officer's username on (keys of role superset only): the audit log's
# "who" is then the key's name plus that user.
USER_HEADER = "X-Credit-User"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's name (never the key), its role, and the officer Superset names."""

    name: str
    role: str
    user: str | None = None

    @property
    def who(self) -> str:
        return f"{self.name}/{self.user}" if self.user else self.name

    def may(self, permission: str) -> bool:
        return permission in API_ROLES.get(self.role, frozenset())


def authenticate(request: Request, key: str | None) -> Caller:
    """The caller of a key (compared by SHA-256, in constant time); anonymous officer in dev without keys."""
    settings = get_settings()
    entries = settings.api_key_entries
    if key and entries:
        match = find_key(entries, key)
        if match is not None:
            user = request.headers.get(USER_HEADER) if match.role == "superset" else None
            if user is not None:
                user = "".join(ch for ch in user if ch.isprintable())[:64] or None
            return Caller(match.name, match.role, user)
    if settings.env == "dev" and not (key and entries):
        return Caller("dev:anonymous", "officer")
    raise Unauthorized("missing or invalid X-API-Key" if key is None else "invalid X-API-Key")


def require(permission: str):
    """A dependency: the caller, who must hold `permission` (403 otherwise)."""

    def dependency(request: Request, key: Annotated[str | None, Depends(API_KEY_HEADER)] = None) -> Caller:
        caller = authenticate(request, key)
        if not caller.may(permission):
            raise Forbidden(
                f"the key {caller.name!r} (role {caller.role}) may not {permission.replace('_', ' ')}"
            )
        return caller

    return dependency


def caller_id(request: Request, key: Annotated[str | None, Depends(API_KEY_HEADER)] = None) -> str:
    """The scoring routes' caller for the audit log (permission `score`)."""
    return require("score")(request, key).who


def _descriptions() -> dict[str, str]:
    out: dict[str, str] = {}
    for table in load_schema().tables:
        for col in table.columns:
            out.setdefault(col.name, col.description)
    return out


def _validation_details(exc: RequestValidationError) -> list[dict]:
    desc = _descriptions()
    details = []
    for err in exc.errors():
        loc = [p if isinstance(p, (str, int)) else str(p) for p in err.get("loc", ())]
        names = [p for p in loc if isinstance(p, str) and p != "body"]
        field = names[-1] if names else None
        tables = [p for p in loc if isinstance(p, str) and p not in ("body", "applications") and p != field]
        msg = err.get("msg", "invalid value")
        if field in desc:
            msg = f"{field}: {msg} ({desc[field]})"
        elif field:
            msg = f"{field}: {msg}"
        details.append(
            ErrorDetail(
                loc=loc,
                msg=msg,
                type=str(err.get("type", "value_error")),
                field=field,
                table=tables[-1] if tables else None,
                description=desc.get(field or ""),
            ).model_dump()
        )
    return details


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    api_settings = get_api_settings()
    manager = ServingManager(
        serving_path=settings.serving_path,
        tracking_uri=settings.mlflow_tracking_uri,
        model_name=api_settings.model_name,
        cache_root=api_settings.cache_root,
        interval_s=api_settings.reload_interval_s,
        engine_workers=api_settings.workers_per_engine,
        batch_max=max(api_settings.batch_max, 64),
    )
    manager.start()
    # What start-up loaded (libraries, model, feature engine) lives as long as the process: freeze it
    # out of the garbage collector's reach, so that the full collections triggered by the requests'
    # short-lived objects scan only those. Over the start-up heap a full collection takes 40+ ms,
    # a pause for every request in flight. (The first serving state is frozen with it: if a reload
    # drops it inside a reference cycle, that one copy is never collected; later ones are.)
    gc.collect()
    gc.freeze()
    audit = AuditLog(api_settings.audit_file, fsync=api_settings.audit_fsync)
    app.state.manager = manager
    app.state.audit = audit
    try:
        yield
    finally:
        manager.stop()
        audit.close()


def startup_problem() -> str | None:
    """Why the API must not start with these settings (outside dev: no keys, default link secret)."""
    settings = get_settings()
    if settings.env == "dev":
        return None
    if not settings.api_key_entries:
        return (
            f"CREDIT_ENV={settings.env} refuses to serve without CREDIT_API_KEYS: every route but /health, "
            "/ready and the signed links needs a key (python -m api key NAME ROLE makes one)"
        )
    if settings.file_link_secret == DEFAULT_SECRET:
        return (
            f"CREDIT_ENV={settings.env} refuses the default CREDIT_FILE_LINK_SECRET: set a random secret "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return None


def create_app() -> FastAPI:
    from api.routes import client_file, health, scoring

    settings = get_settings()
    if problem := startup_problem():
        raise RuntimeError(problem)
    app = FastAPI(
        title="Credit scoring API",
        version="1.0.0",
        description=(
            "Scores Home Credit applicants with the registered champion model (`credit_default@champion`): "
            "look-ups of applicants already in the published warehouse, and new applications whose "
            "features are computed by the feature mart's own dbt SQL. Every scoring request is written "
            "to a hash-chained audit log. Authentication: `X-API-Key` header "
            f"({'not required in this dev environment' if settings.env == 'dev' else 'required'})."
        ),
        lifespan=lifespan,
        responses={401: {"description": "Missing or invalid X-API-Key"}},
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_details(exc)})

    @app.exception_handler(RequestProblem)
    async def _problem(request: Request, exc: RequestProblem) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [d.model_dump() for d in exc.details]})

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            status_code=401, content={"detail": str(exc)}, headers={"WWW-Authenticate": "APIKey"}
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(AuditUnavailable)
    async def _no_audit(request: Request, exc: AuditUnavailable) -> JSONResponse:
        log.error("%s", exc)
        return JSONResponse(
            status_code=503, content={"detail": redact_paths(str(exc))}, headers={"Retry-After": "5"}
        )

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse(
            status_code=503, content={"detail": redact_paths(str(exc))}, headers={"Retry-After": "5"}
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # the trace goes to the server's log; the caller gets an id to quote, never the trace
        incident = uuid.uuid4().hex[:12]
        log.error("internal error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error", "incident": incident})

    api_settings = get_api_settings()
    app.add_middleware(
        Guard,
        max_body_bytes=api_settings.max_body_bytes,
        rate_per_minute=api_settings.rate_per_minute,
        security_log=SecurityLog(api_settings.security_log_file),
        keys=settings.api_key_entries,
        dev=settings.env == "dev",
        https=settings.public_url.startswith("https://"),
        redis_url=settings.redis_url,
    )

    app.include_router(health.router)
    app.include_router(scoring.router)
    app.include_router(client_file.router)
    return app
