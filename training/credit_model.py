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
``model.json`` (feature list, calibrator, threshold, review band, grades, reason codes); with a
thin-file booster also ``booster_thin.txt`` and ``model.json["thin"]``.

Applicants with no history (every history table empty: `no_history`) are scored by a blend of the
main booster and a booster of their application alone, in log-odds, before the one calibrator:
``raw = (1 - w) * main + w * thin``. Their SHAP values are the same blend of the two boosters'
contributions (the thin booster's laid out in the main feature order), so they still add up to
the log-odds that are calibrated.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

try:  # MLflow is needed to log/serve the model, not to use it directly (tests, benchmarks)
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[misc,assignment]

BIAS = "__bias__"
OTHERS = "__others__"
# One count per history table of the mart (bureau_balance rows belong to bureau credits): an
# applicant is without history when each is missing or zero.
HISTORY_COUNTS = ("bureau_count", "prev_count", "pos_count", "inst_count", "cc_count")
# A history source the applicant has no rows in is one reason, said as absence, whatever feature
# of that source the model leaned on (its values are all missing): family -> (count, EN, FR).
ABSENT_SOURCES: dict[str, tuple[str, str, str]] = {
    "bureau": (
        "bureau_count",
        "No credit reported by other lenders (credit bureau)",
        "Aucun crédit déclaré par d'autres établissements",
    ),
    "prev": (
        "prev_count",
        "No previous credit application with us",
        "Aucune demande de crédit précédente chez nous",
    ),
    "pos": ("pos_count", "No previous loan with us", "Aucun crédit précédent chez nous"),
    "inst": ("inst_count", "No repayment history with us", "Aucun historique de remboursement chez nous"),
    "cc": ("cc_count", "No credit card with us", "Aucune carte de crédit chez nous"),
}


def history_columns(features: list[str], counts: tuple[str, ...] = HISTORY_COUNTS) -> np.ndarray:
    """Columns of `features` holding the history counts (those present)."""
    return np.array([features.index(c) for c in counts if c in features], dtype=np.int64)


def no_history_rows(X: np.ndarray, count_cols: np.ndarray) -> np.ndarray:
    """Rows whose every history count is missing or 0 (no count column at all: every row)."""
    block = np.asarray(X)[:, count_cols]
    return np.all(np.isnan(block) | (block == 0), axis=1)


def no_history(X: np.ndarray, features: list[str], counts: tuple[str, ...] = HISTORY_COUNTS) -> np.ndarray:
    """Rows whose every history table is empty (count missing or 0); counts absent from `features`
    are ignored (no count at all: every row is without history)."""
    return no_history_rows(X, history_columns(features, counts))


class ThinBlend(NamedTuple):
    """The thin-file booster and its blend into the rows without history: one definition for the
    registered model and for training (training.champion.ChampionFit)."""

    booster: Any  # lightgbm.Booster over the thin features
    weight: float  # on the thin booster's log-odds
    cols: np.ndarray  # the thin features: columns of the main matrix
    route: np.ndarray  # the history counts: columns of the main matrix

    @classmethod
    def of(
        cls, booster: Any, weight: float, features: list[str], thin_features: list[str], counts=HISTORY_COUNTS
    ):
        cols = np.array([features.index(f) for f in thin_features], dtype=np.int64)
        return cls(booster, float(weight), cols, history_columns(features, tuple(counts)))

    def rows(self, X: np.ndarray) -> np.ndarray:
        return no_history_rows(X, self.route)

    def raw(self, X: np.ndarray, main_raw: np.ndarray) -> np.ndarray:
        """The main booster's log-odds with the rows without history blended (in place)."""
        rows = self.rows(X)
        if rows.any():
            thin = self.booster.predict(X[rows][:, self.cols], raw_score=True, num_threads=0)
            main_raw[rows] = (1.0 - self.weight) * main_raw[rows] + self.weight * thin
        return main_raw

    def contributions(self, X: np.ndarray, main_contrib: np.ndarray) -> np.ndarray:
        """The main booster's pred_contrib with the rows without history blended (in place)."""
        rows = self.rows(X)
        if rows.any():
            thin = self.booster.predict(X[rows][:, self.cols], pred_contrib=True, num_threads=0)
            main_contrib[rows] = blend_contributions(main_contrib[rows], thin, self.cols, self.weight)
        return main_contrib


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
        self.thin: ThinBlend | None = None
        thin = self.meta.get("thin")
        if thin:
            thin_booster = lgb.Booster(model_file=str(folder / "booster_thin.txt"))
            if thin_booster.feature_name() != list(thin["features"]):
                raise FeatureMismatchError("booster_thin.txt and model.json disagree on the thin features")
            self.thin = ThinBlend.of(
                thin_booster, thin["weight"], self.features, list(thin["features"]), thin["route_counts"]
            )
        facts = [self.reason_codes[f]["fact"] for f in self.features]
        fact_ids = {fact: i for i, fact in enumerate(dict.fromkeys(facts))}
        self._fact_of = np.array([fact_ids[f] for f in facts])
        # per feature: index of its history source in ABSENT_SOURCES when that source's count is a
        # feature (else -1); an absent source's features share the fact code len(fact_ids) + index
        self._sources = [fam for fam, (count, _, _) in ABSENT_SOURCES.items() if count in self.features]
        self._source_count_cols = np.array(
            [self.features.index(ABSENT_SOURCES[fam][0]) for fam in self._sources], dtype=np.int64
        )
        source_idx = {fam: i for i, fam in enumerate(self._sources)}
        self._source_of = np.array(
            [source_idx.get(self.reason_codes[f]["family"], -1) for f in self.features], dtype=np.int64
        )
        self._n_facts = len(fact_ids)

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
    def thin_rows(self, X: np.ndarray) -> np.ndarray:
        """Rows scored with the thin-file blend (none without a thin booster)."""
        if self.thin is None:
            return np.zeros(len(X), dtype=bool)
        return self.thin.rows(X)

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        raw = self.booster.predict(X, raw_score=True, num_threads=0)
        return raw if self.thin is None else self.thin.raw(X, raw)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self.calibrator["method"] == "sigmoid":
            p = 1.0 / (1.0 + np.exp(-(self.calibrator["a"] * raw + self.calibrator["b"])))
        else:
            p = np.interp(raw, self.calibrator["x"], self.calibrator["y"])
        low, high = self.calibrator.get("clip", (0.0, 1.0))
        return np.clip(p, low, high)

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
        """SHAP values of the log-odds (LightGBM pred_contrib): n x (features + bias).

        Rows without history get the blend of both boosters' values (the thin booster's features
        are columns of the main matrix), which adds up to the blended log-odds.
        """
        contrib = self.booster.predict(X, pred_contrib=True, num_threads=0)
        return contrib if self.thin is None else self.thin.contributions(X, contrib)

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
        """Top factors raising and lowering each applicant's risk, one per underlying fact; the
        features of a history source the applicant has no rows in make one reason, said as absence."""
        n, f = X.shape
        values = contrib[:, :f]
        depth = min(f, per_direction * 6)
        source_of = self._source_of
        if len(self._sources):
            counts = X[:, self._source_count_cols]
            absent = np.isnan(counts) | (counts == 0)  # (n, sources)
        else:
            absent = np.zeros((n, 1), dtype=bool)
        rows_all, cols_all, ranks_all, dirs_all = [], [], [], []
        for direction, sign in (("raises", 1.0), ("lowers", -1.0)):
            signed = values * sign
            if depth < f:
                cand = np.argpartition(-signed, depth - 1, axis=1)[:, :depth]
            else:
                cand = np.tile(np.arange(f), (n, 1))
            cand_vals = np.take_along_axis(signed, cand, axis=1)
            order = np.argsort(-cand_vals, axis=1, kind="stable")
            cand = np.take_along_axis(cand, order, axis=1)
            cand_vals = np.take_along_axis(cand_vals, order, axis=1)
            facts = self._fact_of[cand]
            src = source_of[cand]
            is_absent = (src >= 0) & absent[np.arange(n)[:, None], np.maximum(src, 0)]
            facts = np.where(is_absent, self._n_facts + src, facts) if is_absent.any() else facts
            # a candidate repeats a fact if an earlier (larger) candidate of the row has the same fact
            same = facts[:, :, None] == facts[:, None, :]
            repeat = np.tril(same, k=-1).any(axis=2)
            keep = (cand_vals > 0) & ~repeat
            rank = np.cumsum(keep, axis=1)
            keep &= rank <= per_direction
            r, c = np.nonzero(keep)
            rows_all.append(r)
            cols_all.append(cand[r, c])
            ranks_all.append(rank[r, c])
            dirs_all.append(np.full(len(r), direction, dtype=object))
        r = np.concatenate(rows_all)
        feat = np.concatenate(cols_all)
        values_x = X[r, feat].astype(float)
        src = source_of[feat]
        absent_reason = (src >= 0) & absent[r, np.maximum(src, 0)]
        cache: dict[tuple[int, float], tuple[str, str]] = {}
        texts_en, texts_fr = [], []
        for j, v, gone in zip(feat.tolist(), values_x.tolist(), absent_reason.tolist(), strict=True):
            if gone:
                _, en, fr = ABSENT_SOURCES[self.reason_codes[self.features[j]]["family"]]
                texts_en.append(en)
                texts_fr.append(fr)
                continue
            key = (j, v)
            hit = cache.get(key)
            if hit is None:
                code = self.reason_codes[self.features[j]]
                hit = cache[key] = (reason_text(code, v, "en"), reason_text(code, v, "fr"))
            texts_en.append(hit[0])
            texts_fr.append(hit[1])
        names = np.asarray(self.features, dtype=object)
        families = np.asarray([self.reason_codes[x]["family"] for x in self.features], dtype=object)
        fact_names = np.asarray([self.reason_codes[x]["fact"] for x in self.features], dtype=object)[feat]
        fact_names = np.where(absent_reason, families[feat] + ":absent", fact_names)
        out = pd.DataFrame(
            {
                "sk_id_curr": np.asarray(ids, dtype=np.int64)[r],
                "direction": np.concatenate(dirs_all),
                "rank": np.concatenate(ranks_all).astype(np.int32),
                "feature": names[feat],
                "family": families[feat],
                "fact": fact_names,
                "feature_value": values_x,
                "shap_value": values[r, feat],
                "text_en": texts_en,
                "text_fr": texts_fr,
            }
        )
        return out.sort_values(["sk_id_curr", "direction", "rank"], kind="stable", ignore_index=True)

    def score_frame(self, frame: pd.DataFrame, top_k: int = 20, per_direction: int = 4) -> ScoreResult:
        """`score` for a frame of sk_id_curr + the model's features (the API's entry point)."""
        ids = frame["sk_id_curr"].to_numpy() if "sk_id_curr" in frame else np.arange(len(frame))
        return self.score(ids, self.matrix(frame), top_k=top_k, per_direction=per_direction)

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


def blend_contributions(main: np.ndarray, thin: np.ndarray, cols: np.ndarray, w: float) -> np.ndarray:
    """(1 - w) * main + w * thin, the thin booster's SHAP values (its features are the main matrix's
    columns `cols`, its bias last) laid out in the main order: the rows still add up to the blend."""
    out = (1.0 - w) * main
    out[:, cols] += w * thin[:, :-1]
    out[:, -1] += w * thin[:, -1]
    return out


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
