"""The registered model: one LightGBM booster + a calibrator + decision rules + reason codes.

This file is the only code that travels with the model. It is logged to MLflow as *model code*
(``mlflow.pyfunc.log_model(python_model=<this file>)``) and imports nothing from the project, so
the batch scorer (training/) and the API (api/) run the same code without importing each other:

    model = mlflow.pyfunc.load_model("models:/credit_default@champion")
    model.predict(features_df)                        # calibrated probability (pyfunc contract)
    core = model.unwrap_python_model()                 # this class
    core.check_features(mart_columns)                  # refuses a mismatch, naming the features
    result = core.score(ids, X)                        # probabilities, grades, decisions, SHAP, reasons

The bundle folder (artifact ``bundle``) holds ``booster.txt`` (LightGBM text model) and
``model.json`` (feature list, calibrator, threshold, review band, grades, reason codes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

try:  # MLflow is needed to log/serve the model, not to use it directly (tests, benchmarks)
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[misc,assignment]

BIAS = "__bias__"
OTHERS = "__others__"


class FeatureMismatchError(ValueError):
    """The mart's (or the request's) columns do not match the model's feature list."""


@dataclass
class ScoreResult:
    ids: np.ndarray
    raw: np.ndarray  # booster log-odds
    probability: np.ndarray  # calibrated
    grade: np.ndarray
    decision: np.ndarray
    shap: pd.DataFrame  # long: sk_id_curr, feature, feature_value, shap_value, rank
    reasons: pd.DataFrame  # long: sk_id_curr, direction, rank, feature, family, fact, ..., text_en, text_fr
    abs_shap_sum: np.ndarray | None = None  # per feature, summed over the rows (global importance)


