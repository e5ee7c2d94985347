"""Drift monitoring at full Kaggle scale (issue 8): PSI marts in SQL and the Evidently report.

python -m benchmarks.drift [--applicants 356255] [--home DIR] [--setup-only]

The measured steps are the two that monitoring runs after every scoring run:
- `dbt build --select tag:monitoring`: PSI of every feature and of the score (fct_feature_drift,
  fct_score_drift and their bins) over all applicants;
- `python -m training drift`: the Evidently report on the important and PSI-flagged features and
  the score, plus the MLflow run.
Target: both together in at most 5 minutes on this 2-core machine.

Set-up (timed too, not part of the target): synthetic data with the planted drift, the raw load,
the feature store, a quick training on a capped sample of applicants (the model's quality does
not matter here, only that a champion scores everybody) and a full scoring run. With `--home`
pointing at a CREDIT_HOME whose warehouse is already scored, the set-up is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import generate_command, measure, write_table
from warehouse.config import get_settings


def _scored(home: Path) -> bool:
    import duckdb

    path = home / "warehouse" / "build.duckdb"
    if not path.exists():
        return False
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from scoring.scoring_runs").fetchone()[0] > 0
    except duckdb.Error:
        return False
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applicants", type=int, default=356_255)
    parser.add_argument("--home", type=Path, default=None, help="CREDIT_HOME (default: a new temp dir)")
    parser.add_argument(
        "--train-rows", type=int, default=40_000, help="cap on training rows for the set-up model"
    )
    parser.add_argument("--setup-only", action="store_true")
    args = parser.parse_args()
    home = (args.home or Path(tempfile.mkdtemp(prefix="bench-drift-"))).resolve()
    repo = Path(__file__).resolve().parents[1]
    env = {
        "CREDIT_HOME": str(home),
        "DBT_PROFILES_DIR": str(repo),
        "DBT_TARGET_PATH": str(home / "dbt" / "target"),
        "DBT_LOG_PATH": str(home / "dbt" / "logs"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        "CREDIT_REPORTS_DIR": str(home / "reports"),
    }
    py = sys.executable
    dbt = str(Path(py).with_name("dbt"))
    setup = []
    if not _scored(home):
        data = home / "data" / "synthetic"
        quick = {
            **env,
            "CREDIT_TRAIN_RUN_STUDIES": "false",
            "CREDIT_TRAIN_MAX_TRAIN_ROWS": str(args.train_rows),
            "CREDIT_TRAIN_N_FOLDS": "3",
            "CREDIT_TRAIN_BOOTSTRAP": "50",
        }
        if not (data / "application_train.csv").exists():
            setup.append(
                measure(
                    f"set-up: generate {args.applicants:,} applicants",
                    generate_command(args.applicants, data),
                    env,
                )
            )
        setup.append(measure("set-up: load raw", [py, "-m", "warehouse", "load", "--source", str(data)], env))
        setup.append(
            measure(
                "set-up: dbt build (feature store)",
                [dbt, "build", "--quiet", "--exclude", "tag:serving"],
                env,
                cwd=repo,
            )
        )
        setup.append(
            measure(
                f"set-up: train --quick on {args.train_rows:,} rows",
                [py, "-m", "training", "train", "--quick"],
                quick,
                cwd=repo,
            )
        )
        setup.append(
            measure(
                "set-up: score every applicant",
                [py, "-m", "training", "score", "--no-publish"],
                env,
                cwd=repo,
            )
        )
    if args.setup_only:
        return
    rows = [
        measure(
            "PSI marts: dbt build --select tag:monitoring",
            [dbt, "build", "--quiet", "--select", "tag:monitoring"],
            env,
            cwd=repo,
        ),
        measure("Evidently report: python -m training drift", [py, "-m", "training", "drift"], env, cwd=repo),
    ]
    total = sum(m.seconds for m in rows)
    summary = json.loads((home / "reports" / "data_drift.json").read_text(encoding="utf-8"))
    counts = summary["psi_counts"]
    notes = (
        f"Monitoring total {total:.0f} s (target <= 300 s). {summary['n_reference_total']:,} training and "
        f"{summary['n_current_total']:,} new applicants; PSI for {sum(counts.values()):,} features: "
        f"{counts['stable']} stable, {counts['watch']} watch, {counts['act']} act "
        f"(not stable: {', '.join(summary['drifted_by_psi'][:6]) or 'none'}); score PSI "
        f"{summary['score_psi'] if summary['score_psi'] is None else round(summary['score_psi'], 4)}. "
        f"Evidently on {len(summary['columns'])} columns, at most {summary['n_reference']:,} applicants per side: "
        f"{len(summary['evidently_drifted'])} drifted. Machine: {os.cpu_count()} cores, {platform.platform()}; "
        f"DuckDB memory_limit {get_settings().duckdb_memory_limit}."
    )
    out = write_table(
        get_settings().reports_dir / "bench_drift.md", "Drift monitoring at full scale", setup + rows, notes
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
