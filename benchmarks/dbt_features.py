"""The feature store at full Kaggle scale: the engineer's `dbt build` (the default selector).

python -m benchmarks.dbt_features [--data generator|real] [--applicants 356255] [--runs 3] [--home DIR]

Makes the files (`--data generator`: the synthetic generator; `--data real`: `warehouse scale` of
the real sample, real applicants with their real history rows under new keys; skipped with a
message without the sample), loads them, then runs the default `dbt build` (selectors.yml: the
feature store and its tests, not the serving and monitoring marts) `--runs` times: wall time, CPU
time and peak resident memory of the whole process tree (median and spread), and where the time
goes (dbt's per-node timings, median over runs). Every model that takes 5 s or more inside the
build is then also run alone (`dbt run -s <model>`, `--runs` times): a model much slower inside the
build than alone is fighting the other model run beside it for memory. Last, the feature drift
marts of step 5 (`dbt run` of the PSI edges, counts and bins: every feature binned for both
populations), `--runs` times. Writes reports/bench_dbt_features_<data>.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import DATA_KINDS, data_command, measure, real_sample_dir
from warehouse.config import REPO_ROOT, get_settings

# The PSI marts of every feature that need no scoring run (fct_feature_drift reads the scores).
DRIFT_MODELS = ["dim_feature_drift_edges", "fct_feature_drift_counts", "fct_feature_drift_bins"]

_CHILD = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t0, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                  "peak_rss_mb": ru.ru_maxrss / 1024}))
"""