class CreditDefaultModel(PythonModel):
    """Pyfunc returning the calibrated default probability; explanation helpers for batch and API."""

    def load_context(self, context) -> None:  # noqa: ANN001 - MLflow's context object
        self.load_bundle(Path(context.artifacts["bundle"]))

    @classmethod
    def from_bundle(cls, folder: Path) -> CreditDefaultModel:
        model = cls()
        model.load_bundle(Path(folder))
        return model

    def load_bundle(self, folder: Path) -> None:
        import lightgbm as lgb

        self.meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        self.booster = lgb.Booster(model_file=str(folder / "booster.txt"))
        self.features: list[str] = list(self.meta["features"])
        if self.booster.feature_name() != self.features:
            raise FeatureMismatchError("booster.txt and model.json disagree on the feature list")
        self.calibrator: dict = self.meta["calibrator"]
        self.threshold: float = float(self.meta["threshold"])
        self.review_low: float = float(self.meta["review_low"])
        self.review_high: float = float(self.meta["review_high"])
        self.grade_bounds: list[float] = [float(b) for b in self.meta["grade_bounds"]]
        self.reason_codes: dict[str, dict] = self.meta["reason_codes"]
        facts = [self.reason_codes[f]["fact"] for f in self.features]
        fact_ids = {fact: i for i, fact in enumerate(dict.fromkeys(facts))}
        self._fact_of = np.array([fact_ids[f] for f in facts])

    # --- the pyfunc contract -------------------------------------------------------------------
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        X = self.matrix(model_input)
        return pd.DataFrame({"probability": self.predict_proba(X)})

    # --- features ------------------------------------------------------------------------------
    def check_features(self, columns: list[str]) -> None:
        """Refuse a set of columns that is not exactly the model's features (extra key columns ok)."""
        excluded = set(self.meta.get("excluded_features", []))  # deliberately not inputs (gender)
        given = [c for c in columns if c != "sk_id_curr"]
        missing = [f for f in self.features if f not in set(given)]
        extra = [c for c in given if c not in set(self.features) and c not in excluded]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"{len(missing)} missing from the data: {', '.join(missing[:15])}")
            if extra:
                parts.append(f"{len(extra)} not in the model: {', '.join(extra[:15])}")
            raise FeatureMismatchError(
                f"model {self.meta.get('name', '?')} (trained on {len(self.features)} features) does not "
                f"match the feature mart: {'; '.join(parts)}. Retrain (`python -m training train`) or "
                "rebuild the mart the model was trained on."
            )

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's features from a frame, in the model's order, as float32 (NaN for null)."""
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise FeatureMismatchError(
                f"{len(missing)} feature(s) missing from the input: {', '.join(missing[:15])}"
            )
        return frame[self.features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32)

    # --- scores ----------------------------------------------------------------------------------
    def raw_score(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict(X, raw_score=True, num_threads=0)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self.calibrator["method"] == "sigmoid":
            return 1.0 / (1.0 + np.exp(-(self.calibrator["a"] * raw + self.calibrator["b"])))
        return np.interp(raw, self.calibrator["x"], self.calibrator["y"])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.calibrate(self.raw_score(X))

    def grade(self, p: np.ndarray) -> np.ndarray:
        letters = np.array(list("ABCDEFGHIJ")[: len(self.grade_bounds) + 1])
        return letters[np.searchsorted(self.grade_bounds, p, side="right")]

    def decide(self, p: np.ndarray) -> np.ndarray:
        out = np.full(len(p), "review", dtype=object)
        out[np.asarray(p) < self.review_low] = "approve"
        out[np.asarray(p) >= self.review_high] = "refuse"
        return out

    # --- explanations ----------------------------------------------------------------------------
    def contributions(self, X: np.ndarray) -> np.ndarray:
        """SHAP values of the booster's log-odds (LightGBM pred_contrib): n x (features + bias)."""
        return self.booster.predict(X, pred_contrib=True, num_threads=0)

    def top_shap(self, ids: np.ndarray, X: np.ndarray, contrib: np.ndarray, top_k: int) -> pd.DataFrame:
        """Long format: the top_k |SHAP| features per row, then the bias and the sum of the others."""
        n, f = X.shape
        k = min(top_k, f)
        values = contrib[:, :f]
        top = (
            np.argpartition(-np.abs(values), k - 1, axis=1)[:, :k] if k < f else np.tile(np.arange(f), (n, 1))
        )
        rows = np.arange(n)[:, None]
        order = np.argsort(-np.abs(values[rows, top]), axis=1, kind="stable")
        top = top[rows, order]
        top_vals = values[rows, top]
        others = values.sum(axis=1) - top_vals.sum(axis=1)
        names = np.array(self.features, dtype=object)
        frame = pd.DataFrame(
            {
                "sk_id_curr": np.repeat(ids, k),
                "feature": names[top].ravel(),
                "feature_value": X[rows, top].astype(float).ravel(),
                "shap_value": top_vals.ravel(),
                "rank": np.tile(np.arange(1, k + 1), n),
            }
        )
        tail = pd.DataFrame(
            {
                "sk_id_curr": np.concatenate([ids, ids]),
                "feature": [BIAS] * n + [OTHERS] * n,
                "feature_value": np.nan,
                "shap_value": np.concatenate([contrib[:, f], others]),
                "rank": pd.array([None] * (2 * n), dtype="Int32"),
            }
        )
        out = pd.concat([frame, tail], ignore_index=True)
        out["rank"] = out["rank"].astype("Int32")
        return out

    def reasons(
        self, ids: np.ndarray, X: np.ndarray, contrib: np.ndarray, per_direction: int = 4
    ) -> pd.DataFrame:
        """Top factors raising and lowering each applicant's risk, one per underlying fact."""
        f = X.shape[1]
        values = contrib[:, :f]
        depth = min(f, per_direction * 6)
        cols: dict[str, list] = {
            k: [] for k in ("sk_id_curr", "direction", "rank", "feature", "value", "shap")
        }
        for direction, sign in (("raises", 1.0), ("lowers", -1.0)):
            signed = values * sign
            cand = (
                np.argpartition(-signed, depth - 1, axis=1)[:, :depth]
                if depth < f
                else np.tile(np.arange(f), (len(ids), 1))
            )
            cand_vals = np.take_along_axis(signed, cand, axis=1)
            order = np.argsort(-cand_vals, axis=1, kind="stable")
            cand = np.take_along_axis(cand, order, axis=1)
            cand_vals = np.take_along_axis(cand_vals, order, axis=1)
            facts = self._fact_of[cand]
            for i in range(len(ids)):
                seen: set[int] = set()
                rank = 0
                for j in range(depth):
                    if cand_vals[i, j] <= 0 or rank == per_direction:
                        break
                    if facts[i, j] in seen:
                        continue
                    seen.add(facts[i, j])
                    rank += 1
                    feat = cand[i, j]
                    cols["sk_id_curr"].append(ids[i])
                    cols["direction"].append(direction)
                    cols["rank"].append(rank)
                    cols["feature"].append(feat)
                    cols["value"].append(float(X[i, feat]))
                    cols["shap"].append(float(values[i, feat]))
        feats = [self.features[j] for j in cols["feature"]]
        codes = [self.reason_codes[name] for name in feats]
        return pd.DataFrame(
            {
                "sk_id_curr": np.asarray(cols["sk_id_curr"], dtype=np.int64),
                "direction": cols["direction"],
                "rank": np.asarray(cols["rank"], dtype=np.int32),
                "feature": feats,
                "family": [c["family"] for c in codes],
                "fact": [c["fact"] for c in codes],
                "feature_value": cols["value"],
                "shap_value": cols["shap"],
                "text_en": [reason_text(c, v, "en") for c, v in zip(codes, cols["value"], strict=True)],
                "text_fr": [reason_text(c, v, "fr") for c, v in zip(codes, cols["value"], strict=True)],
            }
        )

    def score(
        self, ids: np.ndarray, X: np.ndarray, top_k: int = 20, per_direction: int = 4, explain: bool = True
    ) -> ScoreResult:
        """Everything the batch and the API write or return for a block of applicants."""
        if X.shape[1] != len(self.features):
            raise FeatureMismatchError(f"expected {len(self.features)} feature columns, got {X.shape[1]}")
        ids = np.asarray(ids, dtype=np.int64)
        if explain:
            contrib = self.contributions(X)
            raw = contrib.sum(axis=1)
        else:
            contrib = None
            raw = self.raw_score(X)
        p = self.calibrate(raw)
        shap = self.top_shap(ids, X, contrib, top_k) if explain else pd.DataFrame()
        reasons = self.reasons(ids, X, contrib, per_direction) if explain else pd.DataFrame()
        abs_sum = np.abs(contrib[:, :-1]).sum(axis=0) if explain else None
        return ScoreResult(ids, raw, p, self.grade(p), self.decide(p), shap, reasons, abs_sum)


