"""Synthetic Home Credit data in the exact Kaggle format, at any scale, from ``stats.json`` alone.

``python -m warehouse generate --applicants N --seed S --out DIR [--format parquet] [--drift none]``
writes application_train, application_test, bureau, bureau_balance, previous_application,
POS_CASH_balance, installments_payments and credit_card_balance (``.csv`` or ``.parquet``), plus
``_oracle.csv`` (SK_ID_CURR, PD: the true default probability each applicant's TARGET was drawn
from; test applicants included).

How the data come about
- Applicants are generated in fixed-size chunks (``CHUNK`` applicants), each with its own random
  stream spawned from ``numpy.random.SeedSequence(seed)``, so the output depends only on the seed
  and N. Chunks are written one by one (pyarrow writers), so memory stays flat at any N.
- Application fields come from a Gaussian copula (see ``copula.py``). The application risk
  ``u_app`` is a standardised sparse linear predictor of TARGET from the fields' normal scores
  (capped at +-2), learned on the real sample with an L1 penalty: about 45 of the 185 latents
  carry it (real-sample cross-validated AUC 0.754, as with all 185).
- A behavioural risk ``u_hist`` (independent of the fields) drives the history tables, and shows
  there only noisily: bureau overdue days/amounts and bureau_balance STATUS 1-5 episodes, refused
  previous applications, POS_CASH days past due, late (DAYS_ENTRY_PAYMENT > DAYS_INSTALMENT) and
  short (AMT_PAYMENT < AMT_INSTALMENT) instalment payments, card utilisation (balance / limit)
  and card days past due.
- TARGET is drawn last, from what the data show. Once a chunk's history rows exist, each
  applicant's behaviour signals are computed from them exactly as the feature mart computes its
  columns of the same names (``BEHAVIOUR_SIGNALS``: share of late instalment payments, of POS
  and card months past due, of bureau_balance months 1-5 per credit, of credits overdue, the
  largest overdue amounts, the share of refused applications, card utilisation). Each mean is
  shrunk towards the population's by a pseudo-count of rows (one late month out of one shows
  little), put in population standard deviations and capped at +-3; the behaviour score ``s``
  is their weighted sum, the weights making it the best non-negative linear predictor of
  ``u_hist`` (it recovers about half of its variance; 0 for an applicant without history).
  PD = ``expit(c0 + a*u_app + b*s)``: about 8.1% defaults, an oracle AUC near 0.83 and an
  application-only ceiling near 0.775. The oracle is a function of the written rows alone, so a
  model can reach it in principle (it loses only what it fails to learn from finite data).
  Constants, centres, spreads and weights live in ``stats.json`` ("risk"), calibrated on the
  generator's own output by ``python -m warehouse fit-synth --risk-only`` (see ``fit.py``).
  The uniform draw that decides TARGET is taken with the application fields, so the history rows
  do not depend on the default process.
- History tables are consistent: bureau_balance rows belong to SK_ID_BUREAU of bureau; POS_CASH
  and installments rows belong to the applicant's approved cash/consumer previous applications,
  credit_card_balance rows (and version-0 card instalments) to an approved revolving one; months
  run back from the month of the decision, instalments are numbered 1..k about 30 days apart from
  DAYS_FIRST_DUE, and the previous application's dates (DAYS_FIRST_DUE, DAYS_LAST_DUE_1ST_VERSION
  = first due + 30 * (CNT_PAYMENT - 1), DAYS_LAST_DUE, DAYS_TERMINATION, 365243 while running)
  agree with them.

Drift (``drift="default"``): application_test differs from application_train the way the real
Kaggle test file does, so drift monitoring has something real to find:
1. contract-type mix: about 1% revolving loans in test against about 9.5% in train;
2. income level: AMT_INCOME_TOTAL about 6% higher in test;
3. credit size: AMT_CREDIT, AMT_GOODS_PRICE and AMT_ANNUITY about 12% lower in test.
The shifts are applied to the latent scores of those columns, so every relationship (and the
oracle PD) stays consistent. ``drift="none"`` draws train and test from the same distribution.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.special import expit

from warehouse.errors import UserError
from warehouse.schema import load_schema
from warehouse.synth import copula
from warehouse.synth.fit import PREV_KEY, SENTINEL, STATS_PATH

log = logging.getLogger(__name__)

CHUNK = 20_000  # applicants per chunk: fixed, so output depends only on seed and N
TEST_SHARE = 48_744 / 356_255
FIRST_ID = 100_001
FIRST_BUREAU_ID = 5_000_000
FIRST_PREV_ID = 1_000_000
DAYS_PER_MONTH = 30.4375
LOOKBACK_MONTHS = 96

# drift of application_test, in latent standard deviations (see the module docstring)
DRIFT_SHIFTS = {
    "NAME_CONTRACT_TYPE": 1.0,
    "AMT_INCOME_TOTAL": 0.12,
    "AMT_CREDIT": -0.2,
    "AMT_GOODS_PRICE": -0.2,
    "AMT_ANNUITY": -0.2,
}

# behaviour: how strongly u_hist moves each history signal
BUREAU_OVERDUE_SHIFT = 0.9
PREV_STATUS_SHIFT = 0.45
CARD_UTILISATION_SHIFT = 0.6
CARD_HOLDER_SHARE = 0.29
LATE = (-3.2, 1.1)  # logit of a late instalment: intercept, slope in u_hist
SHORT = (-3.6, 1.0)  # logit of an underpaid instalment
POS_EPISODE = (-3.0, 1.1)  # logit of a days-past-due episode per POS loan
BB_EPISODE = (-2.8, 1.0)  # per bureau credit with monthly rows
CC_EPISODE = (-2.4, 1.1)  # per card
SPLIT_PAYMENT = 0.24  # share of instalments paid in two rows

# What the history shows (see the module docstring): per signal, the feature mart's column of the
# same name, the pseudo-count of rows that shrinks an applicant's mean towards the population's,
# and the scale the mean is compared on. Centres, spreads and weights are in stats.json ("risk").
# Underpaid instalment rows are not a signal: a payment split in two rows looks underpaid twice.
BEHAVIOUR_SIGNALS = (
    ("inst_late_payment_share", 10.0, "share"),  # payments after the due date, per payment row
    ("pos_is_late_share", 10.0, "share"),  # POS / cash months with days past due
    ("bureau_bb_dpd_month_share_mean", 2.0, "share"),  # bureau_balance months 1-5, mean over credits
    ("bureau_is_overdue_share", 3.0, "share"),  # bureau credits overdue at the application
    ("bureau_amt_credit_max_overdue_mean", 3.0, "log1p"),  # largest overdue amount, mean over credits
    ("prev_is_refused_share", 3.0, "share"),  # refused previous applications
    ("cc_is_late_share", 10.0, "share"),  # card months with days past due
    ("cc_utilisation_mean", 10.0, "share"),  # card balance / limit
)
SIGNAL_INDEX = {name: i for i, (name, _, _) in enumerate(BEHAVIOUR_SIGNALS)}
EVIDENCE_CAP = 3.0  # evidence of one signal, in population standard deviations

TABLE_FILES = [
    "application_train",
    "application_test",
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
]

Arrays = dict[str, np.ndarray]


@lru_cache(maxsize=1)
def load_stats() -> dict[str, Any]:
    if not STATS_PATH.exists():
        raise UserError(f"{STATS_PATH} is missing: run `python -m warehouse fit-synth --real DIR` first")
    stats = json.loads(STATS_PATH.read_text(encoding="utf-8"))
    for name in ("application", "bureau", "previous_application", "credit_card_balance"):
        stats[name] = copula.prepare(stats[name])
        stats[name]["index"] = {k: i for i, k in enumerate(copula.latent_layout(stats[name]["columns"]))}
    return stats


def _col(table: dict[str, Any], name: str) -> dict[str, Any]:
    return table["columns"][table["names"][name]]


def _code(table: dict[str, Any], name: str, label: str) -> float:
    return float(_col(table, name)["values"].index(label))


def _labels(table: dict[str, Any], name: str, codes: np.ndarray) -> np.ndarray:
    """Category codes -> object array of labels (None when missing)."""
    values = np.asarray(_col(table, name)["values"] + [None], dtype=object)
    idx = np.where(np.isnan(codes), len(values) - 1, np.nan_to_num(codes)).astype(np.int64)
    return values[idx]


def _pmf_draw(rng: np.random.Generator, pmf: list[float], size: int) -> np.ndarray:
    cum = np.cumsum(pmf)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(size), side="right"), len(pmf) - 1)


def _segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of the given lengths: the run index of each row and the position within its run."""
    lengths = lengths.astype(np.int64)
    owner = np.repeat(np.arange(lengths.size), lengths)
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(owner.size) - starts[owner]
    return owner, pos


