"""Soak: mixed traffic for a long time while the pipeline rebuilds and publishes underneath.

Usage: ``python -m benchmarks.soak [--minutes 20] [--home DIR]`` (``make soak``; not in ``make bench``).

On a CREDIT_HOME with a published warehouse and a champion (``make demo``, 30,000 applicants): starts
the API (``python -m api serve``, as ``make api``) and Superset (``python -m credit_superset up``)
unless they answer already, then for `--minutes` sends, open loop (a slow answer never delays the
next request; latency counts from the scheduled time):
  GET  /v1/applicants/{id}/score   50 req/s
  POST /v1/score (typical history) 10 req/s
  GET  Superset chart data          2 req/s (the charts whose saved query answers, as admin)
while the pipeline (``nice -n 19``, one DuckDB thread) reloads, rebuilds the features and serving
marts, rescores and publishes, twice. A minute of the same traffic first warms the processes up
(not counted; the memory "at start" is taken after it). Reports errors, p99 per route per minute, and the RSS of every
process of the API, Superset and the soak's driver at start and end. Goals: 0 errors; p99 within
the API's targets (GET 50 ms, POST 150 ms) outside the publish seconds; memory growth under 10%.
Writes ``<reports>/soak.md`` and ``soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

from benchmarks.api import GET_P99_MS, POST_P99_MS, free_port, typical_bodies

REPO = Path(__file__).resolve().parents[1]
RATES = {"GET score": 50.0, "POST score": 10.0, "Superset chart data": 2.0}
TARGETS_MS = {"GET score": GET_P99_MS, "POST score": POST_P99_MS}
PUBLISH_MARGIN_S = (1.0, 5.0)  # before, after a publish: "the publish seconds"


def rss_tree(pid: int) -> dict[int, tuple[str, int, int]]:
    """{pid: (command, anonymous RSS bytes, file-backed RSS bytes)} of `pid` and its descendants.

    File-backed pages (the memory-mapped warehouse copies and look-up cache) are the kernel's page
    cache, reclaimable; growth that matters is anonymous memory."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    out: dict[int, tuple[str, int, int]] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
        except OSError:
            continue
        kb = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in status.splitlines()
              if line.startswith(("RssAnon", "RssFile", "RssShmem"))}  # fmt: skip
        out[p] = (cmd, kb.get("RssAnon", 0), kb.get("RssFile", 0) + kb.get("RssShmem", 0))
        todo.extend(children.get(p, []))
    return out


def _rss(pid: int) -> tuple[int, int]:
    tree = rss_tree(pid).values()
    return sum(a for _, a, _ in tree), sum(f for _, _, f in tree)


class Pipeline(threading.Thread):
    """Rebuild and publish `times` times, niced and single-threaded, recording the publish windows."""

    def __init__(self, env: dict[str, str], source: Path, times: int, first_after_s: float, gap_s: float):
        super().__init__(daemon=True)
        self.env = {**env, "CREDIT_DUCKDB_THREADS": "1", "CREDIT_DBT_DUCKDB_THREADS": "1"}
        self.source, self.times, self.first_after_s, self.gap_s = source, times, first_after_s, gap_s
        self.publishes: list[tuple[float, float]] = []
        self.runs: list[dict] = []
        self.failed: str | None = None

    def run(self) -> None:
        py, dbt = sys.executable, str(Path(sys.executable).with_name("dbt"))
        nice = ["nice", "-n", "19"]
        steps = [
            ("load", [py, "-m", "warehouse", "load", "--source", str(self.source)]),
            (
                "dbt build",
                [py, "-m", "warehouse", "run-locked", "--", dbt, "build", "--quiet", "--threads", "1"],
            ),
            ("score", [py, "-m", "training", "score", "--no-publish"]),
            (
                "serving marts",
                [
                    py,
                    "-m",
                    "warehouse",
                    "run-locked",
                    "--",
                    dbt,
                    "build",
                    "--quiet",
                    "--threads",
                    "1",
                    "--select",
                    "tag:serving",
                ],
            ),  # fmt: skip
            ("publish", [py, "-m", "warehouse", "publish"]),
        ]
        time.sleep(self.first_after_s)
        for i in range(self.times):
            run: dict = {"started": time.time(), "steps": {}}
            for name, cmd in steps:
                t0 = time.time()
                proc = subprocess.run([*nice, *cmd], cwd=REPO, env=self.env, capture_output=True, text=True)
                run["steps"][name] = round(time.time() - t0, 1)
                if name == "publish":
                    self.publishes.append((t0, time.time()))
                if proc.returncode != 0:
                    self.failed = f"{name} (run {i + 1}): exit {proc.returncode}: {proc.stderr[-500:]}"
                    self.runs.append(run)
                    return
            self.runs.append(run)
            if i + 1 < self.times:
                time.sleep(self.gap_s)


