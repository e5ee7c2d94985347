"""Monitoring's recent API decisions: the Jinja macro over the tail of the API's real audit log.

The log is written by the API's own AuditLog; the macro's SQL runs in DuckDB with external access
off, as Superset runs it.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from api.services.audit import AuditLog

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "superset"))
from credit_superset import audit  # noqa: E402


def _entry(i: int) -> dict:
    return {
        "request_id": f"req-{i}",
        "time": (datetime(2026, 11, 28, 10, tzinfo=UTC) + timedelta(seconds=i, microseconds=1)).isoformat(),
        "caller": "key:abc123",
        "kind": "lookup" if i % 2 else "decision",
        "endpoint": "/v1/applicants/{sk_id_curr}/score",
        "sk_id_curr": 100000 + i,
        "model_name": "credit_default",
        "model_version": "3",
        "probability": i / 97,
        "risk_grade": "C",
        "decision": "approve",
        "reasons": [f"raises: it's reason {i}", "lowers: other"],
    }


def _write(path: Path, n: int) -> None:
    log = AuditLog(path)
    for i in range(n):
        log.append(_entry(i))
    log.close()


def _rows(monkeypatch: pytest.MonkeyPatch, path: Path, limit: int = 200) -> list[dict]:
    monkeypatch.setenv("CREDIT_API_AUDIT_PATH", str(path))
    con = duckdb.connect(config={"enable_external_access": False})
    try:
        rel = con.sql(audit.api_decisions_sql(limit))
        return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()


def test_newest_first_with_values_and_an_intact_chain(tmp_path, monkeypatch) -> None:
    path = tmp_path / "audit" / "api_audit.jsonl"
    _write(path, 30)
    rows = _rows(monkeypatch, path, limit=10)
    assert [r["seq"] for r in rows] == list(range(30, 20, -1))
    newest = rows[0]
    assert newest["sk_id_curr"] == 100029
    assert newest["probability"] == 29 / 97  # exact: the literal round-trips the float
    assert newest["top_reason"] == "raises: it's reason 29"
    assert newest["decided_at"].isoformat() == "2026-11-28T10:00:29.000001"
    assert all(r["chain_ok"] for r in rows)


def test_a_malformed_value_is_null_not_an_error(tmp_path, monkeypatch) -> None:
    path = tmp_path / "api_audit.jsonl"
    log = AuditLog(path)
    log.append({**_entry(1), "time": "yesterday", "probability": "high", "sk_id_curr": None})
    log.close()
    (row,) = _rows(monkeypatch, path)
    assert (row["decided_at"], row["probability"], row["sk_id_curr"]) == (None, None, None)
    assert row["chain_ok"]


def test_an_edited_entry_is_flagged(tmp_path, monkeypatch) -> None:
    path = tmp_path / "api_audit.jsonl"
    _write(path, 5)
    lines = path.read_text().splitlines()
    edited = json.loads(lines[2])
    edited["decision"] = "refuse"
    lines[2] = json.dumps(edited)
    path.write_text("\n".join(lines) + "\n")
    flags = {r["seq"]: r["chain_ok"] for r in _rows(monkeypatch, path)}
    assert flags == {1: True, 2: True, 3: False, 4: True, 5: True}


def test_a_line_being_written_is_skipped(tmp_path, monkeypatch) -> None:
    path = tmp_path / "api_audit.jsonl"
    _write(path, 3)
    with path.open("a") as fh:
        fh.write('{"seq": 4, "request_id": "req-')
    assert [r["seq"] for r in _rows(monkeypatch, path)] == [3, 2, 1]


def test_a_long_log_is_read_from_its_end(tmp_path, monkeypatch) -> None:
    path = tmp_path / "api_audit.jsonl"
    _write(path, 1500)  # > one 64 KiB block
    rows = _rows(monkeypatch, path, limit=1000)
    assert len(rows) == 1000
    assert rows[0]["seq"] == 1500 and rows[-1]["seq"] == 501
    assert all(r["chain_ok"] for r in rows)


def test_no_log_yet_gives_typed_zero_rows(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CREDIT_API_AUDIT_PATH", str(tmp_path / "missing.jsonl"))
    con = duckdb.connect(config={"enable_external_access": False})
    rel = con.sql(audit.api_decisions_sql())
    assert rel.fetchall() == []
    assert rel.columns == [name for name, _ in audit.COLUMNS]
    assert dict(zip(rel.columns, map(str, rel.types), strict=True))["probability"] == "DOUBLE"


def test_file_accesses_are_not_listed_as_decisions(tmp_path, monkeypatch) -> None:
    path = tmp_path / "audit" / "api_audit.jsonl"
    log = AuditLog(path)
    log.append(_entry(1))
    log.append({"kind": "file_link", "caller": "link", "sk_id_curr": 100001, "link_id": "ab" * 8})
    log.append(_entry(2))
    log.close()
    rows = _rows(monkeypatch, path)
    assert [r["seq"] for r in rows] == [3, 1] and all(r["chain_ok"] for r in rows)
