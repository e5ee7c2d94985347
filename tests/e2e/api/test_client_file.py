"""The client's file: keys with roles, completeness against the warehouse, formats, signed links."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import duckdb
import pytest

from api.services.links import make_token
from tests.e2e.api.conftest import (
    API_KEY,
    APP_KEY,
    LINK_PER_MINUTE,
    LINK_SECRET,
    REPO,
    SUPERSET_KEY,
    Pipeline,
    Server,
)
from warehouse.client_file import HISTORY_TABLES
from warehouse.schema import load_schema

DENYLIST_FR = ("_", "Externe score", "(nombre)", " ratio", "no information")


@pytest.fixture(scope="module")
def rich_applicant(pipeline: Pipeline) -> tuple[int, dict[str, int]]:
    """The scored applicant with the most history rows, and its row count per raw table."""
    con = duckdb.connect(str(pipeline.serving), read_only=True)
    try:
        sk_id = con.execute(
            "select a.SK_ID_CURR from raw.application_train a "
            "join (select SK_ID_CURR, count(*) n from raw.installments_payments group by 1) i using (SK_ID_CURR) "
            "join (select SK_ID_CURR, count(*) n from raw.bureau group by 1) b using (SK_ID_CURR) "
            "order by i.n + b.n desc, a.SK_ID_CURR limit 1"
        ).fetchone()[0]
        counts = {}
        for table, key in HISTORY_TABLES.items():
            if key == "SK_ID_BUREAU":
                sql = (
                    f"select count(*) from raw.{table} where SK_ID_BUREAU in "
                    "(select SK_ID_BUREAU from raw.bureau where SK_ID_CURR = ?)"
                )
            else:
                sql = f"select count(*) from raw.{table} where SK_ID_CURR = ?"
            counts[table] = con.execute(sql, [sk_id]).fetchone()[0]
    finally:
        con.close()
    assert counts["bureau_balance"] > 0 and counts["installments_payments"] > 0
    return int(sk_id), counts


def test_roles(server: Server, rich_applicant) -> None:
    sk_id, _ = rich_applicant
    path = f"/v1/applicants/{sk_id}/file"
    with server.client(key=None) as anonymous:
        assert anonymous.get(path).status_code == 401
    with server.client(key=APP_KEY) as app:
        assert app.get(f"/v1/applicants/{sk_id}/score").status_code == 200  # app: scores
        refused = app.get(path)
        assert refused.status_code == 403 and "shop-app" in refused.json()["detail"]
        assert app.post(f"{path}-link").status_code == 403
    with server.client(key=SUPERSET_KEY) as bi:
        assert bi.get(path).status_code == 403  # superset: scores and links, not files
        assert bi.post(f"{path}-link").status_code == 200
    with server.client() as officer:
        assert officer.get(path).status_code == 200
        assert officer.get("/v1/applicants/999999999/file").status_code == 404
        assert officer.post("/v1/applicants/999999999/file-link").status_code == 404


def test_file_holds_every_row_with_labels(server: Server, rich_applicant) -> None:
    sk_id, counts = rich_applicant
    with server.client() as officer:
        doc = officer.get(f"/v1/applicants/{sk_id}/file").json()
    schema = load_schema()
    app = doc["application"]
    assert [f["column"] for f in app["fields"]] == schema.table(app["table"]).column_names
    for f in app["fields"]:
        assert f["label_fr"] and f["label_fr"] != f["column"] and "_" not in f["label_fr"], f
    assert {name: t["row_count"] for name, t in doc["history"].items()} == counts
    for name, table in doc["history"].items():
        assert len(table["rows"]) == counts[name]
        assert [c["name"] for c in table["columns"]] == schema.table(name).column_names
    assert len(doc["features"]) > 100 and all(f["label_fr"] for f in doc["features"])
    d = doc["decision"]
    assert d["decision"] in ("approve", "review", "refuse") and 0 < d["probability"] < 1
    assert d["model_version"] and d["scored_at"] and d["threshold"] is not None
    assert doc["reasons"] and all(r["text_fr"] and r["text_en"] for r in doc["reasons"])
    assert doc["sources"] and doc["retention"]["days"] > 0
    assert doc["audit_log_check"]["ok"] is True and doc["audit_log_check"]["full_check_at"]
    # the look-up just made shows among the API's decisions about the applicant
    with server.client() as officer:
        officer.get(f"/v1/applicants/{sk_id}/score")
        again = officer.get(f"/v1/applicants/{sk_id}/file").json()
    assert len(again["api_decisions"]) >= 1 + len(doc["api_decisions"])
    assert all(e["kind"] in ("lookup", "decision") for e in again["api_decisions"])


def test_applicant_known_only_from_post(server: Server) -> None:
    from api.schemas import EXAMPLE_REQUEST

    body = json.loads(json.dumps(EXAMPLE_REQUEST))
    body["application"]["SK_ID_CURR"] = 987654321
    with server.client() as officer:
        assert officer.post("/v1/score", json=body).status_code == 200
        doc = officer.get("/v1/applicants/987654321/file").json()
    assert doc["known_from"] == "api_requests_only" and doc["application"] is None
    assert doc["api_decisions"][-1]["inputs_hash"] and doc["submitted_data"]


def test_csv_zip_and_pdf(server: Server, rich_applicant) -> None:
    from pypdf import PdfReader

    sk_id, counts = rich_applicant
    with server.client() as officer:
        z = officer.get(f"/v1/applicants/{sk_id}/file", params={"format": "csv"})
        pdf = officer.get(f"/v1/applicants/{sk_id}/file", params={"format": "pdf"})
    assert z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        for table, n in counts.items():
            lines = zf.read(f"{table}.csv").decode().splitlines()
            assert len(lines) == 1 + n, table  # header + rows (no newline inside our values)
        assert "application_train.csv" in zf.namelist() and "labels.csv" in zf.namelist()
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    pages = len(PdfReader(io.BytesIO(pdf.content)).pages)
    assert 2 <= pages <= 4, pages


def _link(server: Server, sk_id: int, key: str = API_KEY) -> tuple[str, str]:
    with server.client(key=key) as c:
        made = c.post(f"/v1/applicants/{sk_id}/file-link").json()
    return made["url"], made["link_id"]


def test_signed_link(server: Server, pipeline: Pipeline, rich_applicant) -> None:
    sk_id, _ = rich_applicant
    url, link_id = _link(server, sk_id, key=SUPERSET_KEY)
    path = url.split("://", 1)[1].split("/", 1)[1]
    token = path.rsplit("/", 1)[1]
    with server.client(key=None) as client:  # no API key: the token is the credential
        page = client.get("/" + path)
        assert page.status_code == 200 and "Votre dossier de crédit" in page.text
        assert (
            page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
        )
        assert client.get(f"/{path}/data.json").json()["sk_id_curr"] == sk_id
        assert client.get(f"/{path}/data.zip").status_code == 200
        # tampered, another applicant's, expired
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        assert client.get(f"/client/file/{sk_id}/{tampered}").status_code == 403
        assert client.get(f"/client/file/{sk_id + 1}/{token}").status_code == 403
        expired, _ = make_token(LINK_SECRET, sk_id, -1)
        assert client.get(f"/client/file/{sk_id}/{expired}").status_code == 403
        other_secret, _ = make_token("not-the-secret", sk_id, 3600)
        assert client.get(f"/client/file/{sk_id}/{other_secret}").status_code == 403
    with server.client() as officer:
        assert officer.post(f"/v1/file-links/{link_id}/revoke").status_code == 200
    with server.client(key=None) as client:
        assert client.get("/" + path).status_code == 403
    log = (pipeline.home / "audit" / "api_audit.jsonl").read_text()
    assert token not in log and tampered not in log
    kinds = [json.loads(line)["kind"] for line in log.splitlines()]
    assert {"file_link", "file_link_refused", "file_link_made", "file_link_revoked", "file_read"} <= set(
        kinds
    )


def test_link_rate_limit(server: Server, rich_applicant) -> None:
    sk_id, _ = rich_applicant
    url, _ = _link(server, sk_id)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1] + "/data.json"
    with server.client(key=None) as client:
        codes = [client.get(path).status_code for _ in range(LINK_PER_MINUTE + 1)]
        assert codes[:LINK_PER_MINUTE] == [200] * LINK_PER_MINUTE and codes[-1] == 429
        assert int(client.get(path).headers["retry-after"]) >= 1


def test_letter_reads_in_plain_french(server: Server, rich_applicant) -> None:
    """The letter's reasons: no feature names or generated glue; a missing source is said once."""
    from api.services.client_file import letter_reasons

    sk_id, _ = rich_applicant
    with server.client() as officer:
        doc = officer.get(f"/v1/applicants/{sk_id}/file").json()
    reasons = letter_reasons(doc)
    assert 1 <= len(reasons) <= 5
    for r in reasons:
        assert not any(bad in r["text"] for bad in DENYLIST_FR if bad != " ratio"), r["text"]
    # one text once: an absent source the model names in both directions is said once, raises first
    absent = "Aucun historique de remboursement chez nous"
    fake = {
        "reasons": [
            {"direction": "lowers", "rank": 1, "feature": "inst_dpd_mean", "text_fr": absent},
            {"direction": "raises", "rank": 2, "feature": "app_ext_source_2", "text_fr": "Score externe"},
            {"direction": "raises", "rank": 1, "feature": "inst_count", "text_fr": absent},
        ]
    }
    assert [(r["direction"], r["text"]) for r in letter_reasons(fake)] == [
        ("raises", absent),
        ("raises", "Score externe"),
    ]


