"""`python -m training train`: studies, the champion booster + calibrator, MLflow tracking and registry.

Reading order: `train()` at the bottom calls the steps above it. Every step is a function of
arrays; MLflow logging and the warehouse read sit in `train()` only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training import champion, models
from training.config import TrainSettings
from training.credit_model import no_history
from training.metrics import ThresholdChoice, classification_metrics, cost_curve
from warehouse.faults import fault

log = logging.getLogger(__name__)

MODEL_CODE = Path(__file__).with_name("credit_model.py")


# --- steps -----------------------------------------------------------------------------------------
def data_digest(ids: np.ndarray, y: np.ndarray, X: np.ndarray, features: list[str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(features).encode())
    h.update(np.ascontiguousarray(ids).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    step = 20_000
    for start in range(0, len(X), step):
        h.update(np.ascontiguousarray(X[start : start + step]).tobytes())
    return h.hexdigest()[:16]


def holdout_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    dev, hold = train_test_split(np.arange(len(y)), test_size=fraction, stratify=y, random_state=seed)
    return np.sort(dev), np.sort(hold)


def candidate_metrics(
    y_oof, p_oof, y_hold, p_hold, cfg: TrainSettings, threshold: float | None = None
) -> dict[str, float]:
    """Metrics on out-of-fold and holdout rows at the candidate's own cost-optimal OOF threshold."""
    from training.metrics import optimal_threshold

    t = optimal_threshold(y_oof, p_oof, cfg.cost_fn, cfg.cost_fp) if threshold is None else threshold
    out = {
        f"oof_{k}": v for k, v in classification_metrics(y_oof, p_oof, t, cfg.cost_fn, cfg.cost_fp).items()
    }
    out |= {
        f"holdout_{k}": v
        for k, v in classification_metrics(y_hold, p_hold, t, cfg.cost_fn, cfg.cost_fp).items()
    }
    return out