def _episodes(
    rng: np.random.Generator,
    run: np.ndarray,
    pos: np.ndarray,
    lengths: np.ndarray,
    risk: np.ndarray,
    logit: tuple[float, float],
    mean_len: float,
) -> np.ndarray:
    """Months into a delinquency episode for each row (-1 outside): one possible episode per run,
    more likely for higher ``risk``; ``pos`` counts months forward in time within the run."""
    n_runs = lengths.size
    has = rng.random(n_runs) < expit(logit[0] + logit[1] * risk)
    start = np.floor(rng.random(n_runs) * lengths).astype(np.int64)
    length = 1 + rng.geometric(1 / mean_len, n_runs) + np.maximum(risk, 0).round().astype(np.int64)
    into = pos - start[run]
    inside = has[run] & (into >= 0) & (into < length[run])
    return np.where(inside, into, -1)


def _shift(z: np.ndarray, column: int, coef: float, risk: np.ndarray) -> None:
    """Move one latent by ``coef * risk`` (risk ~ N(0, 1)), keeping it standard normal so the
    column's marginal stays as fitted."""
    z[:, column] = (z[:, column] + coef * risk) / np.sqrt(1 + coef**2)


# --------------------------------------------------------------------------- application
def _application(
    rng: np.random.Generator, n: int, first_id: int, drift: str
) -> tuple[Arrays, np.ndarray, np.ndarray, np.ndarray]:
    """Application rows (no TARGET yet), the behavioural risk u_hist, the application risk u_app and
    the uniform draw TARGET is decided with once the history shows (see ``_chunk``)."""
    stats = load_stats()
    app = stats["application"]
    index = app["index"]
    z = copula.sample_latent(app, n, rng)
    is_test = rng.random(n) < TEST_SHARE
    u_hist = rng.standard_normal(n)
    target_draw = rng.random(n)
    if drift == "default":
        for name, shift in DRIFT_SHIFTS.items():
            z[is_test, index[(name, "v")]] += shift
    enc = copula.decode(app, z)
    risk = app["risk"]
    feats = np.nan_to_num(copula.score_matrix(app["columns"], enc))
    if risk.get("cap"):
        feats = np.clip(feats, -risk["cap"], risk["cap"])
    u_app = (feats @ np.asarray(risk["coef"]) - risk["mean"]) / risk["sd"]
    out: Arrays = {"SK_ID_CURR": np.arange(first_id, first_id + n, dtype=np.int64)}
    for col in app["columns"]:
        name = col["name"]
        if col["kind"] == "cat":
            out[name] = _labels(app, name, enc[name])
        elif col.get("fill") is not None:
            out[name] = np.where(np.isnan(enc[name]), col["fill"], enc[name])
        else:
            out[name] = enc[name]
    out["_TEST"] = is_test
    return out, u_hist, u_app, target_draw


