"""Opening DuckDB files: the writer's build file and the readers' published copy."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.config import get_settings
from warehouse.errors import UserError


def connect_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (create) a warehouse file for writing, with the configured memory limit and spilling."""
    settings = get_settings()
    path.parent.mkdir(parents=True, exist_ok=True)
    spill = path.parent / ".spill"
    spill.mkdir(exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
    con.execute(f"set threads = {int(settings.duckdb_threads)}")
    con.execute(f"set temp_directory = '{spill}'")
    con.execute("set preserve_insertion_order = false")
    return con


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a published warehouse read-only (never the build file while a writer runs)."""
    if not path.exists():
        raise UserError(
            f"warehouse file {path} does not exist: run `make pipeline` (or `python -m warehouse publish`)"
        )
    return duckdb.connect(str(path), read_only=True)
