"""The audit log's chain: intact when untouched; an edit, a deletion, an insertion or a cut tail is caught."""

from __future__ import annotations

import json
import threading
from pathlib import Path

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
