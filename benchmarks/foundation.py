"""Full-scale generation and raw load (issue 2): time and peak memory.

python -m benchmarks.foundation [--applicants 356255] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import generate_command, measure, write_table
from warehouse.config import get_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applicants", type=int, default=356_255)
    parser.add_argument(
        "--home", type=Path, default=None, help="CREDIT_HOME for the run (default: a temp dir)"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-foundation-"))
    data = home / "data" / "synthetic"
    env = {"CREDIT_HOME": str(home)}
    py = sys.executable
    rows = [
        measure(
            f"generate {args.applicants:,} applicants (csv)",
            generate_command(args.applicants, data),
            env,
        )
    ]
    size_gb = sum(f.stat().st_size for f in data.iterdir()) / 1e9
    rows.append(measure("load raw (csv)", [py, "-m", "warehouse", "load", "--source", str(data)], env))
    n_rows = 0
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    n_rows = con.execute("select sum(row_count) from raw.load_manifest").fetchone()[0]
    con.close()
    notes = (
        f"{n_rows:,} rows, {size_gb:.2f} GB of CSV. Machine: {os.cpu_count()} cores, {platform.platform()}. "
        f"DuckDB memory_limit {get_settings().duckdb_memory_limit}. Targets: generation <= 300 s and 4 GB; "
        "load <= 30 s and < 2 GB."
    )
    out = write_table(
        get_settings().reports_dir / "bench_foundation.md", "Foundation: generation and load", rows, notes
    )
    print(out.read_text())
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