# --------------------------------------------------------------------------- bureau
def _bureau(rng: np.random.Generator, ids: np.ndarray, u_hist: np.ndarray) -> tuple[Arrays, Arrays]:
    stats = load_stats()
    tab = stats["bureau"]
    counts = _pmf_draw(rng, tab["counts"], ids.size)
    owner = np.repeat(np.arange(ids.size), counts)
    z = copula.sample_latent(tab, owner.size, rng)
    for name in ("CREDIT_DAY_OVERDUE", "AMT_CREDIT_MAX_OVERDUE", "AMT_CREDIT_SUM_OVERDUE"):
        _shift(z, tab["index"][(name, "v")], BUREAU_OVERDUE_SHIFT, u_hist[owner])
    enc = copula.decode(tab, z)
    days_credit = np.minimum(np.nan_to_num(enc["DAYS_CREDIT"], nan=-1000.0), -1)
    enc["DAYS_CREDIT"] = days_credit
    fact = enc["DAYS_ENDDATE_FACT"]
    enc["DAYS_ENDDATE_FACT"] = np.where(np.isnan(fact), np.nan, np.clip(fact, days_credit, 0))
    upd = enc["DAYS_CREDIT_UPDATE"]
    enc["DAYS_CREDIT_UPDATE"] = np.where(np.isnan(upd), np.nan, np.clip(upd, days_credit, 0))
    end = enc["DAYS_CREDIT_ENDDATE"]
    enc["DAYS_CREDIT_ENDDATE"] = np.where(np.isnan(end), np.nan, np.maximum(end, days_credit))
    out: Arrays = {"SK_ID_CURR": ids[owner], "SK_ID_BUREAU": np.arange(owner.size, dtype=np.int64)}
    for col in tab["columns"]:
        name = col["name"]
        out[name] = _labels(tab, name, enc[name]) if col["kind"] == "cat" else enc[name]
    bb = _bureau_balance(rng, enc, u_hist[owner], tab)
    return out, bb


def _bureau_balance(rng: np.random.Generator, enc: Arrays, risk: np.ndarray, tab: dict[str, Any]) -> Arrays:
    params = load_stats()["bureau_balance"]
    days_credit = enc["DAYS_CREDIT"]
    recent = days_credit >= -LOOKBACK_MONTHS * DAYS_PER_MONTH
    has = rng.random(days_credit.size) < np.where(recent, params["share_recent"], params["share_old"])
    credits = np.flatnonzero(has)
    first = np.maximum(np.round(days_credit[credits] / DAYS_PER_MONTH + 0.46), -LOOKBACK_MONTHS)
    last = np.maximum(-_pmf_draw(rng, params["last_month"], credits.size), first)
    lengths = (last - first + 1).astype(np.int64)
    run, pos = _segments(lengths)
    months = (last[run] - pos).astype(np.int64)  # descending, as in the Kaggle file
    closed = enc["CREDIT_ACTIVE"][credits] != _code(tab, "CREDIT_ACTIVE", "Active")
    fact = enc["DAYS_ENDDATE_FACT"][credits]
    close_month = np.where(closed & ~np.isnan(fact), np.round(np.nan_to_num(fact) / DAYS_PER_MONTH), np.inf)
    status = np.full(months.size, "0", dtype=object)
    status_share = params["status"]
    x_share = max(status_share.get("X", 0) - params["all_x"], 0)
    p_x = x_share / max(x_share + status_share.get("0", 0), 1e-9)
    status[rng.random(months.size) < p_x] = "X"
    status[months > close_month[run]] = "C"
    forward = lengths[run] - 1 - pos  # months since the first reported month
    into = _episodes(rng, run, forward, lengths, risk[credits], BB_EPISODE, 1.6)
    late = (into >= 0) & (months <= close_month[run])
    status[late] = np.asarray(["1", "2", "3", "4", "5"], dtype=object)[np.minimum(into[late], 4)]
    all_x = rng.random(credits.size) < params["all_x"]
    status[all_x[run]] = "X"
    return {"SK_ID_BUREAU": credits[run].astype(np.int64), "MONTHS_BALANCE": months, "STATUS": status}


