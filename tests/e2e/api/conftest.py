"""A real pipeline on small synthetic data in a temp CREDIT_HOME, and a real uvicorn serving the API.

The pipeline (generate -> load -> dbt run of the feature mart -> train (quick) -> score, which
publishes) runs once per session; the server runs with CREDIT_ENV=test and an API key.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
API_KEY = "test-key-0123456789"  # a bare key (accepted outside prod): role officer
APP_KEY = "app-key-0123456789"  # name:role:sha256 entries below
SUPERSET_KEY = "superset-key-0123456789"
LINK_SECRET = "test-link-secret-0123456789"
LINK_PER_MINUTE = 40


def _entry(name: str, role: str, key: str) -> str:
    return f"{name}:{role}:{hashlib.sha256(key.encode()).hexdigest()}"


APPLICANTS = int(os.environ.get("CREDIT_TEST_API_APPLICANTS", "600"))

FAST_TRAINING = {
    "CREDIT_TRAIN_RUN_STUDIES": "false",
    "CREDIT_TRAIN_N_FOLDS": "2",
    "CREDIT_TRAIN_MAX_ROUNDS": "40",
    "CREDIT_TRAIN_BOOTSTRAP": "20",
    "CREDIT_TRAIN_SHAP_SAMPLE_ROWS": "200",
}


def pipeline_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "DBT_", "MLFLOW_"))}
    env.update(
        {
            "CREDIT_HOME": str(home),
            "CREDIT_REPORTS_DIR": str(home / "reports"),
            "DBT_PROFILES_DIR": str(REPO),
            "DBT_TARGET_PATH": str(home / "dbt" / "target"),
            "DBT_LOG_PATH": str(home / "dbt" / "logs"),
            **FAST_TRAINING,
        }
    )
    return env


def run(cmd: list[str], env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


def publish(env: dict[str, str]) -> None:
    run([sys.executable, "-m", "warehouse", "publish"], env)


@dataclass
class Pipeline:
    home: Path
    env: dict[str, str]

    @property
    def build(self) -> Path:
        return self.home / "warehouse" / "build.duckdb"

    @property
    def serving(self) -> Path:
        return self.home / "warehouse" / "serving.duckdb"


def build_pipeline(home: Path, applicants: int = APPLICANTS, seed: int = 7) -> Pipeline:
    """generate -> load -> dbt run of the feature mart -> train (quick) -> score (publishes)."""
    env = pipeline_env(home)
    py = sys.executable
    dbt = str(Path(sys.executable).with_name("dbt"))
    data = home / "data" / "synthetic"
    gen = [
        "generate",
        "--applicants",
        str(applicants),
        "--seed",
        str(seed),
        "--out",
        str(data),
        "--no-progress",
    ]
    run([py, "-m", "warehouse", *gen], env)
    run([py, "-m", "warehouse", "load", "--source", str(data)], env)
    run([dbt, "run", "--quiet", "--select", "+feat_applicant_features", "+feat_applicant_labels"], env)
    run([py, "-m", "training", "train", "--quick"], env)
    run([py, "-m", "training", "score"], env)  # writes scoring.* and publishes the serving copy
    return Pipeline(home, env)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return build_pipeline(tmp_path_factory.mktemp("api_home"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str]

    def client(self, key: str | None = API_KEY, timeout: float = 60) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def start_server(
    env: dict[str, str], log: Path, python: str = sys.executable, ready_timeout: float = 90
) -> Server:
    port = free_port()
    env = {**env, "CREDIT_API_PORT": str(port), "CREDIT_API_HOST": "127.0.0.1"}
    fh = log.open("w")
    process = subprocess.Popen(
        [python, "-m", "api", "serve"], cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the API exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return Server(url, process, log, env)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise AssertionError(f"the API was not ready within {ready_timeout} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        **pipeline.env,
        "CREDIT_ENV": "test",
        "CREDIT_API_KEYS": ",".join(
            [
                API_KEY,
                "second-key",
                _entry("shop-app", "app", APP_KEY),
                _entry("bi", "superset", SUPERSET_KEY),
            ]
        ),
        "CREDIT_FILE_LINK_SECRET": LINK_SECRET,
        "CREDIT_FILE_LINK_PER_MINUTE": str(LINK_PER_MINUTE),
        "CREDIT_API_RELOAD_INTERVAL_S": "0.3",
        "CREDIT_API_BATCH_MAX": "5",
        "CREDIT_API_WORKERS": "1",  # one process: /ready and /v1/model answer from the same state
    }
    srv = start_server(env, tmp_path_factory.mktemp("api_logs") / "uvicorn.log")
    yield srv
    stop_server(srv)
