"""Open the dashboards in Debian's headless chromium (Playwright, no browser download).

For each dashboard: log in, open it, measure first contentful paint and the time until every
chart has rendered (no loading indicator left), collect chart errors, take a full-page
screenshot. Client 360 opens on one applicant through its URL (native filter in Rison), and the
numbers it shows (batch probability, live score) are read back for the caller to compare:
each chart's big number, text and, for tables, the columns and the first 50 rows ({column: text}).
Only loopback requests are let through; everything else is aborted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from credit_superset.checks import default_password

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APPLICANT_FILTER = "NATIVE_FILTER-applicant"

# Resolves once every chart holder has a rendered chart and no loading indicator is left.
_ALL_RENDERED_JS = """
() => {
  const holders = [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')]
    .filter(h => h.querySelector('[data-test="slice-header"]'));
  if (holders.length === 0) return false;
  const busy = holders.some(h => h.querySelector('[data-test="loading-indicator"], .loading'));
  const filterBusy = [...document.querySelectorAll('[data-test="filter-bar"]')]
    .some(f => f.innerText.includes('Loading filter values'));
  if (busy || filterBusy) return false;
  return performance.now();
}
"""

_CHART_STATE_JS = """
() => [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')]
  .filter(h => h.querySelector('[data-test="slice-header"]'))
  .map(h => {
    const title = (h.querySelector('[data-test="editable-title"]') || h.querySelector('[data-test="slice-header"]'))
      .innerText.trim();
    const err = h.querySelector('.ant-alert-error, [role="alert"], [data-test="error-tooltip"]');
    const text = h.innerText;
    const bigNumber = h.querySelector('.header-line');
    // table charts: a sticky header table and a body table; body cells name their column
    const headers = [...h.querySelectorAll('table thead th[id^="header-"]')].map(th => th.id.slice(7));
    const rows = [...h.querySelectorAll('table tbody tr')].slice(0, 50).map(tr => Object.fromEntries(
      [...tr.querySelectorAll('td')].map((td, i) => [
        (td.getAttribute('aria-labelledby') || '').replace(/^header-/, '') || headers[i] || String(i),
        td.innerText.trim(),
      ])));
    return {
      title,
      error: err ? err.innerText.trim().slice(0, 300) || 'error' : null,
      unexpected: /Unexpected error|Error:|Traceback/.test(text) ? text.slice(0, 300) : null,
      big_number: bigNumber ? bigNumber.innerText.trim() : null,
      text: text.slice(0, 2000),
      table: headers.length ? {columns: headers, rows} : null,
      links: [...h.querySelectorAll('a[href]')].map(a => a.getAttribute('href')).slice(0, 20),
    };
  })
"""


def applicant_url(base_url: str, slug: str, applicant: int) -> str:
    """A URL that opens a dashboard on one applicant (native filter state in Rison)."""
    rison = (
        f"({APPLICANT_FILTER}:(extraFormData:(filters:!((col:sk_id_curr,op:IN,val:!({applicant})))),"
        f"filterState:(label:'{applicant}',validateStatus:!f,value:!({applicant})),"
        f"id:{APPLICANT_FILTER},ownState:()))"
    )
    return f"{base_url}/superset/dashboard/{slug}/?native_filters={rison}"


def _loopback_only(base_url: str):
    allowed = urlparse(base_url).netloc

    def handle(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).netloc == allowed:
            route.continue_()
        else:
            route.abort()

    return handle


def login(page, base_url: str, user: str, password: str, attempts: int = 3) -> None:
    """Form login; retried because Superset rate-limits logins (AUTH_RATE_LIMIT)."""
    for attempt in range(1, attempts + 1):
        page.goto(f"{base_url}/login/")
        page.wait_for_selector("input#username", timeout=60_000)
        page.fill("input#username", user)
        page.fill("input#password", password)
        page.keyboard.press("Enter")
        try:
            page.wait_for_url(lambda url: "/login" not in url, wait_until="commit", timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; retried below
            if attempt == attempts:
                raise RuntimeError(f"could not log in as {user} on {base_url}") from None
            page.wait_for_timeout(5_000 * attempt)


def open_dashboard(page, url: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Navigate, wait until all charts rendered; returns timings (ms) and each chart's state."""
    started = time.monotonic()
    response = page.goto(url, wait_until="commit")
    status = response.status if response else None
    try:
        handle = page.wait_for_function(_ALL_RENDERED_JS, timeout=timeout_s * 1000, polling=100)
    except Exception as exc:  # noqa: BLE001 - playwright's TimeoutError, reported with the page's state
        charts = page.evaluate(_CHART_STATE_JS)
        raise RuntimeError(f"{url}: charts not all rendered within {timeout_s:.0f} s: {charts}") from exc
    rendered_ms = handle.json_value()
    page.wait_for_timeout(500)  # let the last chart finish painting before the screenshot
    fcp = page.evaluate(
        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    charts = page.evaluate(_CHART_STATE_JS)
    return {
        "status": status,
        "first_contentful_paint_ms": round(fcp) if fcp else None,
        "all_charts_rendered_ms": round(rendered_ms),
        "wall_s": round(time.monotonic() - started, 2),
        "charts": charts,
        "errors": [c for c in charts if c["error"] or c["unexpected"]],
    }


def ask_file_link(page, base_url: str, applicant: int) -> dict[str, Any]:
    """Client 360's way to a client's file: open /credit/file-link/<id>, press the button, read the link."""
    response = page.goto(f"{base_url}/credit/file-link/{applicant}")
    outcome: dict[str, Any] = {"status": response.status if response else None, "link": None}
    if page.locator("#make-link").count() == 0:
        outcome["refused"] = page.inner_text("body")[:500]
        return outcome
    with page.expect_navigation():
        page.click("#make-link")
    if page.locator("#client-link").count() == 0:
        outcome["refused"] = page.inner_text("body")[:500]
        return outcome
    outcome.update(
        link=page.input_value("#client-link"),
        expires=page.inner_text("#expires"),
        link_id=page.inner_text("#link-id"),
    )
    return outcome


def browse(
    base_url: str,
    user: str | None = None,
    password: str | None = None,
    applicant: int | None = None,
    out_dir: Path | None = None,
    slugs: list[str] | None = None,
    file_links: list[int] | None = None,
) -> dict[str, Any]:
    """Open each dashboard as `user`; screenshots and a JSON summary go to out_dir.

    file_links: applicants for whom to ask a client-file link as this user (Client 360's page).
    """
    from playwright.sync_api import sync_playwright

    user = user or "admin"
    password = password or default_password(user)
    slugs = ["portfolio", "client-360", "monitoring"] if slugs is None else slugs
    out_dir = out_dir or Path("reports/superset")
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"user": user, "applicant": applicant, "dashboards": {}}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1200})
            page = context.new_page()
            page.route("**/*", _loopback_only(base_url))
            login(page, base_url, user, password)
            for slug in slugs:
                if applicant is not None and slug == "client-360":
                    url = applicant_url(base_url, slug, applicant)
                else:
                    url = f"{base_url}/superset/dashboard/{slug}/"
                state = open_dashboard(page, url)
                shot = out_dir / f"{slug}{'-' + user if user != 'admin' else ''}.png"
                page.screenshot(path=str(shot), full_page=True)
                state["screenshot"] = str(shot)
                state["url"] = url
                result["dashboards"][slug] = state
            if file_links:
                result["file_links"] = {str(a): ask_file_link(page, base_url, a) for a in file_links}
        finally:
            browser.close()
    summary = {
        slug: {k: v for k, v in state.items() if k not in ("charts",)}
        for slug, state in result["dashboards"].items()
    }
    (out_dir / f"load_times-{user}.json").write_text(json.dumps(summary, indent=2))
    return result