# --------------------------------------------------------------------------- previous applications
def _previous(rng: np.random.Generator, ids: np.ndarray, u_hist: np.ndarray) -> dict[str, Any]:
    stats = load_stats()
    tab = stats["previous_application"]
    key_idx = tab["index"][(PREV_KEY, "v")]
    counts = _pmf_draw(rng, tab["counts"], ids.size)
    owner = np.repeat(np.arange(ids.size), counts)
    z = copula.sample_latent(tab, owner.size, rng)
    _shift(z, key_idx, PREV_STATUS_SHIFT, u_hist[owner])
    enc = copula.decode(tab, z)
    # an applicant with previous applications has (almost always) had an approved loan
    loan_keys = [_code(tab, PREV_KEY, k) for k in ("Consumer loans|Approved", "Cash loans|Approved")]
    has_loan = np.zeros(ids.size, dtype=bool)
    has_loan[owner[np.isin(enc[PREV_KEY], loan_keys)]] = True
    first_row = np.r_[True, owner[1:] != owner[:-1]] if owner.size else np.zeros(0, dtype=bool)
    fix = np.flatnonzero(first_row & ~has_loan[owner] & (rng.random(owner.size) < 0.97))
    if fix.size:
        forced = np.where(rng.random(fix.size) < 0.66, loan_keys[0], loan_keys[1])
        fixed = copula.decode(tab, z[fix], force={PREV_KEY: forced})
        for key in enc:
            enc[key][fix] = fixed[key]
    card_key = _code(tab, PREV_KEY, "Revolving loans|Approved")
    # card holders: applicants with an approved revolving loan, topped up to CARD_HOLDER_SHARE
    has_card = np.zeros(ids.size, dtype=bool)
    has_card[owner[enc[PREV_KEY] == card_key]] = True
    base = has_card.mean() if ids.size else 0.0
    top_up = max(CARD_HOLDER_SHARE - base, 0) / max(1 - base, 1e-9)
    extra = np.flatnonzero(~has_card & (rng.random(ids.size) < top_up))
    if extra.size:
        z2 = copula.sample_latent(tab, extra.size, rng)
        forced = {PREV_KEY: np.full(extra.size, card_key)}
        enc2 = copula.decode(tab, z2, force=forced)
        order = np.argsort(np.concatenate([owner, extra]), kind="stable")
        owner = np.concatenate([owner, extra])[order]
        enc = {k: np.concatenate([enc[k], enc2[k]])[order] for k in enc}
    n = owner.size
    key_labels = _col(tab, PREV_KEY)["values"]
    key_codes = enc[PREV_KEY].astype(np.int64)  # the virtual key is never missing
    ctype = np.asarray([k.split("|")[0] for k in key_labels], dtype=object)[key_codes]
    approved = np.asarray([k.endswith("|Approved") for k in key_labels])[key_codes]
    decision = np.minimum(np.nan_to_num(enc["DAYS_DECISION"], nan=-500.0), -1)
    # the card: the latest approved revolving loan of each holder
    is_card_row = enc[PREV_KEY] == card_key
    card_rows = np.flatnonzero(is_card_row)
    if card_rows.size:
        latest = card_rows[np.lexsort((decision[card_rows], owner[card_rows]))]
        first_of = np.r_[True, owner[latest][1:] != owner[latest][:-1]]
        card_rows = latest[first_of]
    card_months = 1 + _pmf_draw(rng, stats["credit_card_balance"]["months"][1:], card_rows.size)
    decision[card_rows] = np.minimum(
        decision[card_rows], -np.round(card_months * DAYS_PER_MONTH) - rng.integers(1, 30, card_rows.size)
    )
    enc["DAYS_DECISION"] = decision
    dates = _prev_dates(rng, enc, ctype, approved, decision)
    out: Arrays = {"SK_ID_PREV": np.arange(n, dtype=np.int64), "SK_ID_CURR": ids[owner]}
    for col in tab["columns"]:
        name = col["name"]
        if name == PREV_KEY:
            continue
        out[name] = _labels(tab, name, enc[name]) if col["kind"] == "cat" else enc[name]
    out.update(dates)
    return {
        "table": out,
        "owner": owner,
        "ctype": ctype,
        "approved": approved,
        "card_rows": card_rows,
        "card_months": card_months,
    }


def _prev_dates(
    rng: np.random.Generator, enc: Arrays, ctype: np.ndarray, approved: np.ndarray, decision: np.ndarray
) -> Arrays:
    n = decision.size
    lag_q = np.asarray(load_stats()["previous_application"]["first_due_lag"])
    lag = np.round(np.interp(rng.random(n), np.linspace(0, 1, lag_q.size), lag_q))
    revolving = ctype == "Revolving loans"
    instal = approved & ~revolving
    cnt = np.nan_to_num(enc["CNT_PAYMENT"], nan=12.0)
    cnt = np.where(instal & (cnt < 1), 12.0, cnt)
    enc["CNT_PAYMENT"] = np.where(instal, cnt, enc["CNT_PAYMENT"])
    first_due = decision + lag
    last1 = first_due + 30 * (cnt - 1)
    fractions = load_stats()["previous_application"]["term_fraction"]
    frac = np.ones(n)
    for name, quant in fractions.items():
        mask = ctype == name
        frac[mask] = np.interp(rng.random(int(mask.sum())), np.linspace(0, 1, len(quant)), quant)
    last_due = first_due + np.round(frac * (last1 - first_due))
    running = last_due >= 0
    termination = last_due + rng.integers(1, 12, n)
    out = {
        "DAYS_FIRST_DRAWING": np.where(rng.random(n) < 0.95, SENTINEL, decision + np.minimum(lag, 5)),
        "DAYS_FIRST_DUE": np.where(first_due >= 0, SENTINEL, first_due),
        "DAYS_LAST_DUE_1ST_VERSION": last1,
        "DAYS_LAST_DUE": np.where(running, SENTINEL, last_due),
        "DAYS_TERMINATION": np.where(running | (termination >= 0), SENTINEL, termination),
    }
    # revolving loans: open-ended
    card_used = rng.random(n) < 0.62
    rev_end = decision + np.floor(rng.random(n) * -decision)
    rev = {
        "DAYS_FIRST_DRAWING": np.where(card_used, decision + np.minimum(lag, 10), SENTINEL),
        "DAYS_FIRST_DUE": np.where(card_used, np.minimum(first_due, -1), SENTINEL),
        "DAYS_LAST_DUE_1ST_VERSION": np.full(n, SENTINEL),
        "DAYS_LAST_DUE": np.where(rng.random(n) < 0.74, SENTINEL, rev_end),
        "DAYS_TERMINATION": np.where(rng.random(n) < 0.8, SENTINEL, rev_end),
    }
    return {k: np.where(approved, np.where(revolving, rev[k], out[k]), np.nan) for k in out}


