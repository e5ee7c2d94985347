"""The scoring API against a real pipeline: parity with the mart and the batch, validation, auth, audit."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tests.e2e.api.conftest import API_KEY, Pipeline, Server, run

HISTORY = (
    "bureau",
    "previous_application",
    "pos_cash_balance",
    "installments_payments",
    "credit_card_balance",
)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    res = con.execute(sql, params)
    names = [d[0] for d in res.description]
    return [
        {
            k: v
            for k, v in zip(names, row, strict=True)
            if v is not None and not (isinstance(v, float) and math.isnan(v))
        }
        for row in res.fetchall()
    ]


def raw_request(con: duckdb.DuckDBPyConnection, sk_id: int) -> dict:
    """An applicant's raw Kaggle rows from the warehouse, in file order, as a POST /v1/score body."""
    app = _rows(con, "select * exclude (TARGET) from raw.application_train where SK_ID_CURR = ?", [sk_id])
    app = app or _rows(con, "select * from raw.application_test where SK_ID_CURR = ?", [sk_id])
    body: dict = {"application": app[0], "include_features": True, "top_k": 20}
    for table in HISTORY:
        body[table] = _rows(con, f"select * from raw.{table} where SK_ID_CURR = ? order by rowid", [sk_id])
    body["bureau_balance"] = _rows(
        con,
        "select * from raw.bureau_balance where SK_ID_BUREAU in "
        "(select SK_ID_BUREAU from raw.bureau where SK_ID_CURR = ?) order by rowid",
        [sk_id],
    )
    return body


@pytest.fixture(scope="module")
def build(pipeline: Pipeline):
    con = duckdb.connect(str(pipeline.build), read_only=True)
    yield con
    con.close()


def _mart(con: duckdb.DuckDBPyConnection) -> str:
    schema = con.execute(
        "select schema_name from (select schema_name, table_name as name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views()) "
        "where name = 'feat_applicant_features' order by schema_name = 'main' limit 1"
    ).fetchone()[0]
    return f'"{schema}".feat_applicant_features'


def _batch_probability(con: duckdb.DuckDBPyConnection, sk_id: int) -> float:
    cols = {r[0] for r in con.execute("describe scoring.scores").fetchall()}
    col = "champion_probability" if "champion_probability" in cols else "probability"
    return con.execute(
        f"select {col} from scoring.scores where sk_id_curr = ? order by scored_at desc limit 1", [sk_id]
    ).fetchone()[0]


def test_health_ready_and_model(server: Server) -> None:
    with server.client() as client:
        assert client.get("/health").json() == {"status": "alive"}
        ready = client.get("/ready").json()
        assert ready["status"] == "ready" and ready["realtime_features"] is True
        info = client.get("/v1/model").json()
        assert info["name"] == "credit_default" and info["feature_count"] > 100
        assert info["review_band"][0] <= info["threshold"] <= info["review_band"][1]
        assert info["feature_sql"]


def test_api_key_required_outside_dev(server: Server) -> None:
    with server.client(key=None) as client:
        assert client.get("/v1/model").status_code == 401
        assert client.get("/v1/applicants/100001/score").status_code == 401
    with server.client(key="wrong") as client:
        assert client.get("/v1/model").status_code == 401
    with server.client(key="second-key") as client:
        assert client.get("/v1/model").status_code == 200
    with server.client(key=None) as client:
        assert client.get("/health").status_code == 200  # probes need no key


def test_lookup_matches_batch_and_unknown_is_404(server: Server, build) -> None:
    ids = [
        r[0]
        for r in build.execute(
            f"select sk_id_curr from {_mart(build)} order by sk_id_curr limit 5"
        ).fetchall()
    ]
    with server.client() as client:
        deadline = time.monotonic() + 120  # the memory-mapped mart is built in the background
        while not client.get("/ready").json()["lookup_cache"]:
            assert time.monotonic() < deadline, "the look-up cache was not built"
            time.sleep(0.2)
        for sk_id in ids:
            body = client.get(f"/v1/applicants/{sk_id}/score").json()
            assert body["kind"] == "lookup" and body["sk_id_curr"] == sk_id
            assert abs(body["probability"] - _batch_probability(build, sk_id)) <= 1e-9
            assert body["decision"] in ("approve", "review", "refuse")
            assert body["stored"] is not None and body["stored"]["run_id"]
            shap_sum = (
                sum(s["shap_value"] for s in body["top_shap"]) + body["shap_bias"] + body["shap_others"]
            )
            assert abs(shap_sum - body["raw_score"]) < 1e-6
        missing = client.get("/v1/applicants/999999999/score")
        assert missing.status_code == 404 and "999999999" in missing.json()["detail"]


