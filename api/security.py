"""The API's outer guard (pure ASGI, before any route runs): body size, rate limit, headers, security log.

- Request bodies larger than CREDIT_API_MAX_BODY_BYTES are refused with 413 before they are read: a
  Content-Length above the limit is answered at once; a chunked body is read only up to the limit.
- Each key (by its name; a missing or unknown key by the client's address) may send at most
  CREDIT_API_RATE_PER_MINUTE requests to /v1/ over any 60 s: 429 with Retry-After beyond. Counts
  are per worker process (see api.services.limits). Signed links have their own limit per token.
- Keyless routes: /health, /ready, the signed-link pages under /client/ (the token is the
  credential) and, in dev only, /docs, /redoc and /openapi.json. Outside dev those three need a
  valid key of any role; every /v1/ route checks its own role (api.app.require).
- Every response gets security headers (no sniffing, no framing, no referrer, a restrictive
  Content-Security-Policy unless the route set its own, no caching of /v1/ and /client/ answers).
- Refused requests (401, 403, 413, 429) are written to the security log
  (CREDIT_API_SECURITY_LOG, default $CREDIT_HOME/audit/api_security.jsonl), one JSON line each:
  time, status, method, route (its template: never a token), client address, key name when the key
  is known, and the reason. Never the key, the token, or the body. They never reach the decision log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.services.limits import make_rate_limit
from warehouse.config import ApiKey

log = logging.getLogger(__name__)

REFUSED = {401, 403, 413, 429}
KEYLESS_PREFIXES = ("/client/",)
KEYLESS_PATHS = {"/health", "/ready"}
DOCS_PATHS = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
_PATH_LIKE = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+[\w.@+-]*")
_TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_\-.=]{24,}")

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# the client's letter page: its own inline styles and charts (data: or same-origin images), no script
CSP = (
    b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS = b"max-age=31536000"


def find_key(entries: list[ApiKey], key: str | bytes | None) -> ApiKey | None:
    """The entry (name, role, sha256) whose hash is the key's, else None. Every entry is compared,
    in constant time: the time taken does not tell which one matched."""
    if not key:
        return None
    digest = hashlib.sha256(key if isinstance(key, bytes) else key.encode()).hexdigest()
    match = None
    for entry in entries:
        if hmac.compare_digest(digest, entry.sha256):
            match = entry
    return match


def redact_paths(text: str) -> str:
    """An error message without the machine's file paths (error bodies never show them)."""
    return _PATH_LIKE.sub("[path]", text)


def public_path(scope: dict[str, Any]) -> str:
    """The route's template (e.g. /client/file/{sk_id_curr}/{token}), else the path without long tokens."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    return _TOKEN_SEGMENT.sub("/[redacted]", scope.get("path", ""))[:200]


class SecurityLog:
    """Append-only JSON lines of refused requests (one file per CREDIT_HOME, shared by the workers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)  # one write of one line: O_APPEND keeps workers' lines whole
                finally:
                    os.close(fd)
        except OSError as exc:  # the refusal stands; losing its log line must not fail the answer
            log.error("security log %s not written: %s", self.path, exc)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]


class Guard:
    """ASGI middleware; see the module's docstring."""

    def __init__(
        self,
        app,
        *,
        max_body_bytes: int,
        rate_per_minute: int,
        security_log: SecurityLog,
        keys: list[ApiKey],
        dev: bool,
        https: bool = False,
        redis_url: str = "",
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.rate = make_rate_limit(rate_per_minute, redis_url, "api")
        self.log = security_log
        self.keys = keys  # the CREDIT_API_KEYS entries
        self.dev = dev
        self.https = https

    # -- helpers ----------------------------------------------------------------------------------
    def key_name(self, headers: dict[bytes, bytes]) -> str | None:
        entry = find_key(self.keys, headers.get(b"x-api-key"))
        return entry.name if entry else None

    def _headers(self, path: str, existing: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {k.lower() for k, _ in existing}
        out = [h for h in HEADERS if h[0] not in names]
        docs = path in DOCS_PATHS  # Swagger UI runs scripts: no CSP there (dev only outside dev's keys)
        if b"content-security-policy" not in names and not docs:
            out.append((b"content-security-policy", CSP))
        if b"referrer-policy" not in names:
            out.append((b"referrer-policy", b"no-referrer"))
        if b"cache-control" not in names and path.startswith(("/v1/", "/client/")):
            out.append((b"cache-control", b"no-store"))
        if self.https:
            out.append((b"strict-transport-security", HSTS))
        return out

    async def _refuse(
        self, scope, send, status: int, detail: str, extra_headers: list[tuple[bytes, bytes]] = ()
    ) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += list(extra_headers)
        headers += self._headers(scope.get("path", ""), headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope, status: int, key_name: str | None, reason: str) -> None:
        client = scope.get("client") or ("", 0)
        self.log.write(
            {
                "time": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
                "status": status,
                "method": scope.get("method"),
                "route": public_path(scope),
                "client": client[0],
                "key": key_name,
                "reason": redact_paths(reason)[:300],
            }
        )

    # -- the middleware ---------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        key_name = self.key_name(headers)

        if path in DOCS_PATHS and not self.dev and key_name is None:
            detail = "the API's documentation needs a valid X-API-Key outside dev"
            self._record(scope, 401, None, detail)
            await self._refuse(scope, send, 401, detail, [(b"www-authenticate", b"APIKey")])
            return

        if path.startswith("/v1/"):
            client = (scope.get("client") or ("?", 0))[0]
            wait = self.rate.retry_after(f"key:{key_name}" if key_name else f"ip:{client}")
            if wait:
                detail = f"rate limit: at most {self.rate.per_minute} requests per minute; retry in {wait} s"
                self._record(scope, 429, key_name, detail)
                await self._refuse(scope, send, 429, detail, [(b"retry-after", str(wait).encode())])
                return

        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = False  # the server rejects a malformed Content-Length itself
            if too_big:
                detail = f"request body over {self.max_body:,} bytes (CREDIT_API_MAX_BODY_BYTES)"
                self._record(scope, 413, key_name, detail)
                await self._refuse(scope, send, 413, detail, [(b"connection", b"close")])
                return
        elif scope.get("method") in ("POST", "PUT", "PATCH"):
            # no Content-Length (chunked): read at most the limit, then hand the body on
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    detail = f"request body over {self.max_body:,} bytes (CREDIT_API_MAX_BODY_BYTES)"
                    self._record(scope, 413, key_name, detail)
                    await self._refuse(scope, send, 413, detail, [(b"connection", b"close")])
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body, replayed = b"".join(chunks), False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay

        state: dict[str, Any] = {"status": 0, "detail": b""}

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message = {**message, "headers": list(message.get("headers", []))}
                message["headers"] += self._headers(path, message["headers"])
            elif message["type"] == "http.response.body" and state["status"] in REFUSED:
                state["detail"] += message.get("body", b"")[:2000]
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if state["status"] in REFUSED:
            self._record(scope, state["status"], key_name, _detail(state["detail"]))


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body.decode("utf-8")).get("detail")
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")
    return detail if isinstance(detail, str) else json.dumps(detail)[:300]