# --------------------------------------------------------------------------- POS_CASH & installments
def _pos_and_installments(
    rng: np.random.Generator, prev: dict[str, Any], ids: np.ndarray, u_hist: np.ndarray
) -> tuple[Arrays, Arrays]:
    table = prev["table"]
    first_due = table["DAYS_FIRST_DUE"]
    loans = np.flatnonzero(prev["approved"] & (prev["ctype"] != "Revolving loans") & (first_due < SENTINEL))
    owner = prev["owner"][loans]
    risk = u_hist[owner]
    decision = table["DAYS_DECISION"][loans]
    fdue = first_due[loans]
    cnt = table["CNT_PAYMENT"][loans].astype(np.int64)
    last_due = table["DAYS_LAST_DUE"][loans]
    end_day = np.where(last_due >= SENTINEL, -1.0, last_due)
    # POS_CASH: one row per month from the decision month to the end (or -1), last 96 months
    start_m = np.maximum(np.floor(decision / DAYS_PER_MONTH), -LOOKBACK_MONTHS)
    end_m = np.clip(np.ceil(end_day / DAYS_PER_MONTH), start_m, -1)
    lengths = (end_m - start_m + 1).astype(np.int64)
    run, pos = _segments(lengths)
    months = (end_m[run] - pos).astype(np.int64)
    fdue_m = np.floor(fdue / DAYS_PER_MONTH)
    paid = np.clip(months - fdue_m[run] + 1, 0, None)
    future = np.clip(cnt[run] - paid, 0, None)
    status = np.full(months.size, "Active", dtype=object)
    finished = last_due[run] < SENTINEL
    status[finished & (pos == 0)] = "Completed"
    status[(pos == lengths[run] - 1) & (rng.random(months.size) < 0.08)] = "Signed"
    forward = lengths[run] - 1 - pos
    into = _episodes(rng, run, forward, lengths, risk, POS_EPISODE, 2.0)
    dpd = np.where(into >= 0, 30 * into + rng.integers(1, 30, months.size), 0)
    small = rng.random(months.size) < expit(-5.0 + 0.9 * risk[run])
    dpd = np.where((dpd == 0) & small, rng.integers(1, 10, months.size), dpd)
    pos_out: Arrays = {
        "SK_ID_PREV": table["SK_ID_PREV"][loans][run],
        "SK_ID_CURR": ids[owner][run],
        "MONTHS_BALANCE": months,
        "CNT_INSTALMENT": cnt[run].astype(float),
        "CNT_INSTALMENT_FUTURE": future.astype(float),
        "NAME_CONTRACT_STATUS": status,
        "SK_DPD": dpd.astype(np.int64),
        "SK_DPD_DEF": np.where(into >= 1, dpd, 0).astype(np.int64),
    }
    # installments: instalments 1..k due about 30 days apart from DAYS_FIRST_DUE, up to today
    last_day = np.where(last_due >= SENTINEL, -1.0, np.minimum(last_due, -1))
    due_count = np.clip(np.floor((last_day - fdue) / 30) + 1, 0, cnt)
    first_i = np.clip(np.ceil((-LOOKBACK_MONTHS * DAYS_PER_MONTH - fdue) / 30), 0, None)
    due_count = np.where(first_i < due_count, due_count - first_i, 0).astype(np.int64)
    irun, ipos = _segments(due_count)
    number = (first_i[irun] + ipos + 1).astype(np.int64)
    days_inst = fdue[irun] + 30 * (number - 1)
    amount = table["AMT_ANNUITY"][loans]
    amount = np.where(np.isnan(amount), table["AMT_CREDIT"][loans] / np.maximum(cnt, 1), amount)
    inst = _payments(
        rng,
        owner[irun],
        table["SK_ID_PREV"][loans][irun],
        ids,
        u_hist,
        number,
        days_inst,
        amount[irun],
        version=np.ones(irun.size),
    )
    return pos_out, inst


def _payments(
    rng: np.random.Generator,
    owner: np.ndarray,
    prev_id: np.ndarray,
    ids: np.ndarray,
    u_hist: np.ndarray,
    number: np.ndarray,
    days_inst: np.ndarray,
    amount: np.ndarray,
    version: np.ndarray,
) -> Arrays:
    """Payment rows for instalments: late and short payments more likely for higher u_hist."""
    n = number.size
    risk = u_hist[owner]
    late = rng.random(n) < expit(LATE[0] + LATE[1] * risk)
    delay = np.where(
        late, np.ceil(rng.exponential(6 + 6 * np.maximum(risk, 0), n)), -np.floor(rng.exponential(9, n))
    )
    short = rng.random(n) < expit(SHORT[0] + SHORT[1] * risk)
    paid = np.round(np.where(short, amount * rng.uniform(0.05, 0.95, n), amount), 3)
    split = rng.random(n) < SPLIT_PAYMENT
    reps = np.where(split, 2, 1)
    row = np.repeat(np.arange(n), reps)
    second = np.r_[False, row[1:] == row[:-1]]
    share = rng.uniform(0.2, 0.8, n)
    part = np.where(split[row], np.where(second, 1 - share[row], share[row]), 1.0)
    entry = np.minimum(days_inst[row] + delay[row] + np.where(second, rng.integers(1, 20, row.size), 0), -1)
    return {
        "SK_ID_PREV": prev_id[row],
        "SK_ID_CURR": ids[owner][row],
        "NUM_INSTALMENT_VERSION": version[row].astype(float),
        "NUM_INSTALMENT_NUMBER": number[row].astype(np.int64),
        "DAYS_INSTALMENT": days_inst[row].astype(float),
        "DAYS_ENTRY_PAYMENT": entry.astype(float),
        "AMT_INSTALMENT": np.round(amount[row], 3),
        "AMT_PAYMENT": np.round(paid[row] * part, 3),
    }


