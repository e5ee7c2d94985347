"""The PSI marts (dbt, SQL) find the generator's planted drift and report none without it."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

PLANTED = ["app_contract_type_revolving_loans", "app_credit_to_income_ratio", "app_goods_to_income_ratio"]
SOURCE_COLUMNS = ["app_amt_credit", "app_amt_goods_price", "app_amt_annuity"]


def feature_drift(home) -> pd.DataFrame:
    con = duckdb.connect(str(home.build), read_only=True)
    try:
        return con.execute("select * from marts.fct_feature_drift").df().set_index("feature")
    finally:
        con.close()


def con_edges(home):
    con = duckdb.connect(str(home.build), read_only=True)
    try:
        return con.execute("select * from marts.dim_feature_drift_edges").df()
    finally:
        con.close()


def test_every_feature_has_a_psi_and_a_reading(planted):
    con = duckdb.connect(str(planted.build), read_only=True)
    try:
        n_features = len(con.execute("describe marts.feat_applicant_features").fetchall()) - 1
        drift = con.execute("select * from marts.fct_feature_drift").df()
        bins = con.execute("select * from marts.fct_feature_drift_bins").df()
        n_train, n_test = con.execute(
            "select count(*) filter (where is_train), count(*) filter (where not is_train) "
            "from marts.feat_applicant_labels"
        ).fetchone()
    finally:
        con.close()
    assert len(drift) == n_features
    edges = con_edges(planted)
    assert edges["feature"].is_unique and len(edges) <= n_features
    # the edges are the reference deciles, in order
    cols = [f"edge_{k}" for k in range(1, 10)]
    assert (edges[cols].diff(axis=1).iloc[:, 1:].fillna(0) >= 0).all().all()
    assert drift["psi"].notna().all() and (drift["psi"] >= 0).all()
    assert set(drift["psi_reading"]) <= {"stable", "watch", "act"}
    assert (drift["n_reference"] == n_train).all() and (drift["n_current"] == n_test).all()
    # each side's shares sum to 1 over a feature's bins (missing values included)
    sums = bins.groupby("feature")[["share_reference", "share_current"]].sum()
    assert sums.sub(1).abs().max().max() < 1e-9
    # the PSI is the sum of the bins' terms, and the reading follows the cut-offs
    assert (
        bins.groupby("feature")["psi_contribution"].sum() - drift.set_index("feature")["psi"]
    ).abs().max() < 1e-9
    expected = pd.cut(drift["psi"], [-1, 0.1 - 1e-12, 0.25, float("inf")], labels=["stable", "watch", "act"])
    assert (expected.astype(str) == drift["psi_reading"]).all()


def test_bins_count_what_numpy_counts(planted):
    """Each bin's counts (from the cumulative counts of fct_feature_drift_counts) equal a direct count
    of the feature's values between the reference edges, bin k = (edge_k, edge_k+1], NULL = -1."""
    con = duckdb.connect(str(planted.build), read_only=True)
    try:
        edges = con.execute("select * from marts.dim_feature_drift_edges").df().set_index("feature")
        bins = con.execute("select * from marts.fct_feature_drift_bins").df()
        counts = con.execute("select * from marts.fct_feature_drift_counts").df()
        features = [
            f
            for f in PLANTED
            + SOURCE_COLUMNS
            + ["bureau_amt_credit_sum_sum", "bureau_count", "app_ext_source_missing_count"]
            if f in edges.index
        ]
        values = con.execute(
            "select l.is_train, "
            + ", ".join(f'"{f}"' for f in features)
            + " from marts.feat_applicant_features f join marts.feat_applicant_labels l using (sk_id_curr)"
        ).df()
    finally:
        con.close()
    assert len(features) >= 6
    cols = [f"edge_{k}" for k in range(1, 10)]
    for feature in features:
        feature_edges = edges.loc[feature, cols].to_numpy(float)
        for side, mask in (("reference", values["is_train"]), ("current", ~values["is_train"])):
            column = values.loc[mask, feature].to_numpy(float)
            present = column[~np.isnan(column)]
            expected = (
                pd.Series(np.searchsorted(feature_edges, present, side="left")).value_counts().to_dict()
            )
            if np.isnan(column).any():
                expected[-1] = int(np.isnan(column).sum())
            got = bins.loc[bins["feature"] == feature].set_index("bin")[f"n_{side}"]
            assert {int(b): int(n) for b, n in got.items() if n > 0} == expected, (feature, side)
            row = counts.loc[(counts["feature"] == feature) & (counts["population"] == side)].iloc[0]
            assert row["n_values"] == len(present)
            assert row["sum_values"] == pytest.approx(present.sum(), rel=1e-9)


