"""Client 360's batch probability: empty until exactly one applicant is picked (assets as code).

The chart's query (built from its params as provisioning builds it) runs in DuckDB over a small
fct_scores, with the dataset's metric expression as Superset would inline it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "superset"))
from credit_superset import bundle  # noqa: E402

SCORES = "datasets/credit_warehouse/scores.yaml"


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return bundle.load_assets(tmp_path_factory.mktemp("serving") / "serving.duckdb")


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        "create table fct_scores as select sk_id_curr, cast(p as double) as probability from "
        "(values (1, 0.9999), (2, 0.12), (3, 0.4)) as t(sk_id_curr, p)"
    )
    yield con
    con.close()


def _metric_value(assets, con, where: str = "") -> float | None:
    chart = bundle.chart_keys(assets)["c360_probability"]
    (query,) = bundle.query_context(chart["params"])["queries"]
    (metric_name,) = query["metrics"]
    metrics = {m["metric_name"]: m["expression"] for m in assets[SCORES]["metrics"]}
    return con.execute(f"select {metrics[metric_name]} from fct_scores {where}").fetchone()[0]


def test_batch_probability_is_empty_without_exactly_one_applicant(assets, con):
    chart = bundle.chart_keys(assets)["c360_probability"]
    assert chart["dataset_uuid"] == assets[SCORES]["uuid"]
    assert chart["viz_type"] == "big_number_total"
    # no applicant picked: no aggregate over everyone (max was 0.9999), the big number says "No data"
    assert _metric_value(assets, con) is None
    assert _metric_value(assets, con, "where sk_id_curr in (1, 2)") is None
    # exactly one applicant: that applicant's probability
    assert _metric_value(assets, con, "where sk_id_curr in (2)") == pytest.approx(0.12)
    assert _metric_value(assets, con, "where sk_id_curr in (1)") == pytest.approx(0.9999)
    # the empty state tells the officer what to do
    assert "pick one" in chart["params"]["subtitle"].lower()
    markdown = assets["dashboards/client_360.yaml"]["layout"][0]["markdown"]
    assert "No data" in markdown


def test_client_360_tables_stay_empty_until_one_applicant_is_picked(assets):
    import jinja2

    dashboard = assets["dashboards/client_360.yaml"]
    keys = [part.split()[0] for row in dashboard["layout"] if "row" in row for part in row["row"].split(",")]
    charts = bundle.chart_keys(assets)
    # the live charts say "no applicant selected" in their row; the batch probability is NULL (metric)
    exempt = {"c360_live_score", "c360_live_reasons", "c360_probability"}
    prompted = [k for k in keys if k not in exempt]
    assert len(prompted) >= 8 and "c360_client_file" in prompted
    for key in prompted:
        (where,) = [f["sqlExpression"] for f in charts[key]["params"]["adhoc_filters"]]
        for picked, expected in (([], "false"), ([1, 2], "false"), ([100002], "true")):
            rendered = jinja2.Template(where).render(filter_values=lambda column, p=picked: p)
            assert rendered == expected, (key, picked, rendered)
