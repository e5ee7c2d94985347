"""Append-only, hash-chained audit log of every scoring request (JSON Lines under CREDIT_HOME).

Each line is one JSON object: its sequence number, the previous entry's hash and its own hash,
``sha256(prev_hash + canonical JSON of the entry without 'hash')``. Altering, inserting or
deleting a line breaks the chain at that point; a side file ``<log>.head`` holds the last
sequence number and hash so that dropping the newest lines is detected too. Appends take an
exclusive file lock, so several API worker processes can share one log.

DuckDB (hence Superset) reads it as a table:
``select * from read_json('<CREDIT_HOME>/audit/api_audit.jsonl', format='newline_delimited')``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warehouse.faults import armed, fault

GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(
        entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(prev_hash.encode() + _canonical(body)).hexdigest()


def inputs_hash(payload: Any) -> str:
    """Hash of a request's inputs (canonical JSON), recorded instead of the personal data itself."""
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="microseconds")


def _read_back(path: Path, end: int | None, newlines: int) -> tuple[int, bytes]:
    """Bytes read backwards from `end` (default: the file's end) in 8 KiB blocks until they hold
    more than `newlines` newlines (not counting trailing ones) or the start: (offset, bytes)."""
    with path.open("rb") as fh:
        pos = fh.seek(0, os.SEEK_END) if end is None else end
        data = b""
        while pos > 0 and data.rstrip(b"\n").count(b"\n") <= newlines:
            step = min(8192, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    return pos, data


def _last_lines(path: Path, n: int) -> list[bytes]:
    """The file's last `n` complete-or-not lines (fewer if it has fewer), oldest first."""
    _, data = _read_back(path, None, n)
    data = data.rstrip(b"\n")
    return data.split(b"\n")[-n:] if data else []


def _line_before_last(path: Path) -> dict[str, Any] | None:
    """The entry before the last one (None if there is none or it is unreadable)."""
    lines = _last_lines(path, 2)
    if len(lines) < 2:
        return None
    try:
        return json.loads(lines[0])
    except ValueError:
        return None


def _last_line(path: Path) -> str | None:
    lines = _last_lines(path, 1)
    return lines[0].decode("utf-8") if lines else None


class AuditUnavailable(RuntimeError):
    """The log cannot be written: the API refuses to score rather than score without a trace."""


class AuditLog:
    """Appends entries to the chained log; thread-safe and safe across processes (flock)."""

    def __init__(self, path: Path, fsync: bool = False) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._known_size = -1
        self._seq = 0
        self._prev = GENESIS

    def _sync_tail(self) -> None:
        """Learn the chain's last entry from the file (another process may have appended).

        Recovery (under the file lock): a torn tail (a line cut short by a crash) is moved to
        ``<log>.torn`` and a chained ``recovered`` entry records its SHA-256 and length; a head one
        entry behind (a crash between the line and the head) is repaired and recorded the same way.
        Anything else unreadable is not a crash's trace: the log refuses to write (AuditUnavailable).
        """
        size = os.fstat(self._fd).st_size
        if size == self._known_size:
            return
        torn = self._cut_torn_tail(size)
        last = _last_line(self.path)
        if last:
            try:
                entry = json.loads(last)
                self._seq, self._prev = int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditUnavailable(
                    f"the audit log {self.path} ends with an entry that is not a chained JSON line "
                    "(altered, not a crash's trace): check it with `python -m api verify-audit`"
                ) from exc
        else:
            self._seq, self._prev = 0, GENESIS
        head_behind = self._head_behind()
        if torn is not None:
            self._write_record({"kind": "recovered", "problem": "torn tail moved aside", **torn})
        if head_behind:
            self._write_record(
                {"kind": "recovered", "problem": "head was one entry behind", "head_seq": self._seq - 1}
            )

    def _cut_torn_tail(self, size: int) -> dict[str, Any] | None:
        """Move bytes after the last newline (a line never finished) to <log>.torn; their record."""
        if size == 0:
            return None
        pos, data = _read_back(self.path, size, 0)
        if data.endswith(b"\n"):
            return None
        cut = data.rfind(b"\n") + 1
        start = pos + cut
        tail = data[cut:]
        with (self.path.parent / (self.path.name + ".torn")).open("ab") as out:
            out.write(tail + b"\n")
        os.truncate(self.path, start)
        return {
            "torn_bytes": len(tail),
            "torn_sha256": hashlib.sha256(tail).hexdigest(),
            "torn_offset": start,
        }

    def _head_behind(self) -> bool:
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return False
        if head.get("seq") != self._seq - 1:
            return False
        before = _line_before_last(self.path)
        return before is not None and before.get("hash") == head.get("hash")

    def _write_record(self, entry: dict[str, Any]) -> dict[str, Any]:
        record = {"seq": self._seq + 1, "time": _now(), **entry, "prev_hash": self._prev}
        record["hash"] = entry_hash(self._prev, record)
        line = _canonical(record) + b"\n"
        if armed("audit:mid_line"):  # a crash half-way through the line
            os.write(self._fd, line[: len(line) // 2])
            fault("audit:mid_line")
        os.write(self._fd, line)
        if self.fsync:
            os.fsync(self._fd)
        self._seq, self._prev = record["seq"], record["hash"]
        self._known_size = os.fstat(self._fd).st_size
        tmp = self.head_path.with_name(f".{self.head_path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"seq": self._seq, "hash": self._prev}), encoding="utf-8")
        os.replace(tmp, self.head_path)
        return record

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Chain and write one entry; returns it with seq, prev_hash and hash."""
        try:
            return self._append(entry)
        except OSError as exc:
            raise AuditUnavailable(f"the audit log {self.path} cannot be written ({exc})") from exc

    def _reopen_if_moved(self) -> None:
        """Reopen when the file was removed or rotated (its inode is no longer the open one)."""
        try:
            same = os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(self._fd)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._known_size = -1

    def _append(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._reopen_if_moved()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._sync_tail()
                return self._write_record(dict(entry))
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class Verification:
    ok: bool
    entries: int
    problem: str | None = None
    line: int | None = None

    def summary(self) -> str:
        if self.ok:
            note = f" ({self.problem})" if self.problem else ""
            return f"audit log intact: {self.entries} entries, chain and head verified{note}"
        return f"audit log BROKEN at line {self.line}: {self.problem}"


def verify(path: Path) -> Verification:
    """Recompute the chain; report the first line that was altered, inserted or deleted.

    A crash's traces are not tampering and the next append repairs them (see AuditLog._sync_tail):
    an unfinished last line (no newline) or a head one entry behind read as intact, with a note.
    """
    path = Path(path)
    if not path.exists():
        return Verification(False, 0, f"{path} does not exist", None)
    prev, seq, n = GENESIS, 0, 0
    before, note = GENESIS, None
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                if not raw.endswith(b"\n") and not fh.read(1):
                    note = "the last line is unfinished (a crash mid-write): moved aside at the next append"
                    n -= 1
                    break
                return Verification(False, n - 1, "not a JSON object (line altered or truncated)", n)
            if entry.get("prev_hash") != prev:
                return Verification(
                    False, n - 1, "prev_hash does not match the previous entry (line deleted or inserted)", n
                )
            if entry.get("seq") != seq + 1:
                return Verification(
                    False, n - 1, f"sequence {entry.get('seq')} follows {seq} (line deleted or inserted)", n
                )
            if entry_hash(prev, entry) != entry.get("hash"):
                return Verification(False, n - 1, "hash does not match the content (entry altered)", n)
            before = prev
            prev, seq = entry["hash"], entry["seq"]
    head_path = path.with_name(path.name + ".head")
    if head_path.exists():
        head = json.loads(head_path.read_text(encoding="utf-8"))
        if head.get("seq") == seq - 1 and seq and head.get("hash") == before:
            note = (
                note
                or "the head is one entry behind (a crash between the line and the head): repaired at the next append"
            )
        elif head.get("seq") != seq or head.get("hash") != prev:
            return Verification(
                False,
                n,
                f"the log ends at entry {seq} but the head records entry {head.get('seq')} (tail removed)",
                n + 1,
            )
    elif seq:
        return Verification(False, n, f"{head_path} is missing", None)
    return Verification(True, n, note)
