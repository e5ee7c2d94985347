"""How close synthetic Home Credit files are to the real ones: ``python -m warehouse realism``.

Checks (thresholds from issue 2):
- every application column: two-sample Kolmogorov-Smirnov distance of the present values
  (total-variation distance of the shares for categoricals); at least 95% of columns at most
  0.10 and none above 0.25;
- missing rates and category shares within 5 points;
- rows per applicant in each history table within 15% of the full Kaggle data's figures;
- every pair of numeric application columns with real |r| > 0.3: synthetic r within 0.1;
- signal, when ``_oracle.csv`` is present: default rate, train share, oracle AUC in [0.80, 0.86].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from warehouse.errors import UserError
from warehouse.schema import load_schema

log = logging.getLogger(__name__)

KS_MAX = 0.10
KS_HARD_MAX = 0.25
KS_SHARE = 0.95
RATE_POINTS = 0.05
ROWS_TOLERANCE = 0.15
CORR_MIN = 0.3
CORR_TOLERANCE = 0.1
ORACLE_AUC_RANGE = (0.80, 0.86)

# Full Kaggle data (307,511 + 48,744 applicants): rows per applicant (or per credit) and shares.
KAGGLE_TARGETS: dict[str, tuple[str, float]] = {
    "bureau rows per applicant with a record": ("bureau", 1_716_428 / 305_811),
    "share of applicants with a bureau record": ("bureau", 305_811 / 356_255),
    "share of bureau credits with monthly rows": ("bureau_balance", 817_395 / 1_716_428),
    "bureau_balance months per credit with rows": ("bureau_balance", 27_299_925 / 817_395),
    "previous_application rows per applicant with a record": ("previous_application", 1_670_214 / 338_857),
    "POS_CASH_balance rows per applicant with a record": ("POS_CASH_balance", 10_001_358 / 337_252),
    "installments_payments rows per applicant with a record": ("installments_payments", 13_605_401 / 339_587),
    "credit_card_balance rows per card holder": ("credit_card_balance", 3_840_312 / 103_558),
    "share of applicants holding a card": ("credit_card_balance", 103_558 / 356_255),
}


@dataclass
class RealismResult:
    columns: pd.DataFrame  # per application column: distance, missing and share deltas
    rows: pd.DataFrame  # per history figure: synthetic vs Kaggle target (and real sample)
    correlations: pd.DataFrame  # pairs with real |r| > 0.3
    signal: dict[str, float] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    def summary(self) -> str:
        cols = self.columns
        lines = [
            f"application columns: {len(cols)}; KS <= {KS_MAX}: {(cols['distance'] <= KS_MAX).mean():.1%}"
            f" (max {cols['distance'].max():.3f} on {cols['distance'].idxmax()})",
            f"missing-rate delta max: {cols['missing_delta'].abs().max() * 100:.2f} points;"
            f" category-share delta max: {cols['share_delta'].max() * 100:.2f} points",
            f"rows per applicant: worst relative error {self.rows['rel_error'].abs().max():.1%}",
            f"correlations (|r| > {CORR_MIN}): {len(self.correlations)} pairs, worst delta "
            f"{self.correlations['delta'].abs().max() if len(self.correlations) else 0:.3f}",
        ]
        if self.signal:
            lines.append(", ".join(f"{k} {v:.4g}" for k, v in self.signal.items()))
        lines += [f"[{'PASS' if ok else 'FAIL'}] {name}" for name, ok in self.checks.items()]
        return "\n".join(lines)


def _file(folder: Path, stem: str) -> Path | None:
    for suffix in (".csv", ".parquet", ".csv.gz"):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return path
    return None


def _read(folder: Path, stem: str) -> pd.DataFrame:
    path = _file(folder, stem)
    if path is None:
        raise UserError(f"{folder}: no {stem}.csv or {stem}.parquet")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, low_memory=False)


def _relation(con: duckdb.DuckDBPyConnection, folder: Path, stem: str) -> str:
    path = _file(folder, stem)
    if path is None:
        raise UserError(f"{folder}: no {stem}.csv or {stem}.parquet")
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', header=true, sample_size=-1)"


def compare_columns(real: pd.DataFrame, synth: pd.DataFrame) -> pd.DataFrame:
    table = load_schema().table("application_train")
    out = []
    for col in table.columns:
        if col.name == "SK_ID_CURR" or col.name not in synth:
            continue
        r, s = real[col.name], synth[col.name]
        row = {"column": col.name, "missing_real": r.isna().mean(), "missing_synth": s.isna().mean()}
        if col.type == "VARCHAR":
            rs = r.dropna().astype(str).value_counts(normalize=True)
            ss = s.dropna().astype(str).value_counts(normalize=True)
            delta = rs.subtract(ss, fill_value=0).abs()
            row["distance"] = 0.5 * delta.sum()
            row["share_delta"] = delta.max()
            row["worst_category"] = delta.idxmax() if len(delta) else ""
        else:
            rv, sv = r.dropna().to_numpy(float), s.dropna().to_numpy(float)
            row["distance"] = ks_2samp(rv, sv).statistic if rv.size and sv.size else float(rv.size != sv.size)
            row["share_delta"] = 0.0
            row["worst_category"] = ""
        row["missing_delta"] = row["missing_synth"] - row["missing_real"]
        out.append(row)
    return pd.DataFrame(out).set_index("column")


def compare_correlations(real: pd.DataFrame, synth: pd.DataFrame) -> pd.DataFrame:
    table = load_schema().table("application_train")
    numeric = [
        c.name for c in table.columns if c.type != "VARCHAR" and c.name not in ("SK_ID_CURR", "TARGET")
    ]
    numeric = [c for c in numeric if real[c].nunique() > 1 and c in synth]
    rc = real[numeric].astype(float).corr()
    sc = synth[numeric].astype(float).corr()
    pairs = []
    for i, a in enumerate(numeric):
        for b in numeric[i + 1 :]:
            if abs(rc.loc[a, b]) > CORR_MIN:
                pairs.append({"a": a, "b": b, "real": rc.loc[a, b], "synthetic": sc.loc[a, b]})
    frame = pd.DataFrame(pairs, columns=["a", "b", "real", "synthetic"])
    frame["delta"] = frame["synthetic"] - frame["real"]
    return frame


def _history_figures(folder: Path, covered: dict[str, pd.Series] | None = None) -> dict[str, float]:
    """The KAGGLE_TARGETS figures of the files in ``folder`` (over covered applicants if given)."""
    con = duckdb.connect()
    apps = {}
    for stem in ("application_train", "application_test"):
        apps[stem] = con.execute(f"select SK_ID_CURR from {_relation(con, folder, stem)}").df()["SK_ID_CURR"]
    all_ids = pd.concat(apps.values(), ignore_index=True)

    def per_applicant(stem: str, ids: pd.Series) -> tuple[float, float]:
        con.register("ids", pd.DataFrame({"SK_ID_CURR": ids.to_numpy()}))
        rows, holders = con.execute(
            f"select count(*), count(distinct t.SK_ID_CURR) from {_relation(con, folder, stem)} t "
            "semi join ids using (SK_ID_CURR)"
        ).fetchall()[0]
        return rows / max(holders, 1), holders / max(len(ids), 1)

    def ids_for(key: str) -> pd.Series:
        return covered[key] if covered is not None else all_ids

    fig: dict[str, float] = {}
    fig["bureau rows per applicant with a record"], fig["share of applicants with a bureau record"] = (
        per_applicant("bureau", ids_for("bureau"))
    )
    con.register("bids", pd.DataFrame({"SK_ID_CURR": ids_for("bureau_balance").to_numpy()}))
    credits, with_rows, months = con.execute(
        f"""
        with credits as (
            select SK_ID_BUREAU from {_relation(con, folder, "bureau")} semi join bids using (SK_ID_CURR)
        ),
        months as (
            select SK_ID_BUREAU, count(*) as n from {_relation(con, folder, "bureau_balance")}
            semi join credits using (SK_ID_BUREAU) group by SK_ID_BUREAU
        )
        select (select count(*) from credits), count(*), sum(n) from months
        """
    ).fetchall()[0]
    fig["share of bureau credits with monthly rows"] = with_rows / max(credits, 1)
    fig["bureau_balance months per credit with rows"] = (months or 0) / max(with_rows, 1)
    fig["previous_application rows per applicant with a record"] = per_applicant(
        "previous_application", ids_for("previous_application")
    )[0]
    fig["POS_CASH_balance rows per applicant with a record"] = per_applicant(
        "POS_CASH_balance", ids_for("POS_CASH_balance")
    )[0]
    fig["credit_card_balance rows per card holder"], fig["share of applicants holding a card"] = (
        per_applicant("credit_card_balance", ids_for("credit_card_balance"))
    )
    if covered is None:  # the real sample's installments are partial for everyone
        fig["installments_payments rows per applicant with a record"] = per_applicant(
            "installments_payments", all_ids
        )[0]
    return fig


def _covered(real: Path) -> dict[str, pd.Series] | None:
    path = real / "coverage.csv"
    if not path.exists():
        return None
    cov = pd.read_csv(path)
    cols = {
        "bureau": "bureau_complete",
        "bureau_balance": "bureau_balance_complete",
        "previous_application": "previous_application_complete",
        "POS_CASH_balance": "POS_CASH_complete",
        "credit_card_balance": "credit_card_complete",
    }
    return {k: cov.loc[cov[v].astype(bool), "SK_ID_CURR"] for k, v in cols.items()}


def compare_rows(real: Path, synthetic: Path) -> pd.DataFrame:
    synth = _history_figures(synthetic)
    covered = _covered(real)
    real_fig: dict[str, float] = {}
    if covered is not None:
        try:
            real_fig = _history_figures(real, covered)
        except (UserError, duckdb.Error) as exc:  # the real folder may lack some tables
            log.warning("real sample figures skipped: %s", exc)
    rows = []
    for name, (table, target) in KAGGLE_TARGETS.items():
        rows.append(
            {
                "figure": name,
                "table": table,
                "kaggle": target,
                "real_sample": real_fig.get(name, np.nan),
                "synthetic": synth[name],
                "rel_error": synth[name] / target - 1,
            }
        )
    return pd.DataFrame(rows).set_index("figure")


def signal(synthetic: Path, train: pd.DataFrame) -> dict[str, float]:
    oracle_path = synthetic / "_oracle.csv"
    if not oracle_path.exists():
        return {}
    oracle = pd.read_csv(oracle_path)
    merged = train[["SK_ID_CURR", "TARGET"]].merge(oracle, on="SK_ID_CURR")
    n_test = len(oracle) - len(train)
    return {
        "default rate": float(train["TARGET"].mean()),
        "train share": len(train) / len(oracle),
        "test applicants": float(n_test),
        "oracle AUC": float(roc_auc_score(merged["TARGET"], merged["PD"])),
    }


def _drift_table(real: Path, synthetic: Path) -> pd.DataFrame:
    rows = []
    frames = {}
    for folder, label in ((real, "real"), (synthetic, "synthetic")):
        for stem in ("application_train", "application_test"):
            path = _file(folder, stem)
            cols = ["NAME_CONTRACT_TYPE", "AMT_INCOME_TOTAL", "AMT_CREDIT"]
            if path is None:
                continue
            frames[(label, stem)] = (
                pd.read_parquet(path, columns=cols)
                if path.suffix == ".parquet"
                else pd.read_csv(path, usecols=cols)
            )
    for label in ("real", "synthetic"):
        tr, te = frames.get((label, "application_train")), frames.get((label, "application_test"))
        if tr is None or te is None:
            continue
        rows.append(
            {
                "data": label,
                "revolving share train": (tr["NAME_CONTRACT_TYPE"] == "Revolving loans").mean(),
                "revolving share test": (te["NAME_CONTRACT_TYPE"] == "Revolving loans").mean(),
                "income mean test/train": te["AMT_INCOME_TOTAL"].mean() / tr["AMT_INCOME_TOTAL"].mean(),
                "credit mean test/train": te["AMT_CREDIT"].mean() / tr["AMT_CREDIT"].mean(),
            }
        )
    return pd.DataFrame(rows)


def _md_table(frame: pd.DataFrame, index: bool = True) -> str:
    """A pipe table (no tabulate dependency)."""
    if index:
        frame = frame.reset_index()

    def cell(v: object) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _markdown(result: RealismResult, real: Path, synthetic: Path, drift: pd.DataFrame) -> str:
    parts = [
        "# Realism of the synthetic Home Credit data",
        "",
        f"Real: `{real}`  ",
        f"Synthetic: `{synthetic}`",
        "",
        "## Checks",
        "",
        *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in result.checks.items()],
        "",
        "```",
        result.summary(),
        "```",
        "",
        "## Rows per applicant (history tables)",
        "",
        "Targets are the full Kaggle data's figures; the real sample's figures are computed over the "
        "applicants that coverage.csv marks complete (installments: not complete for anyone).",
        "",
        _md_table(result.rows),
        "",
        f"## Correlations (pairs of numeric application columns with real |r| > {CORR_MIN})",
        "",
        _md_table(result.correlations.sort_values("delta", key=abs, ascending=False), index=False),
        "",
        "## Drift between train and test",
        "",
        _md_table(drift, index=False) if len(drift) else "(no test files)",
        "",
        "## Application columns",
        "",
        "distance: KS for numeric columns, total-variation distance of shares for categoricals; "
        "deltas are synthetic minus real, as fractions.",
        "",
        _md_table(result.columns.sort_values("distance", ascending=False)),
        "",
    ]
    return "\n".join(parts)


def realism(real: Path, synthetic: Path, out_md: Path) -> RealismResult:
    """Compare ``synthetic`` with ``real`` (both folders of Kaggle files); write ``out_md``."""
    real, synthetic, out_md = Path(real), Path(synthetic), Path(out_md)
    for folder in (real, synthetic):
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder of Kaggle files")
    real_app = _read(real, "application_train")
    synth_app = _read(synthetic, "application_train")
    columns = compare_columns(real_app, synth_app)
    correlations = compare_correlations(real_app, synth_app)
    rows = compare_rows(real, synthetic)
    sig = signal(synthetic, synth_app)
    checks = {
        f">= {KS_SHARE:.0%} of application columns with distance <= {KS_MAX}": bool(
            (columns["distance"] <= KS_MAX).mean() >= KS_SHARE
        ),
        f"no application column with distance > {KS_HARD_MAX}": bool(
            (columns["distance"] <= KS_HARD_MAX).all()
        ),
        f"missing rates within {RATE_POINTS * 100:.0f} points": bool(
            (columns["missing_delta"].abs() <= RATE_POINTS).all()
        ),
        f"category shares within {RATE_POINTS * 100:.0f} points": bool(
            (columns["share_delta"] <= RATE_POINTS).all()
        ),
        f"rows per applicant within {ROWS_TOLERANCE:.0%} of Kaggle": bool(
            (rows["rel_error"].abs() <= ROWS_TOLERANCE).all()
        ),
        f"correlations (|r| > {CORR_MIN}) within {CORR_TOLERANCE}": bool(
            (correlations["delta"].abs() <= CORR_TOLERANCE).all()
        ),
    }
    if sig:
        lo, hi = ORACLE_AUC_RANGE
        checks[f"oracle AUC in [{lo}, {hi}]"] = lo <= sig["oracle AUC"] <= hi
    result = RealismResult(columns=columns, rows=rows, correlations=correlations, signal=sig, checks=checks)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(_markdown(result, real, synthetic, _drift_table(real, synthetic)), encoding="utf-8")
    return result
