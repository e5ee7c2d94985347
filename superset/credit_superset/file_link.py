"""The officer's way from Client 360 to the client's file: a signed link asked from the scoring API.

Client 360's "Client file" chart links to `/credit/file-link/<sk_id_curr>` (a Flask blueprint that
superset_config.py registers through BLUEPRINTS). GET shows what the button does; POST (Superset's
CSRF token required) asks the API for a signed link, `POST /v1/applicants/{id}/file-link` with
Superset's key (CREDIT_SUPERSET_API_KEY, role `superset`) and the officer's username in
`X-Credit-User`, so the API's audit log says who made it. The page shows the link to give to the
client and when it expires.

Who may ask: a logged-in user with the role Admin or loan_officer. A loan officer only for an
applicant of their branch: the same rule as Client 360's row-level security (dim_applicant_branches
x dim_branches on officer_username), checked here against the published warehouse before the API
is called, so a hand-typed id of another branch never reaches the API (403, nothing logged there).
Analysts, who see every applicant but never send anything to a client, get 403.
"""

from __future__ import annotations

import html
import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from flask import Blueprint, Response, request

from credit_superset.settings import api_base_url

log = logging.getLogger(__name__)
TIMEOUT_S = float(os.environ.get("CREDIT_SUPERSET_API_TIMEOUT", "3"))
OFFICER_ROLE = "loan_officer"
ADMIN_ROLE = "Admin"
PATH = "/credit/file-link/<int:sk_id_curr>"

blueprint = Blueprint("credit_file_link", __name__)


def officer_sees(username: str, sk_id_curr: int) -> bool:
    """Whether the applicant belongs to the branch of which `username` is the officer (RLS's rule).

    Asked through Superset's own connection to the warehouse (its engine, with the configuration
    DB_CONNECTION_MUTATOR forces): DuckDB refuses a second in-process connection to the same file
    with another configuration, and would then fail Superset's own queries.
    """
    from sqlalchemy import text
    from superset.models.core import Database

    from credit_superset.provision import DATABASE_NAME, branch_members_sql
    from superset import db

    database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one()
    sql = text(
        f"select count(*) from ({branch_members_sql(':username')}) as members "  # noqa: S608 - schema from the contract
        "where members.sk_id_curr = :sk_id_curr"
    )
    with database.get_sqla_engine() as engine, engine.connect() as conn:
        row = conn.execute(sql, {"sk_id_curr": int(sk_id_curr), "username": username}).fetchone()
    return bool(row and row[0])


def ask_api(sk_id_curr: int, username: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the API's POST /v1/applicants/{id}/file-link; 503 when unreachable."""
    headers = {"Accept": "application/json", "X-Credit-User": username}
    if key := os.environ.get("CREDIT_SUPERSET_API_KEY"):
        headers["X-API-Key"] = key
    req = urllib.request.Request(
        f"{api_base_url()}/v1/applicants/{sk_id_curr}/file-link", data=b"", headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - the configured API
            return resp.status, json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read().decode("utf-8"))
        except ValueError:
            body = {}
        return exc.code, body if isinstance(body, dict) else {}
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        log.warning("file link for %s: API unavailable: %s", sk_id_curr, exc)
        return 503, {"detail": "the scoring API is unavailable"}


def _page(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
        "input[type=text]{width:100%;font-family:monospace}button{font-size:1rem;padding:.4rem 1rem}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(
        page,
        status=status,
        mimetype="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _refused(status: int, why: str) -> Response:
    return _page("Dossier client", f"<p id='refused'>{html.escape(why)}</p>", status)


@blueprint.route(PATH, methods=["GET", "POST"])
def file_link(sk_id_curr: int) -> Response:
    from flask_login import current_user
    from flask_wtf.csrf import generate_csrf

    if not current_user or not current_user.is_authenticated:
        return _refused(401, "Connectez-vous à Superset d'abord.")
    roles = {role.name for role in current_user.roles}
    username = current_user.username
    if ADMIN_ROLE not in roles:
        if OFFICER_ROLE not in roles:
            return _refused(403, "Seuls les chargés de clientèle envoient un dossier à un client.")
        if not officer_sees(username, sk_id_curr):
            return _refused(403, f"Le demandeur {sk_id_curr} n'est pas un client de votre agence.")
    if request.method == "GET":
        return _page(
            f"Dossier client {sk_id_curr}",
            "<p>Le client peut consulter les données que nous détenons sur lui, la décision et ses "
            "raisons, par un lien personnel et temporaire. Créer le lien l'enregistre au journal de "
            "l'API à votre nom.</p>"
            f"<form method='post'><input type='hidden' name='csrf_token' value='{html.escape(generate_csrf())}'>"
            "<button id='make-link' type='submit'>Créer le lien à envoyer au client</button></form>",
        )
    status, body = ask_api(sk_id_curr, username)
    if status != 200 or not body.get("url"):
        detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
        return _refused(
            502 if status < 500 else status,
            f"L'API n'a pas créé le lien ({status}{': ' + detail if detail else ''}).",
        )
    url, expires = str(body["url"]), str(body.get("expires_at", ""))
    return _page(
        f"Dossier client {sk_id_curr}",
        "<p>Lien à envoyer au client (ne le partagez qu'avec lui) :</p>"
        f"<p><input id='client-link' type='text' readonly value='{html.escape(url)}'></p>"
        f"<p>Valable jusqu'au <span id='expires'>{html.escape(expires)}</span>. "
        f"Référence du lien (pour le révoquer) : <code id='link-id'>{html.escape(str(body.get('link_id', '')))}</code></p>",
    )
