"""REST checks through superset-api-client: every chart's data query, as any user.

superset-api-client 0.6 logs in (JWT + CSRF), lists objects and imports bundles against 6.1; it
has no call for chart data, so those requests go through the client's authenticated session
(`client.get` / `client.post`) to /api/v1/chart/{id}/data and /api/v1/chart/data.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from credit_superset.settings import password as env_password

PASSWORD_VARS = {
    "admin": ("SUPERSET_ADMIN_PASSWORD", "admin"),
    "analyst": ("SUPERSET_ANALYST_PASSWORD", "analyst"),
}


def default_password(user: str) -> str:
    var, dev_default = PASSWORD_VARS.get(user, ("SUPERSET_OFFICER_PASSWORD", "officer"))
    return env_password(var, dev_default)


def client(base_url: str, user: str, password: str | None = None):
    """A logged-in SupersetClient (plain http on loopback needs OAUTHLIB_INSECURE_TRANSPORT)."""
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    from supersetapiclient.client import SupersetClient

    return SupersetClient(host=base_url, username=user, password=password or default_password(user))


def _result(payload: dict[str, Any]) -> dict[str, Any]:
    results = payload.get("result") or []
    first = results[0] if results else {}
    return {
        "rows": sum(int(r.get("rowcount") or 0) for r in results),
        "error": next((r.get("error") for r in results if r.get("error")), None),
        "rejected_filters": [f.get("column") for r in results for f in r.get("rejected_filters") or []],
        "data": first.get("data") or [],
        "colnames": first.get("colnames") or [],
    }


def saved_context(api, chart_id: int) -> dict[str, Any]:
    """The chart's saved query context (requests.HTTPError when this user cannot see the chart)."""
    detail = api.get(f"{api.base_url}/chart/{chart_id}")
    detail.raise_for_status()
    return json.loads(detail.json()["result"]["query_context"])


def post_chart_data(
    api,
    context: dict[str, Any],
    *,
    filters: list[dict[str, Any]] | None = None,
    row_limit: int | None = None,
    where: str | None = None,
    result_format: str | None = None,
):
    """POST /chart/data: a saved context with extra filters, another row limit, its WHERE replaced,
    another result format (csv, xlsx); the raw response."""
    context = copy.deepcopy(context)
    if result_format is not None:
        context["result_format"] = result_format
    for query in context["queries"]:
        query["filters"] = [*query.get("filters", []), *(filters or [])]
        if row_limit is not None:
            query["row_limit"] = row_limit
        if where is not None:
            query.setdefault("extras", {})["where"] = where
    return api.post(f"{api.base_url}/chart/data", json=context)


def chart_data(
    api,
    chart_id: int,
    filters: list[dict[str, Any]] | None = None,
    row_limit: int | None = None,
    where: str | None = None,
):
    """The chart's saved query, optionally with extra filters (as a native filter adds them).

    where: replaces the chart's own SQL condition (e.g. '' drops Client 360's "one applicant
    picked" prompt, as a user crafting their own query could: row-level security must still hold).
    """
    if not filters and row_limit is None and where is None:
        response = api.get(f"{api.base_url}/chart/{chart_id}/data/")
    else:
        context = saved_context(api, chart_id)
        response = post_chart_data(api, context, filters=filters, row_limit=row_limit, where=where)
    if response.status_code >= 400:
        try:
            message = response.json().get("message") or response.json().get("errors")
        except ValueError:
            message = response.text[:300]
        return {
            "status": response.status_code,
            "rows": 0,
            "error": str(message),
            "rejected_filters": [],
            "data": [],
        }
    return {"status": response.status_code, **_result(response.json())}


def dashboard_charts(api) -> dict[int, list[str]]:
    """{chart id: [dashboard slugs]} from the dashboards' chart lists."""
    out: dict[int, list[str]] = {}
    for dashboard in api.dashboards.find(page_size=100):
        response = api.get(f"{api.base_url}/dashboard/{dashboard.id}/charts")
        response.raise_for_status()
        for chart in response.json()["result"]:
            out.setdefault(chart["id"], []).append(dashboard.slug)
    return out


