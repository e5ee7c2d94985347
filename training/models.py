"""Candidate models and cross-validation: pure functions (arrays in, predictions out).

The champion is a single LightGBM booster trained with `lightgbm.train`; baselines and the
imbalance study are scikit-learn / imbalanced-learn estimators fitted inside each fold only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import StratifiedKFold

log = logging.getLogger(__name__)

Folds = list[tuple[np.ndarray, np.ndarray]]

BASE_PARAMS = {
    "objective": "binary",
    "metric": "auc",
    "boosting_type": "gbdt",
    # Chosen on real data (`python -m benchmarks.real_sample --study`, reports/study_real_sample.json):
    # nested CV on the real sample (27,239 labelled applicants, installments left out), 5 outer x 3
    # inner folds, six main-booster candidates x two thin-file boosters x five blend weights. Selected
    # by inner CV (AUC over all applicants + AUC of the thin-file simulation): 7 leaves / depth 3 in
    # 3 of the 5 outer folds; inner AUC 0.7630 vs 0.7625 for the earlier 15 leaves / depth 4 (chosen
    # on synthetic data), and every candidate within 0.0015 of it (ff 0.05-0.2, leaves 7-31, l2 10-30):
    # the main booster's parameters are not where the gain is. Shallow trees also make TreeSHAP
    # (leaves x depth^2 per tree) about 2x cheaper per applicant despite ~1.6x more rounds.
    # Also measured (one 5-fold CV, all rows, OOF AUC; noise about 0.002): learning rate 0.02
    # 0.7679 vs 0.7652 at 3x the rounds, 3 seeds averaged 0.7681 at 3x the cost, min_child_samples
    # 50 0.7669; their combination 0.7665: not kept (cost at full scale, gains within the noise).
    "num_leaves": 7,
    "max_depth": 3,
    "min_child_samples": 100,
    "feature_fraction": 0.1,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
    "max_bin": 63,
    "verbosity": -1,
    "num_threads": 0,  # set from CREDIT_TRAIN_THREADS
    # Column-wise histograms: with feature_fraction 0.1 a tree only builds the histograms of its
    # ~150 sampled features, where row-wise walks all 1,500 per row. Measured on 20k x 1,515
    # mart rows, 200 rounds, 1 thread: 2.9 s col-wise vs 8.3 s row-wise.
    "force_col_wise": True,
}

# The thin-file booster (training.champion): the application's own ~275 columns only, for
# applicants without any history. From the same study: feature_fraction 0.3 / 7 leaves / depth 3
# gave a thin-file simulation AUC of 0.7479 (inner) vs 0.7470 with the main parameters; blended
# at weight 0.5 (CREDIT_TRAIN_THIN_WEIGHT; 0.25-0.75 within 0.0005 of each other, 0 lowest).
THIN_PARAMS = {**BASE_PARAMS, "feature_fraction": 0.3, "num_leaves": 7, "max_depth": 3}

SEARCH_SPACE = {
    "num_leaves": [7, 15, 31],
    "max_depth": [3, 4, 5, 6],
    "min_child_samples": [20, 50, 100, 200],
    "feature_fraction": [0.1, 0.2, 0.3, 0.5],
    "bagging_fraction": [0.7, 0.8, 1.0],
    "lambda_l2": [0.0, 1.0, 10.0],
}

TREATMENTS = ("none", "class_weight", "undersample", "smote")


def stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> Folds:
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(skf.split(np.zeros(len(y)), y))


def stratified_subsample(y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Sorted row indices of a stratified sample of at most `max_rows` rows."""
    if len(y) <= max_rows:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        keep.append(rng.choice(idx, size=round(len(idx) * max_rows / len(y)), replace=False))
    return np.sort(np.concatenate(keep))


def sample_params(n: int, seed: int, learning_rate: float) -> list[dict]:
    """The search budget: the default configuration first, then random draws from SEARCH_SPACE."""
    rng = np.random.default_rng(seed)
    trials = [{**BASE_PARAMS, "learning_rate": learning_rate}]
    seen = {tuple(sorted((k, trials[0][k]) for k in SEARCH_SPACE))}
    attempts = 0
    while len(trials) < n and attempts < 1000:
        attempts += 1
        draw = {k: v[int(rng.integers(len(v)))] for k, v in SEARCH_SPACE.items()}
        key = tuple(sorted(draw.items()))
        if key in seen:
            continue
        seen.add(key)
        trials.append({**BASE_PARAMS, **draw, "learning_rate": learning_rate})
    return trials[:n]