def grade_table(p: np.ndarray, y: np.ndarray, bounds: list[float]) -> pd.DataFrame:
    """Master scale A..G with observed default rates on out-of-fold probabilities."""
    letters = list("ABCDEFGHIJ")[: len(bounds) + 1]
    edges = [0.0, *bounds, 1.0]
    idx = np.searchsorted(bounds, p, side="right")
    rows = []
    for i, letter in enumerate(letters):
        mask = idx == i
        rows.append(
            {
                "grade": letter,
                "p_low": edges[i],
                "p_high": edges[i + 1],
                "n": int(mask.sum()),
                "observed_default_rate": float(y[mask].mean()) if mask.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def sigmoid(raw: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-raw))


@dataclass
class TrainOutcome:
    run_id: str
    model_version: str
    promoted: bool
    reason: str
    metrics: dict
    threshold: dict
    seconds: float


# --- the command -------------------------------------------------------------------------------------
def train(cfg: TrainSettings, progress: bool = True) -> TrainOutcome:  # noqa: C901 - the pipeline, top to bottom
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from training import plots, reason_codes, tracking
    from training.credit_model import CreditDefaultModel
    from training.fairness import fairness_report, gender_features
    from warehouse import marts
    from warehouse.config import REPO_ROOT, get_settings

    settings = get_settings()
    started = time.perf_counter()

    def say(msg: str) -> None:  # progress lines carry the elapsed time: where a long run spends it
        line = f"[{time.perf_counter() - started:7.1f} s] {msg}"
        print(line, flush=True) if progress else log.info(line)

    # Data -----------------------------------------------------------------------------------------
    mart_features = marts.mart_feature_names(settings.warehouse_path)
    excluded = [] if cfg.use_gender else gender_features(mart_features)
    features = [f for f in mart_features if f not in set(excluded)]
    say(
        f"reading {len(features)} features ({len(excluded)} gender-derived excluded) from {settings.warehouse_path}"
    )
    matrix, y = marts.read_training_set(settings.warehouse_path, features)
    X, ids = matrix.X, matrix.ids
    if cfg.max_train_rows and len(y) > cfg.max_train_rows:
        keep = models.stratified_subsample(y, cfg.max_train_rows, cfg.seed)
        X, y, ids = X[keep], y[keep], ids[keep]
    X[~np.isfinite(X)] = np.nan
    if len(np.unique(y)) < 2 or min(np.bincount(y)) < cfg.n_folds * 2:
        from warehouse.errors import UserError

        raise UserError(
            f"too few defaults to train ({np.bincount(y).tolist()} by class): load more applicants"
        )
    digest = data_digest(ids, y, X, features)
    dev_idx, hold_idx = holdout_split(y, cfg.holdout_fraction, cfg.seed)
    X_dev, y_dev, ids_dev = X[dev_idx], y[dev_idx], ids[dev_idx]
    X_hold, y_hold, ids_hold = X[hold_idx], y[hold_idx], ids[hold_idx]
    del X, matrix
    say(f"{len(y_dev):,} development + {len(y_hold):,} holdout applicants, default rate {y.mean():.2%}")

    tracking.setup(settings.mlflow_tracking_uri, settings.mlflow_dir, cfg.experiment)
    workdir = Path(tempfile.mkdtemp(prefix="credit-train-"))

    with mlflow.start_run(run_name="train") as parent:
        mlflow.log_params(
            {
                "n_features": len(features),
                "n_train": len(y_dev),
                "n_holdout": len(y_hold),
                "default_rate": round(float(y.mean()), 5),
                "data_digest": digest,
                "excluded_features": ",".join(excluded) or "none",
                **{f"cfg_{k}": v for k, v in cfg.model_dump().items() if not isinstance(v, list)},
            }
        )
        mlflow.log_dict({"features": features, "excluded": excluded}, "features.json")
        mlflow.set_tags({"data_digest": digest, "warehouse": str(settings.warehouse_path)})

        params = {**models.BASE_PARAMS, "learning_rate": cfg.learning_rate, "num_threads": cfg.threads}
        treatment = "none"
        studies: dict[str, dict] = {}
        ablation = pd.DataFrame()
        if cfg.run_studies:
            params, treatment, studies, ablation = run_studies(
                cfg, X_dev, y_dev, X_hold, y_hold, features, workdir, say
            )

        # Champion: K-fold on every development row -> OOF log-odds -> calibrator -> threshold ----
        n_folds = cfg.champion_folds(len(y_dev))
        thin_params = {**models.THIN_PARAMS, "learning_rate": cfg.learning_rate, "num_threads": cfg.threads}
        thin_weight = cfg.thin_weight if cfg.thin_booster else 0.0
        say(f"champion: {n_folds}-fold LightGBM on {len(y_dev):,} rows (treatment {treatment})")
        fit = champion.fit_champion(
            X_dev, y_dev, features, cfg, params, treatment, thin_params, thin_weight, n_folds, say=say
        )
        booster, calibrator, oof_p, briers, choice = (
            fit.booster,
            fit.calibrator,
            fit.oof_p,
            fit.briers,
            fit.choice,
        )
        fold_of, n_rounds = fit.fold_of, fit.n_rounds
        hold_raw = fit.raw(X_hold)
        hold_p = fit.predict(X_hold)
        metrics = candidate_metrics(y_dev, oof_p, y_hold, hold_p, cfg, choice.threshold)
        no_hist_dev, no_hist_hold = no_history(X_dev, features), no_history(X_hold, features)
        metrics |= {
            "oof_auc_uncalibrated": float(_auc(y_dev, fit.oof_raw)),
            "oof_auc_main_booster": float(_auc(y_dev, fit.oof_main_raw)),
            "cv_fold_auc_mean": float(np.mean(fit.fold_auc)),
            "cv_fold_auc_std": float(np.std(fit.fold_auc)),
            "n_rounds": n_rounds,
            "thin_n_rounds": fit.thin_rounds,
            "thin_weight": fit.thin_weight,
            "share_no_history_dev": float(no_hist_dev.mean()),
            "champion_n_folds": n_folds,
            "brier_isotonic_cv": briers["isotonic"],
            "brier_sigmoid_cv": briers["sigmoid"],
            "threshold": choice.threshold,
            "threshold_ci_low": choice.ci_low,
            "threshold_ci_high": choice.ci_high,
            "threshold_theoretical": choice.theoretical,
            "review_low": choice.review_low,
            "review_high": choice.review_high,
            "review_band_share_oof": float(
                np.mean((oof_p >= choice.review_low) & (oof_p < choice.review_high))
            ),
            "seconds_champion_cv": fit.seconds_cv,
            "seconds_champion_fit": fit.seconds_fit,
        }
        if 0 < no_hist_hold.sum() and len(np.unique(y_hold[no_hist_hold])) == 2:
            metrics["holdout_auc_no_history"] = _auc(y_hold[no_hist_hold], hold_p[no_hist_hold])
        grades = grade_table(oof_p, y_dev, cfg.grade_bounds)

        # Fairness, on OOF (development) and holdout probabilities together -----------------------
        attrs = marts.read_applicant_attributes(settings.warehouse_path)
        fair_table, fair_summary = fairness_report(
            np.concatenate([ids_dev, ids_hold]),
            np.concatenate([y_dev, y_hold]),
            np.concatenate([oof_p, hold_p]),
            attrs,
            choice.threshold,
        )
        metrics |= fair_summary

        # Explanations: SHAP values of the model's log-odds (both boosters where blended), holdout
        rng = np.random.default_rng(cfg.seed)
        sample = np.sort(rng.choice(len(y_hold), size=min(cfg.shap_sample_rows, len(y_hold)), replace=False))
        contrib = fit.contributions(X_hold[sample])
        mean_abs = np.abs(contrib[:, :-1]).mean(axis=0)
        importance = pd.DataFrame(
            {"feature": features, "mean_abs_shap": mean_abs, "gain": booster.feature_importance("gain")}
        ).sort_values("mean_abs_shap", ascending=False, ignore_index=True)
        importance["rank"] = np.arange(1, len(importance) + 1)
        metrics["shap_additivity_max_error"] = float(np.max(np.abs(contrib.sum(axis=1) - hold_raw[sample])))

        # Plots and tables -------------------------------------------------------------------------
        art = workdir / "artifacts"
        thresholds, costs = cost_curve(y_dev, oof_p, cfg.cost_fn, cfg.cost_fp)
        plots.roc(y_hold, hold_p, art / "plots" / "roc_holdout.png", "ROC (holdout)")
        plots.roc(y_dev, oof_p, art / "plots" / "roc_oof.png", "ROC (out-of-fold)")
        plots.pr(y_hold, hold_p, art / "plots" / "pr_holdout.png")
        plots.calibration(y_dev, oof_p, art / "plots" / "calibration_oof.png", raw_p=sigmoid(fit.oof_raw))
        plots.calibration(y_hold, hold_p, art / "plots" / "calibration_holdout.png", "Reliability (holdout)")
        plots.cost(
            thresholds,
            costs,
            art / "plots" / "cost_curve.png",
            choice.threshold,
            choice.theoretical,
            (choice.review_low, choice.review_high),
        )
        plots.confusion(y_hold, hold_p, choice.threshold, art / "plots" / "confusion_holdout.png")
        plots.importance(
            list(importance["feature"]),
            list(importance["mean_abs_shap"]),
            art / "plots" / "importance_top50.png",
        )
        plots.shap_summary(contrib[:, :-1], X_hold[sample], features, art / "plots" / "shap_summary.png")
        (art / "tables").mkdir(parents=True, exist_ok=True)
        importance.to_csv(art / "tables" / "feature_importance.csv", index=False)
        grades.to_csv(art / "tables" / "risk_grades.csv", index=False)
        fair_table.to_csv(art / "tables" / "fairness.csv", index=False)
        if len(ablation):
            ablation.to_csv(art / "tables" / "ablation.csv", index=False)
        if studies:
            pd.DataFrame([{"candidate": k, **v} for k, v in studies.items()]).to_csv(
                art / "tables" / "candidates.csv", index=False
            )

        # OOF probabilities for every training applicant (dev: out-of-fold; holdout: the model's) --
        oof = pd.DataFrame(
            {
                "sk_id_curr": np.concatenate([ids_dev, ids_hold]),
                "sample": ["cv"] * len(ids_dev) + ["holdout"] * len(ids_hold),
                "fold": np.concatenate([fold_of, np.full(len(ids_hold), -1, dtype=np.int16)]),
                "target": np.concatenate([y_dev, y_hold]).astype(np.int8),
                "raw_score": np.concatenate([fit.oof_raw, hold_raw]),
                "probability": np.concatenate([oof_p, hold_p]),
            }
        )
        (art / "oof").mkdir(parents=True, exist_ok=True)
        oof.to_parquet(art / "oof" / "oof.parquet", index=False)

        # The bundle the registered model carries ---------------------------------------------------
        descriptions = reason_codes.descriptions_from_dbt(REPO_ROOT / "dbt_project")
        codes = reason_codes.build(features, descriptions)
        bundle = workdir / "bundle"
        bundle.mkdir()
        booster.save_model(str(bundle / "booster.txt"))
        if fit.thin is not None:
            fit.thin.booster.save_model(str(bundle / "booster_thin.txt"))
        meta = {
            "name": cfg.register_name,
            "features": features,
            "excluded_features": excluded,
            "calibrator": calibrator,
            "threshold": choice.threshold,
            "review_low": choice.review_low,
            "review_high": choice.review_high,
            "cost_fn": cfg.cost_fn,
            "cost_fp": cfg.cost_fp,
            "grade_bounds": cfg.grade_bounds,
            "grades": grades.to_dict(orient="records"),
            "params": params,
            "treatment": treatment,
            "n_rounds": n_rounds,
            "thin": fit.thin_meta(),
            "thin_params": thin_params if fit.thin is not None else None,
            "data_digest": digest,
            "train_run_id": parent.info.run_id,
            "trained_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "metrics": {k: v for k, v in metrics.items() if k.startswith(("holdout_", "oof_"))},
            "reason_codes": codes,
        }
        (bundle / "model.json").write_text(json.dumps(meta, indent=1, default=float), encoding="utf-8")
        card = model_card(
            cfg, meta, metrics, choice, fair_table, ablation, studies, importance, len(y_dev), len(y_hold)
        )
        (bundle / "model_card.md").write_text(card, encoding="utf-8")
        (art / "model_card.md").write_text(card, encoding="utf-8")

        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(float(v))})
        mlflow.log_artifacts(str(art))

        core = CreditDefaultModel.from_bundle(bundle)  # the exact object the registry will serve
        example = pd.DataFrame(X_hold[:2].astype(np.float64), columns=features)
        parity = float(np.max(np.abs(core.predict(None, example)["probability"].to_numpy() - hold_p[:2])))
        parity = max(parity, float(np.max(np.abs(core.raw_score(X_hold) - hold_raw))))
        if parity > 1e-9:
            raise RuntimeError(f"the bundled model disagrees with the trained one by {parity}")
        signature = ModelSignature(
            inputs=Schema([ColSpec("double", f, required=False) for f in features]),
            outputs=Schema([ColSpec("double", "probability")]),
        )
        say("logging and registering the model")
        fault("train:before_register")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts={"bundle": str(bundle)},
            signature=signature,
            input_example=example.iloc[:1],
            pip_requirements=[
                f"lightgbm=={_version('lightgbm')}",
                f"numpy=={_version('numpy')}",
                f"pandas=={_version('pandas')}",
                f"mlflow=={_version('mlflow')}",
            ],
            registered_model_name=cfg.register_name,
        )
        version = str(info.registered_model_version)
        fault("train:after_register")
        from mlflow import MlflowClient

        client = MlflowClient()
        tags = {
            "threshold": f"{choice.threshold:.6f}",
            "threshold_ci": f"[{choice.ci_low:.6f}, {choice.ci_high:.6f}]",
            "review_band": f"[{choice.review_low:.6f}, {choice.review_high:.6f})",
            "cost_fn": str(cfg.cost_fn),
            "cost_fp": str(cfg.cost_fp),
            "calibration": calibrator["method"],
            "treatment": treatment,
            "holdout_auc": f"{metrics['holdout_auc']:.6f}",
            "oof_auc": f"{metrics['oof_auc']:.6f}",
            "n_features": str(len(features)),
            "data_digest": digest,
            "model_card": "model/artifacts/bundle/model_card.md",
        }
        for k, v in tags.items():
            client.set_model_version_tag(cfg.register_name, version, k, v)

        def score_holdout(champion_core) -> float:
            cols = [features.index(f) if f in features else None for f in champion_core.features]
            if any(c is None for c in cols):  # champion used a feature the challenger excluded
                frame = marts_frame(settings.warehouse_path, ids_hold, champion_core.features)
                return _auc(y_hold, champion_core.predict_proba(frame))
            return _auc(y_hold, champion_core.predict_proba(X_hold[:, cols]))

        decision = tracking.decide(
            cfg.register_name, metrics["holdout_auc"], score_holdout, mart_features, cfg.min_auc_gain
        )
        say(decision.reason)
        client.set_model_version_tag(cfg.register_name, version, "champion_decision", decision.reason)
        mlflow.set_tags({"champion_decision": decision.reason, "model_version": version})
        if decision.champion_auc is not None:
            mlflow.log_metric("champion_holdout_auc_same_rows", decision.champion_auc)
        if decision.promote:
            client.set_registered_model_alias(cfg.register_name, tracking.ALIAS, version)
        seconds = time.perf_counter() - started
        mlflow.log_metric("seconds_total", seconds)
        say(
            f"done in {seconds:.0f} s: version {version}, holdout AUC {metrics['holdout_auc']:.4f}, "
            f"OOF AUC {metrics['oof_auc']:.4f}, threshold {choice.threshold:.4f} "
            f"[{choice.ci_low:.4f}, {choice.ci_high:.4f}]"
        )
        return TrainOutcome(
            parent.info.run_id, version, decision.promote, decision.reason, metrics, asdict(choice), seconds
        )


