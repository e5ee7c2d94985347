"""Full-scale files and raw load: time and peak memory.

python -m benchmarks.foundation [--data generator|real] [--applicants 356255] [--home DIR]

`--data generator` times the synthetic generator; `--data real` times `warehouse scale` of the real
sample (real-shaped files; skipped with a message without the sample). Both then time the load.
Writes reports/bench_foundation_<data>.md (+ .json).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import DATA_KINDS, data_command, measure, real_sample_dir, write_table
from warehouse.config import get_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=DATA_KINDS, default="generator")
    parser.add_argument("--applicants", type=int, default=356_255)
    parser.add_argument(
        "--home", type=Path, default=None, help="CREDIT_HOME for the run (default: a temp dir)"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-foundation-"))
    data = home / "data" / args.data
    env = {"CREDIT_HOME": str(home)}
    py = sys.executable
    command = data_command(args.data, args.applicants, data)
    if command is None:
        print(
            f"skipped: --data real needs the real sample, not found at {real_sample_dir()} (CREDIT_REAL_SAMPLE_DIR)"
        )
        return
    step = "generate" if args.data == "generator" else "scale the real sample to"
    rows = [measure(f"{step} {args.applicants:,} applicants (csv)", command, env)]
    size_gb = sum(f.stat().st_size for f in data.iterdir()) / 1e9
    rows.append(measure("load raw (csv)", [py, "-m", "warehouse", "load", "--source", str(data)], env))
    n_rows = 0
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    n_rows = con.execute("select sum(row_count) from raw.load_manifest").fetchone()[0]
    con.close()
    notes = (
        f"{n_rows:,} rows, {size_gb:.2f} GB of CSV ({args.data}). Machine: {platform.node()}, {os.cpu_count()} cores, "
        f"{platform.platform()}. DuckDB memory_limit {get_settings().duckdb_memory_limit}. Targets: generation "
        "<= 300 s and 4 GB; load <= 30 s and < 2 GB."
    )
    out = write_table(
        get_settings().reports_dir / f"bench_foundation_{args.data}.md",
        f"Foundation: files ({args.data}) and load",
        rows,
        notes,
    )
    print(out.read_text())
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