async def drive(
    api: str, superset: str | None, token: str | None, charts: list[int], ids, bodies, seconds: float
):
    records: list[
        tuple[str, float, float, bool, str]
    ] = []  # route, scheduled (epoch), latency ms, ok, status
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.perf_counter() + 0.5
        epoch0 = time.time() + 0.5

        async def one(route: str, i: int, scheduled: float) -> None:
            ok, status = False, "?"
            try:
                if route == "GET score":
                    r = await client.get(f"{api}/v1/applicants/{ids[i % len(ids)]}/score")
                elif route == "POST score":
                    r = await client.post(f"{api}/v1/score", json=bodies[i % len(bodies)])
                else:
                    r = await client.get(f"{superset}/api/v1/chart/{charts[i % len(charts)]}/data/",
                                         headers={"Authorization": f"Bearer {token()}"})  # fmt: skip
                ok, status = r.status_code == 200, str(r.status_code)
            except httpx.HTTPError as exc:
                ok, status = False, type(exc).__name__
            latency = (time.perf_counter() - scheduled) * 1000
            records.append((route, epoch0 + (scheduled - start), latency, ok, status))

        async def producer(route: str, rate: float) -> None:
            tasks = set()
            for i in range(int(rate * seconds)):
                scheduled = start + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(route, i, scheduled))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)

        routes = [r for r in RATES if RATES[r] > 0 and (r != "Superset chart data" or charts)]
        await asyncio.gather(*(producer(r, RATES[r]) for r in routes))
    return records


class SupersetToken:
    """An admin access token, renewed every 10 minutes (Superset's expire after 15)."""

    def __init__(self, url: str, password: str) -> None:
        self.url, self.password, self.value, self.at = url, password, "", 0.0

    def __call__(self) -> str:
        if time.monotonic() - self.at > 600:
            login = httpx.post(f"{self.url}/api/v1/security/login", timeout=30,
                               json={"username": "admin", "password": self.password, "provider": "db",
                                     "refresh": False})  # fmt: skip
            login.raise_for_status()
            self.value, self.at = login.json()["access_token"], time.monotonic()
        return self.value


def errors_by_status(records) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for route, _, _, ok, status in records:
        if not ok:
            out[route][status] += 1
    return {route: dict(v) for route, v in out.items()}


def superset_login(url: str, password: str) -> tuple[SupersetToken, list[int]]:
    token = SupersetToken(url, password)
    headers = {"Authorization": f"Bearer {token()}"}
    charts = httpx.get(f"{url}/api/v1/chart/", headers=headers, params={"q": "(page_size:100)"}, timeout=30)
    answering = []
    for chart in charts.json()["result"]:
        if (
            httpx.get(f"{url}/api/v1/chart/{chart['id']}/data/", headers=headers, timeout=60).status_code
            == 200
        ):
            answering.append(chart["id"])
    return token, answering


