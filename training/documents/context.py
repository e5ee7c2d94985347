"""Everything the documents quote, gathered once from MLflow and the warehouse (read-only).

The champion (`models:/credit_default@champion`) names the training run; its metrics, parameters,
plots and tables are that run's artifacts. Scores, explanations and drift come from the
warehouse (scoring tables and the monitoring marts), the Evidently summary from the last
`python -m training drift`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

PLOTS = {
    "roc": "plots/roc_holdout.png",
    "roc_oof": "plots/roc_oof.png",
    "pr": "plots/pr_holdout.png",
    "calibration": "plots/calibration_oof.png",
    "calibration_holdout": "plots/calibration_holdout.png",
    "cost": "plots/cost_curve.png",
    "confusion": "plots/confusion_holdout.png",
    "importance": "plots/importance_top50.png",
    "shap_summary": "plots/shap_summary.png",
    "ablation": "plots/ablation.png",
}
TABLES = {
    "candidates": "tables/candidates.csv",
    "ablation": "tables/ablation.csv",
    "fairness": "tables/fairness.csv",
    "risk_grades": "tables/risk_grades.csv",
    "importance": "tables/feature_importance.csv",
}


@dataclass
class ReportContext:
    generated_at: pd.Timestamp
    model_name: str
    model_version: str
    train_run_id: str
    version_tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    features: list[str]
    excluded_features: list[str]
    model_card: str  # the training step's card (markdown), "" if absent
    plots: dict[str, Path]  # name -> PNG (from the run, plus the ones made here)
    tables: dict[str, pd.DataFrame]
    counts: dict[str, int]
    scoring_run: dict | None
    score_summary: pd.DataFrame
    local_score: dict
    local_shap: pd.DataFrame
    local_reasons: pd.DataFrame
    feature_drift: pd.DataFrame
    score_drift: pd.DataFrame
    evidently: dict  # reports/data_drift.json written by `training drift` ({} if never run)
    reports_dir: Path
    workdir: Path
    screenshots: dict[str, Path] = field(default_factory=dict)
    real_sample: dict = field(default_factory=dict)  # reports/bench_real_sample.json ({} if never run)

    @property
    def studies_ran(self) -> bool:
        return not self.tables.get("candidates", pd.DataFrame()).empty

    def metric(self, key: str, default: float = float("nan")) -> float:
        return float(self.metrics.get(key, default))


def gather(register_name: str = "credit_default", experiment: str = "credit_default") -> ReportContext:
    """Read the champion's run and the warehouse; raise a UserError when there is no champion."""
    import mlflow
    from mlflow import MlflowClient

    from training import tracking
    from training.documents import figures
    from training.drift import drift_figure
    from warehouse import monitoring
    from warehouse.config import get_settings
    from warehouse.errors import UserError

    env = get_settings()
    tracking.setup(env.mlflow_tracking_uri, env.mlflow_dir, experiment)
    version = tracking.current_champion(register_name)
    if version is None:
        raise UserError(
            f"no model holds {tracking.champion_uri(register_name)}: run `python -m training train` first"
        )
    client = MlflowClient()
    run = client.get_run(version.run_id)
    workdir = Path(tempfile.mkdtemp(prefix="credit-report-"))

    def artifact(rel: str) -> Path | None:
        try:
            return Path(
                mlflow.artifacts.download_artifacts(
                    run_id=run.info.run_id, artifact_path=rel, dst_path=str(workdir)
                )
            )
        except Exception:  # noqa: BLE001 - an artifact this run did not log (e.g. no studies)
            return None

    plots = {name: p for name, rel in PLOTS.items() if (p := artifact(rel)) is not None}
    tables = {}
    for name, rel in TABLES.items():
        p = artifact(rel)
        tables[name] = pd.read_csv(p) if p is not None else pd.DataFrame()
    card_path = artifact("model_card.md")
    features_path = artifact("features.json")
    features_doc = json.loads(features_path.read_text(encoding="utf-8")) if features_path else {}

    path = env.warehouse_path
    counts = monitoring.table_counts(path)
    scoring_run = monitoring.latest_run(path)
    run_id = str(scoring_run["run_id"]) if scoring_run else None
    score_summary = monitoring.score_summary(path, run_id) if run_id else pd.DataFrame()
    local_score, local_shap, local_reasons = (
        monitoring.local_explanation(path, run_id) if run_id else ({}, pd.DataFrame(), pd.DataFrame())
    )
    feature_drift = monitoring.feature_drift(path)
    score_drift = monitoring.score_drift(path)
    latest = score_drift[score_drift["is_latest_run"]] if len(score_drift) else score_drift
    score_bins = (
        monitoring.score_drift_bins(path, str(latest.iloc[0]["run_id"])) if len(latest) else pd.DataFrame()
    )

    made = workdir / "figures"
    if local_score and not local_shap.empty:
        plots["local"] = figures.local_explanation(local_score, local_shap, made / "local_explanation.png")
    drift_png = drift_figure(feature_drift, score_bins, made / "drift.png")
    if drift_png is not None:
        plots["drift"] = drift_png
    evidently_path = env.reports_dir / "data_drift.json"
    evidently = json.loads(evidently_path.read_text(encoding="utf-8")) if evidently_path.exists() else {}
    screenshots = {
        p.stem: p
        for folder in ("screenshots", "superset")
        for p in sorted((env.reports_dir / folder).glob("*.png"))
    }

    return ReportContext(
        generated_at=pd.Timestamp.now(tz="UTC"),
        model_name=register_name,
        model_version=str(version.version),
        train_run_id=run.info.run_id,
        version_tags=dict(version.tags or {}),
        metrics=dict(run.data.metrics),
        params=dict(run.data.params),
        features=list(features_doc.get("features", [])),
        excluded_features=list(features_doc.get("excluded", [])),
        model_card=card_path.read_text(encoding="utf-8") if card_path else "",
        plots=plots,
        tables=tables,
        counts=counts,
        scoring_run=scoring_run,
        score_summary=score_summary,
        local_score=local_score,
        local_shap=local_shap,
        local_reasons=local_reasons,
        feature_drift=feature_drift,
        score_drift=score_drift,
        evidently=evidently,
        reports_dir=env.reports_dir,
        workdir=workdir,
        screenshots=screenshots,
        real_sample=read_real_sample(env.reports_dir),
    )


def read_real_sample(reports_dir: Path) -> dict:
    """The real-data benchmark's summary (`python -m benchmarks.real_sample`), {} when absent or unreadable."""
    path = reports_dir / "bench_real_sample.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"meta": data["meta"], "summary": data["summary"]}
    except (OSError, ValueError, KeyError):
        return {}
