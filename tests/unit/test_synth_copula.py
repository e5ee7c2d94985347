"""The Gaussian-copula table model: marginals, missingness, conditionals and correlations survive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from warehouse.synth import copula


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 6000
    z = rng.multivariate_normal([0, 0, 0], [[1, 0.8, -0.5], [0.8, 1, -0.4], [-0.5, -0.4, 1]], n)
    income = np.round(np.exp(11.5 + 0.5 * z[:, 0]), -2)
    credit = np.where(rng.random(n) < 0.1, np.nan, np.round(income * 3 + 20000 * z[:, 1], 1))
    kids = np.clip(np.floor(z[:, 2] + 0.7), 0, 4)
    family = kids + np.where(rng.random(n) < 0.7, 2, 1)
    kind = np.where(z[:, 0] > 0.8, "Revolving loans", "Cash loans")
    return pd.DataFrame({"INCOME": income, "CREDIT": credit, "KIDS": kids, "FAMILY": family, "TYPE": kind})


@pytest.fixture(scope="module")
def table(frame: pd.DataFrame) -> dict:
    specs = [copula.fit_column(c, frame[c]) for c in frame.columns]
    by = {s["name"]: s for s in specs}
    copula.add_condition(
        by["FAMILY"], frame["FAMILY"], [by["KIDS"]], [copula.encode_column(frame["KIDS"], by["KIDS"])]
    )
    fitted = copula.fit_table(frame, specs, iterations=3, n_sim=20_000)
    return copula.prepare(fitted)


@pytest.fixture(scope="module")
def synth(table: dict) -> dict[str, np.ndarray]:
    z = copula.sample_latent(table, 20_000, np.random.default_rng(1))
    return copula.decode(table, z)


def test_kinds_and_presence(table: dict) -> None:
    kinds = {c["name"]: c["kind"] for c in table["columns"]}
    assert kinds == {"INCOME": "cont", "CREDIT": "cont", "KIDS": "disc", "FAMILY": "disc", "TYPE": "cat"}
    assert [c["name"] for c in table["columns"] if c["presence"]] == ["CREDIT"]


def test_marginals_and_missing_rate(frame: pd.DataFrame, synth: dict[str, np.ndarray]) -> None:
    from scipy.stats import ks_2samp

    assert abs(np.isnan(synth["CREDIT"]).mean() - frame["CREDIT"].isna().mean()) < 0.02
    for name in ("INCOME", "CREDIT"):
        real = frame[name].dropna().to_numpy()
        assert ks_2samp(real, synth[name][~np.isnan(synth[name])]).statistic < 0.03
    real_kids = frame["KIDS"].value_counts(normalize=True).sort_index().to_numpy()
    synth_kids = pd.Series(synth["KIDS"]).value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(synth_kids, real_kids, atol=0.02)


def test_conditional_column_keeps_structure(synth: dict[str, np.ndarray]) -> None:
    extra = synth["FAMILY"] - synth["KIDS"]
    # family = children + 1 or 2, as in the real rows (rare parent values fall back to the marginal)
    assert np.isin(extra, [1.0, 2.0]).mean() > 0.99
    assert 0.6 < (extra == 2).mean() < 0.8


def test_correlations_survive(frame: pd.DataFrame, synth: dict[str, np.ndarray], table: dict) -> None:
    real = frame[["INCOME", "CREDIT", "KIDS"]].corr()
    fake = pd.DataFrame({k: synth[k] for k in ("INCOME", "CREDIT", "KIDS")}).corr()
    assert (real - fake).abs().to_numpy().max() < 0.06
    revolving = table["columns"][table["names"]["TYPE"]]["values"].index("Revolving loans")
    high_income = synth["INCOME"] > np.quantile(synth["INCOME"], 0.8)
    assert (synth["TYPE"][high_income] == revolving).mean() > 3 * (
        synth["TYPE"][~high_income] == revolving
    ).mean()


def test_pairwise_corr_matches_pandas() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 4))
    x[:, 1] += x[:, 0]
    x[rng.random((500, 4)) < 0.2] = np.nan
    expected = pd.DataFrame(x).corr().to_numpy()
    np.testing.assert_allclose(copula.pairwise_corr(x), expected, atol=1e-9)


def test_nearest_corr_is_a_valid_correlation_matrix() -> None:
    bad = np.array([[1, 0.99, -0.99], [0.99, 1, 0.99], [-0.99, 0.99, 1]])
    fixed = copula.nearest_corr(bad)
    assert np.allclose(np.diag(fixed), 1)
    assert np.linalg.eigvalsh(fixed).min() > 0
