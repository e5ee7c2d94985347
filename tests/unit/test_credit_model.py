"""The registered model's code (training/credit_model.py), built from a bundle without MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from training import reason_codes
from training.credit_model import BIAS, OTHERS, CreditDefaultModel, FeatureMismatchError

FEATURES = [
    "app_ext_source_1",
    "app_ext_source_2",
    "app_ext_source_3",
    "app_credit_to_income_ratio",
    "bureau_days_credit_overdue_max",
    "bureau_days_credit_overdue_mean",
    "inst_is_late_share",
    "inst_is_late_share_last_365d",
    "prev_is_refused_share",
    "cc_utilisation_last",
    "pos_dpd_over_30_count",
    "app_gender_m",
]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[CreditDefaultModel, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 3000
    X = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    logit = -2.5 + np.nansum(X[:, :8] * np.array([-1, -1, -1, 0.5, 0.7, 0.3, 0.8, 0.4]), axis=1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "num_leaves": 15, "max_depth": 5, "verbosity": -1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=FEATURES[:-1] + ["app_amt_income_total"]), 60)
    features = FEATURES[:-1] + ["app_amt_income_total"]
    folder = tmp_path_factory.mktemp("bundle")
    booster.save_model(str(folder / "booster.txt"))
    meta = {
        "name": "credit_default",
        "features": features,
        "excluded_features": ["app_gender_m"],
        "calibrator": {"method": "sigmoid", "a": 1.0, "b": 0.0},
        "threshold": 0.09,
        "review_low": 0.07,
        "review_high": 0.12,
        "grade_bounds": [0.02, 0.04, 0.07, 0.10, 0.15, 0.25],
        "reason_codes": reason_codes.build(features, path=Path("/nonexistent")),
    }
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return CreditDefaultModel.from_bundle(folder), X


def test_shap_rows_add_up_to_the_booster_log_odds(model):
    core, X = model
    ids = np.arange(len(X)) + 100_000
    result = core.score(ids, X, top_k=5)
    raw = core.booster.predict(X, raw_score=True)
    np.testing.assert_allclose(result.raw, raw, atol=1e-9)
    shap = result.shap
    assert set(shap.groupby("sk_id_curr").size()) == {5 + 2}  # top 5 + bias + others
    total = shap.groupby("sk_id_curr")["shap_value"].sum().reindex(ids).to_numpy()
    assert np.max(np.abs(total - raw)) < 1e-6
    top = shap[shap["feature"].isin([BIAS, OTHERS]) == False]  # noqa: E712
    ranked = top.sort_values(["sk_id_curr", "rank"])
    first = ranked.groupby("sk_id_curr")["shap_value"].apply(lambda s: list(np.abs(s)))
    assert all(a == sorted(a, reverse=True) for a in first.head(200))
    np.testing.assert_allclose(result.probability, 1 / (1 + np.exp(-raw)), atol=1e-12)


def test_reasons_one_per_fact_signed_and_readable(model):
    core, X = model
    ids = np.arange(len(X))
    reasons = core.reasons(ids, X, core.contributions(X), per_direction=4)
    assert (reasons.groupby(["sk_id_curr", "direction"]).size() <= 4).all()
    assert not reasons.duplicated(["sk_id_curr", "direction", "fact"]).any()
    assert (reasons.loc[reasons.direction == "raises", "shap_value"] > 0).all()
    assert (reasons.loc[reasons.direction == "lowers", "shap_value"] < 0).all()
    for col in ("text_en", "text_fr"):
        assert reasons[col].str.len().min() > 10
        assert not reasons[col].str.contains("{value}", regex=False).any()
    # the three external scores are one fact: never two of them for the same applicant and direction
    ext = reasons[reasons.feature.str.startswith("app_ext_source")]
    assert not ext.duplicated(["sk_id_curr", "direction"]).any()


def test_pyfunc_predict_returns_calibrated_probability(model):
    core, X = model
    frame = pd.DataFrame(X[:10].astype(float), columns=core.features)
    out = core.predict(None, frame[list(reversed(core.features))])  # column order does not matter
    np.testing.assert_allclose(out["probability"], core.predict_proba(X[:10]), atol=1e-12)


def test_feature_mismatch_names_the_features(model):
    core, _ = model
    core.check_features(["sk_id_curr", *core.features, "app_gender_m"])  # excluded on purpose: fine
    with pytest.raises(FeatureMismatchError) as err:
        core.check_features([*core.features[1:], "bureau_new_feature_max"])
    assert "app_ext_source_1" in str(err.value) and "bureau_new_feature_max" in str(err.value)
    with pytest.raises(FeatureMismatchError, match="cc_utilisation_last"):
        core.matrix(pd.DataFrame(columns=[f for f in core.features if f != "cc_utilisation_last"]))


def test_grades_and_decisions(model):
    core, _ = model
    p = np.array([0.01, 0.03, 0.05, 0.08, 0.12, 0.2, 0.5])
    assert list(core.grade(p)) == list("ABCDEFG")
    assert list(core.decide(np.array([0.05, 0.08, 0.2]))) == ["approve", "review", "refuse"]


def test_score_frame_is_what_the_batch_computes(model):
    from training.scoring import score_frame

    core, X = model
    frame = pd.DataFrame(X[:50].astype(float), columns=core.features).assign(sk_id_curr=np.arange(50) + 7)
    result = score_frame(core, frame)
    direct = core.score(np.arange(50) + 7, X[:50])
    np.testing.assert_allclose(result.probability, direct.probability, atol=1e-12)
    pd.testing.assert_frame_equal(result.reasons, direct.reasons)
    assert set(result.shap["sk_id_curr"]) == set(range(7, 57))
