"""Property-based tests (hypothesis) against the running API: generated valid bodies score (200),
generated invalid ones get 422 naming the broken field, and only the valid ones reach the
decision log. The model-level properties, with many more examples, are tests/unit/
test_api_request_properties.py; this checks the server agrees on a smaller draw."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.e2e.api.conftest import Server
from tests.request_strategies import invalid_request, valid_request

ON_SERVER = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _log_lines(server: Server) -> int:
    path = Path(server.env["CREDIT_HOME"]) / "audit" / "api_audit.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_generated_bodies_score_or_get_422(server: Server):
    seen = {"valid": 0, "invalid": 0}

    @ON_SERVER
    @given(valid_request())
    def valid(body):
        with server.client() as client:
            before = _log_lines(server)
            answer = client.post("/v1/score", json=body)
            assert answer.status_code == 200, (answer.status_code, answer.text[:500], json.dumps(body)[:500])
            assert 0.0 <= answer.json()["probability"] <= 1.0
            assert _log_lines(server) == before + 1
        seen["valid"] += 1

    @ON_SERVER
    @given(invalid_request())
    def invalid(case):
        body, field = case
        with server.client() as client:
            before = _log_lines(server)
            answer = client.post("/v1/score", json=body)
            assert answer.status_code == 422, (answer.status_code, field, answer.text[:500])
            assert field in answer.text, (field, answer.text[:500])
            assert _log_lines(server) == before
        seen["invalid"] += 1

    valid()
    invalid()
    assert seen["valid"] >= 10 and seen["invalid"] >= 10, seen
