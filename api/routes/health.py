"""GET /health (alive) and GET /ready (a published copy and the champion are loaded)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.schemas import Health, Ready
from api.security import redact_paths

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The process is alive")
def health() -> Health:
    return Health(status="alive")


@router.get(
    "/ready",
    response_model=Ready,
    summary="A published warehouse copy and the champion model are loaded",
    responses={503: {"model": Ready, "description": "Not ready yet (no published copy or no champion)"}},
)
def ready(request: Request):
    manager = request.app.state.manager
    serving = manager.current
    if serving is None:
        body = Ready(
            status="not ready", detail=redact_paths(manager.last_error or "starting"), reloads=manager.reloads
        )
        return JSONResponse(status_code=503, content=body.model_dump())
    if serving.cache is None and not serving.cache_failed:
        # GET by id would read DuckDB per request until the look-up cache exists: at full scale that
        # path does not hold the rated load, so the service is not ready yet (after a publish, the
        # manager swaps copies only once the new cache exists: this happens at start-up only)
        body = Ready(
            status="not ready",
            detail="building the look-up cache of the published copy",
            model_version=serving.champion.version,
            reloads=manager.reloads,
        )
        return JSONResponse(status_code=503, content=body.model_dump())
    detail = (
        serving.engine_error
        or manager.last_error
        or ("look-up cache failed: GET by id reads DuckDB" if serving.cache is None else None)
    )
    return Ready(
        status="ready",
        model_version=serving.champion.version,
        serving_copy_published_at=serving.copy.published_at.isoformat()
        if serving.copy.published_at
        else None,
        realtime_features=serving.realtime is not None,
        feature_assembly=None
        if serving.realtime is None
        else ("key_join" if serving.realtime.engine.plan is not None else "mart_sql"),
        lookup_cache=serving.cache is not None,
        reloads=manager.reloads,
        detail=redact_paths(detail) if detail else None,
    )
