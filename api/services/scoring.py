"""From validated requests to scores: rows for the feature SQL, the model, responses and audit entries."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from typing import Any

import numpy as np

from api.schemas import HISTORY_TABLES, ErrorDetail, ScoreRequest, ScoreResponse
from api.services.state import INTERNAL_ID_BASE, Job, Serving

_ids = itertools.count(1)
_ids_lock = threading.Lock()


class RequestProblem(ValueError):
    """A request that is well-typed but inconsistent (422 naming the field)."""

    def __init__(self, details: list[ErrorDetail]) -> None:
        super().__init__("; ".join(d.msg for d in details))
        self.details = details


def _internal_id() -> int:
    with _ids_lock:
        return INTERNAL_ID_BASE + next(_ids)


def _problem(loc: list, field: str, table: str, msg: str) -> ErrorDetail:
    return ErrorDetail(loc=loc, msg=msg, type="value_error", field=field, table=table)


def build_job(req: ScoreRequest, loc_prefix: list, max_rows: int) -> Job:
    """The raw rows of one application (as the Kaggle tables) and the keys its features depend on."""
    problems: list[ErrorDetail] = []
    app = req.application.model_dump()
    given_id = app.get("SK_ID_CURR")
    sk_id = given_id if given_id is not None else _internal_id()
    app["SK_ID_CURR"] = sk_id
    tables: dict[str, list[dict[str, Any]]] = {"application_test": [app]}
    keys: set[tuple[str, int]] = {("curr", sk_id)}
    for key, table in HISTORY_TABLES.items():
        rows = [r.model_dump() for r in getattr(req, key)]
        if len(rows) > max_rows:
            problems.append(
                _problem(
                    [*loc_prefix, key],
                    key,
                    table,
                    f"{len(rows)} rows; at most {max_rows} per table are accepted",
                )
            )
            continue
        for i, row in enumerate(rows):
            if "SK_ID_CURR" in row:
                if row["SK_ID_CURR"] is not None and given_id is not None and row["SK_ID_CURR"] != given_id:
                    problems.append(
                        _problem(
                            [*loc_prefix, key, i, "SK_ID_CURR"],
                            "SK_ID_CURR",
                            table,
                            f"SK_ID_CURR {row['SK_ID_CURR']} differs from the application's {given_id}",
                        )
                    )
                row["SK_ID_CURR"] = sk_id
        tables[table] = rows
    bureau_ids = [r["SK_ID_BUREAU"] for r in tables.get("bureau", [])]
    for i, dup in enumerate(bureau_ids):
        if bureau_ids.index(dup) != i:
            problems.append(
                _problem(
                    [*loc_prefix, "bureau", i, "SK_ID_BUREAU"],
                    "SK_ID_BUREAU",
                    "bureau",
                    f"duplicate SK_ID_BUREAU {dup}",
                )
            )
    known = set(bureau_ids)
    seen_months: set[tuple[int, int]] = set()
    for i, row in enumerate(tables.get("bureau_balance", [])):
        if row["SK_ID_BUREAU"] not in known:
            problems.append(
                _problem(
                    [*loc_prefix, "bureau_balance", i, "SK_ID_BUREAU"],
                    "SK_ID_BUREAU",
                    "bureau_balance",
                    f"SK_ID_BUREAU {row['SK_ID_BUREAU']} matches no row of `bureau` in this request",
                )
            )
        month = (row["SK_ID_BUREAU"], row["MONTHS_BALANCE"])
        if month in seen_months:
            problems.append(
                _problem(
                    [*loc_prefix, "bureau_balance", i, "MONTHS_BALANCE"],
                    "MONTHS_BALANCE",
                    "bureau_balance",
                    f"duplicate month {month[1]} for SK_ID_BUREAU {month[0]}",
                )
            )
        seen_months.add(month)
    prev_ids = [r["SK_ID_PREV"] for r in tables.get("previous_application", [])]
    for i, dup in enumerate(prev_ids):
        if prev_ids.index(dup) != i:
            problems.append(
                _problem(
                    [*loc_prefix, "previous_application", i, "SK_ID_PREV"],
                    "SK_ID_PREV",
                    "previous_application",
                    f"duplicate SK_ID_PREV {dup}",
                )
            )
    if problems:
        raise RequestProblem(problems)
    keys |= {("bureau", b) for b in bureau_ids}
    for table in ("previous_application", "pos_cash_balance", "installments_payments", "credit_card_balance"):
        keys |= {("prev", r["SK_ID_PREV"]) for r in tables.get(table, []) if r.get("SK_ID_PREV") is not None}
    return Job(tables=tables, keys=keys, sk_id_curr=sk_id)


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def score_vectors(
    serving: Serving,
    X: np.ndarray,
    ids: list[int | None],
    kind: str,
    request_id: str,
    top_k: int,
) -> list[ScoreResponse]:
    """Run the champion on model-ordered float32 vectors; responses with reasons and SHAP values.

    The probability, grade, decision and reasons come from the registered model's own code, as in
    the batch (`contributions` -> log-odds -> `calibrate`, `grade`, `decide`, `reasons`); only the
    top-k selection of SHAP values for the response is done here, with numpy (no DataFrames).
    """
    model = serving.model
    X = np.array(X, dtype=np.float32, copy=True)
    X[~np.isfinite(X)] = np.nan  # as the batch scorer does
    slots = np.arange(len(ids), dtype=np.int64)
    contrib = model.contributions(X)
    n_features = X.shape[1]
    raw = contrib.sum(axis=1)
    probability = model.calibrate(raw)
    grades = model.grade(probability)
    decisions = model.decide(probability)
    reasons = model.reasons(slots, X, contrib, 4)
    reason_rows = reasons.to_dict("records")
    names = model.features
    out = []
    for k, sk_id in enumerate(ids):
        values = contrib[k, :n_features]
        order = np.argsort(-np.abs(values), kind="stable")[:top_k]
        others = float(values.sum() - values[order].sum())
        out.append(
            ScoreResponse(
                request_id=request_id,
                kind=kind,  # type: ignore[arg-type]
                sk_id_curr=sk_id,
                model={"name": serving.champion.name, "version": serving.champion.version},  # type: ignore[arg-type]
                probability=float(probability[k]),
                raw_score=float(raw[k]),
                risk_grade=str(grades[k]),
                decision=str(decisions[k]),  # type: ignore[arg-type]
                threshold=float(model.threshold),
                review_band=(float(model.review_low), float(model.review_high)),
                reasons=[
                    {
                        "direction": r["direction"],
                        "rank": int(r["rank"]),
                        "feature": r["feature"],
                        "family": r.get("family"),
                        "feature_value": _clean(r["feature_value"]),
                        "shap_value": float(r["shap_value"]),
                        "text_en": r["text_en"],
                        "text_fr": r["text_fr"],
                    }
                    for r in reason_rows
                    if r["sk_id_curr"] == k
                ],
                top_shap=[
                    {
                        "feature": names[j],
                        "feature_value": _clean(X[k, j]),
                        "shap_value": float(values[j]),
                        "rank": rank,
                    }
                    for rank, j in enumerate(order, start=1)
                ],
                shap_bias=float(contrib[k, n_features]),
                shap_others=others,
            )
        )
    return out


def audit_entry(
    response: ScoreResponse, caller: str, endpoint: str, inputs_hash: str, serving: Serving
) -> dict[str, Any]:
    return {
        "request_id": response.request_id,
        "time": datetime.now(tz=UTC).isoformat(timespec="microseconds"),
        "caller": caller,
        "kind": response.kind,
        "endpoint": endpoint,
        "sk_id_curr": response.sk_id_curr,
        "model_name": response.model.name,
        "model_version": response.model.version,
        "serving_copy_published_at": serving.copy.published_at.isoformat()
        if serving.copy.published_at
        else None,
        "inputs_hash": inputs_hash,
        "probability": response.probability,
        "risk_grade": response.risk_grade,
        "decision": response.decision,
        "reasons": [f"{r.direction}: {r.text_en}" for r in response.reasons],
    }
