"""Nothing a client sends produces a 500: schemathesis fuzzes every operation of the OpenAPI schema."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.api.conftest import API_KEY, REPO, Server

# Per operation, in schemathesis' example and fuzzing phases: six operations -> about 300 cases. The
# coverage phase (every boundary of every one of the ~200 Kaggle fields) sends thousands of valid
# applications, each a run of the feature SQL: too slow for `make test`.
MAX_EXAMPLES = 100


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
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--header",
        f"X-API-Key: {API_KEY}",
        "--seed",
        "20261128",
        "--request-timeout",
        "60",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    (tmp_path / "schemathesis.txt").write_text(out)
    assert proc.returncode == 0, out[-5000:]
    cases = sum(int(n) for n in re.findall(r"(\d+) generated", out))
    print(f"schemathesis: {cases} cases\n{out[-1500:]}")
    assert cases >= 200, out[-3000:]