def test_realtime_parity_with_mart_and_batch(server: Server, build) -> None:
    """Posting an applicant's raw rows gives the mart's feature vector and the batch's probability."""
    mart = _mart(build)
    ids = [
        r[0]
        for r in build.execute(
            f"select sk_id_curr from {mart} where bureau_count > 0 and inst_count > 0 order by hash(sk_id_curr) limit 6"
        ).fetchall()
    ]
    ids += [
        r[0]
        for r in build.execute(
            f"select sk_id_curr from {mart} order by hash(sk_id_curr + 1) limit 4"
        ).fetchall()
    ]
    res = build.execute(f"select * from {mart} where sk_id_curr in ({','.join(map(str, ids))})")
    names = [d[0] for d in res.description]
    expected = {row[0]: dict(zip(names, row, strict=True)) for row in res.fetchall()}
    with server.client() as client:
        # the mart's SQL is the key-join assembly dbt compiles: the fast path is the one compared
        assert client.get("/ready").json()["feature_assembly"] == "key_join"
        for sk_id in ids:
            response = client.post("/v1/score", json=raw_request(build, sk_id))
            assert response.status_code == 200, response.text[:2000]
            body = response.json()
            assert body["kind"] == "decision" and body["sk_id_curr"] == sk_id
            features = body["features"]
            want = expected[sk_id]
            assert set(features) == set(want) - {"sk_id_curr"}
            for name, value in features.items():
                w = want[name]
                w = None if w is None or (isinstance(w, float) and math.isnan(w)) else float(w)
                if w is None or value is None:
                    assert value == w, (sk_id, name, value, w)
                else:  # DuckDB's float sums depend on row order only in the last bits
                    assert value == pytest.approx(w, rel=1e-12, abs=1e-12), (sk_id, name, value, w)
            assert abs(body["probability"] - _batch_probability(build, sk_id)) <= 1e-9, sk_id


def test_batch_endpoint(server: Server, build) -> None:
    ids = [r[0] for r in build.execute(f"select sk_id_curr from {_mart(build)} limit 3").fetchall()]
    with server.client() as client:
        body = {"applications": [raw_request(build, i) for i in ids]}
        response = client.post("/v1/score/batch", json=body)
        assert response.status_code == 200, response.text[:1000]
        results = response.json()["results"]
        assert [r["sk_id_curr"] for r in results] == ids
        single = client.post("/v1/score", json=raw_request(build, ids[1])).json()
        assert results[1]["probability"] == single["probability"]
        twice = client.post("/v1/score/batch", json={"applications": [raw_request(build, ids[0])] * 2})
        assert twice.status_code == 422 and "twice" in twice.text


def test_new_application_without_id_or_history(server: Server) -> None:
    from api.schemas import EXAMPLE_APPLICATION, EXAMPLE_REQUEST

    with server.client() as client:
        bare = {"application": {k: v for k, v in EXAMPLE_APPLICATION.items() if k != "SK_ID_CURR"}}
        response = client.post("/v1/score", json=bare)
        assert response.status_code == 200, response.text[:1000]
        assert response.json()["sk_id_curr"] is None
        full = client.post("/v1/score", json=EXAMPLE_REQUEST).json()
        assert 0.0 < full["probability"] < 1.0 and full["reasons"]
        assert all(r["text_en"] and r["text_fr"] for r in full["reasons"])
        # SHAP values add up to the log-odds, with no history (the thin-file blend) and with one
        for body in (response.json(), full):
            total = sum(v["shap_value"] for v in body["top_shap"]) + body["shap_bias"] + body["shap_others"]
            assert abs(total - body["raw_score"]) < 1e-6
        assert full["raw_score"] != response.json()["raw_score"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"application": {"NAME_CONTRACT_TYPE": "Mortgage"}}, "NAME_CONTRACT_TYPE"),
        ({"application": {"AMT_INCOME_TOTAL": -5}}, "AMT_INCOME_TOTAL"),
        ({"application": {"CNT_CHILDREN": "many"}}, "CNT_CHILDREN"),
        ({"application": {"FAVOURITE_COLOUR": "blue"}}, "FAVOURITE_COLOUR"),
        ({"bureau": [{"SK_ID_BUREAU": 1, "CREDIT_ACTIVE": "Dormant"}]}, "CREDIT_ACTIVE"),
        ({"bureau_balance": [{"SK_ID_BUREAU": 42, "MONTHS_BALANCE": -1, "STATUS": "C"}]}, "SK_ID_BUREAU"),
        ({"previous_application": [{"SK_ID_PREV": 7}, {"SK_ID_PREV": 7}]}, "SK_ID_PREV"),
    ],
)
def test_invalid_field_is_422_naming_it(server: Server, patch: dict, field: str) -> None:
    from api.schemas import EXAMPLE_APPLICATION

    body: dict = {"application": dict(EXAMPLE_APPLICATION)}
    for key, value in patch.items():
        if key == "application":
            body["application"].update(value)
        else:
            body[key] = value
    with server.client() as client:
        response = client.post("/v1/score", json=body)
    assert response.status_code == 422, response.text[:500]
    details = response.json()["detail"]
    assert any(d["field"] == field for d in details), details
    assert any(field in d["msg"] for d in details)


