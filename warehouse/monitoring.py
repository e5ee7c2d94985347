"""Reading what monitoring and the generated documents need from the warehouse (read-only).

Drift inputs (features and the latest score of the training applicants and of the new
applications), the drift marts built by dbt (``fct_feature_drift``, ``fct_score_drift`` and their
bins, in dbt_project/models/marts/monitoring/) and the scoring tables the documents quote. Every
function opens the file read-only and closes it; tables that do not exist yet read as empty frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.errors import UserError

FEATURES = "feat_applicant_features"
LABELS = "feat_applicant_labels"


@contextmanager
def _read(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    if not Path(path).exists():
        raise UserError(f"{path}: no warehouse; run `make pipeline` (load, dbt build, train, score) first")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _relation(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """Qualified name of a table or view, whatever schema dbt put it in (None if absent)."""
    row = con.execute(
        "select schema_name from duckdb_tables() where table_name = ? "
        "union all select schema_name from duckdb_views() where view_name = ? limit 1",
        [name, name],
    ).fetchone()
    return f'"{row[0]}"."{name}"' if row else None


def _frame(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: list | None = None) -> pd.DataFrame:
    """`sql` with `{rel}` replaced by the relation `name`; an empty frame when it does not exist."""
    rel = _relation(con, name)
    if rel is None:
        return pd.DataFrame()
    return con.execute(sql.format(rel=rel), params or []).df()


def latest_run(path: Path) -> dict | None:
    """The latest scoring run (scoring.scoring_runs), or None before any score."""
    with _read(path) as con:
        runs = _frame(con, "scoring_runs", "select * from {rel} order by finished_at desc limit 1")
    return None if runs.empty else runs.iloc[0].to_dict()


def global_importance(path: Path, model_version: str | None = None) -> pd.DataFrame:
    """Features by mean |SHAP| for a model version (default: the latest scoring run's)."""
    if model_version is None:
        run = latest_run(path)
        if run is None:
            return pd.DataFrame(columns=["feature", "mean_abs_shap", "rank"])
        model_version = str(run["model_version"])
    with _read(path) as con:
        return _frame(
            con,
            "global_importance",
            "select feature, mean_abs_shap, rank from {rel} where model_version = ? order by rank",
            [model_version],
        )


@dataclass(frozen=True)
class DriftFrames:
    reference: pd.DataFrame  # training applicants: the features, then the champion's `probability`
    current: pd.DataFrame  # new applications (no label), same columns
    n_reference_total: int
    n_current_total: int
    run_id: str | None  # scoring run the probabilities come from


def drift_frames(path: Path, features: list[str], max_rows: int, with_score: bool = True) -> DriftFrames:
    """Features (and the latest run's champion probability) of the training applicants and the new ones.

    Each population is capped at `max_rows` applicants, taken by a fixed hash of sk_id_curr so the
    same warehouse always gives the same sample.
    """
    with _read(path) as con:
        feats, labels = _relation(con, FEATURES), _relation(con, LABELS)
        if feats is None or labels is None:
            raise UserError(f"{path} has no {FEATURES}/{LABELS}: run `dbt build` (the feature store) first")
        available = {r[0] for r in con.execute(f"select column_name from (describe {feats})").fetchall()}
        missing = [f for f in features if f not in available]
        if missing:
            raise UserError(f"the feature mart lacks {', '.join(missing)}: rebuild it with `dbt build`")
        run_id = None
        score_join, score_col = "", ""
        if with_score and _relation(con, "scores") is not None:
            row = con.execute(
                "select run_id from scoring.scoring_runs order by finished_at desc limit 1"
            ).fetchone()
            run_id = row[0] if row else None
        if run_id is not None:
            score_join = "left join scoring.scores as scores on scores.sk_id_curr = features.sk_id_curr and scores.run_id = ?"
            # the champion's probability on both sides, as the dbt score drift marts compare
            # (scores.probability is the out-of-fold one for the champion's cross-validation rows)
            score_col = (
                ", coalesce(scores.champion_probability, case when scores.probability_source = 'champion' "
                "then scores.probability end) as probability"
            )
        cols = ", ".join(f'cast(features."{f}" as double) as "{f}"' for f in features)
        out, totals = {}, {}
        for population, is_train in (("reference", True), ("current", False)):
            # pick the sample's keys from the labels first, then read only their features (the mart
            # is a view over the per-table feature tables: no full evaluation for a sample)
            where = f"labels.is_train = {str(is_train).lower()}"
            totals[population] = con.execute(
                f"select count(*) from {labels} as labels where {where}"
            ).fetchone()[0]
            out[population] = con.execute(
                f"""
                with sample as (
                    select sk_id_curr from {labels} as labels where {where}
                    order by hash(sk_id_curr), sk_id_curr limit {int(max_rows)}
                )
                select {cols}{score_col}
                from sample
                join {feats} as features on features.sk_id_curr = sample.sk_id_curr
                {score_join}
                order by hash(sample.sk_id_curr), sample.sk_id_curr
                """,
                [run_id] if run_id is not None else [],
            ).df()
    return DriftFrames(out["reference"], out["current"], totals["reference"], totals["current"], run_id)


def feature_drift(path: Path) -> pd.DataFrame:
    """The mart fct_feature_drift (one row per feature), highest PSI first; empty if not built."""
    with _read(path) as con:
        return _frame(con, "fct_feature_drift", "select * from {rel} order by psi desc, feature")


def feature_drift_bins(path: Path, features: list[str]) -> pd.DataFrame:
    with _read(path) as con:
        return _frame(
            con,
            "fct_feature_drift_bins",
            "select * from {rel} where list_contains(?, feature) order by feature, bin",
            [features],
        )


def score_drift(path: Path) -> pd.DataFrame:
    """The mart fct_score_drift (one row per scoring run), latest first; empty if not built."""
    with _read(path) as con:
        return _frame(con, "fct_score_drift", "select * from {rel} order by scored_at desc")


def score_drift_bins(path: Path, run_id: str) -> pd.DataFrame:
    with _read(path) as con:
        return _frame(
            con, "fct_score_drift_bins", "select * from {rel} where run_id = ? order by bin", [run_id]
        )


def score_summary(path: Path, run_id: str) -> pd.DataFrame:
    """Decisions and mean probability by population (training / new applicants) for one run."""
    with _read(path) as con:
        labels = _relation(con, LABELS)
        if labels is None or _relation(con, "scores") is None:
            return pd.DataFrame()
        return con.execute(
            f"""
            select
                case when labels.is_train then 'training' else 'new' end as population,
                scores.decision,
                count(*) as n,
                avg(scores.probability) as mean_probability,
                avg(labels.target) as default_rate
            from scoring.scores as scores
            join {labels} as labels on labels.sk_id_curr = scores.sk_id_curr
            where scores.run_id = ?
            group by all
            order by all
            """,
            [run_id],
        ).df()


def local_explanation(
    path: Path, run_id: str, decision: str = "refuse"
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """One new applicant's score, SHAP rows and reasons (an applicant with the given decision, else any).

    Returns (score row, shap rows ordered by rank with bias/others, reasons).
    """
    with _read(path) as con:
        labels = _relation(con, LABELS)
        if labels is None or _relation(con, "shap_values") is None:
            return {}, pd.DataFrame(), pd.DataFrame()
        row = con.execute(
            f"""
            select scores.*
            from scoring.scores as scores
            join {labels} as labels on labels.sk_id_curr = scores.sk_id_curr
            where scores.run_id = ?
                and exists (
                    select 1 from scoring.shap_values as shap
                    where shap.run_id = scores.run_id and shap.sk_id_curr = scores.sk_id_curr
                )
            order by not labels.is_train desc, scores.decision = ? desc, abs(scores.probability - 0.3), scores.sk_id_curr
            limit 1
            """,
            [run_id, decision],
        ).df()
        if row.empty:
            return {}, pd.DataFrame(), pd.DataFrame()
        score = row.iloc[0].to_dict()
        key = [run_id, int(score["sk_id_curr"])]
        shap = con.execute(
            "select feature, feature_value, shap_value, rank from scoring.shap_values "
            "where run_id = ? and sk_id_curr = ? order by rank nulls last",
            key,
        ).df()
        reasons = con.execute(
            "select direction, rank, feature, feature_value, shap_value, text_fr, text_en from scoring.reasons "
            "where run_id = ? and sk_id_curr = ? order by direction, rank",
            key,
        ).df()
    return score, shap, reasons


def table_counts(path: Path) -> dict[str, int]:
    """Row counts of the raw tables and the marts the documents quote (absent tables are left out)."""
    names = [
        "application_train",
        "application_test",
        "bureau",
        "bureau_balance",
        "previous_application",
        "pos_cash_balance",
        "installments_payments",
        "credit_card_balance",
        FEATURES,
        LABELS,
    ]
    out: dict[str, int] = {}
    with _read(path) as con:
        for name in names:
            rel = _relation(con, name)
            if rel is not None:
                out[name] = con.execute(f"select count(*) from {rel}").fetchone()[0]
        feats = _relation(con, FEATURES)
        if feats is not None:
            out["n_features"] = len(con.execute(f"describe {feats}").fetchall()) - 1
    return out