def marts_frame(path: Path, ids: np.ndarray, features: list[str]) -> np.ndarray:
    from warehouse import marts

    pos = {i: k for k, i in enumerate(ids)}
    X = np.full((len(ids), len(features)), np.nan, dtype=np.float32)
    for chunk in marts.iter_feature_chunks(path, features, 50_000):
        for row, sk in enumerate(chunk.ids):
            if sk in pos:
                X[pos[sk]] = chunk.X[row]
    return X


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# --- studies ---------------------------------------------------------------------------------------
def run_studies(cfg: TrainSettings, X_dev, y_dev, X_hold, y_hold, features, workdir: Path, say):
    """Baselines, bounded search, imbalance study and ablation on a stratified development subsample.

    Each candidate is a nested MLflow run. Returns (best params, chosen treatment, metrics by
    candidate, ablation table).
    """
    import mlflow

    from training import plots

    sub = models.stratified_subsample(y_dev, cfg.study_max_rows, cfg.seed)
    Xs, ys = X_dev[sub], y_dev[sub]
    folds = models.stratified_folds(ys, cfg.study_folds, cfg.seed)
    say(f"studies on {len(ys):,} rows, {cfg.study_folds} folds")
    results: dict[str, dict] = {}

    def log_candidate(name: str, kind: str, params: dict, y_oof, p_oof, p_hold, extra=None, with_plots=True):
        m = candidate_metrics(y_oof, p_oof, y_hold, p_hold, cfg)
        m |= extra or {}
        with mlflow.start_run(run_name=name, nested=True):
            mlflow.set_tags({"candidate_kind": kind})
            mlflow.log_params({k: v for k, v in params.items() if k not in ("verbosity",)})
            mlflow.log_metrics({k: float(v) for k, v in m.items() if np.isfinite(float(v))})
            if with_plots:
                d = workdir / "candidates" / name
                plots.roc(y_oof, p_oof, d / "roc_oof.png", f"ROC OOF: {name}")
                plots.pr(y_oof, p_oof, d / "pr_oof.png", f"PR OOF: {name}")
                plots.calibration(y_oof, p_oof, d / "calibration_oof.png", f"Reliability OOF: {name}")
                t, c = cost_curve(y_oof, p_oof, cfg.cost_fn, cfg.cost_fp)
                plots.cost(
                    t, c, d / "cost_curve.png", m["oof_threshold"], cfg.cost_fp / (cfg.cost_fp + cfg.cost_fn)
                )
                plots.confusion(y_hold, p_hold, m["oof_threshold"], d / "confusion_holdout.png")
                mlflow.log_artifacts(str(d))
        results[name] = {"kind": kind, **m}
        say(f"  {name:<28} OOF AUC {m['oof_auc']:.4f}  holdout AUC {m['holdout_auc']:.4f}")
        return m

    # Baselines ------------------------------------------------------------------------------------
    for kind in ("dummy", "logistic"):
        r = models.sklearn_cv(
            lambda kind=kind: models.make_estimator(kind, seed=cfg.seed), Xs, ys, folds, X_hold
        )
        log_candidate(
            f"baseline_{kind}", "baseline", {"model": kind}, ys, r.oof, r.holdout, {"seconds": r.seconds}
        )

    # Bounded search (trial 0 = the default configuration = the LightGBM baseline) -----------------
    trials = [
        {**t, "num_threads": cfg.threads}
        for t in models.sample_params(cfg.search_budget, cfg.seed, cfg.learning_rate)
    ]
    best_auc, best_params, best_rounds = -1.0, trials[0], 100
    for i, params in enumerate(trials):
        cv = models.lgb_cv(
            Xs,
            ys,
            params,
            folds,
            "none",
            cfg.max_rounds,
            cfg.early_stopping_rounds,
            cfg.seed,
            features,
            keep_boosters=True,
        )
        hold = np.mean(
            [sigmoid(b.predict(X_hold, raw_score=True, num_iteration=b.best_iteration)) for b in cv.boosters],
            axis=0,
        )
        name = "baseline_lightgbm" if i == 0 else f"search_trial_{i:02d}"
        m = log_candidate(
            name,
            "baseline" if i == 0 else "search",
            {**params, "n_rounds": cv.n_rounds},
            ys,
            sigmoid(cv.oof_raw),
            hold,
            {"seconds": cv.seconds, "cv_fold_auc_mean": float(np.mean(cv.fold_auc))},
            with_plots=(i == 0),
        )
        if m["oof_auc"] > best_auc:
            best_auc, best_params, best_rounds = m["oof_auc"], params, cv.n_rounds
    say(f"  best search configuration: OOF AUC {best_auc:.4f}")

    # Imbalance study: imbalanced-learn pipelines fitted inside each fold -------------------------
    study: dict[str, tuple[float, float]] = {}
    imb = models.stratified_subsample(ys, cfg.imbalance_max_rows, cfg.seed)
    Xi, yi = Xs[imb], ys[imb]
    imb_folds = models.stratified_folds(yi, cfg.study_folds, cfg.seed)
    say(f"  imbalance study on {len(yi):,} rows")
    for treatment in models.TREATMENTS:
        r = models.sklearn_cv(
            lambda t=treatment: models.make_estimator(t, best_params, best_rounds, cfg.seed),
            Xi,
            yi,
            imb_folds,
            X_hold,
        )
        m = log_candidate(
            f"imbalance_{treatment}",
            "imbalance",
            {"treatment": treatment, "n_estimators": best_rounds, "n_rows": len(yi)},
            yi,
            r.oof,
            r.holdout,
            {"seconds": r.seconds},
        )
        study[treatment] = (float(np.mean(r.fold_auc)), float(np.std(r.fold_auc) / np.sqrt(len(r.fold_auc))))
    # The evidence: the best mean fold AUC, unless "none" is within one standard error of it.
    best_t = max(study, key=lambda t: study[t][0])
    treatment = best_t if study[best_t][0] - study["none"][0] > study[best_t][1] else "none"
    say(f"  imbalance treatment kept: {treatment}")

    # Ablation: cross-validated AUC without each feature family -----------------------------------
    rows = [{"group": "all features", "n_features": len(features), "cv_auc": best_auc, "delta_auc": 0.0}]
    for group, names in models.feature_groups(features).items():
        keep = [i for i, f in enumerate(features) if f not in set(names)]
        if not keep:
            continue
        cv = models.lgb_cv(
            Xs[:, keep],
            ys,
            best_params,
            folds,
            "none",
            cfg.max_rounds,
            cfg.early_stopping_rounds,
            cfg.seed,
            [features[i] for i in keep],
        )
        auc = _auc(ys, cv.oof_raw)
        rows.append(
            {"group": f"without {group}", "n_features": len(keep), "cv_auc": auc, "delta_auc": auc - best_auc}
        )
        with mlflow.start_run(run_name=f"ablation_{group.replace(':', '_')}", nested=True):
            mlflow.set_tags({"candidate_kind": "ablation"})
            mlflow.log_params({"removed_group": group, "n_removed": len(names), "n_features": len(keep)})
            mlflow.log_metrics({"oof_auc": auc, "delta_auc": auc - best_auc})
        say(f"  ablation without {group:<22} AUC {auc:.4f} ({auc - best_auc:+.4f})")
    ablation = pd.DataFrame(rows)
    if len(ablation) > 1:
        plots.bars(
            list(ablation["group"]),
            list(ablation["delta_auc"]),
            workdir / "artifacts" / "plots" / "ablation.png",
            "Ablation: CV AUC change",
            "AUC change",
        )
    return best_params, treatment, results, ablation