def test_audit_log_chained_verifiable_and_readable(server: Server, pipeline: Pipeline, tmp_path) -> None:
    from api.services.audit import verify

    with server.client() as client:
        client.get("/v1/applicants/999999999/score")  # a 404 is not a score: not audited
    log = pipeline.home / "audit" / "api_audit.jsonl"
    lines = log.read_text().splitlines()
    assert len(lines) >= 5
    entries = [json.loads(line) for line in lines]
    assert {e["kind"] for e in entries} >= {"lookup", "decision"}
    assert all(
        e["caller"].startswith("key:") and API_KEY not in line for e, line in zip(entries, lines, strict=True)
    )
    assert verify(log).ok
    out = run([sys.executable, "-m", "api", "verify-audit", "--path", str(log)], pipeline.env)
    assert "intact" in out
    con = duckdb.connect()
    n = con.execute(f"select count(*) from read_json('{log}', format='newline_delimited')").fetchone()[0]
    assert n == len(lines)
    # tampering: alter a probability, delete a middle line, drop the newest line
    copy = tmp_path / "audit.jsonl"
    head = log.with_name(log.name + ".head").read_text()
    altered = [*lines]
    e = json.loads(altered[1])
    e["probability"] = 0.0
    altered[1] = json.dumps(e)
    for variant in (altered, lines[:2] + lines[3:], lines[:-1]):
        copy.write_text("\n".join(variant) + "\n")
        copy.with_name(copy.name + ".head").write_text(head)
        result = verify(copy)
        assert not result.ok, variant


def test_feature_sql_is_shipped_in_the_serving_copy(pipeline: Pipeline) -> None:
    from warehouse import feature_sql

    con = duckdb.connect(str(pipeline.serving), read_only=True)
    try:
        artefact = feature_sql.read(con)
    finally:
        con.close()
    assert artefact is not None and artefact.mart == "feat_applicant_features"
    assert {s.name for s in artefact.sources} >= {"application_test", "bureau", "installments_payments"}
    assert all(s.sql for s in artefact.steps if s.kind == "model")


def test_probabilities_are_finite(server: Server, build) -> None:
    ids = [r[0] for r in build.execute(f"select sk_id_curr from {_mart(build)} limit 20").fetchall()]
    with server.client() as client:
        probs = [
            client.get(f"/v1/applicants/{i}/score", params={"top_k": 0}).json()["probability"] for i in ids
        ]
    assert np.all(np.isfinite(probs)) and len(set(probs)) > 1


HEAVY_CHECK = """
import sys
from api.app import create_app
from api.services.model import find_champion, load_model
from warehouse.config import get_settings
s = get_settings()
app = create_app()
model = load_model(find_champion(s.mlflow_tracking_uri, "credit_default"), s.mlflow_tracking_uri)
assert len(model.features) > 100
print(",".join(m for m in ("mlflow", "evidently", "great_expectations", "dbt", "shap") if m in sys.modules))
"""


def test_heavy_libraries_stay_out_of_the_import_path(pipeline: Pipeline) -> None:
    loaded = run([sys.executable, "-c", HEAVY_CHECK], pipeline.env).strip().splitlines()[-1:]
    assert loaded in ([], [""]), loaded


def test_server_runs_on_jemalloc_when_installed(server: Server) -> None:
    """`make test` installs libjemalloc2; the launcher re-executes itself with it preloaded."""
    from api.__main__ import _jemalloc_path

    if _jemalloc_path() is None:
        pytest.skip("libjemalloc2 is not installed (`make jemalloc` installs it)")
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for p in [pid, *map(int, children)]:
        maps = Path(f"/proc/{p}/maps").read_text()
        assert "libjemalloc.so.2" in maps, f"process {p} does not use jemalloc"
