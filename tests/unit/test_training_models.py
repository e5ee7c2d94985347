"""Candidates and cross-validation (training/models.py): in-fold resampling, folds, search budget."""

from __future__ import annotations

import numpy as np
import pytest

from training import models


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 12)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    logit = -2.5 + np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1])
    y = (rng.random(3000) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return X, y


def test_undersampling_balances_the_training_fold_only(data):
    X, y = data
    Xr, yr = models.resample(X, y, "undersample", 0)
    assert yr.sum() == (yr == 0).sum() == y.sum()
    assert len(Xr) == len(yr) < len(y)


def test_smote_keeps_real_rows_with_their_missing_values(data):
    X, y = data
    Xr, yr = models.resample(X, y, "smote", 0)
    np.testing.assert_array_equal(Xr[: len(X)], X)  # real rows untouched, NaN included
    synthetic = Xr[len(X) :]
    assert len(synthetic) > 0 and not np.isnan(synthetic).any() and (yr[len(X) :] == 1).all()
    assert yr.sum() / (yr == 0).sum() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("treatment", models.TREATMENTS)
def test_cv_predicts_every_row_out_of_fold(data, treatment):
    X, y = data
    folds = models.stratified_folds(y, 3, 0)
    params = {**models.BASE_PARAMS, "learning_rate": 0.1, "num_threads": 1}
    result = models.lgb_cv(X, y, params, folds, treatment, 200, 20, 0)
    assert np.all(result.oof_raw != 0)
    assert len(result.fold_auc) == 3 and min(result.fold_auc) > 0.6
    seen = np.concatenate([va for _, va in folds])
    assert sorted(seen) == list(range(len(y)))


def test_folds_are_stratified_and_disjoint(data):
    _, y = data
    folds = models.stratified_folds(y, 5, 1)
    for tr, va in folds:
        assert not set(tr) & set(va)
        assert abs(y[va].mean() - y.mean()) < 0.01


def test_search_budget_starts_with_the_default_and_never_repeats():
    trials = models.sample_params(8, 0, 0.1)
    assert len(trials) == 8 and trials[0]["num_leaves"] == models.BASE_PARAMS["num_leaves"]
    keys = {tuple(sorted((k, t[k]) for k in models.SEARCH_SPACE)) for t in trials}
    assert len(keys) == 8
    assert all(t["max_depth"] <= 7 for t in trials)  # bounded depth keeps SHAP affordable


def test_feature_groups_follow_the_prefixes():
    names = [
        "app_ext_source_1",
        "bureau_days_overdue_max",
        "bureau_count_last_730d",
        "prev_interest_rate_mean",
        "inst_is_late_share_last_365d",
        "cc_utilisation_last",
    ]
    groups = models.feature_groups(names)
    assert groups["family:bureau"] == ["bureau_days_overdue_max", "bureau_count_last_730d"]
    assert set(groups["windows"]) == {"bureau_count_last_730d", "inst_is_late_share_last_365d"}
    assert groups["interest_rate"] == ["prev_interest_rate_mean"]
    assert not any(k == "family:app" for k in groups)


def test_stratified_subsample_keeps_the_default_rate(data):
    _, y = data
    idx = models.stratified_subsample(y, 1000, 0)
    assert len(idx) == pytest.approx(1000, abs=2) and np.all(np.diff(idx) > 0)
    assert abs(y[idx].mean() - y.mean()) < 0.005


def test_a_wrong_training_variable_is_named_without_a_traceback(monkeypatch, capsys) -> None:
    from training.__main__ import main
    from training.config import get_train_settings

    monkeypatch.setenv("CREDIT_TRAIN_THIN_WEIGHT", "1.5")
    get_train_settings.cache_clear()
    try:
        assert main(["train"]) == 2
    finally:
        get_train_settings.cache_clear()
    err = capsys.readouterr().err
    assert "CREDIT_TRAIN_THIN_WEIGHT='1.5'" in err and "less than or equal to 1" in err
    assert "Traceback" not in err
