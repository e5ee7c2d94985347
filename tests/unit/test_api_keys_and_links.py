"""API keys with roles (CREDIT_API_KEYS), signed links to a client's file, the audit log's index."""

from __future__ import annotations

import hashlib
import json

import pytest

from api.services.audit import AuditLog
from api.services.audit_index import AuditIndex
from api.services.limits import RateLimit
from api.services.links import LinkRefused, Revocations, make_token, read_token
from warehouse.config import parse_api_keys

SHA = hashlib.sha256(b"k1").hexdigest()


def test_key_entries_and_their_errors() -> None:
    keys = parse_api_keys(f"shop:app:{SHA}, bi:superset:{SHA.upper()}, bare-key", "test")
    assert [(k.name, k.role, k.plain) for k in keys] == [
        ("shop", "app", False),
        ("bi", "superset", False),
        (f"key:{hashlib.sha256(b'bare-key').hexdigest()[:12]}", "officer", True),
    ]
    assert keys[1].sha256 == SHA
    with pytest.raises(ValueError, match="entry 2 \\(x\\): unknown role 'boss'"):
        parse_api_keys(f"a:app:{SHA},x:boss:{SHA}", "dev")
    with pytest.raises(ValueError, match="entry 1 \\(a\\): the third part must be the key's SHA-256"):
        parse_api_keys("a:app:not-a-hash", "dev")
    with pytest.raises(ValueError, match="used twice"):
        parse_api_keys(f"a:app:{SHA},a:officer:{SHA}", "dev")
    with pytest.raises(ValueError, match="entry 2 is a bare key") as err:
        parse_api_keys(f"a:app:{SHA},secret-value", "prod")
    assert "secret-value" not in str(err.value)  # a key is never echoed


def test_tokens() -> None:
    token, link = make_token("s3cret", 100002, 3600, now=1_000_000)
    assert read_token("s3cret", token, 100002, now=1_000_100) == link
    for bad, reason in [
        (token, "bad signature"),  # other secret
    ]:
        with pytest.raises(LinkRefused, match=reason):
            read_token("other", bad, 100002, now=1_000_100)
    with pytest.raises(LinkRefused, match="expired"):
        read_token("s3cret", token, 100002, now=1_003_600)
    with pytest.raises(LinkRefused, match="another applicant"):
        read_token("s3cret", token, 100003, now=1_000_100)
    payload, sig = token.split(".")
    forged = make_token("s3cret", 100003, 3600, now=1_000_000)[0].split(".")[0] + "." + sig
    with pytest.raises(LinkRefused, match="bad signature"):
        read_token("s3cret", forged, 100003, now=1_000_100)
    for junk in ("", "a.b.c", "x" * 600, payload, "\u00e9t\u00e9.abc", "ab\x00.cd"):
        with pytest.raises(LinkRefused):
            read_token("s3cret", junk, now=1_000_100)


def test_revocations_are_shared_through_the_file(tmp_path) -> None:
    a, b = Revocations(tmp_path / "revoked.txt"), Revocations(tmp_path / "revoked.txt")
    assert not b.revoked("00ff00ff00ff00ff")
    a.revoke("00ff00ff00ff00ff")
    assert b.revoked("00ff00ff00ff00ff") and not b.revoked("1111111111111111")


def test_rate_limit_window() -> None:
    limit = RateLimit(3)
    assert [limit.retry_after("t", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limit.retry_after("t", now=3) == 58
    assert limit.retry_after("other", now=3) == 0
    assert limit.retry_after("t", now=60.5) == 0  # the first hit left the window


def test_audit_index_reads_only_what_was_appended(tmp_path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(5):
        log.append({"kind": "lookup", "sk_id_curr": 100 + i % 2, "decision": "approve"})
    index = AuditIndex(path)
    assert [e["seq"] for e in index.entries_for(100)] == [1, 3, 5]
    first = index.verification()
    assert first["ok"] and first["entries"] == 5 and first["full_check_at"]
    log.append({"kind": "decision", "sk_id_curr": 100})
    assert [e["seq"] for e in index.entries_for(100)] == [1, 3, 5, 6]
    assert index.verification()["full_check_at"] == first["full_check_at"]  # not re-read
    assert index.entries_for(999) == []
    # an edited entry is reported by the next full read (a new process, or a rotated file)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["decision"] = "refuse"
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    fresh = AuditIndex(path).verification()
    assert not fresh["ok"] and fresh["line"] == 2 and "altered" in fresh["problem"]
    log.close()
