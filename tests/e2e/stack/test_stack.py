"""The production stack as it runs (make prod-check): prod mode, PostgreSQL and Redis really used.

Each test reads the stack's env file (conftest.py) and checks one promise of the production mode:
the registry and Superset's metadata live in PostgreSQL, the API's rate-limit counts and Superset's
caches in Redis, prod refuses what dev allows, and a client can be scored and given their file.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import duckdb
import httpx
import psycopg2
import pytest
import redis

from tests.e2e.api.test_api import raw_request


def _pg(stack, var: str):
    return psycopg2.connect(stack.values[var].replace("postgresql+psycopg2://", "postgresql://", 1))


@pytest.fixture(scope="module")
def applicant(stack) -> int:
    con = duckdb.connect(str(stack.home / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        return con.execute("select min(sk_id_curr) from scoring.scores").fetchone()[0]
    finally:
        con.close()


def test_ready_in_prod_with_the_champion_from_postgresql(stack):
    ready = httpx.get(f"{stack.api_url}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body.get("feature_assembly") == "key_join", body
    with stack.api(stack.values["CREDIT_STACK_APP_KEY"]) as client:
        model = client.get("/v1/model")
    assert model.status_code == 200, model.text
    con = _pg(stack, "MLFLOW_TRACKING_URI")
    try:
        with con.cursor() as cur:
            cur.execute("select version from registered_model_aliases where alias = 'champion'")
            versions = [str(r[0]) for r in cur.fetchall()]
    finally:
        con.close()
    assert str(model.json()["version"]) in versions
    # prod mode: the OpenAPI page needs a key, a bare key is no key
    assert httpx.get(f"{stack.api_url}/docs", timeout=10).status_code in (401, 403, 404)


def test_scores_and_refusals(stack, applicant):
    with stack.api(stack.values["CREDIT_STACK_APP_KEY"]) as client:
        got = client.get(f"/v1/applicants/{applicant}/score")
        assert got.status_code == 200, got.text
        assert 0.0 <= got.json()["probability"] <= 1.0
        build = duckdb.connect(str(stack.home / "warehouse" / "build.duckdb"), read_only=True)
        try:
            body = raw_request(build, applicant)
        finally:
            build.close()
        posted = client.post("/v1/score", json=body)
        assert posted.status_code == 200, posted.text
        assert posted.json()["probability"] == pytest.approx(got.json()["probability"], abs=1e-6)
        # an app key may not read a client's file
        assert client.post(f"/v1/applicants/{applicant}/file-link").status_code == 403
    with stack.api(None) as anonymous:
        assert anonymous.get(f"/v1/applicants/{applicant}/score").status_code == 401
    with stack.api("not-a-key-at-all") as wrong:
        assert wrong.get(f"/v1/applicants/{applicant}/score").status_code == 401


def test_rate_limit_counts_are_in_redis(stack, applicant):
    client = redis.Redis.from_url(stack.values["CREDIT_REDIS_URL"])
    before = client.zcard("credit:rate:api:key:shop-app")
    with stack.api(stack.values["CREDIT_STACK_APP_KEY"]) as api:
        for _ in range(5):
            assert api.get(f"/v1/applicants/{applicant}/score").status_code == 200
    after = client.zcard("credit:rate:api:key:shop-app")
    assert after >= min(before + 5, 6000), (before, after)
    assert 0 < client.ttl("credit:rate:api:key:shop-app") <= 61


def test_client_file_link_opens(stack, applicant):
    with stack.api(stack.values["CREDIT_STACK_OFFICER_KEY"]) as officer:
        made = officer.post(f"/v1/applicants/{applicant}/file-link")
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    path = urlsplit(url).path
    page = httpx.get(f"{stack.api_url}{path}", timeout=30)
    assert page.status_code == 200, page.text[:300]
    assert str(applicant) in page.text
    keys = redis.Redis.from_url(stack.values["CREDIT_REDIS_URL"]).keys("credit:rate:file-link:*")
    assert keys, "the link's open count is not in Redis"


def test_superset_metadata_in_postgresql_and_caches_in_redis(stack):
    assert httpx.get(f"{stack.superset_url}/health", timeout=10).status_code == 200
    login = httpx.post(
        f"{stack.superset_url}/api/v1/security/login",
        json={"username": "admin", "password": stack.values["SUPERSET_ADMIN_PASSWORD"], "provider": "db",
              "refresh": False},
        timeout=30,
    )  # fmt: skip
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    dashboards = httpx.get(f"{stack.superset_url}/api/v1/dashboard/", headers=headers, timeout=30)
    assert dashboards.status_code == 200
    titles = {d["dashboard_title"] for d in dashboards.json()["result"]}
    con = _pg(stack, "SUPERSET_DATABASE_URI")
    try:
        with con.cursor() as cur:
            cur.execute("select dashboard_title from dashboards")
            stored = {r[0] for r in cur.fetchall()}
    finally:
        con.close()
    assert titles and titles <= stored
    charts = httpx.get(f"{stack.superset_url}/api/v1/chart/", headers=headers, params={"q": "(page_size:100)"},
                       timeout=30).json()["result"]  # fmt: skip
    fetched = 0
    for chart in charts:
        data = httpx.get(
            f"{stack.superset_url}/api/v1/chart/{chart['id']}/data/", headers=headers, timeout=60
        )
        if data.status_code == 200:
            fetched += 1
        if fetched >= 3:
            break
    assert fetched >= 1, "no chart answered with its saved query"
    cached = redis.Redis.from_url(stack.values["CREDIT_REDIS_URL"]).keys("superset_*")
    assert cached, "Superset wrote nothing to Redis"
    assert any(re.match(rb"superset_(data|credit)_", k) for k in cached), cached[:5]


def test_mlflow_server_shows_the_champion(stack):
    """MLflow's server (the MLflow image's command, `make mlflow-server`) over the PostgreSQL registry."""
    url = f"http://127.0.0.1:{stack.values.get('MLFLOW_PORT', int(stack.values['CREDIT_SUPERSET_PORT']) + 1)}"
    got = httpx.get(
        f"{url}/api/2.0/mlflow/registered-models/get", params={"name": "credit_default"}, timeout=30
    )
    assert got.status_code == 200, got.text[:300]
    aliases = {a["alias"] for a in got.json()["registered_model"].get("aliases", [])}
    assert "champion" in aliases
