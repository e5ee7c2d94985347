"""/v1: the model, look-ups of known applicants, and real-time scores of new applications."""

from __future__ import annotations

import uuid
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from api.app import caller_id
from api.schemas import (
    BatchScoreRequest,
    BatchScoreResponse,
    ErrorDetail,
    ErrorResponse,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
    StoredScore,
)
from api.services.audit import inputs_hash
from api.services.scoring import RequestProblem, audit_entry, build_job, score_vectors
from api.services.state import NotReady, Serving
from api.settings import get_api_settings

router = APIRouter(prefix="/v1", tags=["scoring"])

ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or invalid X-API-Key"},
    422: {"model": ErrorResponse, "description": "Invalid request: each error names the Kaggle field"},
    503: {"model": ErrorResponse, "description": "No published warehouse or champion model yet"},
}
FEATURE_TIMEOUT_S = 60.0
Caller = Annotated[str, Depends(caller_id)]


def _serving(request: Request) -> Serving:
    return request.app.state.manager.get()


@router.get("/model", response_model=ModelInfo, responses=ERRORS, summary="The champion model being served")
def model_info(request: Request, caller: Caller) -> ModelInfo:
    serving = _serving(request)
    model = serving.model
    meta = getattr(model, "meta", {}) or {}
    return ModelInfo(
        name=serving.champion.name,
        version=serving.champion.version,
        threshold=float(model.threshold),
        review_band=(float(model.review_low), float(model.review_high)),
        feature_count=len(serving.features),
        trained_at=str(meta.get("trained_at") or meta.get("created_at") or "") or None,
        run_id=serving.champion.run_id,
        grade_bounds=[float(b) for b in getattr(model, "grade_bounds", [])],
        serving_copy=str(serving.copy.path),
        serving_copy_published_at=serving.copy.published_at.isoformat() if serving.copy.published_at else "",
        feature_sql=serving.copy.feature_sql.digest if serving.copy.feature_sql else None,
    )


@router.get(
    "/applicants/{sk_id_curr}/score",
    response_model=ScoreResponse,
    responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such applicant in the warehouse"}},
    summary="Score an applicant already in the warehouse (features read from the published mart)",
)
def applicant_score(
    request: Request,
    caller: Caller,
    sk_id_curr: Annotated[int, Path(ge=0, le=2**63 - 1, description="SK_ID_CURR of the applicant")],
    top_k: Annotated[int | None, Query(ge=0, le=50, description="SHAP values to return (default 10)")] = None,
):
    serving = _serving(request)
    x = serving.lookup(sk_id_curr)
    if x is None:
        return JSONResponse(
            status_code=404,
            content={"detail": f"no applicant with SK_ID_CURR {sk_id_curr} in the published warehouse"},
        )
    request_id = uuid.uuid4().hex
    k = get_api_settings().top_k_default if top_k is None else top_k
    (response,) = score_vectors(serving, x[None, :], [sk_id_curr], "lookup", request_id, k)
    stored = serving.copy.stored_score(sk_id_curr)
    if stored is not None:
        response.stored = StoredScore(
            **{
                k: (str(v) if v is not None and k in ("run_id", "model_version") else v)
                for k, v in stored.items()
                if k in StoredScore.model_fields
            }
        )
    request.app.state.audit.append(
        audit_entry(
            response,
            caller,
            "GET /v1/applicants/{sk_id_curr}/score",
            inputs_hash({"sk_id_curr": sk_id_curr}),
            serving,
        )
    )
    return response


def _score_requests(request: Request, caller: str, items: list[ScoreRequest], endpoint: str, batch: bool):
    serving = _serving(request)
    if serving.realtime is None:
        raise NotReady(serving.engine_error or "real-time features unavailable")
    settings = get_api_settings()
    jobs = []
    problems: list[ErrorDetail] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(items):
        prefix: list = ["body", "applications", i] if batch else ["body"]
        try:
            job = build_job(item, prefix, settings.history_max_rows)
        except RequestProblem as exc:
            problems.extend(exc.details)
            continue
        if item.application.SK_ID_CURR is not None:
            if item.application.SK_ID_CURR in seen:
                problems.append(
                    ErrorDetail(
                        loc=[*prefix, "application", "SK_ID_CURR"],
                        msg=f"SK_ID_CURR {item.application.SK_ID_CURR} appears twice in the batch",
                        type="value_error",
                        field="SK_ID_CURR",
                        table="application",
                    )
                )
            seen[item.application.SK_ID_CURR] = i
        jobs.append(job)
    if problems:
        raise RequestProblem(problems)
    futures = [serving.realtime.submit(job) for job in jobs]
    rows = [f.result(timeout=FEATURE_TIMEOUT_S) for f in futures]
    vectors = [serving.model_vector(row) for row in rows]
    X = np.vstack([v[0] for v in vectors])
    request_id = uuid.uuid4().hex
    ids = [item.application.SK_ID_CURR for item in items]
    k_default = settings.top_k_default
    responses = []
    for item, (x, mart), sk_id in zip(items, vectors, ids, strict=True):
        k = k_default if item.top_k is None else item.top_k
        (resp,) = score_vectors(serving, x[None, :], [sk_id], "decision", request_id, k)
        if item.include_features:
            resp.features = mart
        responses.append(resp)
    del X
    for item, resp in zip(items, responses, strict=True):
        request.app.state.audit.append(
            audit_entry(resp, caller, endpoint, inputs_hash(item.model_dump(mode="json")), serving)
        )
    return request_id, responses


@router.post(
    "/score",
    response_model=ScoreResponse,
    responses=ERRORS,
    summary="Score a new application in real time (features from the mart's own dbt SQL)",
)
def score(request: Request, caller: Caller, body: ScoreRequest) -> ScoreResponse:
    _, responses = _score_requests(request, caller, [body], "POST /v1/score", batch=False)
    return responses[0]


@router.post(
    "/score/batch",
    response_model=BatchScoreResponse,
    responses=ERRORS,
    summary="Score several new applications in one call (CREDIT_API_BATCH_MAX at most)",
)
def score_batch(request: Request, caller: Caller, body: BatchScoreRequest) -> BatchScoreResponse:
    limit = get_api_settings().batch_max
    if len(body.applications) > limit:
        raise RequestProblem(
            [
                ErrorDetail(
                    loc=["body", "applications"],
                    msg=f"{len(body.applications)} applications; at most {limit} per call (CREDIT_API_BATCH_MAX)",
                    type="too_long",
                    field="applications",
                )
            ]
        )
    request_id, responses = _score_requests(
        request, caller, body.applications, "POST /v1/score/batch", batch=True
    )
    return BatchScoreResponse(request_id=request_id, results=responses)
