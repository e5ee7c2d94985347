"""Outside CREDIT_ENV=dev, each service refuses to start with a default or missing secret or password.

The API (`python -m api serve`), Superset (`python -m credit_superset up`, in its own venv) and the
pipeline's MLflow access (any command reading warehouse.config, here `python -m training train`)
are started for real with one bad setting each: each exits non-zero before serving or writing
anything, naming the variable, and never printing the secret it refused.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.config import store_uri_problem

REPO = Path(__file__).resolve().parents[2]
SUPERSET_PY = REPO / ".venv-superset" / "bin" / "python"
KEY = "a-long-random-api-key-0123456789"
KEYS = f"desk:officer:{hashlib.sha256(KEY.encode()).hexdigest()}"
STRONG = "Zq8-long-random-password-41f0"


def _env(home: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "SUPERSET_", "MLFLOW_"))}
    env.update({"CREDIT_HOME": str(home), "CREDIT_ENV": "prod", "PYTHONPATH": str(REPO / "superset")})
    env.update(values)
    return env


def _refused(cmd: list[str], env: dict[str, str], *expected: str, timeout: float = 120) -> str:
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    for text in expected:
        assert text in out, out[-2000:]
    return out


API = [sys.executable, "-m", "api", "serve", "--port", "1"]  # port 1: never reached if refused


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "CREDIT_API_KEYS"),  # prod without keys
        ({"CREDIT_API_KEYS": KEY}, "bare key"),  # a bare key in prod
        ({"CREDIT_API_KEYS": KEYS}, "CREDIT_FILE_LINK_SECRET"),  # the default link secret
        ({"CREDIT_API_KEYS": KEYS, "CREDIT_FILE_LINK_SECRET": STRONG,
          "MLFLOW_TRACKING_URI": "postgresql://mlflow:mlflow@127.0.0.1/mlflow"}, "MLFLOW_TRACKING_URI"),
    ],
)  # fmt: skip
def test_the_api_refuses_default_secrets(tmp_path, values, expected):
    out = _refused(API, _env(tmp_path, **values), expected)
    assert "mlflow@" not in out and KEY not in out  # neither the URI's password nor the key is printed
    assert not (tmp_path / "audit").exists()


def test_the_api_in_test_mode_refuses_to_run_without_keys(tmp_path):
    _refused(API, _env(tmp_path, CREDIT_ENV="test", CREDIT_FILE_LINK_SECRET=STRONG), "CREDIT_API_KEYS")


def test_the_pipeline_refuses_mlflow_stores_with_default_passwords(tmp_path):
    env = _env(
        tmp_path, CREDIT_API_KEYS=KEYS, MLFLOW_TRACKING_URI="postgresql://mlflow@127.0.0.1:5432/mlflow"
    )
    out = _refused([sys.executable, "-m", "training", "train"], env, "MLFLOW_TRACKING_URI")
    assert not (tmp_path / "mlflow").exists()
    assert "Traceback" not in out


def test_store_uri_rules():
    assert store_uri_problem("X", "postgresql://u:postgres@h/db", "dev") is None  # dev: anything goes
    assert store_uri_problem("X", "postgresql://u:postgres@h/db", "prod")
    assert store_uri_problem("X", "postgresql+psycopg2://u@h/db", "test")
    assert store_uri_problem("X", f"postgresql://u:{STRONG}@h/db", "prod") is None
    assert store_uri_problem("X", "sqlite:////var/mlflow.db", "prod") is None
    assert store_uri_problem("X", "http://127.0.0.1:5000", "prod", environ={}) is None
    assert store_uri_problem("X", "https://mlflow.example.com", "prod", environ={})
    creds = {"MLFLOW_TRACKING_USERNAME": "ci", "MLFLOW_TRACKING_PASSWORD": STRONG}
    assert store_uri_problem("X", "https://mlflow.example.com", "prod", environ=creds) is None
    assert store_uri_problem(
        "X", "https://mlflow.example.com", "prod", environ={**creds, "MLFLOW_TRACKING_PASSWORD": "admin"}
    )
    message = store_uri_problem("X", "postgresql://u:changeme@h/db", "prod") or ""
    assert message and "changeme" not in message  # the refused password is never repeated


SUPERSET_GOOD = {
    "SUPERSET_SECRET_KEY": STRONG + "-superset",
    "SUPERSET_ADMIN_PASSWORD": STRONG + "a",
    "SUPERSET_ANALYST_PASSWORD": STRONG + "b",
    "SUPERSET_OFFICER_PASSWORD": STRONG + "c",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SUPERSET_SECRET_KEY": ""}, "SUPERSET_SECRET_KEY"),
        ({"SUPERSET_ADMIN_PASSWORD": ""}, "SUPERSET_ADMIN_PASSWORD"),
        ({"SUPERSET_ADMIN_PASSWORD": "admin"}, "SUPERSET_ADMIN_PASSWORD"),
        ({"SUPERSET_OFFICER_PASSWORD": "officer"}, "SUPERSET_OFFICER_PASSWORD"),
        (
            {"SUPERSET_DATABASE_URI": "postgresql://superset:superset@127.0.0.1/superset"},
            "SUPERSET_DATABASE_URI",
        ),
    ],
)
def test_superset_refuses_default_secrets(tmp_path, change, expected):
    if not SUPERSET_PY.exists():
        pytest.skip("Superset's venv is not installed (make superset-venv)")
    env = _env(tmp_path, **{**SUPERSET_GOOD, **change})
    out = _refused([str(SUPERSET_PY), "-m", "credit_superset", "up"], env, expected)
    assert not (tmp_path / "superset" / "superset.db").exists()  # nothing provisioned
    assert "superset:superset@" not in out
