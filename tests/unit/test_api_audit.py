"""The audit log's chain: intact when untouched; an edit, a deletion, an insertion or a cut tail is caught."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from api.services.audit import AuditLog, verify


def _write(path: Path, n: int) -> list[str]:
    log = AuditLog(path)
    for i in range(n):
        log.append({"request_id": f"r{i}", "kind": "decision", "probability": i / 10, "reasons": ["x"]})
    log.close()
    return path.read_text().splitlines()


def test_intact_log_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _write(path, 5)
    assert len(lines) == 5 and verify(path).ok
    entries = [json.loads(x) for x in lines]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))


def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 2)
    _write(path, 2)
    assert verify(path).ok and len(path.read_text().splitlines()) == 4


def test_concurrent_appends_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    logs = [AuditLog(path), AuditLog(path)]  # two writers on one file, as two worker processes

    def work(log: AuditLog) -> None:
        for i in range(50):
            log.append({"request_id": str(i)})

    threads = [threading.Thread(target=work, args=(log,)) for log in logs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verify(path).ok and len(path.read_text().splitlines()) == 200


def test_tampering_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _write(path, 6)
    head = path.with_name(path.name + ".head").read_text()
    altered = json.loads(lines[2])
    altered["probability"] = 0.99
    cases = {
        "altered": [*lines[:2], json.dumps(altered), *lines[3:]],
        "deleted": [*lines[:3], *lines[4:]],
        "inserted": [*lines[:3], lines[3], *lines[3:]],
        "tail cut": lines[:-1],
        "garbage": [*lines[:1], "{not json", *lines[2:]],
    }
    for name, variant in cases.items():
        path.write_text("\n".join(variant) + "\n")
        path.with_name(path.name + ".head").write_text(head)
        result = verify(path)
        assert not result.ok, name
        assert result.problem


def test_a_torn_tail_is_moved_aside_and_recorded(tmp_path) -> None:
    import hashlib as _hashlib

    from api.services.audit import AuditLog, verify

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(3):
        log.append({"kind": "decision", "sk_id_curr": i})
    torn = b'{"seq": 4, "kind": "decision", "sk_id_cu'
    with path.open("ab") as fh:  # a write cut short by a crash
        fh.write(torn)
    assert verify(path).ok and "unfinished" in verify(path).problem
    other = AuditLog(path)  # another process appends next: it recovers, then writes
    entry = other.append({"kind": "decision", "sk_id_curr": 9})
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    recovered = lines[3]
    assert recovered["kind"] == "recovered" and recovered["torn_bytes"] == len(torn)
    assert recovered["torn_sha256"] == _hashlib.sha256(torn).hexdigest()
    assert entry["seq"] == 5 and lines[-1]["sk_id_curr"] == 9
    assert (tmp_path / "audit.jsonl.torn").read_bytes() == torn + b"\n"
    result = verify(path)
    assert result.ok and result.entries == 5 and result.problem is None
    log.append({"kind": "decision", "sk_id_curr": 10})  # the first writer follows the new chain
    assert verify(path).ok


def test_a_head_one_behind_is_repaired_and_recorded(tmp_path) -> None:
    from api.services.audit import AuditLog, verify

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append({"kind": "decision", "sk_id_curr": 1})
    head_before = (tmp_path / "audit.jsonl.head").read_text()
    log.append({"kind": "decision", "sk_id_curr": 2})
    (tmp_path / "audit.jsonl.head").write_text(head_before)  # a crash between the line and the head
    first = verify(path)
    assert first.ok and "one entry behind" in first.problem  # not a false tampering alarm
    AuditLog(path).append({"kind": "decision", "sk_id_curr": 3})
    kinds = [json.loads(x)["kind"] for x in path.read_text().splitlines()]
    assert kinds == ["decision", "decision", "recovered", "decision"]
    assert verify(path).ok and verify(path).problem is None
    # a head two entries behind is not a crash's trace: reported
    head = (tmp_path / "audit.jsonl.head").read_text()
    log.append({"kind": "decision", "sk_id_curr": 4})
    log.append({"kind": "decision", "sk_id_curr": 5})
    (tmp_path / "audit.jsonl.head").write_text(head)
    assert not verify(path).ok


def test_an_altered_last_line_refuses_to_write(tmp_path) -> None:
    from api.services.audit import AuditLog, AuditUnavailable

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append({"kind": "decision", "sk_id_curr": 1})
    with path.open("ab") as fh:
        fh.write(b"not json at all\n")
    with pytest.raises(AuditUnavailable, match="not a chained JSON line"):
        AuditLog(path).append({"kind": "decision", "sk_id_curr": 2})
