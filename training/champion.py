"""The champion's recipe, as arrays in and a fitted model out: used by `python -m training train`
and by the real-data benchmark (`benchmarks.real_sample`), so that both measure the same thing.

K-fold LightGBM on every development row -> out-of-fold log-odds -> (the thin-file booster's
out-of-fold log-odds on the application columns, blended in for rows without history) -> one
calibrator chosen by CV Brier -> the cost-minimising threshold and its review band. The final
boosters are refitted on every row with the folds' mean number of rounds (+1/K for the larger set).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from training import models
from training.calibration import apply_calibrator, choose_calibration
from training.config import TrainSettings
from training.credit_model import HISTORY_COUNTS, ThinBlend, no_history
from training.metrics import ThresholdChoice, choose_threshold


def thin_features(features: list[str]) -> list[str]:
    """The thin-file booster's inputs: the application's own columns (`app_*`)."""
    return [f for f in features if f.startswith("app_")]


@dataclass
class ChampionFit:
    booster: lgb.Booster
    thin: ThinBlend | None  # the thin-file booster and its blend, as the registered model applies it
    features: list[str]
    n_folds: int
    n_rounds: int
    thin_rounds: int
    oof_raw: np.ndarray  # blended out-of-fold log-odds
    oof_main_raw: np.ndarray
    oof_p: np.ndarray  # cross-fitted calibrated probabilities
    fold_of: np.ndarray
    fold_auc: list[float]
    calibrator: dict
    briers: dict
    choice: ThresholdChoice
    seconds_cv: float
    seconds_fit: float

    @property
    def thin_weight(self) -> float:
        return self.thin.weight if self.thin is not None else 0.0

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds as the registered model computes them (CreditDefaultModel.raw_score)."""
        raw = self.booster.predict(X, raw_score=True)
        return raw if self.thin is None else self.thin.raw(X, raw)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """SHAP values of `raw` (CreditDefaultModel.contributions)."""
        contrib = self.booster.predict(X, pred_contrib=True)
        return contrib if self.thin is None else self.thin.contributions(X, contrib)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return apply_calibrator(self.calibrator, self.raw(X))

    def thin_meta(self) -> dict | None:
        if self.thin is None:
            return None
        return {
            "features": [self.features[i] for i in self.thin.cols],
            "weight": self.thin.weight,
            "route_counts": list(HISTORY_COUNTS),
            "n_rounds": self.thin_rounds,
        }


def fit_champion(
    X: np.ndarray,
    y: np.ndarray,
    features: list[str],
    cfg: TrainSettings,
    params: dict,
    treatment: str = "none",
    thin_params: dict | None = None,
    thin_weight: float = 0.0,
    n_folds: int | None = None,
    bootstrap: int | None = None,
    say: Callable[[str], None] | None = None,
) -> ChampionFit:
    """Fit the champion on (X, y); `thin_weight` 0 (or no thin params) means one booster only."""
    n_folds = n_folds or cfg.champion_folds(len(y))
    folds = models.stratified_folds(y, n_folds, cfg.seed)
    started = time.perf_counter()
    cv = models.lgb_cv(
        X,
        y,
        params,
        folds,
        treatment,
        cfg.max_rounds,
        cfg.early_stopping_rounds,
        cfg.seed,
        features,
        progress=say,
    )
    fold_of = np.empty(len(y), dtype=np.int16)
    for k, (_, va) in enumerate(folds):
        fold_of[va] = k
    oof_raw = cv.oof_raw.copy()
    use_thin = thin_params is not None and thin_weight > 0
    thin_names = thin_features(features)
    thin_cols = np.array([features.index(f) for f in thin_names], dtype=np.int64)
    thin_cv = None
    if use_thin:
        thin_cv = models.lgb_cv(
            X[:, thin_cols],
            y,
            thin_params,
            folds,
            "none",
            cfg.max_rounds,
            cfg.early_stopping_rounds,
            cfg.seed,
            thin_names,
        )
        rows = no_history(X, features)
        oof_raw[rows] = (1 - thin_weight) * oof_raw[rows] + thin_weight * thin_cv.oof_raw[rows]
        if say:
            say(
                f"thin-file booster: {len(thin_names)} application columns, blended at {thin_weight:g} "
                f"into {rows.sum():,} rows without history"
            )
    seconds_cv = time.perf_counter() - started
    t0 = time.perf_counter()
    n_rounds = max(1, int(round(cv.n_rounds * (1 + 1 / n_folds))))
    booster = models.fit_booster(X, y, params, n_rounds, treatment, cfg.seed, features)
    thin, thin_rounds = None, 0
    if use_thin:
        thin_rounds = max(1, int(round(thin_cv.n_rounds * (1 + 1 / n_folds))))
        thin_booster = models.fit_booster(
            X[:, thin_cols], y, thin_params, thin_rounds, "none", cfg.seed, thin_names
        )
        thin = ThinBlend.of(thin_booster, thin_weight, features, thin_names)
    seconds_fit = time.perf_counter() - t0
    calibrator, oof_p, briers = choose_calibration(oof_raw, y, n_folds, cfg.seed)
    choice = choose_threshold(
        y,
        oof_p,
        cfg.cost_fn,
        cfg.cost_fp,
        cfg.bootstrap if bootstrap is None else bootstrap,
        cfg.seed,
        cfg.review_min_relative_width,
    )
    return ChampionFit(
        booster=booster,
        thin=thin,
        features=list(features),
        n_folds=n_folds,
        n_rounds=n_rounds,
        thin_rounds=thin_rounds,
        oof_raw=oof_raw,
        oof_main_raw=cv.oof_raw,
        oof_p=oof_p,
        fold_of=fold_of,
        fold_auc=cv.fold_auc,
        calibrator=calibrator,
        briers=briers,
        choice=choice,
        seconds_cv=seconds_cv,
        seconds_fit=seconds_fit,
    )