def resample(X: np.ndarray, y: np.ndarray, treatment: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training fold after the imbalance treatment (never applied to validation rows).

    SMOTE needs complete rows: it runs on median-imputed rows and only its synthetic rows are
    appended, so the booster still sees the real rows with their missing values.
    """
    if treatment in ("none", "class_weight"):
        return X, y
    if treatment == "undersample":
        from imblearn.under_sampling import RandomUnderSampler

        sampler = RandomUnderSampler(random_state=seed)
        sampler.fit_resample(np.zeros((len(y), 1)), y)
        idx = np.sort(sampler.sample_indices_)
        return X[idx], y[idx]
    if treatment == "smote":
        from imblearn.over_sampling import SMOTE

        med = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)
        med = np.where(np.isnan(med), 0.0, med).astype(np.float32)
        filled = np.where(np.isnan(X), med, X)
        Xr, yr = SMOTE(random_state=seed, sampling_strategy=0.5).fit_resample(filled, y)
        return np.vstack([X, Xr[len(y) :].astype(np.float32)]), np.concatenate([y, yr[len(y) :]])
    raise ValueError(f"unknown imbalance treatment {treatment!r}; one of {TREATMENTS}")


def small_data_params(params: dict, n_rows: int) -> dict:
    """Cap the leaf size at 1% of the training rows (at least 10) so tiny data sets still grow trees.

    Changes nothing from about 10,000 training rows up (the default leaf size is 100); below that,
    a leaf of 100 rows leaves LightGBM nothing to split and the model is a constant.
    """
    cap = max(10, int(n_rows) // 100)
    if params.get("min_child_samples", 20) > cap:
        return {**params, "min_child_samples": cap}
    return params


def treatment_params(params: dict, treatment: str, y: np.ndarray) -> dict:
    if treatment == "class_weight":
        return {**params, "scale_pos_weight": float((y == 0).sum() / max((y == 1).sum(), 1))}
    return params


@dataclass
class CvResult:
    oof_raw: np.ndarray  # log-odds of the fold model that did not see the row
    best_iterations: list[int]
    fold_auc: list[float]
    seconds: float
    boosters: list = field(default_factory=list)

    @property
    def n_rounds(self) -> int:
        return max(1, int(round(float(np.mean(self.best_iterations)))))


_NO_SHARED = False  # tests compare the shared-bins path with per-fold datasets


def lgb_cv(
    X: np.ndarray,
    y: np.ndarray,
    params: dict,
    folds: Folds,
    treatment: str = "none",
    max_rounds: int = 2000,
    early_stopping: int = 50,
    seed: int = 0,
    feature_names: list[str] | None = None,
    keep_boosters: bool = False,
    progress: Callable[[str], None] | None = None,
) -> CvResult:
    """K-fold LightGBM with early stopping on each validation fold; out-of-fold log-odds."""
    from sklearn.metrics import roc_auc_score

    started = time.perf_counter()
    oof = np.zeros(len(y))
    best, aucs, boosters = [], [], []
    # Without resampling, bin the rows once and let every fold use subsets (as lightgbm.cv does).
    shared = treatment in ("none", "class_weight") and not _NO_SHARED
    n_train = int(len(y) * (1 - 1 / max(len(folds), 2)))
    base = {**small_data_params(params, n_train), "seed": seed}
    if shared:
        full = lgb.Dataset(X, y, feature_name=feature_names or "auto", params=base, free_raw_data=False)
        full.construct()
    for k, (tr, va) in enumerate(folds):
        fold_seeds = {"bagging_seed": seed + k, "feature_fraction_seed": seed + k}
        if shared:
            p = {**treatment_params(base, treatment, y[tr]), **fold_seeds}
            dtrain, dvalid = full.subset(np.sort(tr)), full.subset(np.sort(va))
        else:
            Xtr, ytr = resample(X[tr], y[tr], treatment, seed + k)
            p = {**treatment_params(base, treatment, ytr), **fold_seeds}
            dtrain = lgb.Dataset(Xtr, ytr, feature_name=feature_names or "auto", free_raw_data=True)
            dvalid = lgb.Dataset(X[va], y[va], reference=dtrain)
        booster = lgb.train(
            p,
            dtrain,
            num_boost_round=max_rounds,
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(early_stopping, verbose=False)],
        )
        oof[va] = booster.predict(X[va], raw_score=True, num_iteration=booster.best_iteration)
        best.append(int(booster.best_iteration or max_rounds))
        aucs.append(float(roc_auc_score(y[va], oof[va])))
        if keep_boosters:
            boosters.append(booster)
        if progress:
            progress(f"fold {k + 1}/{len(folds)}: AUC {aucs[-1]:.4f}, {best[-1]} rounds")
    return CvResult(oof, best, aucs, time.perf_counter() - started, boosters)


def fit_booster(
    X: np.ndarray,
    y: np.ndarray,
    params: dict,
    n_rounds: int,
    treatment: str = "none",
    seed: int = 0,
    feature_names: list[str] | None = None,
) -> lgb.Booster:
    Xtr, ytr = resample(X, y, treatment, seed)
    p = {**treatment_params(small_data_params(params, len(y)), treatment, ytr), "seed": seed}
    return lgb.train(p, lgb.Dataset(Xtr, ytr, feature_name=feature_names or "auto"), num_boost_round=n_rounds)


# --- scikit-learn / imbalanced-learn candidates ----------------------------------------------------
def make_estimator(kind: str, params: dict | None = None, n_estimators: int = 300, seed: int = 0):
    """A fresh, unfitted candidate: dummy, logistic, or LightGBM under an imbalance treatment."""
    from sklearn.dummy import DummyClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "dummy":
        return DummyClassifier(strategy="prior")
    if kind == "logistic":
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=0.05, max_iter=300),
        )
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler

    p = {k: v for k, v in (params or BASE_PARAMS).items() if k not in ("metric", "verbosity")}
    lgbm = lgb.LGBMClassifier(n_estimators=n_estimators, random_state=seed, verbose=-1, **p)
    if kind in ("lgbm", "none"):
        return lgbm
    if kind == "class_weight":
        return lgbm.set_params(class_weight="balanced")
    if kind == "undersample":
        return Pipeline([("undersample", RandomUnderSampler(random_state=seed)), ("lgbm", lgbm)])
    if kind == "smote":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("smote", SMOTE(random_state=seed, sampling_strategy=0.5)),
                ("lgbm", lgbm),
            ]
        )
    raise ValueError(f"unknown candidate {kind!r}")


@dataclass
class SklearnCv:
    oof: np.ndarray  # probabilities
    holdout: np.ndarray  # mean of the fold models' probabilities on the holdout rows
    fold_auc: list[float]
    seconds: float


def sklearn_cv(
    factory: Callable[[], object], X: np.ndarray, y: np.ndarray, folds: Folds, X_hold: np.ndarray
) -> SklearnCv:
    """Fit a fresh estimator per fold (preprocessing and resampling inside the fold only)."""
    from sklearn.metrics import roc_auc_score

    started = time.perf_counter()
    oof = np.zeros(len(y))
    hold = np.zeros(len(X_hold))
    aucs = []
    for tr, va in folds:
        est = factory().fit(X[tr], y[tr])
        oof[va] = est.predict_proba(X[va])[:, 1]
        hold += est.predict_proba(X_hold)[:, 1] / len(folds)
        aucs.append(float(roc_auc_score(y[va], oof[va])) if len(np.unique(y[va])) == 2 else float("nan"))
    return SklearnCv(oof, hold, aucs, time.perf_counter() - started)


def feature_groups(features: list[str]) -> dict[str, list[str]]:
    """Ablation groups read from the names: one per family prefix, the windows, the rate estimate."""
    from training.reason_codes import WINDOW, family_of

    groups: dict[str, list[str]] = {}
    for name in features:
        fam = family_of(name)
        if fam != "app":
            groups.setdefault(f"family:{fam}", []).append(name)
    windows = [n for n in features if any(WINDOW.match("_".join(n.split("_")[-s:])) for s in (1, 2))]
    if windows:
        groups["windows"] = windows
    rate = [n for n in features if "interest" in n or "_rate_" in f"_{n}_" and n.startswith("prev_")]
    if rate:
        groups["interest_rate"] = rate
    return groups
