"""All-or-nothing load of the eight Kaggle files into the `raw` schema of the build warehouse.

The load writes a brand-new DuckDB file next to the build file and renames it into place only
when every file has been read with its declared types and every check has passed. Any refusal
names the file, the column and (where it applies) the row; the previous warehouse is untouched.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.db import connect_writer
from warehouse.errors import LoadError
from warehouse.faults import fault
from warehouse.schema import TABLE_FILES, Table, load_schema
from warehouse.scoring_tables import SCORING_DDL

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".csv.gz", ".parquet")
# history table -> (column, parent table, parent column) checked for orphans
ORPHAN_CHECKS = {
    "bureau": ("SK_ID_CURR", "applications", "SK_ID_CURR"),
    "bureau_balance": ("SK_ID_BUREAU", "bureau", "SK_ID_BUREAU"),
    "previous_application": ("SK_ID_CURR", "applications", "SK_ID_CURR"),
    "pos_cash_balance": ("SK_ID_CURR", "applications", "SK_ID_CURR"),
    "installments_payments": ("SK_ID_CURR", "applications", "SK_ID_CURR"),
    "credit_card_balance": ("SK_ID_CURR", "applications", "SK_ID_CURR"),
}


@dataclass
class TableReport:
    table: str
    file: str
    rows: int
    seconds: float
    orphans: int = 0
    unknown_labels: dict[str, int] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadReport:
    warehouse: Path
    source: Path
    tables: list[TableReport]
    seconds: float

    def summary(self) -> str:
        lines = [f"loaded {self.source} into {self.warehouse} in {self.seconds:.1f} s"]
        for t in self.tables:
            extra = []
            if t.orphans:
                extra.append(f"{t.orphans:,} orphan rows")
            if t.unknown_labels:
                extra.append(
                    "labels not in schema: " + ", ".join(f"{k} ({v})" for k, v in t.unknown_labels.items())
                )
            if t.out_of_range:
                extra.append(
                    "outside plausible range: " + ", ".join(f"{k} ({v})" for k, v in t.out_of_range.items())
                )
            note = f"  [{'; '.join(extra)}]" if extra else ""
            lines.append(f"  raw.{t.table:<24} {t.rows:>12,} rows  {t.seconds:6.1f} s{note}")
        return "\n".join(lines)


def find_file(source: Path, stem: str) -> Path:
    for suffix in SUFFIXES:
        candidate = source / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    raise LoadError(f"{source / (stem + '.csv')}: file missing (also looked for .csv.gz and .parquet)")


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            line = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path.name}: cannot read the header ({exc})") from exc
    if not line.strip():
        raise LoadError(f"{path.name}: empty file (no header row)")
    return [c.strip().strip('"') for c in line.rstrip("\r\n").split(",")]


def _check_columns(path: Path, table: Table, found: list[str]) -> None:
    expected = table.column_names
    missing = [c for c in expected if c not in found]
    unknown = [c for c in found if c not in expected]
    if missing:
        raise LoadError(f"{path.name}: missing column(s) {', '.join(missing)}")
    if unknown:
        raise LoadError(f"{path.name}: unknown column(s) {', '.join(unknown)} (not in the Kaggle schema)")
    dupes = sorted({c for c in found if found.count(c) > 1})
    if dupes:
        raise LoadError(f"{path.name}: duplicated column(s) {', '.join(dupes)}")


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMN = re.compile(r'converting column "([^"]+)"\. Could not convert string "([^"]*)" to \'?(\w+)')
_NCOLS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _explain(path: Path, exc: Exception) -> LoadError:
    msg = str(exc)
    line = _LINE.search(msg)
    where = f", row {int(line.group(1)) - 1} (line {line.group(1)})" if line else ""
    col = _COLUMN.search(msg)
    if col:
        return LoadError(
            f"{path.name}: column {col.group(1)}{where}: value {col.group(2)!r} is not a valid {col.group(3)}"
        )
    ncols = _NCOLS.search(msg)
    if ncols:
        return LoadError(
            f"{path.name}{where}: expected {ncols.group(1)} columns, found {ncols.group(2)} "
            "(truncated or malformed file)"
        )
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    return LoadError(f"{path.name}{where}: unreadable ({first})")


def _select_list(table: Table) -> str:
    return ", ".join(f'cast("{c.name}" as {c.type}) as "{c.name}"' for c in table.columns)


def _read_sql(path: Path, table: Table, header: list[str] | None) -> str:
    if path.suffix == ".parquet":
        return f"select {_select_list(table)} from read_parquet('{path}')"
    types = {c.name: c.type for c in table.columns}
    columns = ", ".join(f"'{name}': '{types[name]}'" for name in header or [])
    compression = "gzip" if path.suffix == ".gz" else "none"
    return (
        f"select {', '.join(chr(34) + c + chr(34) for c in table.column_names)} from read_csv('{path}', "
        f"columns={{{columns}}}, header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
        f"nullstr='', compression='{compression}', strict_mode=true)"
    )


def _load_table(con: duckdb.DuckDBPyConnection, path: Path, table: Table) -> int:
    header = None
    if path.suffix == ".parquet":
        try:
            header = [r[0] for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()]
        except duckdb.Error as exc:
            raise _explain(path, exc) from exc
        if not header:
            raise LoadError(f"{path.name}: empty file (no columns)")
    else:
        header = _csv_header(path)
    _check_columns(path, table, header)
    try:
        con.execute(f"create table raw.{table.name} as {_read_sql(path, table, header)}")
    except duckdb.Error as exc:
        raise _explain(path, exc) from exc
    rows = con.execute(f"select count(*) from raw.{table.name}").fetchone()[0]
    if rows == 0:
        raise LoadError(f"{path.name}: empty file (header only, no rows)")
    return rows


def _check_keys(con: duckdb.DuckDBPyConnection, path: Path, table: Table) -> None:
    if not table.key or table.name == "bureau_balance":
        return
    key = ", ".join(f'"{k}"' for k in table.key)
    nulls = con.execute(
        f"select count(*) from raw.{table.name} where " + " or ".join(f'"{k}" is null' for k in table.key)
    ).fetchone()[0]
    if nulls:
        raise LoadError(f"{path.name}: column {table.key[0]}: {nulls} row(s) with an empty key")
    dup = con.execute(
        f"select {key}, count(*) from raw.{table.name} group by all having count(*) > 1 limit 1"
    ).fetchone()
    if dup:
        raise LoadError(
            f"{path.name}: column {', '.join(table.key)}: duplicate key {dup[0]} ({dup[-1]} rows)"
        )


def _quality(
    con: duckdb.DuckDBPyConnection, table: Table, path: Path | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Count labels outside the schema and values outside plausible ranges (reported, not fatal).

    In the same scan, numbers that are not finite ('NaN', 'inf' written in the file: DuckDB reads
    them as such) are refused: a missing value is an empty field, and a NaN is not NULL downstream.
    """
    exprs: list[tuple[str, str, str]] = []
    for c in table.columns:
        if c.type.upper() in ("DOUBLE", "FLOAT", "REAL"):
            exprs.append(("finite", c.name, f'count_if(not isfinite("{c.name}"))'))
    for c in table.columns:
        if c.labels:
            allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in c.labels)
            exprs.append(("label", c.name, f'count_if("{c.name}" not in ({allowed}))'))
        elif c.min is not None and c.max is not None:
            exprs.append(("range", c.name, f'count_if("{c.name}" < {c.min} or "{c.name}" > {c.max})'))
    if not exprs:
        return {}, {}
    values = con.execute(f"select {', '.join(e for _, _, e in exprs)} from raw.{table.name}").fetchone()
    for (kind, name, _), v in zip(exprs, values, strict=True):
        if kind == "finite" and v:
            key = table.key[0] if table.key else table.columns[0].name
            example = con.execute(
                f'select "{key}", "{name}" from raw.{table.name} where not isfinite("{name}") limit 1'
            ).fetchone()
            raise LoadError(
                f"{path.name if path else table.name}: column {name}: {v} value(s) are not finite numbers "
                f"(e.g. {example[1]} at {key} {example[0]}); write a missing value as an empty field"
            )
    labels = {name: int(v) for (kind, name, _), v in zip(exprs, values, strict=True) if kind == "label" and v}
    ranges = {name: int(v) for (kind, name, _), v in zip(exprs, values, strict=True) if kind == "range" and v}
    return labels, ranges


