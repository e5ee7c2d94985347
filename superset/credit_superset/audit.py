"""Jinja macro (JINJA_CONTEXT_ADDONS) that shows the scoring API's recent decisions from its audit log.

`{{ api_decisions_sql(200) }}` renders a `select` over the newest entries of the API's
hash-chained audit log (`$CREDIT_HOME/audit/api_audit.jsonl`, or `CREDIT_API_AUDIT_PATH`, the
same contract as the API), read here, in Superset's Python process, from the end of the file:
- live: every render reads the log as it is now (no wait for the next pipeline run or publish);
- bounded: only the last entries are read (a tail of the file), however long the log grows;
- safe: DuckDB keeps external access off (SQL Lab cannot read files); the path comes from the
  environment, never from the query, and the values reach SQL as escaped literals;
- robust: no log yet gives zero rows (the chart says "No results"), a line being written or
  unreadable is skipped.
Each row carries `chain_ok`: its hash recomputed as the API computes it (SHA-256 of the previous
hash and the canonical JSON of the entry, api/services/audit.py) and linked to the previous
entry of the window. `python -m api verify-audit` checks the whole chain and its head.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from credit_superset.settings import credit_home
from credit_superset.sql import literal

log = logging.getLogger(__name__)
MAX_ROWS = 1000
_BLOCK = 64 * 1024

# (column, SQL type, how to get it from an entry); the order is the dataset's column order.
COLUMNS: list[tuple[str, str]] = [
    ("seq", "bigint"),
    ("decided_at", "timestamp"),  # UTC, as the API writes it
    ("kind", "varchar"),
    ("endpoint", "varchar"),
    ("sk_id_curr", "bigint"),
    ("probability", "double"),
    ("risk_grade", "varchar"),
    ("decision", "varchar"),
    ("top_reason", "varchar"),
    ("model_version", "varchar"),
    ("caller", "varchar"),
    ("request_id", "varchar"),
    ("chain_ok", "boolean"),
]


def audit_path() -> Path:
    explicit = os.environ.get("CREDIT_API_AUDIT_PATH")
    return Path(explicit).expanduser() if explicit else credit_home() / "audit" / "api_audit.jsonl"


def _entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The API's chain hash (api/services/audit.py entry_hash), recomputed for display."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(prev_hash.encode() + canonical.encode()).hexdigest()


def tail_entries(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last `limit` complete JSON lines of `path`, oldest first (unreadable lines skipped)."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return []
    with fh:
        fh.seek(0, os.SEEK_END)
        pos = fh.tell()
        data = b""
        while pos > 0 and data.count(b"\n") <= limit:
            step = min(_BLOCK, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    lines = data.split(b"\n")
    lines.pop()  # b"" after the last newline, or a line still being written
    if pos > 0:
        lines = lines[1:]  # the window's first line may be cut
    entries = []
    for raw in lines[-limit:]:
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            log.warning("skipping an unreadable line of %s", path)
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


# Entries that are decisions; the log also records reads of clients' files (file_read, file_link,
# file_link_made, file_link_refused, file_link_revoked), which this chart does not list.
DECISION_KINDS = ("lookup", "decision")


def decision_rows(entries: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Rows of the dataset (decisions only), newest first; chain_ok links each entry to the one before it."""
    rows = []
    for i, entry in enumerate(entries):
        linked = i == 0 or entry.get("prev_hash") == entries[i - 1].get("hash")
        hash_ok = isinstance(entry.get("prev_hash"), str) and (
            _entry_hash(entry["prev_hash"], entry) == entry.get("hash")
        )
        if entry.get("kind") not in DECISION_KINDS:
            continue
        reasons = entry.get("reasons") or []
        rows.append(
            {
                "seq": entry.get("seq"),
                "decided_at": entry.get("time"),
                "kind": entry.get("kind"),
                "endpoint": entry.get("endpoint"),
                "sk_id_curr": entry.get("sk_id_curr"),
                "probability": entry.get("probability"),
                "risk_grade": entry.get("risk_grade"),
                "decision": entry.get("decision"),
                "top_reason": reasons[0] if reasons and isinstance(reasons[0], str) else None,
                "model_version": entry.get("model_version"),
                "caller": entry.get("caller"),
                "request_id": entry.get("request_id"),
                "chain_ok": bool(linked and hash_ok),
            }
        )
    return list(reversed(rows))[:limit]


def _typed(value: Any, sql_type: str) -> str:
    if isinstance(value, bool) and sql_type != "boolean":
        value = None
    if sql_type in ("bigint", "double") and not isinstance(value, int | float):
        value = None
    return f"try_cast({literal(value)} as {sql_type})"  # a malformed value is NULL, not a chart error


def api_decisions_sql(limit: Any = 200) -> str:
    """One row per recent API decision (newest first), columns COLUMNS; zero rows without a log."""
    try:
        limit = max(1, min(int(limit), MAX_ROWS))
    except (TypeError, ValueError):
        limit = 200
    rows = decision_rows(tail_entries(audit_path(), limit), limit)
    names = ", ".join(name for name, _ in COLUMNS)
    if not rows:
        typed = ", ".join(f"cast(null as {sql_type}) as {name}" for name, sql_type in COLUMNS)
        return f"select {typed} where false"
    values = ",\n".join(
        "(" + ", ".join(_typed(row[name], sql_type) for name, sql_type in COLUMNS) + ")" for row in rows
    )
    return f"select * from (values\n{values}\n) as decisions ({names})"