def test_planted_drift_is_found(planted, unplanted):
    with_drift, without = feature_drift(planted), feature_drift(unplanted)
    # the contract-type mix (about 9.5% revolving loans in train, 1% in test) is flagged
    assert with_drift.loc["app_contract_type_revolving_loans", "psi_reading"] != "stable"
    assert with_drift.loc["app_contract_type_revolving_loans", "mean_current"] < (
        0.5 * with_drift.loc["app_contract_type_revolving_loans", "mean_reference"]
    )
    # credit-to-income moves (credit about 12% lower, income about 6% higher in test): PSI about 0.1
    assert with_drift.loc["app_credit_to_income_ratio", "psi"] >= 0.05
    assert with_drift.loc["app_credit_to_income_ratio", "mean_current"] < (
        0.95 * with_drift.loc["app_credit_to_income_ratio", "mean_reference"]
    )
    not_stable = set(with_drift.index[with_drift["psi_reading"] != "stable"])
    assert not_stable, "the planted drift went unnoticed"
    assert not_stable <= {f for f in with_drift.index if f.startswith("app_")}, not_stable
    # every planted column drifts more than the same column without drift
    for name in PLANTED + SOURCE_COLUMNS:
        assert with_drift.loc[name, "psi"] > 1.5 * without.loc[name, "psi"], name


def test_no_drift_is_reported_without_planted_drift(unplanted):
    drift = feature_drift(unplanted)
    assert (drift["psi_reading"] == "stable").all(), drift.sort_values("psi").tail(5)[["psi", "psi_reading"]]
    assert drift["psi"].max() < 0.1


@pytest.mark.slow
def test_score_psi_per_scoring_run(scored):
    for home in scored:
        con = duckdb.connect(str(home.build), read_only=True)
        try:
            runs = con.execute("select * from marts.fct_score_drift").df()
            bins = con.execute("select * from marts.fct_score_drift_bins").df()
        finally:
            con.close()
        assert len(runs) == 1 and runs["is_latest_run"].all()
        run = runs.iloc[0]
        assert run["n_reference"] > 0 and run["n_current"] > 0
        # deciles of the training applicants' scores; an isotonic calibration gives few distinct
        # probabilities on small data, so tied deciles may merge bins (empty bins are dropped)
        assert 2 <= len(bins) <= 10 and bins["bin"].between(0, 9).all()
        assert abs(bins["share_reference"].sum() - 1) < 1e-9 and abs(bins["share_current"].sum() - 1) < 1e-9
        # bin b ends at the reference's (b + 1)-th decile: at least (b + 1) / 10 of it up to there
        ordered = bins.sort_values("bin")
        for b, below in zip(ordered["bin"], ordered["share_reference"].cumsum(), strict=True):
            assert below >= (b + 1) / 10 - 1e-9, (b, below)
        assert abs(bins["psi_contribution"].sum() - run["psi"]) < 1e-9
    # both sides are the champion's probability (never the out-of-fold one of its cv rows)
    for home in scored:
        con = duckdb.connect(str(home.build), read_only=True)
        try:
            mart = con.execute(
                "select n_reference, n_current, mean_probability_reference, mean_probability_current "
                "from marts.fct_score_drift"
            ).fetchone()
            champion = con.execute(
                """
                select
                    count(*) filter (where labels.is_train),
                    count(*) filter (where not labels.is_train),
                    avg(scores.champion_probability) filter (where labels.is_train),
                    avg(scores.champion_probability) filter (where not labels.is_train),
                    count(*) filter (where scores.probability_source = 'out_of_fold')
                from scoring.scores as scores
                join marts.feat_applicant_labels as labels using (sk_id_curr)
                """
            ).fetchone()
        finally:
            con.close()
        assert champion[4] > 0  # the scores table does hold out-of-fold probabilities ...
        assert mart[:2] == champion[:2]  # ... but every applicant is compared on the champion's
        assert abs(mart[2] - champion[2]) < 1e-12 and abs(mart[3] - champion[3]) < 1e-12
    # the same champion sees no score drift on new applications generated without drift
    con = duckdb.connect(str(scored[1].build), read_only=True)
    try:
        reading = con.execute("select psi_reading, psi from marts.fct_score_drift").fetchone()
    finally:
        con.close()
    assert reading[1] < 0.1 and reading[0] == "stable", reading