def check_all_charts(base_url: str, user: str, password: str | None = None, applicant: int | None = None):
    """Every chart's data: unfiltered, and for Client 360 also filtered on one applicant."""
    api = client(base_url, user, password)
    on = dashboard_charts(api)
    charts = []
    for chart in sorted(api.charts.find(page_size=100), key=lambda c: c.id):
        slugs = on.get(chart.id, [])
        entry = {"id": chart.id, "name": chart.slice_name, "viz_type": chart.viz_type, "dashboards": slugs}
        result = chart_data(api, chart.id)
        entry.update({k: result[k] for k in ("status", "rows", "error")})
        if applicant is not None and "client-360" in slugs:
            entry["data"] = result["data"][:5]  # what the chart shows before an applicant is picked
            filtered = chart_data(api, chart.id, [{"col": "sk_id_curr", "op": "IN", "val": [applicant]}])
            entry["applicant_rows"] = filtered["rows"]
            entry["applicant_error"] = filtered["error"]
            entry["applicant_data"] = filtered["data"][:5]
        entry["ok"] = entry["status"] == 200 and not entry["error"] and entry["rows"] > 0
        if applicant is not None and "client-360" in slugs:
            # a chart about "the chosen applicant" (similar clients) may be empty until one is chosen
            entry["ok"] = (
                entry["status"] == 200
                and not entry["error"]
                and not entry["applicant_error"]
                and entry["applicant_rows"] > 0
            )
        charts.append(entry)
    return {
        "user": user,
        "charts": charts,
        "datasets": api.datasets.count(),
        "dashboards": {d.slug: d.id for d in api.dashboards.find(page_size=100)},
    }


def chart_id(api, name: str) -> int:
    matches = [c for c in api.charts.find(page_size=100) if c.slice_name == name]
    if len(matches) != 1:
        raise RuntimeError(f"expected one chart named {name!r}, found {len(matches)}")
    return matches[0].id


def sqllab(api, sql: str) -> dict[str, Any]:
    """Run SQL in SQL Lab on the warehouse (as the client's user): status and error or rows."""
    databases = api.get(f"{api.base_url}/database/", params={"q": "(page_size:100)"})
    if databases.status_code >= 400:
        return {"status": databases.status_code, "error": databases.text[:300]}
    ids = [d["id"] for d in databases.json()["result"] if d["database_name"] == "credit_warehouse"]
    if not ids:
        return {"status": 404, "error": "credit_warehouse not visible to this user"}
    response = api.post(
        f"{api.base_url}/sqllab/execute/",
        json={"database_id": ids[0], "sql": sql, "runAsync": False, "queryLimit": 10},
    )
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return {
        "status": response.status_code,
        "error": body.get("message") or body.get("errors"),
        "data": body.get("data"),
    }


def user_view(base_url: str, user: str, password: str | None = None) -> dict[str, Any]:
    """What a user can reach: applicants behind Client 360's decision chart, SQL Lab, dashboards."""
    api = client(base_url, user, password)
    decision = chart_data(api, chart_id(api, "Decision"), row_limit=1_000_000, where="")
    dashboards = {}
    for slug in ("portfolio", "client-360", "monitoring"):
        dashboards[slug] = api.get(f"{api.base_url}/dashboard/{slug}").status_code
    return {
        "user": user,
        "decision_error": decision["error"],
        "applicants": sorted({row["sk_id_curr"] for row in decision["data"]}),
        "dashboards": dashboards,
        "sqllab": sqllab(api, "select count(*) as n from marts.fct_scores"),
        "sqllab_file": sqllab(api, "select * from read_csv('/etc/passwd')"),
    }


def import_with_client(base_url: str, zip_path: str) -> dict[str, Any]:
    """Import the bundle through the REST API (superset-api-client), overwriting by UUID."""
    api = client(base_url, "admin")
    api.dashboards.import_file(zip_path, overwrite=True)
    return {
        "charts": api.charts.count(),
        "datasets": api.datasets.count(),
        "dashboards": api.dashboards.count(),
    }