def test_link_page_fits_a_phone(server: Server, rich_applicant, tmp_path: Path) -> None:
    """Chromium at 390 px wide: the letter has no horizontal scroll."""
    chromium, python = Path("/usr/bin/chromium"), REPO / ".venv-superset" / "bin" / "python"
    if not chromium.exists() or not python.exists():
        pytest.skip("needs Debian's chromium and the Superset venv's Playwright (make test installs both)")
    sk_id, _ = rich_applicant
    url, _ = _link(server, sk_id)
    script = tmp_path / "phone.py"
    script.write_text(
        "import json, sys\n"
        "from playwright.sync_api import sync_playwright\n"
        "with sync_playwright() as p:\n"
        "    b = p.chromium.launch(executable_path='/usr/bin/chromium', args=['--no-sandbox'])\n"
        "    page = b.new_page(viewport={'width': 390, 'height': 844})\n"
        "    r = page.goto(sys.argv[1])\n"
        "    print(json.dumps({'status': r.status, 'scroll': page.evaluate('document.documentElement.scrollWidth'),\n"
        "                      'width': page.evaluate('window.innerWidth'), 'h1': page.inner_text('h1')}))\n"
        "    b.close()\n"
    )
    out = subprocess.run([str(python), str(script), url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["status"] == 200 and "Votre dossier" in seen["h1"]
    assert seen["scroll"] <= seen["width"] == 390, seen
