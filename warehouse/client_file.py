"""What the published warehouse holds about one applicant: the rows of the client's file.

Read from the serving copy (read-only): the application as loaded (raw.application_train or
raw.application_test), every history row of the six history tables (bureau_balance through the
applicant's bureau credits), the latest batch score and its reasons, and where the rows came from
(raw.load_manifest). Column labels for people (French and English) come from kaggle_labels.yaml.
The API's decisions come from its audit log, not from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import yaml

from warehouse.schema import load_schema

LABELS_PATH = Path(__file__).with_name("kaggle_labels.yaml")

# The history tables in the file's order, with the column that ties a row to the applicant.
HISTORY_TABLES: dict[str, str] = {
    "bureau": "SK_ID_CURR",
    "bureau_balance": "SK_ID_BUREAU",  # through the applicant's bureau credits
    "previous_application": "SK_ID_CURR",
    "pos_cash_balance": "SK_ID_CURR",
    "installments_payments": "SK_ID_CURR",
    "credit_card_balance": "SK_ID_CURR",
}
# Row order of each table in the file (newest first where the table has a month or a day).
_ORDER: dict[str, str] = {
    "bureau": "DAYS_CREDIT desc nulls last, SK_ID_BUREAU",
    "bureau_balance": "SK_ID_BUREAU, MONTHS_BALANCE desc",
    "previous_application": "DAYS_DECISION desc nulls last, SK_ID_PREV",
    "pos_cash_balance": "SK_ID_PREV, MONTHS_BALANCE desc",
    "installments_payments": "SK_ID_PREV, NUM_INSTALMENT_NUMBER desc, DAYS_INSTALMENT desc nulls last",
    "credit_card_balance": "SK_ID_PREV, MONTHS_BALANCE desc",
}


@lru_cache(maxsize=1)
def column_labels() -> dict[str, dict[str, dict[str, str]]]:
    """{table: {column: {"fr": ..., "en": ...}}} for every Kaggle column (application_test: train's)."""
    raw = yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8"))
    labels = {table: dict(columns) for table, columns in raw.items()}
    labels.setdefault("application_test", labels["application_train"])
    return labels


def label(table: str, column: str, lang: str) -> str:
    entry = column_labels().get(table, {}).get(column)
    if entry and entry.get(lang):
        return entry[lang]
    return column  # never reached for a Kaggle column (tests check every one has both labels)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


@dataclass
class Table:
    """Rows of one table, in column order (the Kaggle file's)."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class ApplicantRecord:
    """Everything the warehouse holds about one applicant (None fields: nothing of that kind)."""

    sk_id_curr: int
    application: Table | None
    history: dict[str, Table]
    score: dict[str, Any] | None
    reasons: list[dict[str, Any]]
    run: dict[str, Any] | None
    sources: list[dict[str, Any]]

    @property
    def in_warehouse(self) -> bool:
        return self.application is not None


def _select(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> tuple[list[str], list[list[Any]]]:
    res = con.execute(sql, params)
    names = [d[0] for d in res.description]
    return names, [[_plain(v) for v in row] for row in res.fetchall()]


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def applicant_exists(con: duckdb.DuckDBPyConnection, sk_id_curr: int) -> bool:
    """Whether the published copy holds an application with this SK_ID_CURR (one key look-up)."""
    row = con.execute('select 1 from raw.applications where "SK_ID_CURR" = ? limit 1', [int(sk_id_curr)])
    return row.fetchone() is not None


def read_applicant(con: duckdb.DuckDBPyConnection, sk_id_curr: int) -> ApplicantRecord:
    """The applicant's rows from the published copy `con` (application None: not in the warehouse)."""
    sk_id_curr = int(sk_id_curr)
    schema = load_schema()
    application = None
    for name in ("application_train", "application_test"):
        columns = schema.table(name).column_names
        select = ", ".join(f'"{c}"' for c in columns)
        _, rows = _select(con, f'select {select} from raw."{name}" where "SK_ID_CURR" = ?', [sk_id_curr])
        if rows:
            application = Table(name, columns, rows[:1])
            break
    history: dict[str, Table] = {}
    if application is not None:
        for name, key in HISTORY_TABLES.items():
            columns = schema.table(name).column_names
            select = ", ".join(f't."{c}"' for c in columns)
            if key == "SK_ID_BUREAU":
                sql = (
                    f'select {select} from raw."{name}" t where t."SK_ID_BUREAU" in '
                    '(select "SK_ID_BUREAU" from raw.bureau where "SK_ID_CURR" = ?)'
                )
            else:
                sql = f'select {select} from raw."{name}" t where t."SK_ID_CURR" = ?'
            _, rows = _select(con, f"{sql} order by {_ORDER[name]}", [sk_id_curr])
            history[name] = Table(name, columns, rows)
    score, reasons, run = None, [], None
    if _exists(con, "scoring", "scores"):
        names, rows = _select(
            con,
            "select * from scoring.scores where sk_id_curr = ? order by scored_at desc nulls last limit 1",
            [sk_id_curr],
        )
        if rows:
            score = dict(zip(names, rows[0], strict=True))
            names, rows = _select(
                con,
                "select direction, rank, feature, family, fact, feature_value, shap_value, text_en, text_fr "
                "from scoring.reasons where run_id = ? and sk_id_curr = ? order by direction, rank",
                [score["run_id"], sk_id_curr],
            )
            reasons = [dict(zip(names, row, strict=True)) for row in rows]
            names, rows = _select(
                con, "select * from scoring.scoring_runs where run_id = ?", [score["run_id"]]
            )
            run = dict(zip(names, rows[0], strict=True)) if rows else None
    sources: list[dict[str, Any]] = []
    if _exists(con, "raw", "load_manifest"):
        names, rows = _select(
            con,
            "select table_name, file, row_count, loaded_at from raw.load_manifest order by table_name",
            [],
        )
        tables = {application.name if application else None, *(t.name for t in history.values() if t.rows)}
        # the file's name only: the server's directories are not the client's business
        sources = [
            {**dict(zip(names, row, strict=True)), "file": Path(str(row[1])).name}
            for row in rows
            if row[0] in tables
        ]
    return ApplicantRecord(sk_id_curr, application, history, score, reasons, run, sources)
