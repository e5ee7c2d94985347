"""Writing a scoring run into the `scoring` schema of the build warehouse, all or nothing.

The scorer computes everything first into Parquet files, then this module inserts them in one
DuckDB transaction: a failed or killed run leaves the previous scores untouched (an uncommitted
transaction is never replayed). Explanations (shap_values, reasons) of older runs are pruned to
the latest `retention_runs` runs; scores and scoring_runs of every run stay queryable.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pandas as pd

from warehouse.db import connect_writer
from warehouse.faults import fault
from warehouse.scoring_tables import SCORING_DDL

log = logging.getLogger(__name__)

# Columns added since the first DDL (kept in sync with scoring_tables.SCORING_DDL).
EXTRA_COLUMNS = {
    "scores": {"raw_score": "double", "champion_probability": "double", "sample": "varchar"},
    "reasons": {"fact": "varchar"},
    "scoring_runs": {"n_applicants": "bigint", "seconds_write": "double", "chunk_rows": "bigint"},
}

CRASH_ENV = "CREDIT_SCORING_CRASH_AFTER"  # test hook: exit without cleanup inside the transaction


def _run(con, sql: str, params: list | None = None) -> list:
    """Execute and drain the result (DuckDB refuses new work on a connection with a pending result)."""
    return con.execute(sql, params or []).fetchall()


def ensure_schema(con) -> None:
    for statement in re.sub(r"--[^\n]*", "", SCORING_DDL).split(";"):
        if statement.strip():
            _run(con, statement)
    for table, cols in EXTRA_COLUMNS.items():
        for name, typ in cols.items():
            _run(con, f"alter table scoring.{table} add column if not exists {name} {typ}")


def _insert_parquet(con, table: str, files: list[Path]) -> int:
    if not files:
        return 0
    listing = ", ".join(f"'{f}'" for f in files)
    cols = [
        r[0]
        for r in con.execute(
            f"select column_name from (describe select * from read_parquet([{listing}]))"
        ).fetchall()
    ]
    names = ", ".join(f'"{c}"' for c in cols)
    return _run(con, f"insert into scoring.{table} ({names}) select {names} from read_parquet([{listing}])")[
        0
    ][0]


def write_run(
    warehouse: Path,
    run: dict,
    files: dict[str, list[Path]],
    global_importance: pd.DataFrame,
    risk_grades: pd.DataFrame,
    retention_runs: int,
) -> dict[str, int]:
    """Insert one scoring run (scores, shap_values, reasons from Parquet files) in one transaction.

    The scoring_runs row gets the rows actually inserted (n_shap_rows, n_reasons) and
    seconds_write: from opening the warehouse to the end of the transaction's work (inserts,
    replaced importance and grades, pruned explanations), commit and checkpoint not included.
    """
    started = time.perf_counter()
    con = connect_writer(warehouse)
    try:
        ensure_schema(con)
        _run(con, "begin transaction")
        counts = {}
        for table in ("scores", "shap_values", "reasons"):
            counts[table] = _insert_parquet(con, table, files.get(table, []))
            if os.environ.get(CRASH_ENV) == table:
                os._exit(3)  # simulate a killed process in the middle of the write
            if table == "scores":
                fault("score:mid_write")
        run = {**run, "n_shap_rows": counts["shap_values"], "n_reasons": counts["reasons"]}
        con.register("run_row", pd.DataFrame([run]))
        cols = ", ".join(f'"{c}"' for c in run)
        _run(con, f"insert into scoring.scoring_runs ({cols}) select {cols} from run_row")
        _run(
            con,
            "delete from scoring.global_importance where model_name = ? and model_version = ?",
            [run["model_name"], run["model_version"]],
        )
        con.register("gi", global_importance)
        _run(
            con,
            "insert into scoring.global_importance (model_name, model_version, feature, mean_abs_shap, rank) "
            "select model_name, model_version, feature, mean_abs_shap, rank from gi",
        )
        _run(con, "delete from scoring.risk_grades where model_version = ?", [run["model_version"]])
        con.register("rg", risk_grades)
        _run(
            con,
            "insert into scoring.risk_grades (model_version, grade, p_low, p_high, observed_default_rate, n) "
            "select model_version, grade, p_low, p_high, observed_default_rate, n from rg",
        )
        keep = f"""
            select run_id from scoring.scoring_runs order by started_at desc limit {int(max(retention_runs, 1))}
        """
        for table in ("shap_values", "reasons"):
            _run(con, f"delete from scoring.{table} where run_id not in ({keep})")
        _run(
            con,
            "update scoring.scoring_runs set seconds_write = ? where run_id = ?",
            [time.perf_counter() - started, run["run_id"]],
        )
        if os.environ.get(CRASH_ENV) == "commit":
            os._exit(3)
        fault("score:before_commit")
        _run(con, "commit")
        _run(con, "checkpoint")
        return counts
    except BaseException:
        try:
            _run(con, "rollback")
        except Exception:  # noqa: BLE001 - no transaction open
            pass
        raise
    finally:
        con.close()


def latest_run(warehouse: Path) -> dict | None:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute("select * from scoring.scoring_runs order by started_at desc limit 1").df()
        return None if row.empty else row.iloc[0].to_dict()
    finally:
        con.close()
