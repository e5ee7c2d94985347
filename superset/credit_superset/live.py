"""Jinja macros (JINJA_CONTEXT_ADDONS) that put the scoring API's live answer into a chart's SQL.

`{{ live_score_sql(filter_values('sk_id_curr')) }}` renders a one-row `select` with the API's
probability and decision for the chosen applicant; `{{ live_reasons_sql(...) }}` one row per
reason. When the API is down or slow the row says so in `api_status` and the numbers are NULL:
the chart still renders (degraded), it never fails. Answers are cached for a few seconds so that
the charts of one dashboard load call the API once per applicant.
The macro calls GET {CREDIT_API_HOST}:{CREDIT_API_PORT}/v1/applicants/{id}/score with its own
read-only key (CREDIT_SUPERSET_API_KEY, sent as X-API-Key) and the Superset user's name
(X-Credit-User: the API's log says who looked). The macro runs before row-level security filters
the row, so for a loan officer it first checks the applicant is of their branch (the RLS rule,
credit_superset.file_link.officer_sees): another branch's id never reaches the API.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from cachetools import TTLCache, cached

from credit_superset.settings import api_base_url
from credit_superset.sql import literal as _literal

log = logging.getLogger(__name__)
TIMEOUT_S = float(os.environ.get("CREDIT_SUPERSET_API_TIMEOUT", "3"))


def _applicant_id(values: Any) -> int | None:
    if isinstance(values, list | tuple):
        values = values[0] if values else None
    try:
        return int(values) if values is not None and str(values).strip() != "" else None
    except (TypeError, ValueError):
        return None


def current_user() -> tuple[str | None, set[str]]:
    """The Superset user rendering the query (name, role names); (None, set()) outside a request."""
    try:
        from flask import g

        user = getattr(g, "user", None)
        if user is None or not getattr(user, "username", None):
            return None, set()
        return user.username, {role.name for role in user.roles}
    except RuntimeError:  # no application context (unit tests, CLI)
        return None, set()


def _refused_for(sk_id_curr: int) -> str | None:
    """Why this user may not have this applicant's live score asked for, or None."""
    from credit_superset.file_link import ADMIN_ROLE, OFFICER_ROLE, officer_sees
    from credit_superset.provision import ANALYST_ROLE

    user, roles = current_user()
    officer_only = OFFICER_ROLE in roles and not roles & {ADMIN_ROLE, ANALYST_ROLE}
    if officer_only and not officer_sees(user, sk_id_curr):
        return "not an applicant of your branch"
    return None


@cached(TTLCache(maxsize=256, ttl=10))
def fetch_live_score(sk_id_curr: int, user: str | None = None) -> tuple[str, dict[str, Any]]:
    """(status, body): status is 'ok' or a short reason the API could not answer."""
    url = f"{api_base_url()}/v1/applicants/{sk_id_curr}/score"
    headers = {"Accept": "application/json"}
    if user:
        headers["X-Credit-User"] = user
    if key := os.environ.get("CREDIT_SUPERSET_API_KEY"):
        headers["X-API-Key"] = key
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as resp:
            return "ok", json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return f"API answered {exc.code}", {}
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        log.warning("live score for %s unavailable: %s", sk_id_curr, exc)
        return "API unavailable", {}
    except ValueError:
        return "API answer unreadable", {}


def _ask(sk_id: int | None) -> tuple[str, dict[str, Any]]:
    if sk_id is None:
        return "no applicant selected", {}
    if refused := _refused_for(sk_id):
        return refused, {}
    return fetch_live_score(sk_id, current_user()[0])


def live_score_sql(values: Any = None) -> str:
    """One row: sk_id_curr, live_probability, live_decision, live_model_version, api_status."""
    sk_id = _applicant_id(values)
    status, body = _ask(sk_id)
    cols = {
        "sk_id_curr": sk_id,
        "live_probability": body.get("probability"),
        "live_decision": body.get("decision"),
        "live_model_version": (body.get("model") or {}).get("version") or body.get("model_version"),
        "api_status": status,
    }
    typed = {"sk_id_curr": "bigint", "live_probability": "double"}
    return "select " + ", ".join(
        f"cast({_literal(v)} as {typed.get(k, 'varchar')}) as {k}" for k, v in cols.items()
    )


def live_reasons_sql(values: Any = None) -> str:
    """One row per reason the API gives: sk_id_curr, direction, rank, feature, text_en, api_status."""
    sk_id = _applicant_id(values)
    status, body = _ask(sk_id)
    reasons = body.get("reasons") or []
    rows = []
    for i, reason in enumerate(reasons, start=1):
        if not isinstance(reason, dict):
            continue
        rows.append(
            "select "
            + ", ".join(
                [
                    f"cast({_literal(sk_id)} as bigint) as sk_id_curr",
                    f"cast({_literal(reason.get('direction'))} as varchar) as direction",
                    f"cast({_literal(reason.get('rank', i))} as integer) as rank",
                    f"cast({_literal(reason.get('feature'))} as varchar) as feature",
                    f"cast({_literal(reason.get('text_en') or reason.get('text'))} as varchar) as text_en",
                    f"cast({_literal(status)} as varchar) as api_status",
                ]
            )
        )
    if not rows:
        rows.append(
            f"select cast({_literal(sk_id)} as bigint) as sk_id_curr, cast(null as varchar) as direction, "
            "cast(null as integer) as rank, cast(null as varchar) as feature, "
            f"cast({_literal('no live reasons: ' + status)} as varchar) as text_en, "
            f"cast({_literal(status)} as varchar) as api_status"
        )
    return "\nunion all\n".join(rows)
