"""Decision threshold, cost and metrics (training/metrics.py) and calibration (training/calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from training.calibration import apply_calibrator, choose_calibration, fit_calibrator
from training.metrics import (
    choose_threshold,
    classification_metrics,
    cost_curve,
    decisions,
    optimal_threshold,
)


def _brute_cost(y, p, t, cfn, cfp):
    refuse = p >= t
    return (cfn * np.sum(~refuse & (y == 1)) + cfp * np.sum(refuse & (y == 0))) / len(y)


def test_cost_curve_matches_brute_force():
    rng = np.random.default_rng(1)
    p = rng.random(300).round(2)  # ties on purpose
    y = (rng.random(300) < p).astype(int)
    thresholds, costs = cost_curve(y, p, 10, 1)
    for t, c in zip(thresholds, costs, strict=True):
        assert c == pytest.approx(_brute_cost(y, p, t, 10, 1))
    best = optimal_threshold(y, p, 10, 1)
    assert _brute_cost(y, p, best, 10, 1) == pytest.approx(costs.min())


def test_threshold_on_calibrated_probabilities_is_near_theory():
    rng = np.random.default_rng(2)
    p = rng.beta(1, 10, 60_000)  # calibrated by construction: y ~ Bernoulli(p)
    y = (rng.random(len(p)) < p).astype(int)
    choice = choose_threshold(y, p, 10, 1, n_boot=50, seed=0)
    assert choice.theoretical == pytest.approx(1 / 11)
    assert abs(choice.threshold - 1 / 11) < 0.02
    assert choice.ci_low <= choice.threshold <= choice.ci_high
    assert choice.review_low <= choice.ci_low and choice.review_high >= choice.ci_high
    assert choice.review_high / choice.review_low >= 1.19  # at least the minimum relative width


def test_decisions_follow_the_review_band():
    out = decisions(np.array([0.01, 0.05, 0.2]), 0.04, 0.1)
    assert list(out) == ["approve", "review", "refuse"]


def test_classification_metrics_values():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    m = classification_metrics(y, p, 0.3, 10, 1)
    assert m["auc"] == pytest.approx(0.75)
    assert m["gini"] == pytest.approx(0.5)
    assert m["recall"] == 1.0 and m["precision"] == pytest.approx(2 / 3)
    assert m["approval_rate"] == 0.25
    assert m["cost_per_applicant"] == pytest.approx(1 / 4)
    assert m["ks"] == pytest.approx(0.5)


def test_isotonic_calibrator_reproduces_sklearn():
    rng = np.random.default_rng(3)
    raw = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-raw))).astype(int)
    cal = fit_calibrator("isotonic", raw, y)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, y)
    grid = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(
        apply_calibrator(cal, grid), np.clip(iso.predict(grid), 1e-4, 1 - 1e-4), atol=1e-12
    )


def test_choose_calibration_fixes_a_shifted_score():
    rng = np.random.default_rng(4)
    raw = rng.normal(size=5000) - 1
    y = (rng.random(5000) < 1 / (1 + np.exp(-(2 * raw + 1)))).astype(int)  # miscalibrated log-odds
    cal, crossfit, briers = choose_calibration(raw, y, 5, 0)
    assert cal["method"] in ("isotonic", "sigmoid") and set(briers) == {"isotonic", "sigmoid"}
    assert abs(crossfit.mean() - y.mean()) < 0.01
    naive = 1 / (1 + np.exp(-raw))
    assert np.mean((crossfit - y) ** 2) < np.mean((naive - y) ** 2)
