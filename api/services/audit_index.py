"""An index of the audit log by applicant, kept up to date by reading only what was appended.

The first use reads the whole log once (and verifies its chain on the way: that is the full
verification a client's file reports, with its time); later uses read the lines appended since
(verifying that they extend the chain). A rotated or shortened file is indexed again from the
start. A file's decisions are then read by seeking to their lines: no scan of the log per request.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.services.audit import GENESIS, entry_hash


class AuditIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, inode: int | None) -> None:
        self._inode = inode
        self._offset = 0
        self._by_id: dict[int, list[int]] = {}
        self._prev, self._seq, self._entries = GENESIS, 0, 0
        self._problem: str | None = None
        self._problem_line: int | None = None
        self._full_at: str | None = None

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._reset(None)
            return
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._reset(st.st_ino)
        if st.st_size == self._offset and self._full_at is not None:
            return
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read(st.st_size - self._offset)
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next refresh
        pos = self._offset
        for raw in data[:end].split(b"\n")[:-1]:
            self._entries += 1
            self._index_line(raw, pos)
            pos += len(raw) + 1
        self._offset = pos
        if self._full_at is None:
            self._full_at = datetime.now(tz=UTC).isoformat(timespec="seconds")

    def _index_line(self, raw: bytes, pos: int) -> None:
        try:
            entry = json.loads(raw)
        except ValueError:
            self._fail("a line is not JSON (altered or cut short)")
            return
        if not isinstance(entry, dict):
            self._fail("a line is not a JSON object")
            return
        sk_id = entry.get("sk_id_curr")
        if isinstance(sk_id, int):
            self._by_id.setdefault(sk_id, []).append(pos)
        if self._problem is None:
            if entry.get("prev_hash") != self._prev or entry.get("seq") != self._seq + 1:
                self._fail("an entry does not follow the one before it (line deleted or inserted)")
            elif entry_hash(self._prev, entry) != entry.get("hash"):
                self._fail("an entry's hash does not match its content (entry altered)")
            else:
                self._prev, self._seq = entry["hash"], entry["seq"]

    def _fail(self, problem: str) -> None:
        if self._problem is None:
            self._problem, self._problem_line = problem, self._entries

    def entries_for(self, sk_id_curr: int) -> list[dict[str, Any]]:
        """The log's entries about one applicant, oldest first."""
        with self._lock:
            self._refresh()
            offsets = list(self._by_id.get(int(sk_id_curr), ()))
        out = []
        if not offsets:
            return out
        with self.path.open("rb") as fh:
            for pos in offsets:
                fh.seek(pos)
                try:
                    out.append(json.loads(fh.readline()))
                except ValueError:
                    continue
        return out

    def verification(self) -> dict[str, Any]:
        """The chain check done while indexing: the whole log at the first use, appended lines since."""
        with self._lock:
            self._refresh()
            return {
                "ok": self._problem is None,
                "entries": self._entries,
                "problem": self._problem,
                "line": self._problem_line,
                "full_check_at": self._full_at,
                "method": "whole log read and chain recomputed when this API process first indexed it; "
                "appended entries checked as they arrive (full re-check: python -m api verify-audit)",
            }
