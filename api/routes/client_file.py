"""The client's file: for officers (API key, role officer) and for the client (a signed link).

- GET  /v1/applicants/{id}/file?format=json|csv|pdf   role officer
- POST /v1/applicants/{id}/file-link                   role officer or superset: a signed URL
- POST /v1/file-links/{link_id}/revoke                 role officer
- GET  /client/file/{sk_id_curr}/{token}[/data.json|/data.zip|/lettre.pdf]   no key: the token is the credential

Every read of a file, by an officer or through a link, accepted or refused, is an audit-log entry
of its own kind (file_read, file_link, file_link_refused, file_link_revoked): never a decision.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.app import Caller, require
from api.schemas import ErrorResponse
from api.services import client_file as cf
from api.services.audit_index import AuditIndex
from api.services.limits import make_rate_limit
from api.services.links import LinkRefused, Revocations, make_token, read_token
from warehouse.client_file import applicant_exists, read_applicant
from warehouse.config import get_settings

router = APIRouter(tags=["client file"])

SkId = Annotated[int, Path(ge=0, le=2**63 - 1, description="SK_ID_CURR of the applicant")]
NO_STORE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or invalid X-API-Key"},
    403: {"model": ErrorResponse, "description": "The key's role may not do this"},
    404: {"model": ErrorResponse, "description": "Nothing held about this applicant"},
    503: {"model": ErrorResponse, "description": "No published warehouse or champion model yet"},
}


def _state(request: Request) -> dict[str, Any]:
    """Per-process helpers, made on first use: audit index, revocations, per-link rate limit."""
    app = request.app
    if not hasattr(app.state, "client_files"):
        settings = get_settings()
        app.state.client_files = {
            "index": AuditIndex(app.state.audit.path),
            "revocations": Revocations(settings.home / "api" / "revoked_links.txt"),
            "rate": make_rate_limit(settings.file_link_per_minute, settings.redis_url, "file-link"),
        }
    return app.state.client_files


def _log(request: Request, kind: str, sk_id_curr: int | None, who: str, **extra: Any) -> None:
    request.app.state.audit.append(
        {
            "request_id": uuid.uuid4().hex,
            "time": datetime.now(tz=UTC).isoformat(timespec="microseconds"),
            "caller": who,
            "kind": kind,
            "endpoint": extra.pop("endpoint"),
            "sk_id_curr": sk_id_curr,
            **extra,
        }
    )


def _document(request: Request, sk_id_curr: int) -> dict[str, Any] | None:
    serving = request.app.state.manager.get()
    helpers = _state(request)
    with serving.copy.cursor() as cur:
        record = read_applicant(cur, sk_id_curr)
    entries = helpers["index"].entries_for(sk_id_curr)
    if not record.in_warehouse and not any(e.get("kind") in cf.DECISION_KINDS for e in entries):
        return None
    return cf.build_file(
        serving, record, entries, helpers["index"].verification(), get_settings().retention_days
    )


def _render(request: Request, doc: dict[str, Any], fmt: str, links: dict[str, str] | None) -> Response:
    name = f"dossier-{doc['sk_id_curr']}"
    if fmt == "json":
        return Response(
            json.dumps(doc, ensure_ascii=False, default=str, allow_nan=False),
            media_type="application/json",
            headers=NO_STORE,
        )
    if fmt == "csv":
        return Response(
            cf.csv_zip(doc),
            media_type="application/zip",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}.zip"'},
        )
    serving = request.app.state.manager.get()
    reasons = cf.letter_reasons(doc)
    figures = cf.key_figures(serving, reasons)
    if fmt == "pdf":
        return Response(
            cf.letter_pdf(cf.letter_html(doc, figures, None, pdf=True)),
            media_type="application/pdf",
            headers={**NO_STORE, "Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    return HTMLResponse(cf.letter_html(doc, figures, links), headers=NO_STORE)


@router.get(
    "/v1/applicants/{sk_id_curr}/file",
    responses={**ERRORS, 200: {"description": "The file (JSON, CSV zip or PDF letter)"}},
    summary="Everything held about one applicant (GDPR Art. 15), as JSON, CSV (zip) or the PDF letter",
)
def applicant_file(
    request: Request,
    sk_id_curr: SkId,
    caller: Annotated[Caller, Depends(require("file"))],
    format: Annotated[
        Literal["json", "csv", "pdf"], Query(description="json (default), csv (zip) or pdf")
    ] = "json",
) -> Response:
    doc = _document(request, sk_id_curr)
    _log(
        request,
        "file_read",
        sk_id_curr,
        caller.who,
        endpoint="GET /v1/applicants/{sk_id_curr}/file",
        format=format,
        found=doc is not None,
    )
    if doc is None:
        return JSONResponse(
            status_code=404, content={"detail": f"nothing held about SK_ID_CURR {sk_id_curr}"}
        )
    return _render(request, doc, format, None)


@router.post(
    "/v1/applicants/{sk_id_curr}/file-link",
    responses=ERRORS,
    summary="A signed, expiring link to the client's file, to give to the client (no key needed to open it)",
)
def file_link(
    request: Request, sk_id_curr: SkId, caller: Annotated[Caller, Depends(require("link"))]
) -> JSONResponse:
    settings = get_settings()
    serving = request.app.state.manager.get()
    with serving.copy.cursor() as cur:
        known = applicant_exists(cur, sk_id_curr)
    decided = any(
        e.get("kind") in cf.DECISION_KINDS for e in _state(request)["index"].entries_for(sk_id_curr)
    )
    if not known and not decided:
        return JSONResponse(
            status_code=404, content={"detail": f"nothing held about SK_ID_CURR {sk_id_curr}"}
        )
    token, link = make_token(settings.file_link_secret, sk_id_curr, settings.file_link_days * 86400)
    _log(
        request,
        "file_link_made",
        sk_id_curr,
        caller.who,
        endpoint="POST /v1/applicants/{sk_id_curr}/file-link",
        link_id=link.link_id,
        expires=link.expires,
    )
    return JSONResponse(
        {
            "url": f"{settings.public_url}/client/file/{sk_id_curr}/{token}",
            "link_id": link.link_id,
            "expires_at": datetime.fromtimestamp(link.expires, tz=UTC).isoformat(),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/v1/file-links/{link_id}/revoke",
    responses=ERRORS,
    summary="Revoke a link (it answers 403 from now on, in every worker)",
)
def revoke_link(
    request: Request,
    link_id: Annotated[str, Path(pattern="^[0-9a-f]{16}$")],
    caller: Annotated[Caller, Depends(require("file"))],
) -> dict[str, str]:
    _state(request)["revocations"].revoke(link_id)
    _log(
        request,
        "file_link_revoked",
        None,
        caller.who,
        endpoint="POST /v1/file-links/{link_id}/revoke",
        link_id=link_id,
    )
    return {"link_id": link_id, "status": "revoked"}


def _open_link(request: Request, sk_id_curr: int, token: str, fmt: str) -> Response:
    settings = get_settings()
    helpers = _state(request)
    endpoint = "GET /client/file/{sk_id_curr}/{token}" + ("" if fmt == "html" else f" ({fmt})")
    try:
        link = read_token(settings.file_link_secret, token, sk_id_curr)
        if helpers["revocations"].revoked(link.link_id):
            raise LinkRefused("revoked", link.link_id)
    except LinkRefused as exc:
        _log(
            request,
            "file_link_refused",
            None,
            "link",
            endpoint=endpoint,
            reason=exc.reason,
            link_id=exc.link_id,
        )
        return JSONResponse(
            status_code=403,
            content={"detail": "this link is not valid (expired, revoked or wrong)"},
            headers=NO_STORE,
        )
    wait = helpers["rate"].retry_after(link.link_id)
    if wait:
        _log(
            request,
            "file_link_refused",
            link.sk_id_curr,
            "link",
            endpoint=endpoint,
            reason="rate limit",
            link_id=link.link_id,
        )
        return JSONResponse(
            status_code=429,
            content={"detail": "too many requests on this link; try again shortly"},
            headers={**NO_STORE, "Retry-After": str(wait)},
        )
    doc = _document(request, link.sk_id_curr)
    _log(
        request,
        "file_link",
        link.sk_id_curr,
        "link",
        endpoint=endpoint,
        link_id=link.link_id,
        found=doc is not None,
    )
    if doc is None:
        return JSONResponse(
            status_code=404, content={"detail": "nothing is held under this link"}, headers=NO_STORE
        )
    base = f"{settings.public_url}/client/file/{sk_id_curr}/{token}"
    links = {"json": f"{base}/data.json", "csv": f"{base}/data.zip", "pdf": f"{base}/lettre.pdf"}
    return _render(request, doc, fmt, links)


Token = Annotated[str, Path(max_length=512, description="the link's signed token")]


@router.get(
    "/client/file/{sk_id_curr}/{token}",
    response_class=HTMLResponse,
    summary="The client's letter (HTML, for a phone)",
)
def client_letter(request: Request, sk_id_curr: SkId, token: Token) -> Response:
    return _open_link(request, sk_id_curr, token, "html")


@router.get("/client/file/{sk_id_curr}/{token}/data.json", summary="The client's file as JSON (same token)")
def client_json(request: Request, sk_id_curr: SkId, token: Token) -> Response:
    return _open_link(request, sk_id_curr, token, "json")


@router.get(
    "/client/file/{sk_id_curr}/{token}/data.zip",
    summary="The client's file as CSV files in a zip (same token)",
)
def client_csv(request: Request, sk_id_curr: SkId, token: Token) -> Response:
    return _open_link(request, sk_id_curr, token, "csv")


@router.get("/client/file/{sk_id_curr}/{token}/lettre.pdf", summary="The client's letter as PDF (same token)")
def client_pdf(request: Request, sk_id_curr: SkId, token: Token) -> Response:
    return _open_link(request, sk_id_curr, token, "pdf")
