"""`create_app()`: the FastAPI application, its lifespan (serving state, reloads, audit log) and errors."""

from __future__ import annotations

import gc
import hashlib
import hmac
import logging
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from api.schemas import ErrorDetail
from api.services.audit import AuditLog, AuditUnavailable
from api.services.scoring import RequestProblem
from api.services.state import NotReady, ServingManager
from api.settings import get_api_settings
from warehouse.config import get_settings
from warehouse.schema import load_schema

log = logging.getLogger(__name__)

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key (not needed when CREDIT_ENV=dev)"
)


class Unauthorized(Exception):
    pass


def caller_id(request: Request, key: Annotated[str | None, Depends(API_KEY_HEADER)] = None) -> str:
    """The caller's identity for the audit log: a fingerprint of its key (keys are never logged)."""
    settings = get_settings()
    keys = settings.api_key_list
    if key and keys and any(hmac.compare_digest(key, k) for k in keys):
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]
    if settings.env == "dev":
        return "dev:anonymous"
    raise Unauthorized("missing or invalid X-API-Key" if key is None else "invalid X-API-Key")


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


def create_app() -> FastAPI:
    from api.routes import health, scoring

    settings = get_settings()
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

    @app.exception_handler(AuditUnavailable)
    async def _no_audit(request: Request, exc: AuditUnavailable) -> JSONResponse:
        log.error("%s", exc)
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    app.include_router(health.router)
    app.include_router(scoring.router)
    return app
