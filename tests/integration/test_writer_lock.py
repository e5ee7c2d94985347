"""One writer at a time under a CREDIT_HOME: a second writer is refused at once, naming the holder;
a lock left by a killed writer is taken over; a load's temp file is its own, stale ones are removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "DBT_", "MLFLOW_"))}
    env["CREDIT_HOME"] = str(home)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _hold(home: Path, env: dict[str, str]) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "run-locked", "--", "sleep", "60"],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    lock = home / "warehouse" / ".writer.lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip():
            return holder
        time.sleep(0.05)
    holder.kill()
    raise AssertionError("the holder never took the lock")


@pytest.fixture(scope="module")
def small_source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lock_data") / "synthetic"
    env = _env(tmp_path_factory.mktemp("gen_home"))
    done = _run(
        ["-m", "warehouse", "generate", "--applicants", "300", "--out", str(out), "--no-progress"], env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_a_second_writer_is_refused_naming_the_holder(tmp_path, small_source) -> None:
    env = _env(tmp_path)
    holder = _hold(tmp_path, env)
    try:
        started = time.monotonic()
        for args in (
            ["-m", "warehouse", "load", "--source", str(small_source)],
            ["-m", "warehouse", "publish"],
        ):
            refused = _run(args, env)
            assert refused.returncode == 2, refused.stderr[-2000:]
            assert f"pid {holder.pid}" in refused.stderr and "sleep 60" in refused.stderr, refused.stderr
            assert "Traceback" not in refused.stderr
        train = _run(["-m", "training", "score"], env)
        assert train.returncode == 2 and f"pid {holder.pid}" in train.stderr, train.stderr[-2000:]
        assert time.monotonic() - started < 60  # refused at once, not after waiting
        assert not (tmp_path / "warehouse" / "build.duckdb").exists()  # nothing written
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


def test_a_killed_writers_lock_is_taken_over(tmp_path, small_source) -> None:
    env = _env(tmp_path)
    holder = _hold(tmp_path, env)
    os.killpg(holder.pid, signal.SIGKILL)  # no clean-up runs
    holder.wait()
    left = json.loads((tmp_path / "warehouse" / ".writer.lock").read_text())
    assert left["pid"] == holder.pid
    # a stale temp file of a load killed mid-way
    stale = tmp_path / "warehouse" / f"build.duckdb.{holder.pid}.loading"
    stale.write_bytes(b"half a database")
    loaded = _run(["-m", "warehouse", "load", "--source", str(small_source)], env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert f"taking over the writer lock left by pid {holder.pid}" in loaded.stderr
    assert "no longer running" in loaded.stderr
    assert not stale.exists() and not list((tmp_path / "warehouse").glob("*.loading*"))
    assert (tmp_path / "warehouse" / "build.duckdb").exists()
    assert (tmp_path / "warehouse" / ".writer.lock").read_text() == ""  # released on exit
