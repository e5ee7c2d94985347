"""The API's rules, route by route, against a real uvicorn (CREDIT_ENV=test, keys with roles).

A server of its own (low limits: 1 MiB bodies, 30 requests per minute per key) over the session's
pipeline, with its own decision log, security log and look-up cache:
- every route of the OpenAPI document: without a key 401, with a key of the wrong role 403; the
  keyless routes are exactly /health, /ready and the signed-link pages (403 on a bad token);
  /docs and /openapi.json need a key outside dev;
- a 60 MB body is refused with 413 before it is read (the server answers while the client is
  still sending) and the server keeps serving; a chunked body over the limit too;
- the 31st request of a key within a minute gets 429 with Retry-After, another key is unaffected;
- security headers on every answer; no trace, path or SQL in any error body;
- each refusal is one line of the security log (route template, key name, never the key or a
  token), and none reaches the decision log.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from api.schemas import EXAMPLE_REQUEST
from tests.e2e.api.conftest import (
    API_KEY,
    APP_KEY,
    LINK_SECRET,
    Pipeline,
    Server,
    _entry,
    start_server,
    stop_server,
)

RATE = 30
MAX_BODY = 1024 * 1024
OTHER_KEY = "rate-other-key-0123456789"
KEYLESS = {("GET", "/health"), ("GET", "/ready")}
LINK_ROUTES = "/client/"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
LEAKS = ("Traceback", 'File "', "/tmp/", "/work/", "/root/", "select ", "SELECT ", "duckdb", "sqlite")


@pytest.fixture(scope="module")
def guarded(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    own = tmp_path_factory.mktemp("guarded")
    env = {
        **pipeline.env,
        "CREDIT_ENV": "test",
        "CREDIT_API_KEYS": ",".join(
            [
                _entry("desk", "officer", API_KEY),
                _entry("shop-app", "app", APP_KEY),
                _entry("other", "app", OTHER_KEY),
            ]
        ),
        "CREDIT_FILE_LINK_SECRET": LINK_SECRET,
        "CREDIT_API_WORKERS": "1",
        "CREDIT_API_RATE_PER_MINUTE": str(RATE),
        "CREDIT_API_MAX_BODY_BYTES": str(MAX_BODY),
        "CREDIT_API_AUDIT_PATH": str(own / "decisions.jsonl"),
        "CREDIT_API_SECURITY_LOG_PATH": str(own / "security.jsonl"),
        "CREDIT_API_CACHE_DIR": str(own / "cache"),
    }
    srv = start_server(env, own / "uvicorn.log")
    yield srv
    stop_server(srv)


def _security_log(server: Server) -> list[dict]:
    path = Path(server.env["CREDIT_API_SECURITY_LOG_PATH"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _no_leak(response: httpx.Response) -> None:
    for leak in LEAKS:
        assert leak not in response.text, (response.request.url, response.status_code, response.text[:300])
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name, dict(response.headers))
    assert "server" not in response.headers


def _concrete(path: str) -> str:
    return path.replace("{sk_id_curr}", "100002").replace("{link_id}", "abc").replace("{token}", "x" * 40)


def test_routes_need_the_right_key_and_only_the_documented_ones_are_keyless(guarded: Server):
    with guarded.client(key=None) as anon:
        assert anon.get("/openapi.json").status_code == 401  # documentation needs a key outside dev
        assert anon.get("/docs").status_code == 401
    with guarded.client(key=APP_KEY) as app_client:
        spec = app_client.get("/openapi.json")
        assert spec.status_code == 200
        assert app_client.get("/docs").status_code == 200
    routes = [(m.upper(), p) for p, ops in spec.json()["paths"].items() for m in ops]
    assert len(routes) >= 12, routes
    keyless, refused, forbidden = [], [], []
    with guarded.client(key=None) as anon, guarded.client(key=APP_KEY) as app_client:
        for method, path in routes:
            url = _concrete(path)
            body = {"json": EXAMPLE_REQUEST} if method == "POST" else {}
            answer = anon.request(method, url, **body)
            _no_leak(answer)
            if (method, path) in KEYLESS:
                assert answer.status_code in (200, 503), (method, path, answer.status_code)
                keyless.append(path)
            elif path.startswith(LINK_ROUTES):
                assert answer.status_code == 403, (method, path, answer.status_code)  # the token is the key
                keyless.append(path)
            else:
                assert answer.status_code == 401, (method, path, answer.status_code, answer.text[:200])
                assert answer.headers.get("www-authenticate") == "APIKey"
                refused.append(path)
                if "/file" in path:  # the client's file and links: role officer only
                    with_app = app_client.request(method, url, **body)
                    _no_leak(with_app)
                    assert with_app.status_code == 403, (method, path, with_app.status_code)
                    forbidden.append(path)
    assert {p for p in keyless if not p.startswith(LINK_ROUTES)} == {"/health", "/ready"}
    assert forbidden and refused
    # the route template is logged, never the token of a signed-link URL
    text = Path(guarded.env["CREDIT_API_SECURITY_LOG_PATH"]).read_text()
    assert "x" * 40 not in text and APP_KEY not in text
    assert "/client/file/{sk_id_curr}/{token}" in text


def _raw(server: Server, head: bytes, body_chunks, timeout: float = 20) -> tuple[int, float, bytes]:
    """Send a request over a plain socket; (status, seconds to the answer, answer)."""
    url = urlparse(server.url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(head)
        answer = b""
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:  # the server closed the connection after refusing: expected
            pass
        sock.settimeout(timeout)
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.monotonic() - started, answer


def test_a_60_mb_body_is_refused_before_it_is_read_and_the_server_keeps_serving(guarded: Server):
    size = 60 * 1024 * 1024
    head = (
        f"POST /v1/score HTTP/1.1\r\nHost: x\r\nX-API-Key: {APP_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    # only the first megabyte is ever sent: the answer comes without the rest of the body
    status, seconds, answer = _raw(guarded, head, [b"{" + b" " * (1024 * 1024)])
    assert status == 413, answer[:300]
    assert seconds < 10
    # chunked, without Content-Length: read up to the limit, then refused
    chunk = b" " * (256 * 1024)
    framed = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(8)] + [b"0\r\n\r\n"]
    head = (
        f"POST /v1/score HTTP/1.1\r\nHost: x\r\nX-API-Key: {APP_KEY}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    status, _, answer = _raw(guarded, head, framed)
    assert status == 413, answer[:300]
    with guarded.client(key=APP_KEY) as client:
        assert client.get("/health").status_code == 200
        small = client.post("/v1/score", json=EXAMPLE_REQUEST)  # a body under the limit still scores
        assert small.status_code == 200, small.text[:300]
    entries = [e for e in _security_log(guarded) if e["status"] == 413]
    assert len(entries) >= 2 and all(e["key"] == "shop-app" and e["route"] == "/v1/score" for e in entries)


def test_rate_limit_per_key_answers_429_with_retry_after(guarded: Server):
    with guarded.client(key=OTHER_KEY) as client:
        answers = [client.get("/v1/model") for _ in range(RATE + 1)]
        assert [a.status_code for a in answers[:RATE]] == [200] * RATE
        limited = answers[RATE]
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= 61
        _no_leak(limited)
    with guarded.client(key=API_KEY) as client:  # another key has its own count
        assert client.get("/v1/model").status_code == 200
    assert any(e["status"] == 429 and e["key"] == "other" for e in _security_log(guarded))


def test_headers_everywhere_and_refusals_only_in_the_security_log(guarded: Server):
    decisions = Path(guarded.env["CREDIT_API_AUDIT_PATH"])
    before = decisions.read_bytes() if decisions.exists() else b""
    with guarded.client(key=None) as anon, guarded.client(key=API_KEY) as officer:
        answers = [
            anon.get("/health"),
            anon.get("/ready"),
            anon.get("/v1/model"),  # 401
            officer.get("/v1/applicants/1/score"),  # 404
            officer.post("/v1/score", content=b"{not json"),  # 422
            officer.get("/v1/applicants/100002/file"),
            anon.get("/client/file/100002/" + "y" * 40),  # 403, a forged token
        ]
    for answer in answers:
        _no_leak(answer)
        assert "content-security-policy" in answer.headers
    assert answers[2].status_code == 401 and answers[6].status_code == 403
    assert all(a.headers.get("cache-control") == "no-store" for a in answers[2:])
    after = decisions.read_bytes() if decisions.exists() else b""
    new = [json.loads(line) for line in after[len(before) :].splitlines()]
    # the decision log holds no 401/429/413 refusal (the signed link's refusal is its own kind, by design)
    assert {e.get("kind") for e in new} <= {"file_read", "file_link_refused"}, new
    log = _security_log(guarded)
    assert {e["status"] for e in log} >= {401, 403}
    assert all(set(e) == {"time", "status", "method", "route", "client", "key", "reason"} for e in log)
    text = Path(guarded.env["CREDIT_API_SECURITY_LOG_PATH"]).read_text()
    for secret in (API_KEY, APP_KEY, OTHER_KEY, "y" * 40):
        assert secret not in text
