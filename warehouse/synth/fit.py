"""Learn the generator's compact statistics from the real sample (maintainers only).

``python -m warehouse fit-synth --real DIR`` reads the real Kaggle sample and writes
``warehouse/synth/stats.json``: per-column quantiles / category shares / missing rates, latent
correlation matrices, per-applicant row-count distributions and the application risk direction.
No row of the sample is stored. History tables are fitted only over the applicants that
``coverage.csv`` marks as complete for them.

The default process ("risk": the behaviour score's centres, spreads and weights, and the
constants a, b, c0) is then calibrated on data generated from those statistics, not on real rows
(see ``risk_constants``). ``fit-synth --risk-only`` redoes only that step, leaving the fitted
marginals and correlations untouched; with ``--real DIR`` it also refits the application risk
direction."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from warehouse.errors import UserError
from warehouse.schema import load_schema
from warehouse.synth import copula

log = logging.getLogger(__name__)

STATS_PATH = Path(__file__).with_name("stats.json")
SENTINEL = 365243.0

# The synthetic default process (see generate.py): p = expit(c0 + a * u_app + b * s), s the
# behaviour score computed from the generated history rows.
DEFAULT_RATE = 0.0807
ORACLE_AUC = 0.83  # AUC of the true p against TARGET
APP_ORACLE_AUC = 0.775  # AUC of E[p | application] (what application columns can reach)
CALIBRATION_APPLICANTS = 60_000  # generated to calibrate the behaviour score and the constants
CALIBRATION_SEED = 7
# The application risk direction (fit_risk_direction): L1 strength and cap of the normal scores.
RISK_L1_C = 0.03
RISK_SCORE_CAP = 2.0

# Conditional marginals: child column -> parent column, per table.
APP_CONDITIONS: dict[str, str | list[str]] = {
    "DAYS_EMPLOYED": "DAYS_BIRTH#bins",
    "ORGANIZATION_TYPE": "DAYS_EMPLOYED",
    "NAME_INCOME_TYPE": "DAYS_EMPLOYED",
    "FLAG_EMP_PHONE": "DAYS_EMPLOYED",
    "OCCUPATION_TYPE": "DAYS_EMPLOYED",
    "OWN_CAR_AGE": "FLAG_OWN_CAR",
    "CNT_FAM_MEMBERS": "CNT_CHILDREN",
    "REGION_RATING_CLIENT_W_CITY": "REGION_RATING_CLIENT",
    "AMT_GOODS_PRICE": "NAME_CONTRACT_TYPE",
    "AMT_ANNUITY": "NAME_CONTRACT_TYPE",
    "LIVE_REGION_NOT_WORK_REGION": "REG_REGION_NOT_WORK_REGION",
    "LIVE_CITY_NOT_WORK_CITY": "REG_CITY_NOT_WORK_CITY",
    "FLAG_DOCUMENT_6": ["FLAG_DOCUMENT_3", "DAYS_EMPLOYED"],
    "FLAG_DOCUMENT_8": "FLAG_DOCUMENT_3",
    "REG_REGION_NOT_WORK_REGION": "REG_REGION_NOT_LIVE_REGION",
    "REG_CITY_NOT_WORK_CITY": "REG_CITY_NOT_LIVE_CITY",
}
# near-duplicate columns that follow a parent row by row: child -> (parent, 'diff' | 'ratio')
APP_DERIVED = {
    f"{b}_{s}": (f"{b}_AVG", "diff")
    for b in ("YEARS_BEGINEXPLUATATION", "YEARS_BUILD")
    for s in ("MODE", "MEDI")
}
APP_DERIVED["AMT_GOODS_PRICE"] = ("AMT_CREDIT", "ratio")
BUREAU_CONDITIONS = {
    "DAYS_ENDDATE_FACT": "CREDIT_ACTIVE",
    "AMT_CREDIT_SUM_DEBT": "CREDIT_ACTIVE",
    "CREDIT_DAY_OVERDUE": "CREDIT_ACTIVE",
    "DAYS_CREDIT_ENDDATE": "CREDIT_ACTIVE",
    "AMT_CREDIT_SUM_LIMIT": "CREDIT_TYPE",
}
PREV_DERIVED = [
    "DAYS_FIRST_DRAWING",
    "DAYS_FIRST_DUE",
    "DAYS_LAST_DUE_1ST_VERSION",
    "DAYS_LAST_DUE",
    "DAYS_TERMINATION",
]
PREV_KEY = "_TYPE_STATUS"  # virtual column: contract type | contract status
CC_STRUCTURAL = ["NAME_CONTRACT_STATUS", "SK_DPD", "SK_DPD_DEF", "CNT_INSTALMENT_MATURE_CUM"]


def _read(real: Path, stem: str) -> pd.DataFrame:
    path = real / f"{stem}.csv"
    if not path.exists():
        raise UserError(f"{path} not found: --real must be a folder with the Kaggle files and coverage.csv")
    return pd.read_csv(path, low_memory=False)


def _pmf(counts: np.ndarray, cap: int) -> list[float]:
    hist = np.bincount(np.minimum(counts, cap), minlength=cap + 1).astype(float)
    return [round(float(v), 6) for v in hist / hist.sum()]


def _fit_columns(
    frame: pd.DataFrame,
    names: list[str],
    target: np.ndarray | None,
    types: dict[str, str],
    conditions: dict[str, str | list[str]],
    fills: dict[str, float] | None = None,
    derived: dict[str, tuple[str, str]] | None = None,
) -> list[copula.ColumnSpec]:
    fills = fills or {}
    specs = []
    for name in names:
        kind = None
        if types.get(name) == "VARCHAR" or frame[name].dtype == object:
            kind = "cat"
        spec = copula.fit_column(name, frame[name], target=target, fill=fills.get(name), kind=kind)
        specs.append(spec)
    by_name = {s["name"]: s for s in specs}
    for child, parent in conditions.items():
        refs = [parent] if isinstance(parent, str) else parent
        parents = [r.partition("#")[0] for r in refs]
        pspecs = [by_name[p] for p in parents]
        pvalues = [copula.encode_column(frame[p], by_name[p]) for p in parents]
        binned = [r.endswith("#bins") for r in refs]
        copula.add_condition(by_name[child], frame[child], pspecs, pvalues, binned)
    for child, (parent, op) in (derived or {}).items():
        copula.add_derivation(by_name[child], frame[child], by_name[parent], frame[parent], op)
    return specs


def _weighted_auc(score: np.ndarray, p: np.ndarray) -> float:
    """Expected AUC of ``score`` when each row defaults with probability ``p`` (no draw noise)."""
    both = np.concatenate([score, score])
    labels = np.r_[np.ones(score.size), np.zeros(score.size)]
    return float(roc_auc_score(labels, both, sample_weight=np.concatenate([p, 1 - p])))


def risk_constants() -> dict[str, Any]:
    """The default process of the generator, calibrated on its own output (no real rows needed).

    Generates ``CALIBRATION_APPLICANTS`` applicants (their history included) with the current
    statistics, then: each behaviour signal's centre (the population value) and spread; the
    weights that make the behaviour score the best non-negative linear predictor of u_hist from
    the signals (what the history shows of the behavioural risk), scaled to unit variance; and
    a, b, c0 so that mean p ~ DEFAULT_RATE, AUC(p) ~ ORACLE_AUC and AUC(u_app) ~ APP_ORACLE_AUC
    (expected AUCs, weighting each applicant by p and 1 - p, so there is no draw noise).
    """
    from scipy.optimize import nnls

    from warehouse.synth import generate as gen  # the generator imports this module's constants

    chunks = -(-CALIBRATION_APPLICANTS // gen.CHUNK)
    parts = [gen._chunk_rows(i, gen.CHUNK, CALIBRATION_SEED, "none")[1] for i in range(chunks)]
    u_app = np.concatenate([q["u_app"] for q in parts])
    u_hist = np.concatenate([q["u_hist"] for q in parts])
    mean = np.vstack([q["signal_mean"] for q in parts])
    rows = np.vstack([q["signal_rows"] for q in parts])
    center = (rows * gen.signal_values(mean)).sum(axis=0) / np.maximum(rows.sum(axis=0), 1)
    spread = gen.shrunk_signals(mean, rows, center).std(axis=0)
    behaviour = {
        "signals": [name for name, _, _ in gen.BEHAVIOUR_SIGNALS],
        "center": [float(v) for v in copula._round_sig(center)],
        "sd": [float(v) for v in copula._round_sig(spread)],
        "weight": [1.0] * len(gen.BEHAVIOUR_SIGNALS),
    }
    evidence = gen.behaviour_evidence(mean, rows, behaviour)
    evidence_c = evidence - evidence.mean(axis=0)
    weight, _ = nnls(evidence_c, u_hist - u_hist.mean())
    weight /= (evidence @ weight).std()
    behaviour["weight"] = [round(float(w), 4) for w in weight]
    score = gen.behaviour_score(mean, rows, behaviour)
    r2 = np.corrcoef(score, u_hist)[0, 1] ** 2
    log.info(
        "behaviour score: R2 with u_hist %.3f, weights %s",
        r2,
        dict(zip(behaviour["signals"], behaviour["weight"], strict=True)),
    )

    def solve_c0(a: float, b: float) -> float:
        lo, hi = -8.0, 2.0
        for _ in range(40):
            mid = (lo + hi) / 2
            if expit(mid + a * u_app + b * score).mean() > DEFAULT_RATE:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    def aucs(a: float, b: float) -> tuple[float, float, float]:
        c0 = solve_c0(a, b)
        p = expit(c0 + a * u_app + b * score)
        # u_app and the history are independent: E[p | application] is monotone in u_app
        return _weighted_auc(p, p), _weighted_auc(u_app, p), c0

    a, b = 1.0, 0.8
    for _ in range(30):
        auc, auc_app, _ = aucs(a, b)
        a *= np.exp(2.0 * (APP_ORACLE_AUC - auc_app))
        b *= np.exp(4.0 * (ORACLE_AUC - auc))
    auc, auc_app, c0 = aucs(a, b)
    log.info(
        "risk constants: a=%.3f b=%.3f c0=%.3f (oracle AUC %.3f, application %.3f)", a, b, c0, auc, auc_app
    )
    return {"a": round(a, 4), "b": round(b, 4), "c0": round(c0, 4), "behaviour": behaviour}


def fit_application(real: Path) -> dict[str, Any]:
    schema = load_schema().table("application_train")
    types = {c.name: c.type for c in schema.columns}
    train = _read(real, "application_train")
    target = train["TARGET"].to_numpy(dtype=float)
    names = [c for c in schema.column_names if c not in ("SK_ID_CURR", "TARGET")]
    log.info("application: fitting %d columns on %d rows", len(names), len(train))
    specs = _fit_columns(
        train, names, target, types, APP_CONDITIONS, fills={"DAYS_EMPLOYED": SENTINEL}, derived=APP_DERIVED
    )
    table = copula.fit_table(train, specs, iterations=8, n_sim=60_000, log=log.info)
    table["risk"] = fit_risk_direction(train, specs)
    return table


def fit_risk_direction(train: pd.DataFrame, specs: list[copula.ColumnSpec]) -> dict[str, Any]:
    """The application risk direction: a sparse linear predictor of TARGET from the fields' normal
    scores (capped at +-RISK_SCORE_CAP), L1-penalised so that only the latents with a clear signal
    in the real sample carry it (about 45 of 185)."""
    target = train["TARGET"].to_numpy(dtype=float)
    encoded = {s["name"]: copula.encode_column(train[s["name"]], s) for s in specs}
    feats = np.clip(np.nan_to_num(copula.score_matrix(specs, encoded)), -RISK_SCORE_CAP, RISK_SCORE_CAP)
    model = LogisticRegression(C=RISK_L1_C, l1_ratio=1.0, solver="liblinear", max_iter=5000, random_state=0)
    model.fit(feats, target)
    lin = feats @ model.coef_[0]
    log.info(
        "application risk: %d latents, in-sample AUC %.3f",
        int(np.count_nonzero(model.coef_[0])),
        roc_auc_score(target, lin),
    )
    return {
        "coef": [round(float(v), 5) for v in model.coef_[0]],
        "mean": float(lin.mean()),
        "sd": float(lin.std()),
        "cap": RISK_SCORE_CAP,
    }


def fit_history(real: Path) -> dict[str, Any]:
    schema = load_schema()
    cov = _read(real, "coverage")
    train = _read(real, "application_train")[["SK_ID_CURR", "TARGET"]]
    target_of = train.set_index("SK_ID_CURR")["TARGET"]
    out: dict[str, Any] = {}

    def tgt(frame: pd.DataFrame) -> np.ndarray:
        return frame["SK_ID_CURR"].map(target_of).to_numpy(dtype=float)

    # bureau
    ids = cov.loc[cov["bureau_complete"], "SK_ID_CURR"]
    bureau = _read(real, "bureau")
    bureau = bureau[bureau["SK_ID_CURR"].isin(ids)].reset_index(drop=True)
    counts = bureau.groupby("SK_ID_CURR").size().reindex(ids, fill_value=0).to_numpy()
    btab = load_schema().table("bureau")
    names = [c for c in btab.column_names if c not in ("SK_ID_CURR", "SK_ID_BUREAU")]
    log.info("bureau: %d rows", len(bureau))
    specs = _fit_columns(
        bureau, names, tgt(bureau), {c.name: c.type for c in btab.columns}, BUREAU_CONDITIONS
    )
    out["bureau"] = copula.fit_table(bureau, specs, iterations=3, n_sim=30_000, log=log.info)
    out["bureau"]["counts"] = _pmf(counts, 60)

    # bureau_balance: which credits have monthly rows, last reported month, status mix
    ids = cov.loc[cov["bureau_balance_complete"], "SK_ID_CURR"]
    credits = bureau[bureau["SK_ID_CURR"].isin(ids)]
    bb = _read(real, "bureau_balance")
    bb = bb[bb["SK_ID_BUREAU"].isin(credits["SK_ID_BUREAU"])]
    per = bb.groupby("SK_ID_BUREAU").agg(
        last=("MONTHS_BALANCE", "max"), all_x=("STATUS", lambda s: bool((s == "X").all()))
    )
    recent = credits["DAYS_CREDIT"] >= -96 * 30.44
    share = credits["SK_ID_BUREAU"].isin(per.index)
    status = bb["STATUS"].value_counts(normalize=True)
    out["bureau_balance"] = {
        "share_recent": round(float(share[recent].mean()), 4),
        "share_old": round(float(share[~recent].mean()), 4) if (~recent).any() else 0.0,
        "last_month": _pmf((-per["last"]).to_numpy(dtype=int), 96),
        "all_x": round(float(per["all_x"].mean()), 4),
        "status": {k: round(float(v), 6) for k, v in status.items()},
    }

    # previous_application: a virtual contract-type|status column drives the rest
    ids = cov.loc[cov["previous_application_complete"], "SK_ID_CURR"]
    prev = _read(real, "previous_application")
    prev = prev[prev["SK_ID_CURR"].isin(ids)].reset_index(drop=True)
    counts = prev.groupby("SK_ID_CURR").size().reindex(ids, fill_value=0).to_numpy()
    prev[PREV_KEY] = prev["NAME_CONTRACT_TYPE"].astype(str) + "|" + prev["NAME_CONTRACT_STATUS"].astype(str)
    ptab = schema.table("previous_application")
    types = {c.name: c.type for c in ptab.columns} | {PREV_KEY: "VARCHAR"}
    names = [PREV_KEY] + [
        c for c in ptab.column_names if c not in ("SK_ID_PREV", "SK_ID_CURR", *PREV_DERIVED)
    ]
    log.info("previous_application: %d rows", len(prev))
    conds = {c: PREV_KEY for c in names if c != PREV_KEY}
    specs = _fit_columns(prev, names, tgt(prev), types, conds)
    out["previous_application"] = copula.fit_table(prev, specs, iterations=3, n_sim=30_000, log=log.info)
    out["previous_application"]["counts"] = _pmf(counts, 60)
    approved = prev[(prev["NAME_CONTRACT_STATUS"] == "Approved") & (prev["DAYS_FIRST_DUE"] < SENTINEL)]
    lag = (approved["DAYS_FIRST_DUE"] - approved["DAYS_DECISION"]).clip(0, 400)
    out["previous_application"]["first_due_lag"] = copula._round_sig(np.quantile(lag, np.linspace(0, 1, 65)))
    # how much of the planned term a finished loan ran, per contract type
    done = approved[(approved["DAYS_LAST_DUE"] < SENTINEL) & (approved["CNT_PAYMENT"] > 1)]
    frac = (done["DAYS_LAST_DUE"] - done["DAYS_FIRST_DUE"]) / (
        done["DAYS_LAST_DUE_1ST_VERSION"] - done["DAYS_FIRST_DUE"]
    )
    ok = np.isfinite(frac)
    out["previous_application"]["term_fraction"] = {
        ctype: copula._round_sig(
            np.quantile(frac[ok & (done["NAME_CONTRACT_TYPE"] == ctype)].clip(0, 1), np.linspace(0, 1, 33))
        )
        for ctype in ("Cash loans", "Consumer loans")
    }

    # credit_card_balance: months per card and a per-row copula of the amounts
    ids = cov.loc[cov["credit_card_complete"], "SK_ID_CURR"]
    cc = _read(real, "credit_card_balance")
    cc = cc[cc["SK_ID_CURR"].isin(ids)].reset_index(drop=True)
    months = cc.groupby("SK_ID_PREV").size().to_numpy()
    ctab = schema.table("credit_card_balance")
    names = [
        c
        for c in ctab.column_names
        if c not in ("SK_ID_PREV", "SK_ID_CURR", "MONTHS_BALANCE", *CC_STRUCTURAL)
    ]
    log.info("credit_card_balance: %d rows", len(cc))
    specs = _fit_columns(cc, names, tgt(cc), {c.name: c.type for c in ctab.columns}, {})
    out["credit_card_balance"] = copula.fit_table(cc, specs, iterations=2, n_sim=30_000, log=log.info)
    out["credit_card_balance"]["months"] = _pmf(months, 120)
    out["credit_card_balance"]["holder_share"] = round(float(cc["SK_ID_CURR"].nunique() / len(ids)), 4)
    return out


def _write(stats: dict[str, Any]) -> None:
    text = json.dumps(stats, separators=(",", ":"), allow_nan=False)
    STATS_PATH.write_text(text, encoding="utf-8")
    log.info("wrote %s (%.0f kB)", STATS_PATH, len(text) / 1024)


def calibrate_risk(real: Path | None = None) -> Path:
    """Recalibrate only the default process on the generator's own output ("risk" in ``stats.json``),
    leaving every fitted marginal and correlation as it is (``fit-synth --risk-only``); with
    ``real``, refit the application risk direction on its application_train first."""
    from warehouse.synth.generate import load_stats

    if not STATS_PATH.exists():
        raise UserError(f"{STATS_PATH} is missing: run `python -m warehouse fit-synth --real DIR` first")
    stats = json.loads(STATS_PATH.read_text(encoding="utf-8"))
    if real is not None:
        train = _read(Path(real), "application_train")
        stats["application"]["risk"] = fit_risk_direction(train, stats["application"]["columns"])
        _write(stats)
    load_stats.cache_clear()
    stats["risk"] = risk_constants()
    _write(stats)
    load_stats.cache_clear()
    return STATS_PATH


def fit(real: Path, risk_only: bool = False) -> Path:
    """Fit every table's statistics on the real sample in ``real`` and write ``stats.json``; then
    calibrate the default process on data generated from them (see ``risk_constants``)."""
    if risk_only:
        return calibrate_risk(real)
    real = Path(real)
    if not (real / "coverage.csv").exists():
        raise UserError(f"{real}/coverage.csv not found: --real must point at the real Home Credit sample")
    stats: dict[str, Any] = {"version": 1, "source": "Home Credit real sample (summary statistics only)"}
    stats["application"] = fit_application(real)
    stats["risk"] = {}  # calibrated below, on data generated from the fitted statistics
    stats.update(fit_history(real))
    _write(stats)
    return calibrate_risk()
