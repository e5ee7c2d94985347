"""Two small synthetic warehouses, with and without the generator's planted drift, in temp homes.

Same seed, so the training applicants are identical in both and only application_test differs
(warehouse/synth/generate.py: contract-type mix, income, credit size). `planted` and `unplanted`
hold the raw load and a real `dbt build` (feature store + monitoring marts, no scores yet);
`scored` adds, once per session, a quick training on the planted warehouse and a scoring run of
both warehouses with that same champion (one MLflow store), then the serving marts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
APPLICANTS = int(os.environ.get("CREDIT_TEST_DRIFT_APPLICANTS", "6000"))
SEED = 1
FAST_TRAINING = {
    "CREDIT_TRAIN_RUN_STUDIES": "false",
    "CREDIT_TRAIN_N_FOLDS": "2",
    "CREDIT_TRAIN_MAX_ROUNDS": "60",
    "CREDIT_TRAIN_LEARNING_RATE": "0.1",
    "CREDIT_TRAIN_BOOTSTRAP": "20",
    "CREDIT_TRAIN_SHAP_SAMPLE_ROWS": "300",
}


@dataclass
class Home:
    path: Path
    env: dict[str, str]

    @property
    def build(self) -> Path:
        return self.path / "warehouse" / "build.duckdb"

    @property
    def reports(self) -> Path:
        return self.path / "reports"

    def run(self, *args: str, timeout: float = 900) -> str:
        proc = subprocess.run(
            list(args), cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc.stdout

    def py(self, *args: str) -> str:
        return self.run(sys.executable, "-m", *args)

    def dbt(self, *args: str) -> str:
        return self.run(str(Path(sys.executable).with_name("dbt")), *args)


def _home(root: Path, name: str, mlflow_uri: str) -> Home:
    path = root / name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "DBT_", "MLFLOW_"))}
    env |= {
        "CREDIT_HOME": str(path),
        "CREDIT_REPORTS_DIR": str(path / "reports"),
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(path / "dbt" / "target"),
        "DBT_LOG_PATH": str(path / "dbt" / "logs"),
        **FAST_TRAINING,
    }
    return Home(path, env)


def _built(home: Home, drift: str) -> Home:
    data = home.path / "data"
    home.py(
        "warehouse",
        "generate",
        "--applicants",
        str(APPLICANTS),
        "--seed",
        str(SEED),
        "--drift",
        drift,
        "--out",
        str(data),
        "--no-progress",
    )
    home.py("warehouse", "load", "--source", str(data))
    home.dbt("build", "--quiet")  # the default selector: the feature store only
    home.dbt("build", "--quiet", "--select", "tag:serving")  # monitoring marts over empty scoring tables
    return home


@pytest.fixture(scope="session")
def monitoring_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("monitoring")


@pytest.fixture(scope="session")
def mlflow_uri(monitoring_root: Path) -> str:
    (monitoring_root / "mlflow").mkdir(exist_ok=True)
    return f"sqlite:///{monitoring_root / 'mlflow' / 'mlflow.db'}"


@pytest.fixture(scope="session")
def planted(monitoring_root: Path, mlflow_uri: str) -> Home:
    return _built(_home(monitoring_root, "planted", mlflow_uri), "default")


@pytest.fixture(scope="session")
def unplanted(monitoring_root: Path, mlflow_uri: str) -> Home:
    return _built(_home(monitoring_root, "unplanted", mlflow_uri), "none")


@pytest.fixture(scope="session")
def scored(planted: Home, unplanted: Home) -> tuple[Home, Home]:
    """Train on the planted warehouse, score both with that champion, build the serving marts."""
    planted.py("training", "train", "--quick")
    for home in (planted, unplanted):
        home.py("training", "score", "--no-publish")
        home.dbt("build", "--quiet", "--select", "tag:serving")
    return planted, unplanted
