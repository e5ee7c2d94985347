"""Start and stop Superset (gunicorn) in the background, with a pid file under CREDIT_HOME."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from credit_superset.provision import superset_env
from credit_superset.settings import port, superset_home

HOST = os.environ.get("CREDIT_SUPERSET_HOST", "127.0.0.1")


def pid_file() -> Path:
    return superset_home() / "superset.pid"


def log_file() -> Path:
    return superset_home() / "superset.log"


def base_url(server_port: int | None = None) -> str:
    return f"http://{HOST}:{server_port or port()}"


def running_pid() -> int | None:
    try:
        pid = int(pid_file().read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def healthy(server_port: int | None = None, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url(server_port)}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(workers: int = 2, threads: int = 4, wait_s: float = 120.0) -> float:
    """Start gunicorn (unless already running); returns seconds until /health answered."""
    started = time.monotonic()
    if running_pid() and healthy():
        return 0.0
    if healthy():
        raise RuntimeError(
            f"something else already answers on {base_url()}: set CREDIT_SUPERSET_PORT to a free port"
        )
    superset_home().mkdir(parents=True, exist_ok=True)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    cmd = [
        gunicorn,
        "--bind", f"{HOST}:{port()}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--timeout", "120",
        "--limit-request-line", "0",
        "--limit-request-field_size", "0",
        "--pid", str(pid_file()),
        "superset.app:create_app()",
    ]  # fmt: skip
    with open(log_file(), "ab") as log:
        proc = subprocess.Popen(
            cmd, env=superset_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file().write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Superset exited with {proc.returncode}; see {log_file()}")
        if healthy():
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"Superset did not answer on {base_url()} within {wait_s:.0f} s; see {log_file()}")


def stop(wait_s: float = 30.0) -> bool:
    """Stop the server started by `start` (by its pid file); True if one was running."""
    pid = running_pid()
    if pid is None:
        pid_file().unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file().unlink(missing_ok=True)
    return True
