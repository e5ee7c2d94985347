"""Continuous requests while the pipeline publishes three times and the champion alias moves: no failure."""

from __future__ import annotations

import sys
import threading
import time

import httpx

from api.schemas import EXAMPLE_REQUEST
from tests.e2e.api.conftest import API_KEY, Pipeline, Server, publish, run

MOVE_ALIAS = """
import mlflow
from mlflow import MlflowClient
from warehouse.config import get_settings
uri = get_settings().mlflow_tracking_uri
mlflow.set_tracking_uri(uri); mlflow.set_registry_uri(uri)
client = MlflowClient()
current = client.get_model_version_by_alias("credit_default", "champion")
new = client.create_model_version("credit_default", current.source, run_id=current.run_id)
client.set_registered_model_alias("credit_default", "champion", new.version)
print(new.version)
"""


def _wait(client: httpx.Client, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/ready").json()
        if predicate(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"the API did not pick up the change within {timeout} s: {body}")


def test_publishes_and_new_champion_under_load(server: Server, pipeline: Pipeline) -> None:
    import duckdb

    con = duckdb.connect(str(pipeline.serving), read_only=True)
    ids = [r[0] for r in con.execute("select SK_ID_CURR from raw.application_train limit 50").fetchall()]
    con.close()

    stop = threading.Event()
    failures: list[str] = []
    counts = {"get": 0, "post": 0}
    lock = threading.Lock()

    def hammer(post_every: int) -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=60) as client:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % post_every == 0:
                        r = client.post("/v1/score", json=EXAMPLE_REQUEST)
                        kind = "post"
                    else:
                        r = client.get(f"/v1/applicants/{ids[i % len(ids)]}/score")
                        kind = "get"
                    if r.status_code != 200:
                        failures.append(f"{kind} {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    kind = "error"
                with lock:
                    counts[kind] = counts.get(kind, 0) + 1

    threads = [threading.Thread(target=hammer, args=(every,)) for every in (10, 25)]
    for t in threads:
        t.start()
    try:
        with server.client() as client:
            before = client.get("/ready").json()
            published = {before["serving_copy_published_at"]}
            for _ in range(3):
                time.sleep(1.0)
                publish(pipeline.env)
                body = _wait(client, lambda b: b["serving_copy_published_at"] not in published)
                published.add(body["serving_copy_published_at"])
            version = run([sys.executable, "-c", MOVE_ALIAS], pipeline.env).strip().splitlines()[-1]
            _wait(client, lambda b: b["model_version"] == version)
            assert client.get("/v1/model").json()["version"] == version
            while counts["get"] + counts["post"] < 500:
                time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert len(published) == 4
    assert counts["get"] + counts["post"] >= 500 and counts["post"] > 0, counts
    assert not failures, failures[:10]
