"""Metrics, business cost and the decision threshold: pure functions of labels and probabilities.

Convention: an applicant is refused when p >= threshold. A false negative (granted, then
defaults) costs `cost_fn`; a false positive (refused good client) costs `cost_fp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def cost_curve(
    y: np.ndarray, p: np.ndarray, cost_fn: float, cost_fp: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Expected cost per applicant for every distinct cut-off (refuse when p >= t).

    Returns (thresholds, cost): thresholds ascending, including one above every p (approve all).
    """
    w = np.ones_like(p, dtype=float) if weights is None else weights.astype(float)
    order = np.argsort(p, kind="stable")
    ps, ys, ws = p[order], y[order], w[order]
    uniq, first = np.unique(ps, return_index=True)
    pos = np.concatenate([[0.0], np.cumsum(ws * ys)])  # positives strictly below each cut
    neg = np.concatenate([[0.0], np.cumsum(ws * (1 - ys))])
    total_pos, total_neg, total = pos[-1], neg[-1], ws.sum()
    idx = np.concatenate([first, [len(ps)]])
    fn = pos[idx]  # approved defaulters: p below the cut
    fp = total_neg - neg[idx]  # refused good clients: p at or above the cut
    cost = (cost_fn * fn + cost_fp * fp) / total
    thresholds = np.concatenate([uniq, [np.nextafter(uniq[-1], np.inf) if len(uniq) else 1.0]])
    del total_pos
    return thresholds, cost


def optimal_threshold(y: np.ndarray, p: np.ndarray, cost_fn: float, cost_fp: float, weights=None) -> float:
    thresholds, cost = cost_curve(y, p, cost_fn, cost_fp, weights)
    i = int(np.argmin(cost))
    if 0 < i < len(thresholds) - 1:  # midpoint between the neighbouring scores: stable under ties
        return float((thresholds[i - 1] + thresholds[i]) / 2)
    return float(thresholds[i])


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    ci_low: float
    ci_high: float
    theoretical: float
    review_low: float
    review_high: float
    bootstrap: int


def choose_threshold(
    y: np.ndarray,
    p: np.ndarray,
    cost_fn: float,
    cost_fp: float,
    n_boot: int = 300,
    seed: int = 0,
    review_min_relative_width: float = 0.2,
) -> ThresholdChoice:
    """Cost-minimising threshold with a bootstrap 95% interval; the review band is that interval,
    widened symmetrically (in log space) to at least `review_min_relative_width` of the threshold."""
    t = optimal_threshold(y, p, cost_fn, cost_fp)
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        weights = rng.multinomial(len(p), np.full(len(p), 1 / len(p))).astype(float)
        boots[b] = optimal_threshold(y, p, cost_fn, cost_fp, weights)
    lo, hi = (float(v) for v in np.quantile(boots, [0.025, 0.975])) if n_boot else (t, t)
    half = np.log1p(review_min_relative_width) / 2
    review_low = float(min(lo, t * np.exp(-half)))
    review_high = float(max(hi, t * np.exp(half)))
    return ThresholdChoice(t, lo, hi, cost_fp / (cost_fp + cost_fn), review_low, review_high, n_boot)


def decisions(p: np.ndarray, review_low: float, review_high: float) -> np.ndarray:
    out = np.full(len(p), "review", dtype=object)
    out[p < review_low] = "approve"
    out[p >= review_high] = "refuse"
    return out


def classification_metrics(
    y: np.ndarray, p: np.ndarray, threshold: float, cost_fn: float, cost_fp: float
) -> dict[str, float]:
    """Ranking, calibration and decision metrics (refuse when p >= threshold)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    refuse = p >= threshold
    tp = int(np.sum(refuse & (y == 1)))
    fp = int(np.sum(refuse & (y == 0)))
    fn = int(np.sum(~refuse & (y == 1)))
    both = len(np.unique(y)) == 2
    auc = float(roc_auc_score(y, p)) if both else float("nan")
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": ks_statistic(y, p) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "cost_per_applicant": float((cost_fn * fn + cost_fp * fp) / len(y)),
        "approval_rate": float(np.mean(~refuse)),
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "threshold": float(threshold),
    }
