"""The feature mart's compiled dbt SQL, shipped with the serving copy and run over one request's rows.

Feature logic lives only in dbt. For real-time scoring the API does not re-implement it: it runs
the very SQL that built ``feat_applicant_features`` (dbt's compiled code of the mart and of every
model upstream of it) in an in-memory DuckDB whose ``raw`` tables hold just the request's rows.

- :func:`extract` reads dbt's target folder (``manifest.json`` + ``compiled/``) and returns the
  ordered steps: the raw source tables, then every upstream model, then the mart.
- :func:`ship` writes them into a published copy (schema ``serving_meta``), so the SQL travels
  atomically with the mart it built; :func:`read` gets them back from a read-only copy.
- :class:`FeatureEngine` instantiates the steps as views in an in-memory database (the same
  catalog, schema and table names as the build file, so the compiled SQL runs unchanged) and
  computes the mart's rows for a set of raw rows, each call in its own transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel

from warehouse.errors import UserError
from warehouse.schema import load_schema

log = logging.getLogger(__name__)

MART = "feat_applicant_features"
META_SCHEMA = "serving_meta"
META_TABLE = "feature_sql"
SOURCE_NAME = "home_credit"  # the dbt source whose tables are the Kaggle raw files


class Step(BaseModel):
    """One relation of the feature graph: a raw source table or a dbt model (its compiled SQL)."""

    position: int
    kind: Literal["source", "model"]
    name: str  # dbt name: the raw table for sources, the model name for models
    database: str
    schema_name: str
    relation: str  # quoted, as in the compiled SQL: "build"."raw"."bureau"
    materialized: str | None = None  # dbt materialization (models only): view, table, ...
    depends_on: list[str] = []  # names of the steps it reads (models only)
    sql: str | None = None  # compiled SQL (models only)


class FeatureSql(BaseModel):
    """Everything needed to compute the mart from raw rows, in dependency order."""

    mart: str  # model name
    steps: list[Step]

    @property
    def mart_step(self) -> Step:
        return next(s for s in self.steps if s.kind == "model" and s.name == self.mart)

    @property
    def sources(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "source"]

    @property
    def digest(self) -> str:
        payload = json.dumps([s.model_dump() for s in self.steps], sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


def dbt_target_dir() -> Path:
    """dbt's target folder: DBT_TARGET_PATH when set (the Makefile sets it), else $CREDIT_HOME/dbt/target."""
    from warehouse.config import get_settings

    env = os.environ.get("DBT_TARGET_PATH")
    return Path(env) if env else get_settings().dbt_target_path


def _compiled_code(target: Path, node: dict) -> str:
    code = node.get("compiled_code")
    if code:
        return code
    # A later partial run (`dbt build --select tag:serving`) rewrites manifest.json without the
    # compiled code of unselected models; their compiled files stay in target/compiled/.
    path = target / "compiled" / node["package_name"] / node["original_file_path"]
    if path.exists():
        return path.read_text(encoding="utf-8")
    raise UserError(
        f"no compiled SQL for dbt model {node['name']} (looked in manifest.json and {path}): "
        "run `dbt build` (or `dbt compile`) before publishing"
    )


def extract(target: Path | None = None, mart: str = MART) -> FeatureSql:
    """The mart's compiled SQL and that of every model upstream of it, in dependency order."""
    target = Path(target) if target is not None else dbt_target_dir()
    manifest_path = target / "manifest.json"
    if not manifest_path.exists():
        raise UserError(f"{manifest_path}: no dbt manifest; run `dbt build` before publishing")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes, sources = manifest["nodes"], manifest["sources"]
    mart_ids = [uid for uid, n in nodes.items() if n["resource_type"] == "model" and n["name"] == mart]
    if not mart_ids:
        raise UserError(f"{manifest_path}: no model named {mart}")

    ordered: list[str] = []
    seen: set[str] = set()

    def visit(uid: str, path: tuple[str, ...]) -> None:
        if uid in seen:
            return
        if uid in path:
            raise UserError(f"dependency cycle through {uid}")
        if uid in sources:
            seen.add(uid)
            ordered.append(uid)
            return
        node = nodes.get(uid)
        if node is None or node["resource_type"] != "model":
            raise UserError(
                f"{mart} depends on {uid}, which is neither a model nor a raw source: "
                "the real-time feature path only supports models over the raw Kaggle tables"
            )
        for dep in node["depends_on"]["nodes"]:
            visit(dep, (*path, uid))
        seen.add(uid)
        ordered.append(uid)

    visit(mart_ids[0], ())
    steps: list[Step] = []
    for i, uid in enumerate(ordered):
        if uid in sources:
            src = sources[uid]
            if src["source_name"] != SOURCE_NAME:
                raise UserError(f"{mart} depends on source {uid}: only {SOURCE_NAME}.* (raw) is supported")
            steps.append(
                Step(
                    position=i,
                    kind="source",
                    name=src["name"],
                    database=src["database"],
                    schema_name=src["schema"],
                    relation=src["relation_name"],
                )
            )
        else:
            node = nodes[uid]
            steps.append(
                Step(
                    position=i,
                    kind="model",
                    name=node["name"],
                    database=node["database"],
                    schema_name=node["schema"],
                    relation=node["relation_name"] or "",
                    materialized=node["config"].get("materialized"),
                    depends_on=[
                        sources[d]["name"] if d in sources else nodes[d]["name"]
                        for d in node["depends_on"]["nodes"]
                    ],
                    sql=_compiled_code(target, node),
                )
            )
    return FeatureSql(mart=mart, steps=steps)


