"""Bad command lines and settings: each a clear message naming the argument, a non-zero exit, no
traceback, and nothing changed (the warehouse files, the model registry and the decision log
hashed before and after), run against the session's real pipeline."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.api.conftest import REPO, Pipeline

# (arguments after `python -m`, extra environment, what the message must name)
CASES: dict[str, tuple[list[str], dict[str, str], str]] = {
    "load: no such folder": (["warehouse", "load", "--source", "/nonexistent/kaggle"], {}, "does not exist"),
    "load: a file, not a folder": (["warehouse", "load", "--source", "README.md"], {}, "not a folder"),
    "generate: negative count": (["warehouse", "generate", "--applicants", "-5", "--out", "{home}/g"], {}, "--applicants"),
    "generate: not a number": (["warehouse", "generate", "--applicants", "abc", "--out", "{home}/g"], {}, "--applicants"),
    "generate: fractional seed": (["warehouse", "generate", "--seed", "1.5", "--out", "{home}/g"], {}, "--seed"),
    "scale: no such source": (["warehouse", "scale", "--source", "/nonexistent", "--applicants", "10", "--seed", "1",
                               "--out", "{home}/s"], {}, "does not exist"),
    "scale: too few applicants": (["warehouse", "scale", "--source", "{home}/data/synthetic", "--applicants", "0",
                                   "--seed", "1", "--out", "{home}/s"], {}, "--applicants"),
    "warehouse: unknown command": (["warehouse", "frobnicate"], {}, "invalid choice"),
    "run-locked: no command": (["warehouse", "run-locked"], {}, "needs a command"),
    "training: unknown command": (["training", "frobnicate"], {}, "invalid choice"),
    "training: unknown option": (["training", "score", "--model-version", "abc"], {}, "unrecognized arguments"),
    "reasons-coverage: share out of range": (["training", "reasons-coverage", "--min-share", "-1"], {}, "--min-share"),
    "api key: empty name": (["api", "key", "", "officer"], {}, "name"),
    "api key: name with a colon": (["api", "key", "a:b", "officer"], {}, "name"),
    "api key: unknown role": (["api", "key", "desk", "root"], {}, "invalid choice"),
    "api serve: port out of range": (["api", "serve", "--port", "99999"], {}, "out of range"),
    "api serve: port not a number": (["api", "serve", "--port", "nan"], {}, "--port"),
    "settings: unknown environment": (["warehouse", "publish"], {"CREDIT_ENV": "staging"}, "configuration refused"),
    "settings: malformed key entry": (["warehouse", "publish"], {"CREDIT_API_KEYS": "desk:officer:nothex"},
                                      "CREDIT_API_KEYS entry"),
    "settings: link lifetime not a number": (["warehouse", "publish"], {"CREDIT_FILE_LINK_DAYS": "a week"},
                                             "configuration refused"),
}  # fmt: skip


def _hashes(home: Path) -> dict[str, str]:
    paths = [*sorted((home / "warehouse").glob("*.duckdb")), home / "mlflow" / "mlflow.db"]
    paths += sorted((home / "audit").glob("*.jsonl"))
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.exists()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_command_lines_change_nothing(pipeline: Pipeline, name: str):
    args, env_extra, expected = CASES[name]
    home = pipeline.home
    args = [a.replace("{home}", str(home)) for a in args]
    before = _hashes(home)
    assert any(k.endswith(".duckdb") for k in before) and "mlflow/mlflow.db" in before
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env={**pipeline.env, **env_extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, (name, out[-1500:])
    assert "Traceback" not in out, (name, out[-3000:])
    assert expected in out, (name, out[-1500:])
    assert _hashes(home) == before, name
    assert not (home / "g").exists() and not (home / "s").exists()
