"""Signed links to a client's file: expiring HMAC tokens, revocation, a rate limit per link.

A token is ``<payload>.<signature>``: the payload (base64url JSON) names the applicant, the expiry
(Unix seconds) and the link's id; the signature is HMAC-SHA256 of the payload under
CREDIT_FILE_LINK_SECRET. The token is the credential of the link routes (no API key); it is never
logged: log lines and audit entries carry the link id. Revoked link ids are kept one per line in
``$CREDIT_HOME/api/revoked_links.txt`` (shared by the worker processes, re-read when it changes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_DOMAIN = b"credit-client-file-link\x00"
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class LinkRefused(Exception):
    """A token that does not open the file: `reason` says why (bad, expired, revoked, other applicant)."""

    def __init__(self, reason: str, link_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.link_id = link_id


@dataclass(frozen=True)
class Link:
    sk_id_curr: int
    expires: int  # Unix seconds
    link_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest())


def make_token(secret: str, sk_id_curr: int, valid_s: float, now: float | None = None) -> tuple[str, Link]:
    link = Link(int(sk_id_curr), int((now or time.time()) + valid_s), secrets.token_hex(8))
    payload = _b64(
        json.dumps(
            {"a": link.sk_id_curr, "e": link.expires, "i": link.link_id}, separators=(",", ":")
        ).encode()
    )
    return f"{payload}.{_sign(secret, payload)}", link


def read_token(secret: str, token: str, sk_id_curr: int | None = None, now: float | None = None) -> Link:
    """The link a token opens, or LinkRefused (signature first: nothing unsigned is trusted)."""
    if not isinstance(token, str) or len(token) > 512 or not _TOKEN.fullmatch(token):
        raise LinkRefused("malformed token")
    payload, signature = token.split(".")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise LinkRefused("bad signature")
    try:
        data = json.loads(_unb64(payload))
        link = Link(int(data["a"]), int(data["e"]), str(data["i"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkRefused("malformed token") from exc
    if (now or time.time()) >= link.expires:
        raise LinkRefused("expired", link.link_id)
    if sk_id_curr is not None and link.sk_id_curr != int(sk_id_curr):
        raise LinkRefused("another applicant's link", link.link_id)
    return link


class Revocations:
    """Revoked link ids, in a file shared by the workers (appended under a lock, re-read on change)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._ids: frozenset[str] = frozenset()

    def _load(self) -> frozenset[str]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return frozenset()
        key = (st.st_ino, st.st_size)
        with self._lock:
            if key != self._seen:
                text = self.path.read_text(encoding="utf-8")
                self._ids = frozenset(line.strip() for line in text.splitlines() if line.strip())
                self._seen = key
            return self._ids

    def revoked(self, link_id: str) -> bool:
        return link_id in self._load()

    def revoke(self, link_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (link_id + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