# --------------------------------------------------------------------------- credit cards
def _card_consistency(rng: np.random.Generator, out: Arrays) -> None:
    """Accounting identities of the real card rows (in place).

    Total drawings are the sum of ATM, POS and other drawings (amounts and counts), as in 99.8%
    of real rows where the parts are known; the balance and receivables stay near the limit
    (real rows above 1.2 times the limit: 0.2%; with a zero limit, 99% have no balance).
    """
    for prefix in ("AMT_DRAWINGS", "CNT_DRAWINGS"):
        parts = [out[f"{prefix}_{kind}_CURRENT"] for kind in ("ATM", "POS", "OTHER")]
        known = ~np.isnan(parts[0]) & ~np.isnan(parts[1]) & ~np.isnan(parts[2])
        total = np.asarray(out[f"{prefix}_CURRENT"], dtype=float).copy()
        summed = np.nansum(np.vstack(parts), axis=0)
        total[known] = summed[known]
        total[~known] = np.fmax(total[~known], summed[~known])  # never less than the known parts
        out[f"{prefix}_CURRENT"] = total
    limit = np.asarray(out["AMT_CREDIT_LIMIT_ACTUAL"], dtype=float)
    balance = np.asarray(out["AMT_BALANCE"], dtype=float)
    cap = limit * rng.uniform(0.9, 1.05, limit.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where((limit > 0) & (balance > cap), cap / balance, 1.0)
    factor[(limit <= 0) & (rng.random(limit.size) < 0.99)] = 0.0  # no limit, (almost always) no balance
    for name in ("AMT_BALANCE", "AMT_RECEIVABLE_PRINCIPAL", "AMT_RECIVABLE", "AMT_TOTAL_RECEIVABLE"):
        out[name] = np.asarray(out[name], dtype=float) * factor


def _credit_cards(
    rng: np.random.Generator, prev: dict[str, Any], ids: np.ndarray, u_hist: np.ndarray
) -> tuple[Arrays, Arrays]:
    stats = load_stats()
    tab = stats["credit_card_balance"]
    rows = prev["card_rows"]
    lengths = prev["card_months"].astype(np.int64)
    owner = prev["owner"][rows]
    risk = u_hist[owner]
    run, pos = _segments(lengths)
    months = (-1 - pos).astype(np.int64)
    rho = 0.85
    z_card = copula.sample_latent(tab, rows.size, rng)
    z = np.sqrt(rho) * z_card[run] + np.sqrt(1 - rho) * copula.sample_latent(tab, run.size, rng)
    index = tab["index"]
    for name in (
        "AMT_BALANCE",
        "AMT_RECEIVABLE_PRINCIPAL",
        "AMT_RECIVABLE",
        "AMT_TOTAL_RECEIVABLE",
        "AMT_INST_MIN_REGULARITY",
    ):
        _shift(z, index[(name, "v")], CARD_UTILISATION_SHIFT, risk[run])
    enc = copula.decode(tab, z)
    limit = copula.decode(tab, z_card)["AMT_CREDIT_LIMIT_ACTUAL"]
    enc["AMT_CREDIT_LIMIT_ACTUAL"] = np.nan_to_num(limit[run])
    forward = lengths[run] - 1 - pos
    into = _episodes(rng, run, forward, lengths, risk, CC_EPISODE, 1.5)
    dpd = np.where(into >= 0, 30 * into + rng.integers(1, 30, run.size), 0)
    status = np.full(run.size, "Active", dtype=object)
    status[(pos == 0) & (rng.random(run.size) < 0.06)] = "Completed"
    status[(forward == 0) & (rng.random(run.size) < 0.02)] = "Signed"
    mature_rate = rng.random(rows.size)
    out: Arrays = {
        "SK_ID_PREV": prev["table"]["SK_ID_PREV"][rows][run],
        "SK_ID_CURR": ids[owner][run],
        "MONTHS_BALANCE": months,
    }
    for col in tab["columns"]:
        out[col["name"]] = enc[col["name"]]
    _card_consistency(rng, out)
    out["CNT_INSTALMENT_MATURE_CUM"] = np.floor(forward * mature_rate[run]).astype(float)
    out["NAME_CONTRACT_STATUS"] = status
    out["SK_DPD"] = dpd.astype(np.int64)
    out["SK_DPD_DEF"] = np.where(into >= 1, dpd, 0).astype(np.int64)
    # card instalments (version 0): one per month with a payment
    pay = np.nan_to_num(enc["AMT_PAYMENT_TOTAL_CURRENT"])
    has_pay = pay > 0
    sel = np.flatnonzero(has_pay)
    number = np.zeros(run.size, dtype=np.int64)
    number[sel] = (
        1 + np.cumsum(has_pay)[sel] - np.cumsum(has_pay)[np.r_[0, np.cumsum(lengths)[:-1]]][run[sel]]
    )
    days = months * DAYS_PER_MONTH + rng.integers(-25, 0, run.size)
    minimum = np.maximum(np.nan_to_num(enc["AMT_INST_MIN_REGULARITY"]), 0)
    amount = np.where(minimum > 0, minimum, pay)
    inst = _payments(
        rng,
        owner[run[sel]],
        out["SK_ID_PREV"][sel],
        ids,
        u_hist,
        number[sel],
        np.round(days[sel]),
        amount[sel],
        version=np.zeros(sel.size),
    )
    return out, inst


# --------------------------------------------------------------------------- what the history shows
def behaviour_signals(first_id: int, n: int, tables: dict[str, Arrays]) -> tuple[np.ndarray, np.ndarray]:
    """Per applicant and signal of ``BEHAVIOUR_SIGNALS``: the mean over the applicant's rows (the
    share of late rows, ...; NaN without rows) and the number of rows it is a mean of, (n, k) each.
    Computed from the generated rows exactly as the feature mart computes its columns of the
    same names."""
    out_mean = np.full((n, len(BEHAVIOUR_SIGNALS)), np.nan)
    out_rows = np.zeros((n, len(BEHAVIOUR_SIGNALS)))

    def put(name: str, owner: np.ndarray, values: np.ndarray) -> None:
        ok = ~np.isnan(values)
        rows = np.bincount(owner[ok], minlength=n).astype(float)
        total = np.bincount(owner[ok], weights=values[ok], minlength=n)
        col = SIGNAL_INDEX[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            out_mean[:, col] = np.where(rows > 0, total / rows, np.nan)
        out_rows[:, col] = rows

    inst = tables["installments_payments"]
    inst_owner = inst["SK_ID_CURR"] - first_id
    put(
        "inst_late_payment_share",
        inst_owner,
        (inst["DAYS_ENTRY_PAYMENT"] > inst["DAYS_INSTALMENT"]).astype(float),
    )
    pos = tables["POS_CASH_balance"]
    put("pos_is_late_share", pos["SK_ID_CURR"] - first_id, (pos["SK_DPD"] > 0).astype(float))
    bureau, bb = tables["bureau"], tables["bureau_balance"]
    bureau_owner = bureau["SK_ID_CURR"] - first_id
    late_month = np.isin(bb["STATUS"], ["1", "2", "3", "4", "5"]).astype(float)
    months = np.bincount(bb["SK_ID_BUREAU"], minlength=bureau_owner.size).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        credit_share = (
            np.bincount(bb["SK_ID_BUREAU"], weights=late_month, minlength=bureau_owner.size) / months
        )
    put("bureau_bb_dpd_month_share_mean", bureau_owner, credit_share)
    day_overdue = np.asarray(bureau["CREDIT_DAY_OVERDUE"], dtype=float)
    put("bureau_is_overdue_share", bureau_owner, np.where(np.isnan(day_overdue), np.nan, day_overdue > 0))
    put(
        "bureau_amt_credit_max_overdue_mean",
        bureau_owner,
        np.asarray(bureau["AMT_CREDIT_MAX_OVERDUE"], dtype=float),
    )
    prev = tables["previous_application"]
    put(
        "prev_is_refused_share",
        prev["SK_ID_CURR"] - first_id,
        (prev["NAME_CONTRACT_STATUS"] == "Refused").astype(float),
    )
    cc = tables["credit_card_balance"]
    cc_owner = cc["SK_ID_CURR"] - first_id
    put("cc_is_late_share", cc_owner, (cc["SK_DPD"] > 0).astype(float))
    limit = np.asarray(cc["AMT_CREDIT_LIMIT_ACTUAL"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        put("cc_utilisation_mean", cc_owner, np.where(limit != 0, cc["AMT_BALANCE"] / limit, np.nan))
    return out_mean, out_rows


def signal_values(mean: np.ndarray) -> np.ndarray:
    """Each signal's mean on the scale it is compared on (log1p for amounts), NaN as 0, (n, k)."""
    log = np.asarray([t == "log1p" for _, _, t in BEHAVIOUR_SIGNALS])
    return np.where(log, np.log1p(np.maximum(np.nan_to_num(mean), 0)), np.nan_to_num(mean))


def shrunk_signals(mean: np.ndarray, rows: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Each applicant's signal value shrunk towards ``center`` by the signal's pseudo-count of rows
    (few rows show little; no rows: the centre), (n, k)."""
    pseudo = np.asarray([m for _, m, _ in BEHAVIOUR_SIGNALS])
    return (rows * signal_values(mean) + pseudo * center) / (rows + pseudo)


def behaviour_evidence(mean: np.ndarray, rows: np.ndarray, behaviour: dict[str, Any]) -> np.ndarray:
    """Each signal's evidence, (n, k): the shrunk value (``shrunk_signals``) in population standard
    deviations from the population value, capped at +-EVIDENCE_CAP. Zero without rows."""
    center = np.asarray(behaviour["center"])
    shrunk = shrunk_signals(mean, rows, center)
    return np.clip((shrunk - center) / np.asarray(behaviour["sd"]), -EVIDENCE_CAP, EVIDENCE_CAP)


def behaviour_score(mean: np.ndarray, rows: np.ndarray, behaviour: dict[str, Any]) -> np.ndarray:
    """The observed behaviour score of each applicant: weighted evidence, about N(0, 1) overall."""
    return behaviour_evidence(mean, rows, behaviour) @ np.asarray(behaviour["weight"])


# --------------------------------------------------------------------------- chunks and writing
def _chunk_rows(index: int, n: int, seed: int, drift: str) -> tuple[dict[str, Arrays], dict[str, np.ndarray]]:
    """Every table's rows for applicants [index*CHUNK, index*CHUNK + n) before TARGET is drawn, and
    the latent quantities (u_app, u_hist, the TARGET draw, the behaviour signals)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(index + 1)[index])
    first = FIRST_ID + index * CHUNK
    app, u_hist, u_app, target_draw = _application(rng, n, first, drift)
    ids = app["SK_ID_CURR"]
    bureau, bb = _bureau(rng, ids, u_hist)
    prev = _previous(rng, ids, u_hist)
    pos, inst = _pos_and_installments(rng, prev, ids, u_hist)
    cc, card_inst = _credit_cards(rng, prev, ids, u_hist)
    inst = {k: np.concatenate([inst[k], card_inst[k]]) for k in inst}
    order = np.lexsort((inst["NUM_INSTALMENT_NUMBER"], inst["SK_ID_PREV"], inst["SK_ID_CURR"]))
    inst = {k: v[order] for k, v in inst.items()}
    tables = {
        "application": app,
        "bureau": bureau,
        "bureau_balance": bb,
        "previous_application": prev["table"],
        "POS_CASH_balance": pos,
        "installments_payments": inst,
        "credit_card_balance": cc,
    }
    mean, rows = behaviour_signals(first, n, tables)
    latent = {"u_app": u_app, "u_hist": u_hist, "draw": target_draw, "signal_mean": mean, "signal_rows": rows}
    return tables, latent


def _chunk(args: tuple[int, int, int, str]) -> dict[str, Any]:
    """Every table for applicants [index*CHUNK, index*CHUNK + n): local ids start at 0. TARGET is
    drawn last, from the application risk and what the generated history shows."""
    index, n, seed, drift = args
    tables, latent = _chunk_rows(index, n, seed, drift)
    rc = load_stats()["risk"]
    score = behaviour_score(latent["signal_mean"], latent["signal_rows"], rc["behaviour"])
    pd_true = expit(rc["c0"] + rc["a"] * latent["u_app"] + rc["b"] * score)
    app = tables.pop("application")
    app["TARGET"] = (latent["draw"] < pd_true).astype(np.int64)
    test = app.pop("_TEST")
    tables["application_train"] = {k: v[~test] for k, v in app.items()}
    tables["application_test"] = {k: v[test] for k, v in app.items() if k != "TARGET"}
    tables["_oracle"] = {"SK_ID_CURR": app["SK_ID_CURR"], "PD": np.round(pd_true, 6)}
    return {name: _to_arrow(name, cols) for name, cols in tables.items()}


@lru_cache(maxsize=1)
def _arrow_schemas() -> dict[str, pa.Schema]:
    kinds = {"BIGINT": pa.int64(), "INTEGER": pa.int64(), "DOUBLE": pa.float64(), "VARCHAR": pa.string()}
    schemas = {
        tab.file: pa.schema([(c.name, kinds[c.type]) for c in tab.columns]) for tab in load_schema().tables
    }
    schemas["_oracle"] = pa.schema([("SK_ID_CURR", pa.int64()), ("PD", pa.float64())])
    return schemas


def _to_arrow(name: str, cols: Arrays) -> pa.Table:
    schema = _arrow_schemas()[name]
    arrays = []
    for field in schema:
        values = cols[field.name]
        if pa.types.is_string(field.type):
            arrays.append(pa.array(values, type=pa.string()))
        elif pa.types.is_integer(field.type):
            values = np.asarray(values, dtype=float) if values.dtype.kind == "f" else values
            if values.dtype.kind == "f":
                mask = np.isnan(values)
                arrays.append(pa.array(np.nan_to_num(values).round().astype(np.int64), mask=mask))
            else:
                arrays.append(pa.array(values.astype(np.int64)))
        else:
            values = np.asarray(values, dtype=float)
            arrays.append(pa.array(values, mask=np.isnan(values), type=pa.float64()))
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_bytes(table: pa.Table) -> bytes:
    """Rows as Kaggle writes them: no header, strings unquoted unless they hold a comma."""
    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type):
            col = pc.replace_substring(col, ",", "\x01")
            col = pc.if_else(
                pc.match_substring(col, "\x01"), pc.binary_join_element_wise("\x02", col, "\x02", ""), col
            )
        cols.append(col)
    sink = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    pacsv.write_csv(pa.Table.from_arrays(cols, names=table.column_names), sink, write_options=options)
    data = sink.getvalue()
    if b"\x01" in data:
        data = data.replace(b"\x01", b",").replace(b"\x02", b'"')
    return data


class _Writers:
    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt, self.writers, self.rows = out, fmt, {}, {}

    def write(self, name: str, table: pa.Table) -> None:
        csv = name == "_oracle" or self.fmt == "csv"
        if name not in self.writers:
            path = self.out / f"{name}{'.csv' if csv else '.parquet'}"
            if csv:
                self.writers[name] = path.open("wb")
                self.writers[name].write((",".join(table.column_names) + "\n").encode())
            else:
                self.writers[name] = pq.ParquetWriter(path, table.schema, compression="snappy")
            self.rows[name] = 0
        if csv:
            self.writers[name].write(_csv_bytes(table))
        else:
            self.writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _offset(table: pa.Table, column: str, offset: int) -> pa.Table:
    idx = table.schema.get_field_index(column)
    shifted = pa.array(table.column(idx).to_numpy() + offset, type=pa.int64())
    return table.set_column(idx, column, shifted)


def _chunks(applicants: int, seed: int, drift: str, workers: int) -> Iterator[dict[str, Any]]:
    jobs = [(i, min(CHUNK, applicants - i * CHUNK), seed, drift) for i in range(-(-applicants // CHUNK))]
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _chunk(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = []
        for job in jobs:  # at most `workers + 1` chunks in flight keeps memory bounded
            pending.append(pool.submit(_chunk, job))
            if len(pending) > workers:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()


def generate(
    out: Path,
    applicants: int,
    seed: int = 42,
    fmt: Literal["csv", "parquet"] = "csv",
    drift: Literal["default", "none"] = "default",
    progress: bool = True,
    workers: int | None = None,
) -> dict[str, int]:
    """Write the eight Kaggle files and ``_oracle.csv`` into ``out``; returns rows per file."""
    if applicants < 1:
        raise UserError(f"--applicants must be at least 1 (got {applicants})")
    if fmt not in ("csv", "parquet"):
        raise UserError(f"--format must be csv or parquet (got {fmt!r})")
    if drift not in ("default", "none"):
        raise UserError(f"--drift must be default or none (got {drift!r})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    load_stats()
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if applicants > 2 * CHUNK else 1
    writers = _Writers(out, fmt)
    next_bureau, next_prev = FIRST_BUREAU_ID, FIRST_PREV_ID
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=applicants, unit="applicant", desc="generate", unit_scale=True)
    try:
        for tables in _chunks(applicants, seed, drift, workers):
            n_bureau = tables["bureau"].num_rows
            n_prev = tables["previous_application"].num_rows
            for name in ("bureau", "bureau_balance"):
                tables[name] = _offset(tables[name], "SK_ID_BUREAU", next_bureau)
            for name in (
                "previous_application",
                "POS_CASH_balance",
                "installments_payments",
                "credit_card_balance",
            ):
                tables[name] = _offset(tables[name], "SK_ID_PREV", next_prev)
            next_bureau += n_bureau
            next_prev += n_prev
            for name in [*TABLE_FILES, "_oracle"]:
                writers.write(name, tables[name])
            if bar is not None:
                bar.update(tables["_oracle"].num_rows)
    finally:
        writers.close()
        if bar is not None:
            bar.close()
    log.info("wrote %s", ", ".join(f"{k}: {v:,}" for k, v in writers.rows.items()))
    return dict(writers.rows)