# --- model card ------------------------------------------------------------------------------------
def model_card(
    cfg, meta, metrics, choice: ThresholdChoice, fair, ablation, studies, importance, n_dev, n_hold
) -> str:
    def fmt(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    keys = [
        "auc",
        "gini",
        "ks",
        "pr_auc",
        "brier",
        "cost_per_applicant",
        "approval_rate",
        "recall",
        "precision",
    ]
    lines = [
        f"# Model card: {meta['name']}",
        "",
        f"Trained {meta['trained_at']} on {platform.node()}; data digest `{meta['data_digest']}`.",
        "",
        "## Data",
        f"- {n_dev:,} development applicants ({cfg.champion_folds(n_dev)}-fold CV) and {n_hold:,} held-out applicants (stratified "
        f"{cfg.holdout_fraction:.0%}), features from the dbt mart `feat_applicant_features` ({len(meta['features'])} inputs).",
        f"- Not inputs: {', '.join(meta['excluded_features']) or 'none'} (CODE_GENDER-derived; `CREDIT_TRAIN_USE_GENDER`).",
        "",
        "## Method",
        f"- One LightGBM booster ({meta['n_rounds']} rounds, imbalance treatment `{meta['treatment']}`), "
        f"calibrated with `{meta['calibrator']['method']}` on its out-of-fold log-odds (chosen by CV Brier).",
        f"- Parameters: `{json.dumps({k: v for k, v in meta['params'].items() if k not in ('verbosity', 'metric')})}`",
        (
            f"- Applicants without any history ({metrics.get('share_no_history_dev', 0):.1%} of development rows): "
            f"log-odds blended {1 - meta['thin']['weight']:g} main / {meta['thin']['weight']:g} thin-file booster "
            f"({len(meta['thin']['features'])} application columns, {meta['thin']['n_rounds']} rounds) before the "
            "calibrator; their SHAP values are the same blend."
            if meta.get("thin")
            else "- No thin-file booster: applicants without history are scored by the main booster."
        ),
        f"- Cost: false negative {cfg.cost_fn:g}, false positive {cfg.cost_fp:g}. Threshold {choice.threshold:.4f} "
        f"(bootstrap 95% CI {choice.ci_low:.4f}-{choice.ci_high:.4f}; theory 1/(1+FN/FP) = {choice.theoretical:.4f}). "
        f"Review band [{choice.review_low:.4f}, {choice.review_high:.4f}) "
        f"({metrics['review_band_share_oof']:.1%} of applicants): approve below, refuse above.",
        "",
        "## Metrics",
        "| metric | out-of-fold | holdout |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {fmt(metrics.get('oof_' + k))} | {fmt(metrics.get('holdout_' + k))} |" for k in keys]
    if studies:
        lines += [
            "",
            "## Candidates (study subsample)",
            "| candidate | OOF AUC | holdout AUC | OOF cost |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {k} | {v['oof_auc']:.4f} | {v['holdout_auc']:.4f} | {v['oof_cost_per_applicant']:.4f} |"
            for k, v in studies.items()
        ]
    if len(ablation):
        lines += ["", "## Ablation (CV AUC)", "| group | features | AUC | change |", "|---|---:|---:|---:|"]
        lines += [
            f"| {r.group} | {r.n_features} | {r.cv_auc:.4f} | {r.delta_auc:+.4f} |"
            for r in ablation.itertuples()
        ]
    lines += [
        "",
        "## Risk grades (out-of-fold)",
        "| grade | p from | p to | n | observed default rate |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {g['grade']} | {g['p_low']:.3f} | {g['p_high']:.3f} | {g['n']:,} | {g['observed_default_rate']:.2%} |"
        for g in meta["grades"]
    ]
    lines += [
        "",
        "## Fairness (approval at the threshold)",
        "| attribute | group | n | approval rate | ratio | default rate (approved) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.attribute} | {r.group} | {r.n:,} | {r.approval_rate:.1%} | {r.approval_rate_ratio:.2f} | {r.default_rate_approved:.2%} |"
        for r in fair.itertuples()
    ]
    lines += ["", "## Top features (mean |SHAP|, holdout sample)"]
    lines += [
        f"{i + 1}. `{r.feature}` ({r.mean_abs_shap:.4f})"
        for i, r in enumerate(importance.head(15).itertuples())
    ]
    lines += [
        "",
        "## Limits",
        "- Trained on one period's applicants; check drift before relying on it for new populations.",
        "- Probabilities are calibrated on the development population; the threshold assumes the stated costs.",
        "- Explanations are SHAP values of the booster's log-odds; they describe the model, not causes.",
        "- Gender is excluded as an input, but correlated features may carry it: read the fairness table.",
        "",
    ]
    return "\n".join(lines)