# --- reason texts ------------------------------------------------------------------------------
_UNITS = {
    "en": {"days": "days", "months": "months", "years": "years", "times": "times", "yes": "yes", "no": "no"},
    "fr": {"days": "jours", "months": "mois", "years": "ans", "times": "fois", "yes": "oui", "no": "non"},
}


def format_value(value: float, unit: str, lang: str) -> str:
    """A value as a loan officer would say it, in English or French."""
    words = _UNITS[lang]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit == "flag":
        return words["yes"] if value >= 0.5 else words["no"]
    if unit == "percent":
        text = f"{100 * value:.0f} %" if lang == "fr" else f"{100 * value:.0f}%"
        return text
    if unit in ("days", "months"):
        return f"{abs(value):,.0f} {words[unit]}".replace(",", " " if lang == "fr" else ",")
    if unit == "years":
        return f"{abs(value):.0f} {words['years']}"
    if unit == "amount":
        return f"{value:,.0f}".replace(",", " " if lang == "fr" else ",")
    if unit == "count":
        return f"{value:,.0f}".replace(",", " " if lang == "fr" else ",")
    if unit == "times":
        text = f"{value:.1f}"
        return text.replace(".", ",") if lang == "fr" else text
    if unit == "score":
        text = f"{value:.2f}"
        return text.replace(".", ",") if lang == "fr" else text
    text = f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return text.replace(",", " ").replace(".", ",") if lang == "fr" else text


def reason_text(code: dict, value: float, lang: str) -> str:
    """Sentence from a reason code: its template with the formatted value, or the 'missing' text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return code[f"missing_{lang}"]
    return code[lang].format(value=format_value(value, code["unit"], lang))


if __name__ != "training.credit_model":  # executed by MLflow as the model's code
    import mlflow.models

    mlflow.models.set_model(CreditDefaultModel())
