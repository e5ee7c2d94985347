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


def _meta(features: list[str], **extra) -> dict:
    """model.json of a test bundle: sigmoid calibrator, fixed threshold, band and grades."""
    return {
        "name": "credit_default",
        "features": features,
        "calibrator": {"method": "sigmoid", "a": 1.0, "b": 0.0},
        "threshold": 0.09,
        "review_low": 0.07,
        "review_high": 0.12,
        "grade_bounds": [0.02, 0.04, 0.07, 0.10, 0.15, 0.25],
        "reason_codes": reason_codes.build(features, path=Path("/nonexistent")),
        **extra,
    }


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
    meta = _meta(features, excluded_features=["app_gender_m"])
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


# --- the thin-file booster ------------------------------------------------------------------------
THIN_FEATURES = ["app_ext_source_1", "app_ext_source_2", "app_ext_source_3", "app_credit_to_income_ratio"]
COUNTS = ["bureau_count", "prev_count", "pos_count", "inst_count", "cc_count"]


@pytest.fixture(scope="module")
def blended(tmp_path_factory) -> tuple[CreditDefaultModel, np.ndarray, np.ndarray]:
    """A main booster over application + history features and a thin booster over the first four;
    half of the rows have no history (every count 0 or missing)."""
    rng = np.random.default_rng(1)
    n = 3000
    features = THIN_FEATURES + COUNTS + ["bureau_days_credit_overdue_max"]
    X = rng.normal(size=(n, len(features))).astype(np.float32)
    X[:, 4:9] = rng.integers(1, 5, size=(n, 5))
    thin = rng.random(n) < 0.5
    X[thin, 4:9] = np.where(rng.random((thin.sum(), 5)) < 0.5, 0.0, np.nan)
    X[thin, 9] = np.nan
    logit = -2.5 - X[:, 0] - X[:, 1] + np.nan_to_num(X[:, 9])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "num_leaves": 7, "verbosity": -1, "seed": 0}
    folder = tmp_path_factory.mktemp("bundle_thin")
    lgb.train(params, lgb.Dataset(X, y, feature_name=features), 40).save_model(str(folder / "booster.txt"))
    lgb.train(params, lgb.Dataset(X[:, :4], y, feature_name=THIN_FEATURES), 30).save_model(
        str(folder / "booster_thin.txt")
    )
    meta = _meta(features, thin={"features": THIN_FEATURES, "weight": 0.7, "route_counts": COUNTS})
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return CreditDefaultModel.from_bundle(folder), X, thin


def test_rows_without_history_are_blended_in_log_odds(blended):
    from training.credit_model import no_history

    core, X, thin = blended
    np.testing.assert_array_equal(no_history(X, core.features), thin)
    main = core.booster.predict(X, raw_score=True)
    alone = core.thin[0].predict(X[:, :4], raw_score=True)
    raw = core.raw_score(X)
    np.testing.assert_allclose(raw[~thin], main[~thin], atol=1e-12)  # thick rows: the main booster
    np.testing.assert_allclose(raw[thin], 0.3 * main[thin] + 0.7 * alone[thin], atol=1e-9)


def test_shap_adds_up_on_thin_and_thick_rows(blended):
    core, X, thin = blended
    contrib = core.contributions(X)
    assert contrib.shape == (len(X), len(core.features) + 1)
    np.testing.assert_allclose(contrib.sum(axis=1), core.raw_score(X), atol=1e-6)
    # a history feature carries no thin-booster value: its SHAP is the main booster's, scaled
    main = core.booster.predict(X[thin], pred_contrib=True)
    np.testing.assert_allclose(contrib[thin, 9], 0.3 * main[:, 9], atol=1e-9)
    result = core.score(np.arange(len(X)), X, top_k=3)
    total = result.shap.groupby("sk_id_curr")["shap_value"].sum().sort_index().to_numpy()
    np.testing.assert_allclose(total, result.raw, atol=1e-6)
    np.testing.assert_allclose(result.probability, 1 / (1 + np.exp(-core.raw_score(X))), atol=1e-12)


def test_thin_booster_feature_list_is_checked(blended, tmp_path):
    core, _, _ = blended
    folder = tmp_path / "bundle"
    meta = dict(core.meta)
    meta["thin"] = {**meta["thin"], "features": list(reversed(THIN_FEATURES))}
    folder.mkdir()
    core.booster.save_model(str(folder / "booster.txt"))
    core.thin[0].save_model(str(folder / "booster_thin.txt"))
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FeatureMismatchError, match="thin"):
        CreditDefaultModel.from_bundle(folder)


def test_an_absent_history_source_is_one_reason_said_as_absence(tmp_path):
    """No instalment rows (inst_count 0): the model's inst_* features are one reason, 'no repayment
    history', never 'share of late payments: no information'; with rows, the usual texts."""
    features = [
        "app_ext_source_2",
        "inst_count",
        "inst_is_late_share",
        "inst_dpd_mean",
        "inst_amt_payment_sum",
    ]
    rng = np.random.default_rng(1)
    n = 2000
    X = rng.normal(size=(n, len(features))).astype(np.float32)
    X[:, 1] = rng.integers(0, 3, n)
    none = X[:, 1] == 0
    X[none, 2:] = np.nan
    logit = -2 + X[:, 0] + 1.5 * none + np.nan_to_num(X[:, 2])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "seed": 0}, lgb.Dataset(X, y, feature_name=features), 40
    )
    booster.save_model(str(tmp_path / "booster.txt"))
    (tmp_path / "model.json").write_text(json.dumps(_meta(features)), encoding="utf-8")
    core = CreditDefaultModel.from_bundle(tmp_path)
    reasons = core.reasons(np.arange(n), X, core.contributions(X), per_direction=4)
    inst = reasons[reasons.family == "inst"]
    without = inst[inst.sk_id_curr.isin(np.flatnonzero(none))]
    with_rows = inst[~inst.sk_id_curr.isin(np.flatnonzero(none))]
    assert len(without) and (without.text_fr == "Aucun historique de remboursement chez nous").all()
    assert (without.fact == "inst:absent").all()
    assert not without.duplicated(["sk_id_curr", "direction"]).any()  # one reason per source
    assert len(with_rows) and not with_rows.text_fr.str.contains("Aucun historique").any()
    assert not reasons.text_en.str.contains("no information").any()
