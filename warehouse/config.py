"""The project's environment contract: every path and address, from `CREDIT_*` variables.

One place reads the environment; every other module calls :func:`get_settings`.
The defaults put all generated state under ``var/`` in the repository and documents for
people under ``reports/``; see README.md ("The contract") and .env.example.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SECRET = "dev-only-not-a-secret"  # noqa: S105 - refused outside dev


class Settings(BaseSettings):
    """Paths, addresses and secrets. Derived paths follow ``home`` unless set explicitly."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    home: Path = Field(default=REPO_ROOT / "var")
    warehouse_path: Path | None = None
    serving_path: Path | None = None
    reports_dir: Path = Field(default=REPO_ROOT / "reports")
    duckdb_memory_limit: str = "1500MB"
    duckdb_threads: int = 2

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_keys: str = ""  # comma-separated; required outside dev

    superset_port: int = 8088

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if self.warehouse_path is None:
            self.warehouse_path = self.home / "warehouse" / "build.duckdb"
        if self.serving_path is None:
            self.serving_path = self.home / "warehouse" / "serving.duckdb"
        if self.env == "prod" and not self.api_key_list:
            raise ValueError("CREDIT_ENV=prod requires CREDIT_API_KEYS (comma-separated keys)")
        return self

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def mlflow_tracking_uri(self) -> str:
        import os

        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def dbt_target_path(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_log_path(self) -> Path:
        return self.home / "dbt" / "logs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached; call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
