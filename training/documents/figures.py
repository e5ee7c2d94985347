"""Figures the documents draw themselves (French labels); the training run's plots are reused as is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DECISIONS_FR = {"approve": "accord", "review": "examen manuel", "refuse": "refus"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def local_explanation(score: dict, shap: pd.DataFrame, path: Path, top: int = 10) -> Path:
    """One applicant's SHAP contributions (log-odds), largest first, with the rest and the base value."""
    plt = _plt()
    rows = shap[~shap["feature"].isin(["__bias__", "__others__"])].copy()
    rows = rows.reindex(rows["shap_value"].abs().sort_values(ascending=False).index).head(top)
    rest = float(shap.loc[~shap.index.isin(rows.index) & (shap["feature"] != "__bias__"), "shap_value"].sum())
    bias = float(shap.loc[shap["feature"] == "__bias__", "shap_value"].sum())
    labels = [
        f"{f} = {v:.4g}" if pd.notna(v) else f"{f} = manquant"
        for f, v in zip(rows["feature"], rows["feature_value"], strict=True)
    ]
    labels.append("autres variables")
    values = [*rows["shap_value"].tolist(), rest]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    y = np.arange(len(values))[::-1]
    ax.barh(y, values, color=["#d62828" if v > 0 else "#2a9d8f" for v in values])
    ax.set_yticks(y, labels, fontsize=7)
    ax.axvline(0, color="k", lw=0.8)
    decision = DECISIONS_FR.get(str(score.get("decision")), str(score.get("decision")))
    ax.set(
        xlabel="contribution SHAP (log-odds) ; rouge : hausse du risque, vert : baisse",
        title=(
            f"Demandeur {int(score['sk_id_curr'])} : probabilité {float(score['probability']):.1%}, "
            f"décision « {decision} »\n(valeur de base {bias:+.2f} log-odds)"
        ),
    )
    ax.title.set_fontsize(9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
