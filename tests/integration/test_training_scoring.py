"""Training and batch scoring end to end on a small synthetic data set.

Real parts: the generator's files, the raw load, a real `dbt build` of the feature mart, a real
MLflow store (SQLite + artifacts) in a temp CREDIT_HOME, the CLI in subprocesses, DuckDB files.
A small search budget keeps it to a few minutes (CREDIT_TRAIN_* variables below).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))

FAST = {
    "CREDIT_TRAIN_SEARCH_BUDGET": "2",
    "CREDIT_TRAIN_STUDY_MAX_ROWS": "1500",
    "CREDIT_TRAIN_STUDY_FOLDS": "2",
    "CREDIT_TRAIN_N_FOLDS": "3",
    "CREDIT_TRAIN_BOOTSTRAP": "30",
    "CREDIT_TRAIN_SHAP_SAMPLE_ROWS": "300",
    "CREDIT_TRAIN_LEARNING_RATE": "0.1",
    "CREDIT_TRAIN_MAX_ROUNDS": "300",
    "CREDIT_TRAIN_SCORE_CHUNK_ROWS": "1000",
    "CREDIT_TRAIN_THREADS": "1",  # small data: OpenMP barriers cost more than they save on a busy 2-core box
}

pytestmark = pytest.mark.slow


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "MLFLOW_", "DBT_"))}
    env |= {
        "CREDIT_HOME": str(home),
        "CREDIT_REPORTS_DIR": str(home / "reports"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(home / "dbt" / "target"),
        "DBT_LOG_PATH": str(home / "dbt" / "logs"),
        **FAST,
        **extra,
    }
    return env


def _run(cmd: list[str], env: dict[str, str], expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == expect, (
        f"{' '.join(cmd)} -> {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


def _query(path: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """Generate, load, build the mart, train (with studies) and score once."""
    home = tmp_path_factory.mktemp("credit_home")
    env = _env(home)
    data = home / "data" / "synthetic"
    _run(
        [
            PY,
            "-m",
            "warehouse",
            "generate",
            "--applicants",
            "2500",
            "--seed",
            "11",
            "--out",
            str(data),
            "--no-progress",
        ],
        env,
    )
    _run([PY, "-m", "warehouse", "load", "--source", str(data)], env)
    _run(
        [
            DBT,
            "build",
            "--quiet",
            "--select",
            "+feat_applicant_features",
            "+feat_applicant_labels",
            "--indirect-selection",
            "cautious",
        ],
        env,
    )
    _run([PY, "-m", "training", "train"], env)
    _run([PY, "-m", "training", "score"], env)
    return home


@pytest.fixture(scope="module")
def store(home):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient()


def _features(home: Path) -> pd.DataFrame:
    from warehouse.marts import FEATURES, relation

    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    try:
        return con.execute(f"select * from {relation(con, FEATURES)} order by sk_id_curr").df()
    finally:
        con.close()


def test_champion_registered_with_signature_tags_and_card(home, store):
    import mlflow

    version = store.get_model_version_by_alias("credit_default", "champion")
    tags = version.tags
    for key in (
        "threshold",
        "threshold_ci",
        "review_band",
        "cost_fn",
        "cost_fp",
        "calibration",
        "holdout_auc",
    ):
        assert key in tags, f"version tag {key} missing"
    assert tags["cost_fn"] == "10.0" and tags["calibration"] in ("isotonic", "sigmoid")
    model = mlflow.pyfunc.load_model("models:/credit_default@champion")
    core = model.unwrap_python_model()
    inputs = [c.name for c in model.metadata.get_input_schema().inputs]
    assert inputs == core.features
    assert not any("gender" in f for f in core.features)  # CODE_GENDER is not an input by default
    assert model.metadata.get_output_schema().inputs[0].name == "probability"
    card = Path(mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path="model_card.md"))
    text = card.read_text(encoding="utf-8")
    for section in ("## Data", "## Method", "## Metrics", "## Fairness", "## Limits"):
        assert section in text
    run = store.get_run(version.run_id)
    for key in (
        "oof_auc",
        "holdout_auc",
        "holdout_ks",
        "holdout_brier",
        "oof_cost_per_applicant",
        "threshold_ci_low",
    ):
        assert key in run.data.metrics
    nested = mlflow.search_runs(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'",
    )
    names = set(nested["tags.mlflow.runName"])
    assert {"baseline_dummy", "baseline_logistic", "baseline_lightgbm", "search_trial_01"} <= names
    assert {f"imbalance_{t}" for t in ("none", "class_weight", "undersample", "smote")} <= names
    assert any(n.startswith("ablation_family_") for n in names)


def test_pyfunc_probability_matches_the_stored_scores(home):
    import mlflow

    wh = home / "warehouse" / "build.duckdb"
    model = mlflow.pyfunc.load_model("models:/credit_default@champion")
    features = _features(home).head(300)
    predicted = model.predict(features.drop(columns=["sk_id_curr"]))["probability"].to_numpy()
    assert ((predicted > 0) & (predicted < 1)).all()
    scores = _query(
        wh, "select sk_id_curr, champion_probability, raw_score from scoring.scores order by sk_id_curr"
    )
    stored = scores.set_index("sk_id_curr").loc[features["sk_id_curr"]]
    np.testing.assert_allclose(predicted, stored["champion_probability"].to_numpy(), atol=1e-9)
    core = model.unwrap_python_model()
    raw = core.raw_score(core.matrix(features))
    np.testing.assert_allclose(raw, stored["raw_score"].to_numpy(), atol=1e-9)


def test_every_applicant_scored_once_and_shap_adds_up(home):
    wh = home / "warehouse" / "build.duckdb"
    n_mart = len(_features(home))
    counts = _query(
        wh, "select run_id, count(*) as n, count(distinct sk_id_curr) as d from scoring.scores group by 1"
    )
    assert len(counts) == 1 and counts.loc[0, "n"] == n_mart == counts.loc[0, "d"]
    gap = _query(
        wh,
        """
        select max(abs(s.raw_score - x.total)) as worst, count(*) as n, min(x.rows) as min_rows
        from scoring.scores as s
        join (select run_id, sk_id_curr, sum(shap_value) as total, count(*) as rows
              from scoring.shap_values group by 1, 2) as x using (run_id, sk_id_curr)
        """,
    )
    assert gap.loc[0, "n"] == n_mart
    assert gap.loc[0, "worst"] < 1e-6
    assert gap.loc[0, "min_rows"] == 20 + 2  # top 20 + bias + others


def test_rows_without_history_are_blended_and_their_shap_adds_up(home):
    """The thin-file booster scores applicants without any history (blend in log-odds), and the
    stored SHAP values add up to the stored log-odds on rows with and without history."""
    import mlflow

    from training.credit_model import no_history

    core = mlflow.pyfunc.load_model("models:/credit_default@champion").unwrap_python_model()
    assert core.thin is not None and core.meta["thin"]["weight"] == 0.5
    features = _features(home)
    X = core.matrix(features)
    thin = no_history(X, core.features)
    assert 0 < thin.sum() < len(thin)  # the generator makes a few applicants with no history at all
    booster, w, cols, _ = core.thin
    expected = (1 - w) * core.booster.predict(X[thin], raw_score=True) + w * booster.predict(
        X[thin][:, cols], raw_score=True
    )
    np.testing.assert_allclose(core.raw_score(X[thin]), expected, atol=1e-9)
    gap = _query(
        home / "warehouse" / "build.duckdb",
        """
        select s.sk_id_curr, s.raw_score - sum(v.shap_value) as gap
        from scoring.scores as s join scoring.shap_values as v using (run_id, sk_id_curr)
        group by s.sk_id_curr, s.raw_score
        """,
    ).set_index("sk_id_curr")["gap"]
    ids = features["sk_id_curr"].to_numpy()
    assert np.abs(gap.loc[ids[thin]]).max() < 1e-6
    assert np.abs(gap.loc[ids[~thin]]).max() < 1e-6


def test_scoring_run_row_counts_and_timings(home):
    wh = home / "warehouse" / "build.duckdb"
    # the fixture's run (later tests add runs of their own)
    run = _query(wh, "select * from scoring.scoring_runs order by started_at limit 1").iloc[0]
    run_id = run["run_id"]
    written = _query(
        wh,
        f"""
        select
            (select count(*) from scoring.scores where run_id = '{run_id}') as n_scores,
            (select count(*) from scoring.shap_values where run_id = '{run_id}') as n_shap_rows,
            (select count(*) from scoring.reasons where run_id = '{run_id}') as n_reasons
        """,
    ).iloc[0]
    assert run["n_scored"] == run["n_applicants"] == written["n_scores"] > 0
    # the rows the run wrote, not estimates
    assert run["n_shap_rows"] == written["n_shap_rows"] > 0
    assert run["n_reasons"] == written["n_reasons"] > 0
    for col in ("seconds_features", "seconds_scoring", "seconds_write"):
        assert run[col] > 0, (col, run[col])
    assert run["chunk_rows"] == int(FAST["CREDIT_TRAIN_SCORE_CHUNK_ROWS"])


def test_reasons_for_every_refused_or_reviewed_applicant(home):
    wh = home / "warehouse" / "build.duckdb"
    missing = _query(
        wh,
        """
        select count(*) as n from scoring.scores as s
        where s.decision in ('refuse', 'review')
          and not exists (select 1 from scoring.reasons as r where r.run_id = s.run_id and r.sk_id_curr = s.sk_id_curr)
        """,
    )
    assert missing.loc[0, "n"] == 0
    reasons = _query(wh, "select * from scoring.reasons")
    assert len(reasons) and (reasons.groupby(["sk_id_curr", "direction"]).size() <= 4).all()
    assert not reasons.duplicated(["sk_id_curr", "direction", "fact"]).any()
    for col in ("text_en", "text_fr"):
        assert reasons[col].str.len().min() > 10
        assert not reasons[col].str.contains(r"\{value\}|\bnan\b", regex=True).any()
    decisions = set(_query(wh, "select distinct decision from scoring.scores")["decision"])
    assert decisions <= {"approve", "review", "refuse"} and "refuse" in decisions
    grades = _query(wh, "select * from scoring.risk_grades order by grade")
    assert list(grades["grade"]) == list("ABCDEFG")


def test_out_of_fold_probabilities_for_training_applicants(home):
    wh = home / "warehouse" / "build.duckdb"
    by = _query(
        wh,
        """
        select s.sample, s.probability_source, l.is_train, count(*) as n
        from scoring.scores as s join marts.feat_applicant_labels as l using (sk_id_curr)
        group by all
        """,
    )
    train_rows = by[by["is_train"]]
    assert set(train_rows["sample"]) == {"cv", "holdout"}
    assert set(train_rows.loc[train_rows["sample"] == "cv", "probability_source"]) == {"out_of_fold"}
    assert set(by.loc[~by["is_train"], "probability_source"]) == {"champion"}


def test_weaker_challenger_does_not_take_the_alias(home, store):
    before = store.get_model_version_by_alias("credit_default", "champion").version
    weak = {
        "CREDIT_TRAIN_MAX_ROUNDS": "1",
        "CREDIT_TRAIN_BOOTSTRAP": "5",
        "CREDIT_TRAIN_SHAP_SAMPLE_ROWS": "50",
    }
    _run([PY, "-m", "training", "train", "--quick"], _env(home, **weak))
    after = store.get_model_version_by_alias("credit_default", "champion")
    assert after.version == before
    latest = max(store.search_model_versions("name = 'credit_default'"), key=lambda v: int(v.version))
    assert int(latest.version) > int(before)
    assert "kept" in latest.tags["champion_decision"]


def test_champion_whose_features_left_the_mart_is_replaced(home, store):
    from training import tracking

    core = tracking.load_core("models:/credit_default@champion")
    decision = tracking.decide(
        "credit_default", 0.5, lambda c: 1.0, [*core.features, "bureau_brand_new_feature_max"]
    )
    assert decision.promote
    assert "bureau_brand_new_feature_max" in decision.reason and "no longer match" in decision.reason


def test_killed_scoring_run_leaves_previous_scores_and_serving_copy(home):
    wh = home / "warehouse" / "build.duckdb"
    serving = home / "warehouse" / "serving.duckdb"
    before = _query(wh, "select run_id, count(*) as n from scoring.scores group by 1 order by 1")
    served = _query(serving, "select run_id, count(*) as n from scoring.scores group by 1 order by 1")
    for stage in ("commit",):  # every row inserted and old explanations deleted, not committed
        _run([PY, "-m", "training", "score"], _env(home, CREDIT_SCORING_CRASH_AFTER=stage), expect=3)
        pd.testing.assert_frame_equal(
            _query(wh, "select run_id, count(*) as n from scoring.scores group by 1 order by 1"), before
        )
        assert len(_query(wh, "select * from scoring.scoring_runs")) == len(before)
    pd.testing.assert_frame_equal(
        _query(serving, "select run_id, count(*) as n from scoring.scores group by 1 order by 1"), served
    )


def test_later_runs_keep_scores_and_prune_explanations(home):
    wh = home / "warehouse" / "build.duckdb"
    _run([PY, "-m", "training", "score"], _env(home, CREDIT_TRAIN_EXPLANATION_RETENTION_RUNS="1"))
    runs = _query(wh, "select run_id from scoring.scoring_runs order by started_at")["run_id"].tolist()
    assert len(runs) >= 2
    scored = _query(wh, "select distinct run_id from scoring.scores")["run_id"]
    assert set(scored) == set(runs)  # every run's scores stay queryable
    for table in ("shap_values", "reasons"):
        kept = _query(wh, f"select distinct run_id from scoring.{table}")["run_id"].tolist()
        assert kept == [runs[-1]]
    served = _query(
        home / "warehouse" / "serving.duckdb", "select max(run_id) as r from scoring.scoring_runs"
    )
    assert served.loc[0, "r"] == max(runs)  # published on success
