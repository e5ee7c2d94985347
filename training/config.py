"""Training and scoring settings: `CREDIT_TRAIN_*` variables (documented in .env.example).

Paths come from :func:`warehouse.config.get_settings`; this holds the method's knobs only.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrainSettings(BaseSettings):
    """Knobs of `python -m training train` and `python -m training score`."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_TRAIN_", extra="ignore")

    seed: int = 42
    holdout_fraction: float = 0.25  # "the held-out quarter"
    n_folds: int = 5
    # From this many development rows the champion's cross-validation uses `large_n_folds` folds:
    # at full scale (230k rows) 5 folds took 660 s of a 1,400 s run, and 3 folds of 150k rows
    # still give every applicant an out-of-fold score (the final booster uses every row anyway).
    large_rows: int = 100_000
    large_n_folds: int = 3
    # Studies (baselines, imbalance, search, ablation) run on a stratified subsample of the
    # development split of at most this many rows; the champion uses every row.
    study_max_rows: int = 60_000
    study_folds: int = 3
    # The imbalance study's resamplers refit per fold outside LightGBM's shared binning (SMOTE on
    # 60k x 1,500 alone took ~200 s at full scale), so it runs on at most this many study rows.
    imbalance_max_rows: int = 20_000
    search_budget: int = 8  # random-search trials for LightGBM
    run_studies: bool = True  # False: champion only (fast development runs)
    max_rounds: int = 2_000
    early_stopping_rounds: int = 50
    learning_rate: float = 0.05
    # Applicants without any history are scored by a blend, in log-odds, of the main booster and a
    # booster of their application columns alone (models.THIN_PARAMS), with this weight on the
    # latter; chosen on the real sample (benchmarks.real_sample --study; see models.py).
    thin_booster: bool = True
    thin_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    threads: int = 2
    # Business cost of the two errors (a refused good client costs 1 by convention).
    cost_fn: float = 10.0
    cost_fp: float = 1.0
    bootstrap: int = 300
    # Review band: the thresholds' bootstrap interval, widened to at least this relative width.
    review_min_relative_width: float = 0.2
    # Master scale (upper probability bounds of grades A..F; G is the rest).
    grade_bounds: list[float] = Field(default=[0.02, 0.04, 0.07, 0.10, 0.15, 0.25])
    # Fairness: CODE_GENDER (and features derived from it) are not model inputs unless set.
    use_gender: bool = False
    shap_sample_rows: int = 5_000
    register_name: str = "credit_default"
    experiment: str = "credit_default"
    min_auc_gain: float = 0.0  # a challenger must beat the champion's holdout AUC by more than this
    # Scoring
    score_chunk_rows: int = 25_000
    shap_top_k: int = 20
    reasons_per_direction: int = 4
    explanation_retention_runs: int = 3  # shap_values / reasons kept for the latest N runs
    max_train_rows: int | None = None  # optional cap for development runs

    def champion_folds(self, n_rows: int) -> int:
        """Folds of the champion's cross-validation for `n_rows` development rows."""
        return self.large_n_folds if n_rows >= self.large_rows else self.n_folds


@lru_cache(maxsize=1)
def get_train_settings() -> TrainSettings:
    return TrainSettings()
