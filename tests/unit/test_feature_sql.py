"""The feature SQL artefact: extracted from dbt's target folder, shipped, and run over given rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from warehouse import feature_sql
from warehouse.errors import UserError

STG = 'select "SK_ID_CURR" as sk_id_curr, "AMT_CREDIT" as amt_credit from "build"."raw"."application_test"'
BUREAU = (
    'select "SK_ID_CURR" as sk_id_curr, count(*) as bureau_count, sum("AMT_CREDIT_SUM") as bureau_sum '
    'from "build"."raw"."bureau" group by "SK_ID_CURR"'
)
TOTAL = (
    'select count(*) as n_credits from "build"."raw"."bureau"'  # a global aggregate: one row even when empty
)
MART = (
    "select stg.sk_id_curr, stg.amt_credit, coalesce(agg.bureau_count, 0) as bureau_count, agg.bureau_sum, "
    'total.n_credits from "build"."staging"."stg" as stg '
    'left join "build"."intermediate"."int_bureau" as agg on stg.sk_id_curr = agg.sk_id_curr '
    'cross join "build"."intermediate"."int_total" as total'
)


def _node(name: str, schema: str, materialized: str, deps: list[str], code: str | None) -> dict:
    node = {
        "resource_type": "model",
        "name": name,
        "package_name": "credit_features",
        "original_file_path": f"models/{name}.sql",
        "database": "build",
        "schema": schema,
        "relation_name": f'"build"."{schema}"."{name}"',
        "config": {"materialized": materialized},
        "depends_on": {"nodes": deps},
    }
    if code is not None:
        node["compiled_code"] = code
    return node


def _source(name: str) -> dict:
    return {
        "source_name": "home_credit",
        "name": name,
        "database": "build",
        "schema": "raw",
        "relation_name": f'"build"."raw"."{name}"',
    }


@pytest.fixture
def target(tmp_path: Path) -> Path:
    src = "source.credit_features.home_credit."
    nodes = {
        "model.x.stg": _node("stg", "staging", "view", [src + "application_test"], STG),
        "model.x.int_bureau": _node("int_bureau", "intermediate", "chunked_table", [src + "bureau"], None),
        "model.x.int_total": _node("int_total", "intermediate", "table", [src + "bureau"], TOTAL),
        "model.x.feat_applicant_features": _node(
            "feat_applicant_features",
            "marts",
            "view",
            ["model.x.stg", "model.x.int_bureau", "model.x.int_total"],
            MART,
        ),
    }
    manifest = {
        "nodes": nodes,
        "sources": {src + "application_test": _source("application_test"), src + "bureau": _source("bureau")},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    compiled = tmp_path / "compiled" / "credit_features" / "models"
    compiled.mkdir(parents=True)
    (compiled / "int_bureau.sql").write_text(BUREAU)  # a partial run left it out of the manifest
    return tmp_path


def test_extract_orders_steps_and_reads_compiled_files(target: Path) -> None:
    artefact = feature_sql.extract(target)
    names = [s.name for s in artefact.steps]
    assert names.index("application_test") < names.index("stg") < names.index("feat_applicant_features")
    assert names.index("bureau") < names.index("int_bureau")
    assert next(s for s in artefact.steps if s.name == "int_bureau").sql == BUREAU
    assert artefact.mart_step.materialized == "view"


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="dbt build"):
        feature_sql.extract(tmp_path)


def test_ship_and_read_round_trip(target: Path) -> None:
    artefact = feature_sql.extract(target)
    con = duckdb.connect()
    feature_sql.ship(con, artefact)
    back = feature_sql.read(con)
    assert back is not None and back.steps == artefact.steps and back.digest == artefact.digest


def test_engine_computes_the_mart_with_its_own_sql_when_not_a_key_join(target: Path) -> None:
    engine = feature_sql.FeatureEngine(feature_sql.extract(target), connections=2)
    assert engine.columns == ["sk_id_curr", "amt_credit", "bureau_count", "bureau_sum", "n_credits"]
    apps = feature_sql.to_arrow(
        "application_test", [{"SK_ID_CURR": 1, "AMT_CREDIT": 10.0}, {"SK_ID_CURR": 2}]
    )
    bureau = feature_sql.to_arrow(
        "bureau",
        [{"SK_ID_CURR": 1, "SK_ID_BUREAU": 5, "AMT_CREDIT_SUM": 2.5}, {"SK_ID_CURR": 1, "SK_ID_BUREAU": 6}],
    )
    rows = sorted(engine.compute({"application_test": apps, "bureau": bureau}))
    assert rows == [(1, 10.0, 2, 2.5, 2), (2, None, 0, None, 2)]
    assert engine.plan is None  # the cross join is not a key join: the mart's SQL runs as is
    # no bureau rows: the grouped model yields nothing, the global aggregate still one row
    assert sorted(engine.compute({"application_test": apps})) == [
        (1, 10.0, 0, None, 0),
        (2, None, 0, None, 0),
    ]
    # each computation is rolled back: nothing accumulates
    assert sorted(engine.compute({"application_test": apps, "bureau": bureau}))[0][2] == 2
    engine.close()


def test_check_against_refuses_a_stale_sql(target: Path) -> None:
    artefact = feature_sql.extract(target)
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.feat_applicant_features (sk_id_curr bigint, amt_credit double)")
    with pytest.raises(UserError, match="does not match"):
        feature_sql.check_against(con, artefact)


KEY_JOIN_MART = """
with
stg as (select * from "build"."staging"."stg"),
agg as (select * from "build"."intermediate"."int_bureau"),
joined as (
    select stg.sk_id_curr, stg.amt_credit as credit, coalesce(agg.bureau_count, 0) as bureau_count,
        agg.bureau_sum, coalesce(agg.bureau_sum, 1.5) as bureau_sum_or
    from stg
    left join agg on stg.sk_id_curr = agg.sk_id_curr
)
select * from joined
"""


def _with_mart(target: Path, sql: str) -> feature_sql.FeatureSql:
    artefact = feature_sql.extract(target)
    artefact.mart_step.sql = sql
    return artefact


def test_key_join_mart_is_assembled_from_its_tables_exactly_as_its_sql(target: Path) -> None:
    engine = feature_sql.FeatureEngine(_with_mart(target, KEY_JOIN_MART), connections=1)
    assert engine.plan is not None and len(engine.plan.parts) == 2
    assert engine.columns == ["sk_id_curr", "credit", "bureau_count", "bureau_sum", "bureau_sum_or"]
    apps = feature_sql.to_arrow(
        "application_test", [{"SK_ID_CURR": 1, "AMT_CREDIT": 10.0}, {"SK_ID_CURR": 2}, {"SK_ID_CURR": 3}]
    )
    bureau = feature_sql.to_arrow(
        "bureau",
        [
            {"SK_ID_CURR": 1, "SK_ID_BUREAU": 5, "AMT_CREDIT_SUM": 2.5},
            {"SK_ID_CURR": 1, "SK_ID_BUREAU": 6},
            {"SK_ID_CURR": 3, "SK_ID_BUREAU": 7},  # a row whose sum is NULL: coalesced like a missing row
            {"SK_ID_CURR": 9, "SK_ID_BUREAU": 8, "AMT_CREDIT_SUM": 1.0},  # no application: dropped
        ],
    )
    for tables in ({"application_test": apps, "bureau": bureau}, {"application_test": apps}):
        assembled = sorted(engine.compute(tables))
        by_sql = sorted(engine.compute(tables, via_mart=True))
        assert assembled == by_sql
        assert [[type(v) for v in row] for row in assembled] == [[type(v) for v in row] for row in by_sql]
    assert sorted(engine.compute({"application_test": apps, "bureau": bureau})) == [
        (1, 10.0, 2, 2.5, 2.5),
        (2, None, 0, None, 1.5),
        (3, None, 1, None, 1.5),
    ]
    engine.close()


@pytest.mark.parametrize(
    "change",
    [
        ("left join agg on stg.sk_id_curr = agg.sk_id_curr", "join agg on stg.sk_id_curr = agg.sk_id_curr"),
        (
            "left join agg on stg.sk_id_curr = agg.sk_id_curr",
            "left join agg on stg.sk_id_curr < agg.sk_id_curr",
        ),
        ("= agg.sk_id_curr\n)", "= agg.sk_id_curr\n    where stg.amt_credit > 0\n)"),
        ("select * from joined", "select distinct * from joined"),
        ("coalesce(agg.bureau_count, 0)", "coalesce(agg.bureau_count, stg.sk_id_curr)"),
        ("stg.amt_credit as credit", "stg.amt_credit * 2 as credit"),
        (
            'agg as (select * from "build"."intermediate"."int_bureau")',
            'agg as (select * from "build"."intermediate"."int_bureau" where bureau_count > 1)',
        ),
        (  # the CTE renames the table's columns: the key and the count (both BIGINT) swapped
            'agg as (select * from "build"."intermediate"."int_bureau")',
            'agg(bureau_count, sk_id_curr, bureau_sum) as (select * from "build"."intermediate"."int_bureau")',
        ),
        ("select * from joined", "select * from joined group by all"),  # collapses repeated rows
        ("coalesce(agg.bureau_count, 0)", "coalesce(agg.bureau_count, 0.5)"),  # BIGINT -> DECIMAL
        (  # a nested WITH: its CTE is out of scope for the assembly's names
            'stg as (select * from "build"."staging"."stg")',
            'stg as (with agg2 as (select 1) select * from "build"."staging"."stg")',
        ),
        (  # an import CTE of an import CTE
            'agg as (select * from "build"."intermediate"."int_bureau")',
            'imp as (select * from "build"."intermediate"."int_bureau"), agg as (select * from imp)',
        ),
    ],
    ids=[
        "inner join",
        "join on an inequality",
        "where",
        "distinct",
        "coalesce with a column",
        "expression",
        "filtered part",
        "renamed columns",
        "group by all",
        "coalesce that changes the type",
        "nested with",
        "cte of a cte",
    ],
)
def test_other_mart_shapes_run_the_mart_sql(target: Path, change: tuple[str, str]) -> None:
    assert change[0] in KEY_JOIN_MART
    engine = feature_sql.FeatureEngine(_with_mart(target, KEY_JOIN_MART.replace(*change)), connections=1)
    assert engine.plan is None
    engine.close()


def test_a_repeated_key_falls_back_to_the_mart_sql(target: Path) -> None:
    engine = feature_sql.FeatureEngine(_with_mart(target, KEY_JOIN_MART), connections=1)
    assert engine.plan is not None
    repeated = engine.plan.assemble([[(1, 10.0)], [(1, 2, 2.5), (1, 1, None)]])
    assert repeated is None  # the join would give two rows: compute() then runs the SQL
    engine.close()


def test_a_feature_table_with_rows_on_empty_input_is_still_read(target: Path) -> None:
    """Tables of a request's absent histories are skipped only when they yield nothing on no rows."""
    artefact = _with_mart(
        target,
        KEY_JOIN_MART.replace(
            "left join agg on stg.sk_id_curr = agg.sk_id_curr",
            "left join agg on stg.sk_id_curr = agg.sk_id_curr "
            'left join "build"."intermediate"."int_total" as total on stg.sk_id_curr = total.sk_id_curr',
        ).replace("as bureau_sum_or", "as bureau_sum_or, total.n_credits"),
    )
    total = next(s for s in artefact.steps if s.name == "int_total")
    total.sql = 'select cast(2 as bigint) as sk_id_curr, count(*) as n_credits from "build"."raw"."bureau"'
    engine = feature_sql.FeatureEngine(artefact, connections=1)
    assert engine.plan is not None and len(engine.plan.parts) == 3
    apps = feature_sql.to_arrow("application_test", [{"SK_ID_CURR": 1}, {"SK_ID_CURR": 2}])
    rows = sorted(engine.compute({"application_test": apps}))
    assert rows == sorted(engine.compute({"application_test": apps}, via_mart=True))
    assert [r[-1] for r in rows] == [None, 0]  # the global count over no bureau rows is 0, not NULL
    engine.close()


@pytest.mark.parametrize("key_type", ["double", "varchar collate nocase", "integer[]"])
def test_only_integer_keys_are_assembled(key_type: str) -> None:
    """NaN = NaN and collations match in SQL, not in a Python dict: such keys run the SQL."""
    con = duckdb.connect()
    con.execute(f"create table t1 (k {key_type}, x integer)")
    con.execute(f"create table t2 (k {key_type}, y integer)")
    sql = (
        'with a as (select * from "memory"."main"."t1"), b as (select * from "memory"."main"."t2") '
        "select a.k, a.x, b.y from a left join b on a.k = b.k"
    )
    types = [r[1] for r in con.execute(f"describe {sql}").fetchall()]
    assert feature_sql.key_join_plan(con, sql, ["k", "x", "y"], types) is None
    integer_sql = sql.replace("t1", "t3").replace("t2", "t4")
    con.execute("create table t3 (k bigint, x integer)")
    con.execute("create table t4 (k bigint, y integer)")
    types = [r[1] for r in con.execute(f"describe {integer_sql}").fetchall()]
    assert feature_sql.key_join_plan(con, integer_sql, ["k", "x", "y"], types) is not None
