"""Fairness report: approval rates and default rates by gender and age band (not model inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

AGE_BANDS = [0, 30, 40, 50, 60, 200]
AGE_LABELS = ["<30", "30-39", "40-49", "50-59", "60+"]


def gender_features(features: list[str]) -> list[str]:
    """Features derived from CODE_GENDER (excluded from the inputs unless configured)."""
    return [f for f in features if "gender" in f.split("_") or "code_gender" in f]


def group_table(frame: pd.DataFrame, by: str, threshold: float) -> pd.DataFrame:
    """Per group: n, approval rate (p < threshold), default rate overall and among the approved."""
    df = frame.assign(approved=frame["probability"] < threshold)
    rows = []
    for key, g in df.groupby(by, observed=True):
        appr = g[g["approved"]]
        rows.append(
            {
                "attribute": by,
                "group": str(key),
                "n": len(g),
                "approval_rate": float(g["approved"].mean()),
                "default_rate": float(g["target"].mean()),
                "default_rate_approved": float(appr["target"].mean()) if len(appr) else float("nan"),
                "mean_probability": float(g["probability"].mean()),
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        ref = out.loc[out["n"].idxmax()]
        out["approval_rate_ratio"] = out["approval_rate"] / ref["approval_rate"]
        out["default_rate_gap_approved"] = out["default_rate_approved"] - ref["default_rate_approved"]
    return out


def fairness_report(
    ids: np.ndarray, y: np.ndarray, p: np.ndarray, attributes: pd.DataFrame, threshold: float
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Tables by gender and age band, and summary metrics (min/max approval-rate ratio, max gap)."""
    frame = pd.DataFrame({"sk_id_curr": ids, "target": y, "probability": p}).merge(
        attributes, on="sk_id_curr", how="left"
    )
    frame["gender"] = frame["code_gender"].fillna("unknown")
    frame["age_band"] = pd.cut(frame["age_years"], AGE_BANDS, labels=AGE_LABELS, right=False)
    tables = []
    summary: dict[str, float] = {}
    for by in ("gender", "age_band"):
        t = group_table(frame[frame[by].notna()], by, threshold)
        t = t[t["n"] >= 30] if (t["n"] >= 30).sum() >= 2 else t  # ignore tiny groups (e.g. XNA)
        tables.append(t)
        if len(t) >= 2:
            summary[f"fairness_{by}_approval_ratio_min_over_max"] = float(
                t["approval_rate"].min() / max(t["approval_rate"].max(), 1e-12)
            )
            summary[f"fairness_{by}_default_rate_gap_max"] = float(
                t["default_rate_approved"].max() - t["default_rate_approved"].min()
            )
    return pd.concat(tables, ignore_index=True), summary
