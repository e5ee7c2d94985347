"""The client's file through the API: latency of the JSON, CSV and PDF forms for typical applicants.

Usage: ``python -m benchmarks.client_file [--requests 200] [--home DIR]`` (``make bench`` runs it).

Uses CREDIT_HOME's published copy and champion (``make demo``), or builds a small pipeline as
``benchmarks.api`` does; starts uvicorn (``python -m api serve``), then asks, one request at a
time, for the file of applicants with a typical history (the median number of history rows among
applicants with any): JSON ``--requests`` times, CSV a quarter as often, the PDF letter 20 times (after one PDF that pays WeasyPrint's import, reported apart).
Targets: JSON p99 <= 200 ms, PDF p99 <= 3 s. Writes ``<reports>/bench_client_file.md`` (+ .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import duckdb
import httpx
import numpy as np

from benchmarks.api import free_port, pipeline_home, start

JSON_P99_MS = 200.0
PDF_P99_MS = 3000.0


def typical_applicants(serving: Path, count: int = 20) -> tuple[list[int], int]:
    """Applicants whose history row count is closest to the median (among those with history)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        rows = con.execute(
            """
            with n as (
                select SK_ID_CURR, count(*) as rows from (
                    select SK_ID_CURR from raw.bureau
                    union all select SK_ID_CURR from raw.previous_application
                    union all select SK_ID_CURR from raw.pos_cash_balance
                    union all select SK_ID_CURR from raw.installments_payments
                    union all select SK_ID_CURR from raw.credit_card_balance
                ) group by 1
            ), m as (select median(rows) as med from n)
            select SK_ID_CURR, rows from n, m order by abs(rows - med), SK_ID_CURR limit ?
            """,
            [count],
        ).fetchall()
    finally:
        con.close()
    return [int(r[0]) for r in rows], int(rows[0][1])


def _measure(client: httpx.Client, paths: list[str], n: int) -> dict:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        resp = client.get(paths[i % len(paths)])
        times.append((time.perf_counter() - t0) * 1000)
        if resp.status_code != 200:
            raise RuntimeError(f"{paths[i % len(paths)]}: {resp.status_code} {resp.text[:200]}")
    a = np.array(times)
    return {
        "n": n,
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "max_ms": float(a.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--applicants", type=int, default=5000, help="when CREDIT_HOME has no pipeline yet")
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    from warehouse.config import get_settings

    settings = get_settings()
    home, env, _ = pipeline_home(args.home, args.applicants)
    serving = home / "warehouse" / "serving.duckdb"
    ids, typical_rows = typical_applicants(serving)
    con = duckdb.connect(str(serving), read_only=True)
    n_applicants = con.execute("select count(*) from raw.applications").fetchone()[0]
    con.close()
    port = free_port()
    proc, _, _ = start(env, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            paths = [f"/v1/applicants/{i}/file" for i in ids]
            _measure(client, paths, len(paths))  # warm-up: the audit index, first queries
            first_pdf = _measure(client, [paths[0] + "?format=pdf"], 1)  # imports WeasyPrint, loads fonts
            results = {
                "json": _measure(client, paths, args.requests),
                "csv": _measure(client, [p + "?format=csv" for p in paths], max(20, args.requests // 4)),
                "pdf": _measure(client, [p + "?format=pdf" for p in paths], 20),
            }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    targets = {"json": JSON_P99_MS, "pdf": PDF_P99_MS}
    lines = [
        "# The client's file through the API",
        "",
        f"{n_applicants:,} applicants in {serving}; typical applicants: {len(ids)} with about {typical_rows} "
        f"history rows (the median). Machine: {platform.node()}, {os.cpu_count()} cores. One request at a "
        f"time, API with its default workers. {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| form | requests | p50 | p99 | max | target (p99) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for form, r in results.items():
        target = f"{targets[form]:.0f} ms" if form in targets else ""
        lines.append(
            f"| {form} | {r['n']} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.1f} ms | {target} |"
        )
    lines += [
        "",
        f"The first PDF after start-up took {first_pdf['max_ms']:.0f} ms (WeasyPrint is imported and its "
        "fonts loaded by the first PDF request only, so that the API's start-up stays as it is); the "
        "figures above come after it.",
        "",
        "Command: `python -m benchmarks.client_file`.",
    ]
    out = settings.reports_dir / "bench_client_file.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps({**results, "first_pdf": first_pdf}, indent=2), encoding="utf-8"
    )
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
