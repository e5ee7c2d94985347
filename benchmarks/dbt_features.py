"""The feature store at full Kaggle scale: `dbt build` of the features and their tests.

python -m benchmarks.dbt_features [--applicants 356255] [--home DIR] [--source DIR]

Generates (or reuses) the synthetic data, loads it, then measures
`dbt build --select tag:features+ --exclude tag:serving` (staging, intermediate aggregates, the
feature mart, labels and every test on them; the serving marts wait for scores): wall time,
CPU time and peak resident memory of the whole process tree, and where the time goes (dbt's
per-node timings). Writes reports/bench_dbt_features.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import generate_command
from warehouse.config import REPO_ROOT, get_settings

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applicants", type=int, default=356_255)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", type=Path, default=None, help="CREDIT_HOME (default: a temp dir)")
    parser.add_argument("--source", type=Path, default=None, help="existing Kaggle-format files to load")
    parser.add_argument("--reuse", action="store_true", help="reuse the warehouse already loaded in --home")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-dbt-features-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_WAREHOUSE", "DBT_"))}
    env.update(
        CREDIT_HOME=str(home),
        DBT_PROFILES_DIR=str(REPO_ROOT),
        DBT_TARGET_PATH=str(home / "dbt" / "target"),
        DBT_LOG_PATH=str(home / "dbt" / "logs"),
    )
    py, dbt = sys.executable, str(Path(sys.executable).with_name("dbt"))
    if not args.reuse:
        data = args.source or home / "data" / "synthetic"
        if args.source is None:
            print(f"generating {args.applicants:,} applicants into {data} ...", flush=True)
            subprocess.run(
                generate_command(args.applicants, data, args.seed),
                env=env,
                check=True,
            )
        subprocess.run([py, "-m", "warehouse", "load", "--source", str(data)], env=env, check=True)
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    n_rows = con.execute("select sum(row_count) from raw.load_manifest").fetchone()[0]
    n_applicants = con.execute(
        "select (select count(*) from raw.application_train) + (select count(*) from raw.application_test)"
    ).fetchone()[0]
    con.close()

    load_before = os.getloadavg()[0]
    command = [dbt, "build", "--select", "tag:features+", "--exclude", "tag:serving"]
    print("measuring:", " ".join(command[1:]), flush=True)
    started = time.strftime("%Y-%m-%d %H:%M")
    result = _measure(command, env)
    nodes = _nodes(home / "dbt" / "target")
    n_features = len(_contract_columns()) - 1

    settings = get_settings()
    lines = [
        "# Feature store: `dbt build --select tag:features+ --exclude tag:serving` at full scale",
        "",
        f"{n_applicants:,} applicants, {n_rows:,} raw rows, {n_features:,} features. "
        f"Machine: {os.cpu_count()} cores, {platform.platform()}; DuckDB memory_limit "
        f"{os.environ.get('CREDIT_DUCKDB_MEMORY_LIMIT', settings.duckdb_memory_limit)}; dbt runs 2 models at "
        f"once, each query on {os.environ.get('CREDIT_DBT_DUCKDB_THREADS', '1')} DuckDB thread(s). "
        f"Run {started}; 1-minute load average before the run: {load_before:.1f} "
        "(other work on the machine slows the wall time; CPU time is less sensitive to it).",
        "",
        "| measure | value | target |",
        "|---|---:|---:|",
        f"| wall time | {result['seconds']:.1f} s | <= 30 s |",
        f"| CPU time (user + sys) | {result['cpu_seconds']:.1f} s | |",
        f"| peak RSS (dbt + DuckDB) | {result['peak_rss_mb']:.0f} MB | < 2048 MB |",
        "",
        "## Where the time goes (dbt node execution time, seconds)",
        "",
        "| node | kind | seconds |",
        "|---|---|---:|",
    ]
    for kind, name, seconds in nodes[:25]:
        lines.append(f"| {name} | {kind} | {seconds:.2f} |")
    total_tests = sum(s for k, _, s in nodes if k in ("test", "unit_test"))
    lines += [
        "",
        f"{len(nodes)} nodes; tests and unit tests together {total_tests:.1f} s. Command: `make bench` "
        "(`python -m benchmarks.dbt_features`).",
    ]
    out = settings.reports_dir / "bench_dbt_features.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps(
            {"result": result, "applicants": n_applicants, "raw_rows": n_rows, "nodes": nodes}, indent=2
        ),
        encoding="utf-8",
    )
    print(out.read_text(encoding="utf-8"))


def _contract_columns() -> list[str]:
    from warehouse.quality.suites import contract_columns

    return contract_columns()


if __name__ == "__main__":
    main()
