"""Training and batch scoring (issues 4 and 5): time, peak memory and model quality.

    python -m benchmarks.training [--applicants 356255] [--home DIR] [--source DIR]

Generates the synthetic data (or uses --source, e.g. the real sample), loads it, builds the
feature mart with dbt, then measures `python -m training train` (default budget) and
`python -m training score --no-publish` (scores + SHAP + reasons for every applicant), and reads
the quality figures back: cross-validated and holdout AUC, threshold and its interval, and, on
the generator's data, the oracle's AUC on the same holdout rows (from `_oracle.csv`).
Writes <reports>/bench_training[_<label>].md (+ .json). Existing steps are reused with --home.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.measure import Measurement, generate_command, measure, write_table
from warehouse.config import REPO_ROOT, get_settings


def _mart_ready(home: Path) -> bool:
    wh = home / "warehouse" / "build.duckdb"
    if not wh.exists():
        return False
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return bool(
            con.execute(
                "select count(*) from (select table_name as name from duckdb_tables() union all "
                "select view_name from duckdb_views()) where name = 'feat_applicant_features'"
            ).fetchone()[0]
        )
    finally:
        con.close()


def _quality(home: Path, data: Path) -> dict:
    """AUCs of the champion (from its run) and the oracle's AUC on the same holdout rows."""
    import mlflow
    from mlflow import MlflowClient
    from sklearn.metrics import roc_auc_score

    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    # the version this benchmark just trained (the champion alias stays on an earlier version
    # when the new one does not beat it)
    client = MlflowClient()
    version = max(client.search_model_versions("name='credit_default'"), key=lambda v: int(v.version))
    run = client.get_run(version.run_id)
    m = run.data.metrics
    out = {
        "model_version": version.version,
        "n_features": run.data.params.get("n_features"),
        "n_train": run.data.params.get("n_train"),
        "n_holdout": run.data.params.get("n_holdout"),
        **{
            k: m.get(k)
            for k in (
                "oof_auc",
                "cv_fold_auc_mean",
                "holdout_auc",
                "holdout_gini",
                "holdout_ks",
                "holdout_brier",
                "holdout_cost_per_applicant",
                "holdout_approval_rate",
                "threshold",
                "threshold_ci_low",
                "threshold_ci_high",
                "threshold_theoretical",
                "review_low",
                "review_high",
                "review_band_share_oof",
                "champion_n_folds",
                "seconds_champion_cv",
                "seconds_champion_fit",
                "seconds_total",
            )
        },
    }
    oracle_file = data / "_oracle.csv"
    if oracle_file.exists():
        oof = pd.read_parquet(
            mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path="oof/oof.parquet")
        )
        oracle = pd.read_csv(oracle_file).rename(columns={"SK_ID_CURR": "sk_id_curr", "PD": "oracle_pd"})
        both = oof.merge(oracle, on="sk_id_curr")
        hold = both[both["sample"] == "holdout"]
        out["oracle_auc_holdout"] = float(roc_auc_score(hold["target"], hold["oracle_pd"]))
        out["model_auc_holdout_same_rows"] = float(roc_auc_score(hold["target"], hold["probability"]))
        out["oracle_gap_holdout"] = out["oracle_auc_holdout"] - out["model_auc_holdout_same_rows"]
        out["oracle_auc_all_train"] = float(roc_auc_score(both["target"], both["oracle_pd"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applicants", type=int, default=356_255)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--home", type=Path, default=None, help="CREDIT_HOME (default: var/bench-training-<n>)"
    )
    parser.add_argument(
        "--source", type=Path, default=None, help="Kaggle-format folder instead of generating"
    )
    parser.add_argument("--label", default=None, help="suffix of the report file")
    args = parser.parse_args()
    label = args.label or ("real" if args.source else str(args.applicants))
    home = (args.home or REPO_ROOT / "var" / f"bench-training-{label}").resolve()
    data = args.source or home / "data" / "synthetic"
    env = {
        "CREDIT_HOME": str(home),
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(home / "dbt" / "target"),
        "DBT_LOG_PATH": str(home / "dbt" / "logs"),
    }
    py = sys.executable
    dbt = str(Path(sys.executable).with_name("dbt"))
    rows: list[Measurement] = []
    if not args.source and not (data / "application_train.csv").exists():
        rows.append(
            measure(
                f"generate {args.applicants:,} applicants",
                generate_command(args.applicants, data, args.seed),
                env,
            )
        )
    if not _mart_ready(home):
        rows.append(measure("load raw", [py, "-m", "warehouse", "load", "--source", str(data)], env))
        rows.append(
            measure(
                "dbt build (feature mart, prerequisite)",
                [
                    dbt,
                    "build",
                    "--quiet",
                    "--select",
                    "+feat_applicant_features",
                    "+feat_applicant_labels",
                    "--indirect-selection",
                    "cautious",
                ],
                env,
                cwd=REPO_ROOT,
            )
        )
    studies = os.environ.get("CREDIT_TRAIN_RUN_STUDIES", "true").lower() not in ("0", "false", "no")
    step = "train (default budget)" if studies else "train (champion only: CREDIT_TRAIN_RUN_STUDIES=false)"
    rows.append(measure(step, [py, "-m", "training", "train"], env, cwd=REPO_ROOT))
    rows.append(
        measure(
            "score + SHAP + reasons (all applicants)",
            [py, "-m", "training", "score", "--no-publish"],
            env,
            cwd=REPO_ROOT,
        )
    )
    q = _quality(home, data)
    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    run = con.execute("select * from scoring.scoring_runs order by started_at desc limit 1").df().iloc[0]
    con.close()
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.platform()} (shared with other jobs while measured; "
        "see the load average below). Targets: train <= 1200 s, score + SHAP <= 300 s at 356,255 applicants.",
        f"Load average when written: {os.getloadavg()[0]:.1f}.",
        "",
        "| quality | value |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in q.items()]
    lines += [
        "",
        f"Scoring run {run['run_id']}: {int(run['n_scored']):,} applicants; reading the mart {run['seconds_features']:.1f} s, "
        f"scoring + SHAP + reasons {run['seconds_scoring']:.1f} s.",
    ]
    out = write_table(
        get_settings().reports_dir / f"bench_training_{label}.md",
        f"Training and scoring ({label})",
        rows,
        "\n".join(lines),
    )
    out.with_name(out.stem + "_quality.json").write_text(
        json.dumps(q, indent=1, default=str), encoding="utf-8"
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