def summarise(records, publishes, minutes: float) -> dict:
    t0 = min(r[1] for r in records)
    in_publish = [(a - PUBLISH_MARGIN_S[0], b + PUBLISH_MARGIN_S[1]) for a, b in publishes]
    per_route: dict[str, dict] = {}
    for route in RATES:
        rows = [r for r in records if r[0] == route]
        if not rows:
            continue
        lat = np.array([r[2] for r in rows])
        outside = np.array([r[2] for r in rows if not any(a <= r[1] <= b for a, b in in_publish)])
        by_minute = defaultdict(list)
        for r in rows:
            by_minute[int((r[1] - t0) // 60)].append(r[2])
        per_route[route] = {
            "sent": len(rows),
            "errors": sum(not r[3] for r in rows),
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "p99_outside_publish_ms": round(float(np.percentile(outside, 99)), 1) if len(outside) else None,
            "max_ms": round(float(lat.max()), 1),
            "p99_by_minute_ms": [round(float(np.percentile(by_minute[m], 99)), 1) for m in sorted(by_minute)],
        }
    return {"minutes": minutes, "routes": per_route}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rebuilds", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None)
    for route, rate in RATES.items():
        flag = "--" + route.lower().replace(" ", "-") + "-rate"
        parser.add_argument(flag, type=float, default=rate, help=f"{route} requests per second ({rate:g})")
    args = parser.parse_args()
    for route in RATES:
        RATES[route] = getattr(args, route.lower().replace(" ", "_").replace("-", "_") + "_rate")
    from warehouse.config import get_settings

    settings = get_settings()
    home = (args.home or settings.home).resolve()
    reports = settings.reports_dir
    serving = home / "warehouse" / "serving.duckdb"
    source = home / "data" / "synthetic"
    if not serving.exists() or not (source / "application_train.csv").exists():
        sys.exit(f"soak: needs a published warehouse and its source files under {home} (make demo)")
    env = {**os.environ, "CREDIT_HOME": str(home), "DBT_PROFILES_DIR": str(REPO),
           "DBT_TARGET_PATH": str(home / "dbt" / "target"), "DBT_LOG_PATH": str(home / "dbt" / "logs")}  # fmt: skip
    ids, bodies = typical_bodies(serving)
    port = free_port()
    api_env = {
        **env,
        "CREDIT_API_PORT": str(port),
        "CREDIT_API_HOST": "127.0.0.1",
        "CREDIT_API_RATE_PER_MINUTE": "0",
    }
    api = subprocess.Popen([sys.executable, "-m", "api", "serve"], cwd=REPO, env=api_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    api_url = f"http://127.0.0.1:{port}"
    superset_url = f"http://127.0.0.1:{settings.superset_port}"
    started_superset = False
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                ready = httpx.get(f"{api_url}/ready", timeout=2)
                if ready.status_code == 200 and ready.json().get("lookup_cache"):
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        try:
            httpx.get(f"{superset_url}/health", timeout=3).raise_for_status()
        except httpx.HTTPError:
            started_superset = True
            subprocess.run([str(REPO / ".venv-superset" / "bin" / "python"), "-m", "credit_superset", "up"],
                           cwd=REPO, env={**env, "PYTHONPATH": str(REPO / "superset")}, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
        token, charts = superset_login(superset_url, os.environ.get("SUPERSET_ADMIN_PASSWORD", "admin"))
        superset_pid = int((home / "superset" / "superset.pid").read_text().strip())
        pids = {"API": api.pid, "Superset": superset_pid, "soak driver": os.getpid()}
        # one minute of the same traffic first: start-up allocations are not growth
        asyncio.run(drive(api_url, superset_url, token, charts, ids, bodies, 60))
        rss_start = {name: _rss(pid) for name, pid in pids.items()}
        seconds = args.minutes * 60
        gap = max(0.0, (seconds - 120) / max(args.rebuilds, 1) - 60)
        pipeline = Pipeline(env, source, args.rebuilds, first_after_s=60, gap_s=gap)
        pipeline.start()
        print(f"soak: {args.minutes:.0f} min on {home}, {len(charts)} Superset charts answering", flush=True)
        records = asyncio.run(drive(api_url, superset_url, token, charts, ids, bodies, seconds))
        pipeline.join(timeout=1800)
        rss_end = {name: _rss(pid) for name, pid in pids.items()}
    finally:
        api.terminate()
        api.wait(timeout=30)
        if started_superset:
            subprocess.run([str(REPO / ".venv-superset" / "bin" / "python"), "-m", "credit_superset", "stop"],
                           cwd=REPO, env={**env, "PYTHONPATH": str(REPO / "superset")}, check=False)  # fmt: skip
    result = summarise(records, pipeline.publishes, args.minutes)
    result.update({
        "home": str(home), "machine": f"{os.uname().nodename}, {os.cpu_count()} cores",
        "pipeline_runs": pipeline.runs, "pipeline_failed": pipeline.failed,
        "publishes": [[round(a - records[0][1], 1), round(b - records[0][1], 1)] for a, b in pipeline.publishes],
        "rss_mb": {n: {"anon": [round(rss_start[n][0] / 2**20), round(rss_end[n][0] / 2**20)],
                       "file": [round(rss_start[n][1] / 2**20), round(rss_end[n][1] / 2**20)]} for n in pids},
        "error_statuses": errors_by_status(records),
    })  # fmt: skip
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "soak.json").write_text(json.dumps(result, indent=1))
    lines = [
        f"# Soak: {args.minutes:.0f} minutes of mixed traffic, {args.rebuilds} rebuilds and publishes underneath",
        "",
        f"Home {home}; machine {result['machine']}; run {time.strftime('%Y-%m-%d %H:%M')}. Command: "
        f"`python -m benchmarks.soak --minutes {args.minutes:g}`.",
        "",
        "| route | rate | sent | errors | p50 | p99 | p99 outside publish | target | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route, r in result["routes"].items():
        target = f"{TARGETS_MS[route]:.0f} ms" if route in TARGETS_MS else ""
        lines.append(f"| {route} | {RATES[route]:g}/s | {r['sent']:,} | {r['errors']} | {r['p50_ms']} ms | "
                     f"{r['p99_ms']} ms | {r['p99_outside_publish_ms']} ms | {target} | {r['max_ms']} ms |")  # fmt: skip
    lines += ["", "p99 per minute (ms):", ""]
    for route, r in result["routes"].items():
        lines.append(f"- {route}: " + ", ".join(str(v) for v in r["p99_by_minute_ms"]))
    lines += [
        "",
        "Pipeline runs (seconds per step): " + "; ".join(json.dumps(r["steps"]) for r in pipeline.runs),
    ]
    if pipeline.failed:
        lines.append(f"Pipeline FAILED: {pipeline.failed}")
    lines += ["", f"Errors by route and status: {json.dumps(result['error_statuses'])}"]
    lines += ["", "| process tree | anonymous RSS at start | at end | growth | file-backed RSS (mapped warehouse, "
              "page cache) start, end |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, mem in result["rss_mb"].items():
        (a, b), (fa, fb) = mem["anon"], mem["file"]
        lines.append(f"| {name} | {a} MB | {b} MB | {100 * (b - a) / max(a, 1):+.0f}% | {fa} MB, {fb} MB |")
    (reports / "soak.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
