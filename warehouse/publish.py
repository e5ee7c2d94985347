"""Publish the build warehouse as the read-only serving copy (atomic rename of a finished copy)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import duckdb

from warehouse.errors import UserError
from warehouse.faults import fault

log = logging.getLogger(__name__)


def publish(build: Path, serving: Path, dbt_target: Path | None = None) -> Path:
    """Copy `build` (checkpointed, closed) to a temp file beside `serving`, then rename it into place.

    The copy also carries the feature mart's compiled dbt SQL (schema `serving_meta`, see
    warehouse.feature_sql), which the API runs over a new application's rows; a build without a
    dbt manifest (raw load only) is published without it. Readers that opened the previous copy
    keep their file handle; new connections see the new file.
    """
    if not build.exists():
        raise UserError(f"{build}: no build warehouse to publish; run `python -m warehouse load` first")
    con = duckdb.connect(str(build))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    serving.parent.mkdir(parents=True, exist_ok=True)
    # a killed publish leaves its copy behind (as big as the warehouse): publishes hold the writer
    # lock, so any other one is a dead run's
    for stale in serving.parent.glob(f".{serving.name}.*.tmp"):
        log.info("removing %s, left by an interrupted publish", stale.name)
        stale.unlink(missing_ok=True)
    tmp = serving.with_name(f".{serving.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(build, tmp)
        _ship_feature_sql(tmp, dbt_target)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        fault("publish:before_rename")
        os.replace(tmp, serving)
        fault("publish:after_rename")
    finally:
        tmp.unlink(missing_ok=True)
    return serving


def _ship_feature_sql(copy: Path, dbt_target: Path | None) -> None:
    """Write the mart's compiled SQL into the copy being published (never into the build file)."""
    from warehouse import feature_sql

    try:
        artefact = feature_sql.extract(dbt_target)
    except UserError as exc:
        log.info("publishing without the feature SQL (real-time scoring unavailable): %s", exc)
        return
    con = duckdb.connect(str(copy))
    try:
        mart = artefact.mart_step
        built = con.execute(
            "select count(*) from (select schema_name, table_name as name from duckdb_tables() "
            "union all select schema_name, view_name from duckdb_views()) where schema_name = ? and name = ?",
            [mart.schema_name, mart.name],
        ).fetchone()[0]
        if not built:
            log.info(
                "publishing without the feature SQL: %s.%s is not built yet", mart.schema_name, mart.name
            )
            return
        try:
            feature_sql.check_against(con, artefact)
        except UserError as exc:
            log.warning("publishing without the feature SQL: %s", exc)
            return
        feature_sql.ship(con, artefact)
        con.execute("checkpoint")
    finally:
        con.close()


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
