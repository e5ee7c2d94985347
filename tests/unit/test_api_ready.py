"""/ready means able to serve the rated load: not before the published copy's look-up cache exists."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import health


def _client(cache, failed: bool = False) -> TestClient:
    serving = SimpleNamespace(
        cache=cache,
        cache_failed=failed,
        champion=SimpleNamespace(version="7"),
        copy=SimpleNamespace(published_at=None),
        realtime=None,
        engine_error=None,
    )
    app = FastAPI()
    app.state.manager = SimpleNamespace(current=serving, reloads=1, last_error=None)
    app.include_router(health.router)
    return TestClient(app)


def test_not_ready_while_the_lookup_cache_is_built() -> None:
    body = _client(cache=None).get("/ready")
    assert body.status_code == 503 and "look-up cache" in body.json()["detail"]


def test_ready_with_the_cache_or_once_it_failed() -> None:
    assert _client(cache=object()).get("/ready").json()["lookup_cache"] is True
    degraded = _client(cache=None, failed=True).get("/ready")
    assert degraded.status_code == 200 and "reads DuckDB" in degraded.json()["detail"]
