"""Nothing a client sends produces a 500: schemathesis fuzzes every operation of the OpenAPI schema."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.api.conftest import API_KEY, REPO, Server

MAX_EXAMPLES = 60  # per operation; six operations -> a few hundred cases


def test_schemathesis_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(exe).exists():
        pytest.fail("schemathesis is not installed (it is pinned in requirements.txt)")
    cmd = [
        exe,
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--header",
        f"X-API-Key: {API_KEY}",
        "--seed",
        "20261128",
        "--request-timeout",
        "60",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    (tmp_path / "schemathesis.txt").write_text(out)
    assert proc.returncode == 0, out[-5000:]
    junit = next(tmp_path.glob("*.xml")).read_text()
    assert 'failures="0"' in junit or "failures='0'" in junit, junit[:2000]
    cases = sum(int(n) for n in re.findall(r"(\d+) generated", out)) or None
    print(f"schemathesis: {cases} cases\n{out[-1500:]}")