def ship(con: duckdb.DuckDBPyConnection, artefact: FeatureSql) -> None:
    """Write the steps into ``serving_meta.feature_sql`` of an open (writable) warehouse copy."""
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""
        create or replace table {META_SCHEMA}.{META_TABLE} (
            position integer,
            kind varchar,
            name varchar,
            database_name varchar,
            schema_name varchar,
            relation varchar,
            materialized varchar,
            depends_on varchar,
            sql varchar,
            mart varchar,
            digest varchar
        )
        """
    )
    con.executemany(
        f"insert into {META_SCHEMA}.{META_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                s.position,
                s.kind,
                s.name,
                s.database,
                s.schema_name,
                s.relation,
                s.materialized,
                ",".join(s.depends_on),
                s.sql,
                artefact.mart,
                artefact.digest,
            ]
            for s in artefact.steps
        ],
    )


def read(con: duckdb.DuckDBPyConnection) -> FeatureSql | None:
    """The steps shipped in a published copy, or None when it has none."""
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [META_SCHEMA, META_TABLE],
    ).fetchall()[0][0]
    if not found:
        return None
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
            [META_SCHEMA, META_TABLE],
        ).fetchall()
    }
    depends = "depends_on" if "depends_on" in columns else "null"  # copies published before it existed
    rows = con.execute(
        f"select position, kind, name, database_name, schema_name, relation, materialized, {depends}, sql, mart "
        f"from {META_SCHEMA}.{META_TABLE} order by position"
    ).fetchall()
    if not rows:
        return None
    steps = [
        Step(
            position=r[0],
            kind=r[1],
            name=r[2],
            database=r[3],
            schema_name=r[4],
            relation=r[5],
            materialized=r[6],
            depends_on=[d for d in (r[7] or "").split(",") if d],
            sql=r[8],
        )
        for r in rows
    ]
    return FeatureSql(mart=rows[0][9], steps=steps)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class FeatureEngine:
    """The feature SQL in an in-memory DuckDB; computes the mart's rows for given raw rows.

    The catalog mirrors the build file (same database, schema and relation names, so the compiled
    SQL runs unchanged) and dbt's materializations: raw tables, `view` models as views, `table`
    models as tables that each computation fills in dependency order (as `dbt build` does), then
    the mart's own SQL is read. Each computation runs in its own transaction on one of a few
    connections and is rolled back, so concurrent computations never see each other's rows.

    The rows of several applicants can be computed together, as in the warehouse, provided their
    keys (SK_ID_CURR, SK_ID_BUREAU, SK_ID_PREV) are disjoint: every feature is per applicant.

    Binding and planning the ~1,300-column feature queries costs about 150 ms of CPU, more than
    running them on one application's rows; so each connection PREPAREs every statement once, at
    start-up, and a computation only EXECUTEs them (the plans stay valid: computations change
    rows, never the catalog). `optimize=False` (the default) also disables the optimizer: its
    rewrites only pay off on large data, and with it on DuckDB re-plans prepared statements on
    every EXECUTE (measured: 90 ms per typical application prepared and unoptimized, 230 ms
    re-planned unoptimized, 280 ms prepared and optimized). Results are the same: tests compare
    with the mart.
    """

    def __init__(self, artefact: FeatureSql, connections: int = 2, optimize: bool = False) -> None:
        self.artefact = artefact
        self.schema = load_schema()
        self._con = duckdb.connect(":memory:", config={"threads": 1})
        for db in sorted({s.database for s in artefact.steps}):
            self._con.execute(f"attach ':memory:' as {_quote(db)}")
        for db, schema in sorted({(s.database, s.schema_name) for s in artefact.steps}):
            self._con.execute(f"create schema if not exists {_quote(db)}.{_quote(schema)}")
        self._relations: dict[str, str] = {}
        for step in artefact.sources:
            table = self.schema.table(step.name)
            cols = ", ".join(f"{_quote(c.name)} {c.type}" for c in table.columns)
            self._con.execute(f"create table {step.relation} ({cols})")
            self._relations[step.name] = step.relation
        # insert statements of the table-materialized models, in order, with the raw tables they read
        self._fill: list[tuple[str, str, frozenset[str] | None]] = []
        mart = artefact.mart_step
        upstream: dict[str, frozenset[str] | None] = {}
        for step in artefact.steps:
            if step.kind == "source":
                upstream[step.name] = frozenset({step.name})
                continue
            known = bool(step.depends_on) and all(upstream.get(d) is not None for d in step.depends_on)
            # unknown lineage (an older artefact): None, never skipped
            upstream[step.name] = (
                frozenset().union(*(upstream[d] for d in step.depends_on)) if known else None
            )
            if step.materialized == "ephemeral":
                continue  # inlined as a CTE in its consumers' compiled SQL
            if step.materialized != "view" and step is not mart:  # table, chunked_table, incremental
                self._con.execute(f"create table {step.relation} as select * from ({step.sql}) limit 0")
                self._fill.append(
                    (step.relation, f"insert into {step.relation} {step.sql}", upstream[step.name])
                )
            else:
                self._con.execute(f"create view {step.relation} as {step.sql}")
        # A model may be skipped when none of its raw tables has rows only if it yields no rows on
        # empty input (a grouped aggregate); anything else (a global aggregate, constants) always runs.
        self._skippable: list[bool] = []
        self._con.execute("begin transaction")
        try:
            for relation, statement, _ in self._fill:
                self._con.execute(statement)
                rows = self._con.execute(f"select count(*) from {relation}").fetchall()[0][0]
                self._skippable.append(rows == 0)
        finally:
            self._con.execute("rollback")
        self._read = f"select * from {mart.relation}"
        described = self._con.execute(f"describe {self._read}").fetchall()
        self.columns: list[str] = [r[0] for r in described]
        self.types: list[str] = [r[1] for r in described]
        self._pool: queue.Queue[duckdb.DuckDBPyConnection] = queue.Queue()
        for _ in range(max(1, connections)):
            cur = self._con.cursor()
            if not optimize:
                cur.execute("pragma disable_optimizer")
            for i, (_, statement, _) in enumerate(self._fill):
                cur.execute(f"prepare feature_fill_{i} as {statement}")
            cur.execute(f"prepare feature_read as {self._read}")
            self._pool.put(cur)

    @property
    def sources(self) -> list[str]:
        return list(self._relations)

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._pool.get()
        try:
            yield cur
        finally:
            self._pool.put(cur)

    def compute(self, tables: Mapping[str, Any]) -> list[tuple]:
        """Mart rows (in `self.columns` order) for raw rows given per raw table name as Arrow tables."""
        unknown = [name for name in tables if name not in self._relations]
        if unknown:
            raise KeyError(f"not raw tables of the feature SQL: {', '.join(unknown)}")
        with self._cursor() as cur:
            cur.execute("begin transaction")
            try:
                for name, rows in tables.items():
                    if rows is None or rows.num_rows == 0:
                        continue
                    cur.register("__incoming", rows)
                    try:
                        cur.execute(f"insert into {self._relations[name]} select * from __incoming")
                    finally:
                        cur.unregister("__incoming")
                present = {name for name, rows in tables.items() if rows is not None and rows.num_rows}
                for i, ((_, _, reads), skippable) in enumerate(zip(self._fill, self._skippable, strict=True)):
                    if skippable and reads is not None and not (reads & present):
                        continue  # empty inputs: this model would add no rows
                    cur.execute(f"execute feature_fill_{i}")
                return cur.execute("execute feature_read").fetchall()
            finally:
                cur.execute("rollback")

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()
        self._con.close()


def arrow_schema(table_name: str):
    """The pyarrow schema of a raw table (Kaggle column order and types)."""
    import pyarrow as pa

    types = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "VARCHAR": pa.string()}
    table = load_schema().table(table_name)
    return pa.schema([pa.field(c.name, types[c.type]) for c in table.columns])


def to_arrow(table_name: str, rows: Sequence[Mapping[str, Any]]):
    """Rows (dicts keyed by Kaggle column name; absent keys are NULL) as an Arrow table of a raw table."""
    import pyarrow as pa

    schema = arrow_schema(table_name)
    return pa.table(
        {field.name: pa.array([row.get(field.name) for row in rows], type=field.type) for field in schema},
        schema=schema,
    )


def check_against(con: duckdb.DuckDBPyConnection, artefact: FeatureSql) -> None:
    """Refuse an artefact whose mart columns differ from the mart table in the given warehouse."""
    engine = FeatureEngine(artefact, connections=1)
    try:
        mart = artefact.mart_step
        built = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                "order by column_index",
                [mart.schema_name, mart.name],
            ).fetchall()
        ]
    finally:
        engine.close()
    if built != engine.columns:
        missing = [c for c in built if c not in engine.columns]
        extra = [c for c in engine.columns if c not in built]
        raise UserError(
            f"the compiled SQL of {mart.name} does not match the built table "
            f"(missing {missing[:10]}, extra {extra[:10]}): rebuild with `dbt build`"
        )