def _measure(command: list[str], env: dict[str, str]) -> dict:
    """Wall time, CPU time (user + sys) and peak RSS of `command` and the children it waited for."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *command], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    if data["rc"] != 0:
        raise RuntimeError(f"benchmark step failed (exit {data['rc']}): {' '.join(command)}")
    return data


def _nodes(target: Path) -> list[tuple[str, str, float]]:
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    rows = []
    for r in results:
        parts = r["unique_id"].split(".")
        name = parts[2] if parts[0] == "test" else parts[-1]  # tests end with a hash
        rows.append((parts[0], name, float(r.get("execution_time") or 0.0)))
    return sorted(rows, key=lambda row: -row[2])


def _repeat(
    label: str, command: list[str], env: dict[str, str], home: Path, runs: int
) -> tuple[list[dict], list[list[tuple[str, str, float]]]]:
    """`runs` measured runs of a dbt command: each run's measure and dbt's node timings."""
    results, node_runs = [], []
    for i in range(runs):
        print(f"measuring: {label} (run {i + 1}/{runs})", flush=True)
        results.append(_measure(command, env))
        node_runs.append(_nodes(home / "dbt" / "target"))
        print(f"  {results[-1]['seconds']:.1f} s, {results[-1]['peak_rss_mb']:.0f} MB", flush=True)
    return results, node_runs


def _median_nodes(runs: list[list[tuple[str, str, float]]]) -> list[tuple[str, str, float]]:
    by: dict[tuple[str, str], list[float]] = {}
    for nodes in runs:
        for kind, name, seconds in nodes:
            by.setdefault((kind, name), []).append(seconds)
    rows = [(kind, name, statistics.median(v)) for (kind, name), v in by.items()]
    return sorted(rows, key=lambda row: -row[2])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=DATA_KINDS, default="generator")
    parser.add_argument("--applicants", type=int, default=356_255)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None, help="CREDIT_HOME (default: a temp dir)")
    parser.add_argument("--source", type=Path, default=None, help="existing Kaggle-format files to load")
    parser.add_argument("--reuse", action="store_true", help="reuse the warehouse already loaded in --home")
    parser.add_argument("--no-alone", action="store_true", help="skip the runs of the slow models alone")
    args = parser.parse_args(argv)

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-dbt-features-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_WAREHOUSE", "DBT_"))}
    env.update(
        CREDIT_HOME=str(home),
        DBT_PROFILES_DIR=str(REPO_ROOT),
        DBT_TARGET_PATH=str(home / "dbt" / "target"),
        DBT_LOG_PATH=str(home / "dbt" / "logs"),
    )
    py, dbt = sys.executable, str(Path(sys.executable).with_name("dbt"))
    load_m = None
    if not args.reuse:
        data = args.source or home / "data" / args.data
        if args.source is None and not (data / "application_train.csv").exists():
            command = data_command(args.data, args.applicants, data, args.seed)
            if command is None:
                print(
                    f"skipped: --data real needs the real sample, not found at {real_sample_dir()} (CREDIT_REAL_SAMPLE_DIR)"
                )
                return
            print(f"making {args.applicants:,} applicants ({args.data}) into {data} ...", flush=True)
            subprocess.run(command, env=env, check=True)
        load_m = measure("load", [py, "-m", "warehouse", "load", "--source", str(data)], env)
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    n_rows = con.execute("select sum(row_count) from raw.load_manifest").fetchone()[0]
    n_applicants = con.execute(
        "select (select count(*) from raw.application_train) + (select count(*) from raw.application_test)"
    ).fetchone()[0]
    con.close()

    load_before = os.getloadavg()[0]
    command = [dbt, "build"]  # the default selector (selectors.yml)
    started = time.strftime("%Y-%m-%d %H:%M")
    results, node_runs = _repeat("dbt build", command, env, home, args.runs)
    nodes = _median_nodes(node_runs)
    alone: dict[str, float] = {}
    if not args.no_alone:
        for kind, name, seconds in nodes:
            if kind == "model" and seconds >= 5.0:
                times = []
                for _ in range(args.runs):
                    _measure([dbt, "run", "--select", name], env)
                    times.append(_nodes(home / "dbt" / "target")[0][2])
                alone[name] = statistics.median(times)
                print(f"  {name}: {seconds:.1f} s in the build, {alone[name]:.1f} s alone", flush=True)
        _measure(command, env)  # leave the warehouse as a full build left it
    drift_command = [dbt, "run", "--select", *DRIFT_MODELS]
    drift_runs, drift_nodes = _repeat("feature drift marts", drift_command, env, home, args.runs)
    drift_median = _median_nodes(drift_nodes)
    drift_models = sum(seconds for _, _, seconds in drift_median)
    n_features = len(_contract_columns()) - 1
    wall = [r["seconds"] for r in results]
    rss = [r["peak_rss_mb"] for r in results]
    cpu = [r["cpu_seconds"] for r in results]

    settings = get_settings()
    label = (
        "generator output"
        if args.data == "generator"
        else "real-shaped files (`warehouse scale` of the real sample)"
    )
    lines = [
        f"# Feature store: the default `dbt build` at full scale, {label}",
        "",
        f"{n_applicants:,} applicants, {n_rows:,} raw rows, {n_features:,} features. "
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; DuckDB memory_limit "
        f"{os.environ.get('CREDIT_DUCKDB_MEMORY_LIMIT', settings.duckdb_memory_limit)}; dbt runs 2 models at "
        f"once, each query on {os.environ.get('CREDIT_DBT_DUCKDB_THREADS', '1')} DuckDB thread(s). "
        f"Run {started}; 1-minute load average before the runs: {load_before:.1f}.",
        "",
        "| measure | median | runs | target |",
        "|---|---:|---|---:|",
        f"| wall time | {statistics.median(wall):.1f} s | {', '.join(f'{v:.1f}' for v in wall)} | <= 30 s |",
        f"| CPU time (user + sys) | {statistics.median(cpu):.1f} s | {', '.join(f'{v:.1f}' for v in cpu)} | |",
        f"| peak RSS (dbt + DuckDB) | {statistics.median(rss):.0f} MB | {', '.join(f'{v:.0f}' for v in rss)} | <= 2048 MB |",
    ]
    if load_m is not None:
        lines.append(
            f"| load + build | {load_m.seconds + statistics.median(wall):.1f} s | load {load_m.seconds:.1f} s, "
            f"{load_m.peak_rss_mb:.0f} MB | <= 50 s |"
        )
    drift_wall = [r["seconds"] for r in drift_runs]
    lines.append(
        f"| feature drift marts (step 5: {', '.join(DRIFT_MODELS)}) | {drift_models:.1f} s in the models, "
        f"{statistics.median(drift_wall):.1f} s with dbt's start | "
        + ", ".join(f"{sum(sec for _, _, sec in run):.1f}" for run in drift_nodes)
        + f"; {', '.join(f'{name} {sec:.1f} s' for _, name, sec in drift_median)} | <= 10 s |"
    )
    lines += [
        "",
        "## Where the time goes (dbt node execution time, median over runs, seconds)",
        "",
        "| node | kind | in the build | alone | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for kind, name, seconds in nodes[:25]:
        a = alone.get(name)
        extra = f"{a:.2f} | {seconds / a:.2f}" if a else " | "
        lines.append(f"| {name} | {kind} | {seconds:.2f} | {extra} |")
    total_tests = sum(sec for k, _, sec in nodes if k in ("test", "unit_test"))
    worst = max(
        (nodes_s / alone[n] for _, n, nodes_s in nodes if n in alone and alone[n] >= 5.0), default=None
    )
    lines += [
        "",
        f"{len(nodes)} nodes; tests and unit tests together {total_tests:.1f} s. Models of 5 s or more alone: "
        + (f"the worst is {worst:.2f}x slower inside the build (target: at most 2x)." if worst else "none.")
        + f" Command: `python -m benchmarks.dbt_features --data {args.data}`.",
    ]
    out = settings.reports_dir / f"bench_dbt_features_{args.data}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "data": args.data,
                "runs": results,
                "load": load_m.__dict__ if load_m else None,
                "applicants": n_applicants,
                "raw_rows": n_rows,
                "nodes": nodes,
                "alone": alone,
                "drift_runs": drift_runs,
                "drift_nodes": drift_median,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(out.read_text(encoding="utf-8"))


def _contract_columns() -> list[str]:
    from warehouse.quality.suites import contract_columns

    return contract_columns()


if __name__ == "__main__":
    main()
