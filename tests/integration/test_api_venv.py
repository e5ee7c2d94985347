"""api/requirements.txt is complete: a venv built from it alone imports and serves the API.

Slow (a fresh venv and pip install): run with `make test-api-venv` (sets CREDIT_TEST_API_VENV=1).
The API starts against an empty CREDIT_HOME, so /health answers and /ready says why it is not ready.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.api.conftest import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("CREDIT_TEST_API_VENV"), reason="slow: `make test-api-venv`"),
]


def test_api_runs_from_its_own_requirements(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(REPO / "api" / "requirements.txt"),
        ],
        check=True,
        timeout=900,
    )
    # nothing heavy slipped in
    frozen = subprocess.run(
        [str(py), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    for heavy in ("mlflow", "evidently", "great-expectations", "dbt-core", "shap"):
        assert f"{heavy}==" not in frozen, heavy
    # the PDF route's renderer works in this venv (Debian's Pango is on the machine)
    subprocess.run(
        [
            str(py),
            "-c",
            "from weasyprint import HTML; assert HTML(string='<p>é</p>').write_pdf()[:4] == b'%PDF'",
        ],
        check=True,
        timeout=120,
    )
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "MLFLOW_"))}
    env.update({"CREDIT_HOME": str(home), "CREDIT_ENV": "dev", "PYTHONPATH": ""})
    server = None
    try:
        server = _start_unready(py, env, tmp_path / "uvicorn.log")
        with httpx.Client(base_url=server[0], timeout=10) as client:
            assert client.get("/health").json() == {"status": "alive"}
            ready = client.get("/ready")
            assert ready.status_code == 503 and "no published warehouse" in ready.json()["detail"]
            assert client.get("/openapi.json").status_code == 200
    finally:
        if server is not None:
            server[1].terminate()
            server[1].wait(timeout=30)


def _start_unready(py: Path, env: dict[str, str], log: Path):
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**env, "CREDIT_API_PORT": str(port)}
    proc = subprocess.Popen(
        [str(py), "-m", "api", "serve"], cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise AssertionError(log.read_text()[-3000:])