def _copy_previous_scoring(con: duckdb.DuckDBPyConnection, previous: Path) -> None:
    """Keep earlier scoring runs queryable across reloads of the raw data."""
    if not previous.exists():
        return
    con.execute(f"attach '{previous}' as previous (read_only)")
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'previous' and schema_name = 'scoring'"
            ).fetchall()
        ]
        for name in tables:
            cols = [
                r[0] for r in con.execute(f"select column_name from (describe scoring.{name})").fetchall()
            ]
            prev_cols = {
                r[0]
                for r in con.execute(f"select column_name from (describe previous.scoring.{name})").fetchall()
            }
            common = ", ".join(f'"{c}"' for c in cols if c in prev_cols)
            con.execute(f"insert into scoring.{name} ({common}) select {common} from previous.scoring.{name}")
    finally:
        con.execute("detach previous")


def load(source: Path, warehouse: Path) -> LoadReport:
    """Load `source` (a folder with the eight Kaggle files) into a new build warehouse."""
    started = time.perf_counter()
    source = Path(source)
    if not source.is_dir():
        what = "is a file, not a folder" if source.exists() else "source folder does not exist"
        raise LoadError(f"{source}: {what} (expected the folder of the eight Kaggle files)")
    schema = load_schema()
    files = {name: find_file(source, stem) for name, stem in TABLE_FILES.items()}
    # unique per run; any other load's temp file is a dead run's (loads hold the writer lock)
    tmp = warehouse.with_name(f"{warehouse.name}.{os.getpid()}.loading")
    for stale in warehouse.parent.glob(f"{warehouse.name}*.loading*"):
        log.info("removing %s, left by an interrupted load", stale.name)
        stale.unlink(missing_ok=True)
    reports: list[TableReport] = []
    con = connect_writer(tmp)
    try:
        con.execute("create schema raw")
        for name, path in files.items():
            table = schema.table(name)
            t0 = time.perf_counter()
            rows = _load_table(con, path, table)
            _check_keys(con, path, table)
            labels, ranges = _quality(con, table, path)
            reports.append(TableReport(name, path.name, rows, time.perf_counter() - t0, 0, labels, ranges))
            log.info("loaded raw.%s: %s rows from %s", name, f"{rows:,}", path.name)
        con.execute(
            'create view raw.applications as select "SK_ID_CURR" from raw.application_train '
            'union all select "SK_ID_CURR" from raw.application_test'
        )
        dup = con.execute(
            'select "SK_ID_CURR" from raw.applications group by 1 having count(*) > 1 limit 1'
        ).fetchone()
        if dup:
            raise LoadError(
                f"application_test: column SK_ID_CURR: applicant {dup[0]} is also in application_train"
            )
        by_name = {r.table: r for r in reports}
        for name, (col, parent, parent_col) in ORPHAN_CHECKS.items():
            by_name[name].orphans = con.execute(
                f"select count(*) from raw.{name} as child where not exists "
                f'(select 1 from raw.{parent} as p where p."{parent_col}" = child."{col}")'
            ).fetchone()[0]
        con.execute(
            "create table raw.load_manifest (table_name varchar, file varchar, row_count bigint, "
            "orphan_rows bigint, seconds double, loaded_at timestamp)"
        )
        for r in reports:
            con.execute(
                "insert into raw.load_manifest values (?, ?, ?, ?, ?, current_timestamp)",
                [r.table, str(files[r.table]), r.rows, r.orphans, r.seconds],
            )
        con.execute(SCORING_DDL)
        _copy_previous_scoring(con, warehouse)
        con.execute("checkpoint")
        con.close()
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    fault("load:before_swap")
    os.replace(tmp, warehouse)
    fault("load:after_swap")
    return LoadReport(warehouse, source, reports, time.perf_counter() - started)
