"""Calibrating the booster's log-odds into probabilities (isotonic or sigmoid), cross-validated.

A calibrator is stored as plain numbers (so the registered model needs no pickle):
- sigmoid: p = 1 / (1 + exp(-(a * raw + b)))
- isotonic: p = interp(raw, x, y) (clipped at the ends), as sklearn's IsotonicRegression predicts.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

# No applicant is certain to repay or to default: calibrated probabilities are kept inside this
# range (an isotonic step with no default in it would otherwise say 0).
CLIP = (1e-4, 1 - 1e-4)


def fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray) -> dict:
    raw = np.asarray(raw, dtype=float)
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
        return {
            "method": "sigmoid",
            "a": float(lr.coef_[0, 0]),
            "b": float(lr.intercept_[0]),
            "clip": list(CLIP),
        }
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return {
            "method": "isotonic",
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
            "clip": list(CLIP),
        }
    raise ValueError(f"unknown calibration method {method!r} (isotonic or sigmoid)")


def apply_calibrator(calibrator: dict, raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw, dtype=float)
    if calibrator["method"] == "sigmoid":
        p = 1.0 / (1.0 + np.exp(-(calibrator["a"] * raw + calibrator["b"])))
    else:
        p = np.interp(raw, calibrator["x"], calibrator["y"])
    low, high = calibrator.get("clip", (0.0, 1.0))
    return np.clip(p, low, high)


def cross_fit(method: str, raw: np.ndarray, y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Calibrated probabilities where each row's calibrator never saw that row."""
    out = np.empty(len(raw))
    for fit_idx, eval_idx in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(raw, y):
        out[eval_idx] = apply_calibrator(fit_calibrator(method, raw[fit_idx], y[fit_idx]), raw[eval_idx])
    return out


def choose_calibration(
    raw: np.ndarray, y: np.ndarray, n_folds: int = 5, seed: int = 0
) -> tuple[dict, np.ndarray, dict]:
    """Pick isotonic or sigmoid by cross-validated Brier score on out-of-fold log-odds.

    Returns (calibrator fitted on all rows, cross-fitted calibrated probabilities, Brier by method).
    """
    briers, crossfits = {}, {}
    for method in ("isotonic", "sigmoid"):
        crossfits[method] = cross_fit(method, raw, y, n_folds, seed)
        briers[method] = float(brier_score_loss(y, crossfits[method]))
    best = min(briers, key=briers.get)
    return fit_calibrator(best, raw, y), crossfits[best], briers
