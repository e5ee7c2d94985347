"""`python -m training score`: every applicant of the mart scored and explained by the champion.

The model's own code (training/credit_model.py, shipped inside the registered model) computes
probabilities, grades, decisions, SHAP values and reasons; this module reads the mart in chunks,
adds the out-of-fold probabilities of the champion's training applicants, and hands Parquet files
to warehouse.scoring_io, which writes them in one transaction.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.config import TrainSettings

log = logging.getLogger(__name__)


def score_frame(model, features: pd.DataFrame, top_k: int = 20, per_direction: int = 4):
    """Score a frame of applicants (sk_id_curr + the model's features) with a CreditDefaultModel.

    Returns the model's ScoreResult (probability, grade, decision, raw log-odds, SHAP long, reasons).
    The API does the same through the registered model (`unwrap_python_model().score(...)`).
    """
    return model.score_frame(features, top_k=top_k, per_direction=per_direction)


def _scores_frame(
    result, run_id: str, version: str, name: str, scored_at, oof: pd.DataFrame | None, model
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "run_id": run_id,
            "sk_id_curr": result.ids,
            "probability": result.probability,
            "champion_probability": result.probability,
            "raw_score": result.raw,
            "threshold": model.threshold,
            "model_name": name,
            "model_version": version,
            "scored_at": scored_at,
            "probability_source": "champion",
            "sample": "unlabeled",
        }
    )
    if oof is not None and len(oof):
        hit = oof.reindex(result.ids)
        known = hit["sample"].notna().to_numpy()
        frame.loc[known, "sample"] = hit["sample"].to_numpy()[known]
        cv = (hit["sample"] == "cv").to_numpy()
        frame.loc[cv, "probability"] = hit["probability"].to_numpy()[cv]
        frame.loc[cv, "probability_source"] = "out_of_fold"
    p = frame["probability"].to_numpy()
    frame["risk_grade"] = model.grade(p)
    frame["decision"] = model.decide(p)
    return frame


@dataclass
class ScoreOutcome:
    run_id: str
    model_version: str
    n_scored: int
    counts: dict
    seconds: dict


def score(cfg: TrainSettings, publish: bool = True, progress: bool = True) -> ScoreOutcome:
    import mlflow
    from mlflow import MlflowClient
    from tqdm import tqdm

    from training import tracking
    from warehouse import marts, scoring_io
    from warehouse.config import get_settings
    from warehouse.errors import UserError

    settings = get_settings()
    started = time.perf_counter()
    started_at = pd.Timestamp.now(tz="UTC").tz_localize(None)
    tracking.setup(settings.mlflow_tracking_uri, settings.mlflow_dir, cfg.experiment)
    current = tracking.current_champion(cfg.register_name)
    if current is None:
        raise UserError(
            f"no model holds {tracking.champion_uri(cfg.register_name)}: run `python -m training train`"
        )
    version = str(current.version)
    model = tracking.load_core(f"models:/{cfg.register_name}/{version}")
    try:
        model.check_features(marts.mart_feature_names(settings.warehouse_path))
    except ValueError as exc:
        if tracking.is_feature_mismatch(exc):
            raise UserError(str(exc)) from exc
        raise

    oof = None
    train_run = (
        model.meta.get("train_run_id") or MlflowClient().get_model_version(cfg.register_name, version).run_id
    )
    try:
        local = mlflow.artifacts.download_artifacts(run_id=train_run, artifact_path="oof/oof.parquet")
        oof = pd.read_parquet(local).set_index("sk_id_curr")
    except Exception as exc:  # noqa: BLE001 - scores stay valid without OOF; say so
        log.warning(
            "no out-of-fold probabilities for version %s (%s): champion probabilities only", version, exc
        )

    run_id = f"{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    tmp = settings.home / "scoring" / f"run-{run_id}"
    tmp.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Path]] = {"scores": [], "shap_values": [], "reasons": []}
    n_total = marts.count_applicants(settings.warehouse_path)
    abs_sum = np.zeros(len(model.features))
    t_features = t_score = 0.0
    n = 0
    try:
        bar = tqdm(total=n_total, unit="applicant", disable=not progress, desc="scoring")
        chunks = marts.iter_feature_chunks(settings.warehouse_path, model.features, cfg.score_chunk_rows)
        k = 0
        while True:
            t0 = time.perf_counter()
            chunk = next(chunks, None)
            t_features += time.perf_counter() - t0
            if chunk is None:
                break
            t0 = time.perf_counter()
            X = chunk.X
            X[~np.isfinite(X)] = np.nan
            result = model.score(chunk.ids, X, cfg.shap_top_k, cfg.reasons_per_direction)
            abs_sum += result.abs_shap_sum
            scores = _scores_frame(result, run_id, version, cfg.register_name, started_at, oof, model)
            for name, frame in (
                ("scores", scores),
                ("shap_values", result.shap),
                ("reasons", result.reasons),
            ):
                path = tmp / f"{name}-{k:04d}.parquet"
                frame.assign(run_id=run_id).to_parquet(path, index=False)
                files[name].append(path)
            t_score += time.perf_counter() - t0
            n += len(chunk.ids)
            k += 1
            bar.update(len(chunk.ids))
        bar.close()
        if n != n_total:
            raise RuntimeError(f"scored {n} applicants, the mart has {n_total}")

        importance = pd.DataFrame(
            {
                "model_name": cfg.register_name,
                "model_version": version,
                "feature": model.features,
                "mean_abs_shap": abs_sum / max(n, 1),
            }
        ).sort_values("mean_abs_shap", ascending=False, ignore_index=True)
        importance["rank"] = np.arange(1, len(importance) + 1)
        grades = pd.DataFrame(model.meta["grades"]).assign(model_version=version)
        t0 = time.perf_counter()
        run = {
            "run_id": run_id,
            "model_name": cfg.register_name,
            "model_version": version,
            "started_at": started_at,
            "finished_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
            "n_scored": n,
            "n_applicants": n_total,
            "seconds_features": t_features,
            "seconds_scoring": t_score,
            "seconds_explain": t_score,
            "threshold": model.threshold,
            "review_low": model.review_low,
            "review_high": model.review_high,
            "chunk_rows": cfg.score_chunk_rows,
        }
        counts = scoring_io.write_run(
            settings.warehouse_path, run, files, importance, grades, cfg.explanation_retention_runs
        )
        t_write = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if publish:
        from warehouse.publish import publish as publish_copy

        publish_copy(settings.warehouse_path, settings.serving_path)
    seconds = {
        "features": t_features,
        "score_explain": t_score,
        "write": t_write,
        "total": time.perf_counter() - started,
    }
    return ScoreOutcome(run_id, version, n, counts, seconds)
