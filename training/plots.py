"""Evaluation plots written as PNG files (matplotlib, Agg backend; imported only when plotting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    _plt().close(fig)
    return path


def roc(y, p, path: Path, title: str = "ROC") -> Path:
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"AUC {roc_auc_score(y, p):.4f}")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def pr(y, p, path: Path, title: str = "Precision-recall") -> Path:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _plt()
    prec, rec, _ = precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(rec, prec, label=f"PR AUC {average_precision_score(y, p):.4f}")
    ax.axhline(np.mean(y), color="k", ls="--", lw=0.8, label="base rate")
    ax.set(xlabel="recall", ylabel="precision", title=title)
    ax.legend()
    return _save(fig, path)


def calibration(y, p, path: Path, title: str = "Reliability", raw_p=None) -> Path:
    from sklearn.calibration import calibration_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    frac, mean = calibration_curve(y, p, n_bins=15, strategy="quantile")
    ax.plot(mean, frac, "o-", label="calibrated")
    if raw_p is not None:
        frac_r, mean_r = calibration_curve(y, raw_p, n_bins=15, strategy="quantile")
        ax.plot(mean_r, frac_r, "s-", alpha=0.6, label="uncalibrated")
    top = max(float(np.max(mean)), float(np.max(frac))) * 1.05
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    ax.set(xlabel="predicted probability", ylabel="observed default rate", title=title)
    ax.legend()
    return _save(fig, path)


def cost(thresholds, costs, path: Path, chosen: float, theoretical: float, band=None) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    keep = thresholds <= min(1.0, max(0.5, chosen * 4))
    ax.plot(thresholds[keep], costs[keep])
    ax.axvline(chosen, color="C1", label=f"chosen {chosen:.3f}")
    ax.axvline(theoretical, color="k", ls="--", lw=0.8, label=f"1/(1+FN/FP) {theoretical:.3f}")
    if band:
        ax.axvspan(band[0], band[1], color="C1", alpha=0.15, label="review band")
    ax.set(xlabel="threshold (refuse when p >= t)", ylabel="cost per applicant", title="Cost vs threshold")
    ax.legend()
    return _save(fig, path)


def confusion(y, p, threshold: float, path: Path) -> Path:
    plt = _plt()
    refuse = np.asarray(p) >= threshold
    y = np.asarray(y).astype(bool)
    m = np.array([[np.sum(~y & ~refuse), np.sum(~y & refuse)], [np.sum(y & ~refuse), np.sum(y & refuse)]])
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(m, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{m[i, j]:,}", ha="center", va="center")
    ax.set_xticks([0, 1], ["approve", "refuse"])
    ax.set_yticks([0, 1], ["repaid", "defaulted"])
    ax.set_title(f"Confusion at t = {threshold:.3f}")
    return _save(fig, path)


def importance(names, values, path: Path, top: int = 50, title: str = "Mean |SHAP| (top 50)") -> Path:
    plt = _plt()
    order = np.argsort(values)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(7, max(4, 0.22 * len(order))))
    ax.barh([names[i] for i in order], [values[i] for i in order])
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title)
    return _save(fig, path)


def bars(labels, values, path: Path, title: str, xlabel: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, max(3, 0.35 * len(labels))))
    ax.barh(labels, values)
    ax.set(title=title, xlabel=xlabel)
    return _save(fig, path)


def shap_summary(contrib: np.ndarray, X: np.ndarray, names: list[str], path: Path, top: int = 20) -> Path:
    import shap

    plt = _plt()
    shap.summary_plot(contrib, X, feature_names=names, max_display=top, show=False)
    fig = plt.gcf()
    return _save(fig, path)
