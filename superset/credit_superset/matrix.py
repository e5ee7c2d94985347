"""Who gets what from Superset's REST routes: the routes x roles matrix (superset/README.md).

For each user (admin, analyst, a loan officer) every route that returns data is called the way a
curious or hostile user could, with the user's own JWT session, and each answer is reduced to one
word that can be compared with the README's table:

- `denied`: 401, 403 or 404 (the object is invisible to the user);
- `refused`: another 4xx (the input was rejected, nothing returned);
- `all`: applicants outside the officer's branch came back (admin, analyst);
- `branch`: rows came back, all of the officer's branch;
- `none`: the call succeeded and returned no applicant row;
- `ok`: the call succeeded and returns no applicant rows by design (metadata);
- `error N`: anything else (a 5xx): always a failure.

`own` is an applicant of the officer's branch, `other` one of another branch.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import requests

from credit_superset import checks
from credit_superset.settings import serving_path

DECISION = "Decision"  # Client 360, dataset fct_scores
LIVE = "Live score from the API"  # Client 360, Jinja macro live_score_sql
SIMILAR = "Similar clients and their outcomes"  # Client 360, Jinja in its dataset's SQL
PORTFOLIO = "Champion model metrics (labelled applicants, out-of-fold)"  # Portfolio's own dataset
PORTFOLIO_RLS = "Approval rate"  # Portfolio, over fct_scores (a Client 360 dataset: RLS applies)
HOSTILE_VALUE = "0) or (1=1"
HOSTILE_WHERE = "1=1) or (1=1"


def branch_of(officer: str) -> set[int]:
    import duckdb

    from credit_superset.provision import branch_members_sql

    con = duckdb.connect(str(serving_path()), read_only=True)
    try:
        rows = con.execute(branch_members_sql("?"), [officer]).fetchall()
    finally:
        con.close()
    return {int(r[0]) for r in rows}


def _ids(values) -> set[int]:
    out = set()
    for value in values:
        try:
            out.add(int(value))
        except (TypeError, ValueError):
            continue
    return out


def _classify(status: int, ids: set[int] | None, branch: set[int]) -> str:
    if status in (401, 403, 404):
        return "denied"
    if 400 <= status < 500:
        return "refused"
    if status >= 300:
        return f"error {status}"
    if ids is None:
        return "ok"
    if not ids:
        return "none"
    return "branch" if ids <= branch else "all"


def _chart_data(api, context: dict[str, Any], **changes):
    return checks.post_chart_data(api, context, row_limit=1_000_000, **changes)


def browser_session(base_url: str, user: str, password: str):
    """A requests session logged in through the login form (cookie + CSRF), as a browser is:
    the non-API views (/datasource/samples, /credit/file-link/...) do not take the API's JWT."""
    session = requests.Session()
    page = session.get(f"{base_url}/login/", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on Superset's login page")
    session.post(
        f"{base_url}/login/",
        data={"username": user, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    csrf = session.get(f"{base_url}/api/v1/security/csrf_token/", timeout=30).json()["result"]
    session.headers.update({"X-CSRFToken": csrf, "Referer": base_url})
    return session


def _json_ids(response, column: str = "sk_id_curr") -> set[int]:
    """The applicants of a successful chart-data answer (_cell has ruled out errors)."""
    results = response.json().get("result") or []
    return _ids(row.get(column) for r in results for row in r.get("data") or [])


def _cell(response, ids_of=_json_ids, branch: set[int] = frozenset()) -> str:
    status = response.status_code
    if status < 300:
        try:
            results = (
                response.json().get("result") if "json" in response.headers.get("content-type", "") else None
            )
        except ValueError:
            results = None
        if isinstance(results, list) and any(isinstance(r, dict) and r.get("error") for r in results):
            return "refused"
    return _classify(status, ids_of(response) if status < 300 else None, branch)


def _csv_ids(response) -> set[int]:
    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    return _ids(row.get("sk_id_curr") for row in rows)


def _xlsx_ids(response) -> set[int]:
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return set()
    col = list(rows[0]).index("sk_id_curr")
    return _ids(r[col] for r in rows[1:])


def user_row(
    base_url: str,
    user: str,
    password: str | None,
    ids: dict[str, int],
    own: int,
    other: int,
    permalink: str,
    branch: set[int],
) -> dict[str, str]:
    """One user's cells (see the module's docstring); `branch`: the officer's applicants."""
    api = checks.client(base_url, user, password)
    browser = browser_session(base_url, user, password or checks.default_password(user))
    b = api.base_url
    cells: dict[str, str] = {}

    def visible(name: str):
        try:
            return checks.saved_context(api, ids[name])
        except requests.HTTPError:  # the chart is not this user's
            return None

    decision = visible(DECISION)
    if decision is None:
        cells["chart data: Client 360, every applicant (prompt removed)"] = "denied"
    else:
        one = lambda a: [{"col": "sk_id_curr", "op": "IN", "val": [a]}]  # noqa: E731
        cells["chart data: Client 360, every applicant (prompt removed)"] = _cell(
            _chart_data(api, decision, where=""), branch=branch
        )
        cells["chart data: own branch's applicant"] = _cell(
            _chart_data(api, decision, filters=one(own)), branch=branch
        )
        cells["chart data: another branch's applicant"] = _cell(
            _chart_data(api, decision, filters=one(other)), branch=branch
        )
        cells[f"chart data: WHERE carrying SQL ({HOSTILE_WHERE})"] = _cell(
            _chart_data(api, decision, where=HOSTILE_WHERE), branch=branch
        )
        cells[f"chart data: filter value carrying SQL ({HOSTILE_VALUE})"] = _cell(
            _chart_data(
                api, decision, filters=[{"col": "sk_id_curr", "op": "IN", "val": [HOSTILE_VALUE]}], where=""
            ),
            branch=branch,
        )
        csv_answer = _chart_data(api, decision, where="", result_format="csv")
        cells["CSV download (every applicant)"] = _cell(csv_answer, ids_of=_csv_ids, branch=branch)
        xlsx_answer = _chart_data(api, decision, where="", result_format="xlsx")
        cells["XLSX download (every applicant)"] = _cell(xlsx_answer, ids_of=_xlsx_ids, branch=branch)
        dataset_id = decision["datasource"]["id"]
        values = api.get(f"{b}/datasource/table/{dataset_id}/column/sk_id_curr/values/")
        cells["native-filter values (sk_id_curr)"] = _cell(
            values, ids_of=lambda r: _ids(r.json().get("result") or []), branch=branch
        )
        samples = browser.post(
            f"{base_url}/datasource/samples",
            params={"datasource_id": dataset_id, "datasource_type": "table"},
            json={},
            timeout=60,
        )
        cells["dataset samples (browser session)"] = _cell(
            samples,
            ids_of=lambda r: _ids(row.get("sk_id_curr") for row in r.json()["result"]["data"]),
            branch=branch,
        )
        exported = api.get(f"{b}/dataset/export/", params={"q": f"!({dataset_id})"})
        cells["dataset export (definition, no rows)"] = _cell(exported, ids_of=lambda r: None)
        state = api.get(f"{b}/dashboard/permalink/{permalink}")
        if state.status_code >= 300:
            cells["another branch's permalink, then its charts"] = _classify(state.status_code, None, branch)
        else:
            chosen = state.json()["state"]["dataMask"]["NATIVE_FILTER-applicant"]["filterState"]["value"]
            cells["another branch's permalink, then its charts"] = _cell(
                _chart_data(api, decision, filters=[{"col": "sk_id_curr", "op": "IN", "val": chosen}]),
                branch=branch,
            )
    live = visible(LIVE)
    if live is None:
        cells[f"Jinja live_score_sql with a value carrying SQL ({HOSTILE_VALUE})"] = "denied"
        cells["Jinja live_score_sql, another branch's applicant"] = "denied"
    else:
        answer = _chart_data(api, live, filters=[{"col": "sk_id_curr", "op": "IN", "val": [HOSTILE_VALUE]}])
        cells[f"Jinja live_score_sql with a value carrying SQL ({HOSTILE_VALUE})"] = _cell(
            answer, branch=branch
        )
        answer = _chart_data(api, live, filters=[{"col": "sk_id_curr", "op": "IN", "val": [other]}])
        cells["Jinja live_score_sql, another branch's applicant"] = _cell(answer, branch=branch)
    similar = visible(SIMILAR)
    if similar is not None:
        answer = _chart_data(
            api, similar, filters=[{"col": "sk_id_curr", "op": "IN", "val": [HOSTILE_VALUE]}]
        )
        cells[f"Jinja similar clients with a value carrying SQL ({HOSTILE_VALUE})"] = _cell(
            answer, branch=branch
        )
    else:
        cells[f"Jinja similar clients with a value carrying SQL ({HOSTILE_VALUE})"] = "denied"
    portfolio = api.get(f"{b}/chart/{ids[PORTFOLIO]}/data/")
    cells["chart data: a Portfolio chart on its own dataset (model metrics)"] = _cell(
        portfolio, ids_of=lambda r: None
    )
    aggregate = api.get(f"{b}/chart/{ids[PORTFOLIO_RLS]}/data/")
    cells["chart data: a Portfolio aggregate over fct_scores (RLS: own branch)"] = _cell(
        aggregate, ids_of=lambda r: None
    )
    for label, applicant in (("own branch's", own), ("another branch's", other)):
        page = browser.get(f"{base_url}/credit/file-link/{applicant}", timeout=30)
        cells[f"client-file link page, {label} applicant"] = _classify(page.status_code, None, branch)
    explore = api.get(f"{b}/explore/", params={"slice_id": ids[PORTFOLIO]})
    cells["explore: a Portfolio chart on its own dataset"] = _cell(explore, ids_of=lambda r: None)
    sql = checks.sqllab(api, "select count(*) as n from marts.fct_scores")
    cells["SQL Lab: execute"] = _classify(sql["status"], None, branch)
    saved = api.get(f"{b}/saved_query/")
    cells["SQL Lab: saved queries"] = _cell(saved, ids_of=lambda r: None)
    return cells


def access_matrix(
    base_url: str, users: list[tuple[str, str | None]], officer: str, own: int, other: int
) -> dict[str, dict[str, str]]:
    """{route: {user: cell}} for each (user, password); rows are judged against `officer`'s branch."""
    branch = branch_of(officer)
    if own not in branch or other in branch:
        raise RuntimeError(f"{own} must be of {officer}'s branch and {other} not")
    admin = checks.client(base_url, "admin")
    ids = {name: checks.chart_id(admin, name) for name in (DECISION, LIVE, SIMILAR, PORTFOLIO, PORTFOLIO_RLS)}
    dashboard = admin.get(f"{admin.base_url}/dashboard/client-360").json()["result"]["id"]
    filter_state = {
        "extraFormData": {"filters": [{"col": "sk_id_curr", "op": "IN", "val": [other]}]},
        "filterState": {"value": [other], "label": str(other)},
        "id": "NATIVE_FILTER-applicant",
        "ownState": {},
    }
    made = admin.post(
        f"{admin.base_url}/dashboard/{dashboard}/permalink",
        json={"dataMask": {"NATIVE_FILTER-applicant": filter_state}, "activeTabs": [], "urlParams": []},
    )
    made.raise_for_status()
    permalink = made.json()["key"]
    matrix: dict[str, dict[str, str]] = {}
    for user, password in users:
        for route, cell in user_row(base_url, user, password, ids, own, other, permalink, branch).items():
            matrix.setdefault(route, {})[user] = cell
    return matrix
