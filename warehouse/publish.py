"""Publish the build warehouse as the read-only serving copy (atomic rename of a finished copy)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from warehouse.errors import UserError


def publish(build: Path, serving: Path) -> Path:
    """Copy `build` (checkpointed, closed) to a temp file beside `serving`, then rename it into place.

    Readers that opened the previous copy keep their file handle; new connections see the new file.
    """
    if not build.exists():
        raise UserError(f"{build}: no build warehouse to publish; run `python -m warehouse load` first")
    con = duckdb.connect(str(build))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    serving.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving.with_name(f".{serving.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(build, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, serving)
    finally:
        tmp.unlink(missing_ok=True)
    return serving


def summary(path: Path) -> str:
    if not path.exists():
        raise UserError(f"{path}: no warehouse yet; run `make demo` or `python -m warehouse load`")
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables() order by 1, 2"
        ).fetchall()
        lines = [f"warehouse {path}"]
        for schema, table, _ in rows:
            n = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            lines.append(f"  {schema}.{table:<40} {n:>12,} rows")
        return "\n".join(lines)
    finally:
        con.close()
