"""One writer at a time under a CREDIT_HOME: load, dbt (through `make`), train, score, publish.

The lock is an advisory `flock` on ``$CREDIT_HOME/warehouse/.writer.lock``; the file holds the
holder's pid, command and start time. A second writer is refused at once with a message naming the
holder. The kernel releases a flock when its process dies, however it dies (SIGKILL included), so
a lock left by a dead process is free: the next writer takes it and says whose it was. Re-entrant
within one process (the scoring step publishes while holding it).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.errors import UserError
from warehouse.faults import armed, fault

log = logging.getLogger(__name__)
_held: dict[str, int] = {}  # lock path -> depth, in this process
_guard = threading.Lock()


class WriterBusy(UserError):
    """Another writer holds the lock (its pid, command and start time are in the message)."""


def lock_path(home: Path) -> Path:
    return Path(home) / "warehouse" / ".writer.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(home: Path) -> dict | None:
    """What the lock file says (who holds it, or who held it last), or None."""
    try:
        text = lock_path(home).read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (FileNotFoundError, ValueError):
        return None


@contextmanager
def writer_lock(home: Path, command: str) -> Iterator[None]:
    path = lock_path(home)
    key = str(path)
    with _guard:
        if _held.get(key):
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = holder(home) or {}
            raise WriterBusy(
                f"another writer is at work on {Path(home)}: pid {info.get('pid', '?')}, "
                f"`{info.get('command', '?')}`, since {info.get('started', '?')} "
                f"(lock {path}); wait for it to finish, then run this again"
            ) from None
        previous = holder(home)
        if previous and previous.get("pid") and previous.get("pid") != os.getpid():
            state = "no longer running" if not _alive(int(previous["pid"])) else "its lock released"
            log.warning(
                "taking over the writer lock left by pid %s (`%s`, since %s): %s",
                previous.get("pid"),
                previous.get("command"),
                previous.get("started"),
                state,
            )
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            json.dumps(
                {"pid": os.getpid(), "command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            ).encode(),
            0,
        )
        with _guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _guard:
                _held.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_locked(home: Path, argv: list[str]) -> int:
    """Run a command (e.g. `dbt build`) while holding the writer lock; its exit code."""
    if not argv:
        raise UserError("run-locked needs a command after `--`")
    with writer_lock(home, " ".join(argv)):
        sys.stdout.flush()
        if armed(DBT_MID_MODEL):
            _kill_mid_model(home, argv)
        return subprocess.call(argv)


DBT_MID_MODEL = "dbt:mid_model"
MODELS_BEFORE_KILL = 3


def _kill_mid_model(home: Path, argv: list[str]) -> None:
    """The fault point `dbt:mid_model`: run the command, SIGKILL it and this process while its third
    model is being built (as read in dbt's own log: 'Began executing node model.'). A crash in the
    middle of `dbt build`, with the writer lock held and the build file open for writing."""
    log = Path(os.environ.get("DBT_LOG_PATH") or home / "dbt" / "logs") / "dbt.log"
    start = log.stat().st_size if log.exists() else 0
    child = subprocess.Popen(argv)
    deadline = time.monotonic() + 600
    while child.poll() is None and time.monotonic() < deadline:
        if log.exists():
            with log.open("rb") as fh:
                fh.seek(start)
                if fh.read().count(b"Began executing node model.") >= MODELS_BEFORE_KILL:
                    time.sleep(0.3)  # well inside the model's statement
                    break
        time.sleep(0.05)
    child.kill()
    fault(DBT_MID_MODEL)
