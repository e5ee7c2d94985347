"""API-specific settings (``CREDIT_API_*``), beside the project's contract in warehouse.config."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from warehouse.config import get_settings


class ApiSettings(BaseSettings):
    """Tuning knobs of the service; paths default under CREDIT_HOME."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_API_", extra="ignore")

    workers: int = Field(default=2, ge=1, le=64)  # uvicorn worker processes (`python -m api serve`)
    model_name: str = "credit_default"  # registered MLflow model whose `champion` alias is served
    batch_max: int = Field(default=100, ge=1, le=10_000)  # applications per POST /v1/score/batch
    history_max_rows: int = Field(default=5_000, ge=1)  # rows per history table per application
    top_k_default: int = Field(default=10, ge=0, le=50)  # SHAP values returned by default
    reload_interval_s: float = Field(default=1.0, gt=0)  # how often the published copy / alias are checked
    workers_per_engine: int = Field(default=1, ge=1, le=64)  # feature SQL runs in parallel per process
    # the C allocator of the server processes: "jemalloc" (the default; used when libjemalloc.so.2
    # is installed, e.g. Debian's libjemalloc2, else a warning and the system's) or "system" (glibc)
    malloc: Literal["jemalloc", "system"] = "jemalloc"
    audit_path: Path | None = None  # default $CREDIT_HOME/audit/api_audit.jsonl
    audit_fsync: bool = False  # fsync every audit entry (durable against power loss; slower)
    cache_dir: Path | None = None  # default $CREDIT_HOME/api/cache (memory-mapped mart for look-ups)
    # refused with 413 before being read (a full batch of 100 applications with long histories is
    # about 3 MB of JSON)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # requests to /v1/ per key (or per client address without a valid key) over any 60 s, per
    # worker process; 0 turns the limit off
    rate_per_minute: int = Field(default=6000, ge=0)
    security_log_path: Path | None = None  # default $CREDIT_HOME/audit/api_security.jsonl

    @property
    def audit_file(self) -> Path:
        return self.audit_path or get_settings().home / "audit" / "api_audit.jsonl"

    @property
    def security_log_file(self) -> Path:
        return self.security_log_path or get_settings().home / "audit" / "api_security.jsonl"

    @property
    def cache_root(self) -> Path:
        return self.cache_dir or get_settings().home / "api" / "cache"


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
