"""Superset end to end: install, provision, import, chart data, RLS, idempotence, a real browser.

One module-wide stack: `make pipeline` on a small synthetic set (N applicants, quick training)
in a temporary CREDIT_HOME, the real scoring API (`python -m api serve`, uvicorn, with an API
key) over it, and Superset (`credit_superset up`, gunicorn) on free ports, its live-score macro
pointed at that API. Installs what it needs through make (`make superset-venv chromium`); skips
only if that fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
SUPERSET_PY = REPO / ".venv-superset" / "bin" / "python"
PY = REPO / ".venv" / "bin" / "python"
APPLICANTS = int(os.environ.get("CREDIT_SUPERSET_TEST_APPLICANTS", "3000"))
OFFICER_PASSWORD = "officer-test-pw"
API_KEY = "superset-test-key-0123456789"
QUICK_TRAINING = {  # the dashboards need a champion, not a good one
    "CREDIT_TRAIN_RUN_STUDIES": "false",
    "CREDIT_TRAIN_N_FOLDS": "2",
    "CREDIT_TRAIN_MAX_ROUNDS": "60",
    "CREDIT_TRAIN_BOOTSTRAP": "20",
    "CREDIT_TRAIN_SHAP_SAMPLE_ROWS": "300",
}
N_CHARTS, N_DATASETS = 33, 22
CHARTS_PER_DASHBOARD = {"portfolio": 10, "client-360": 12, "monitoring": 11}
# Client 360 charts that stay empty until exactly one applicant is picked (the live ones say so in a row)
PROMPTED = {
    "Decision", "Top reasons (batch)", "SHAP contributions (log-odds)", "Key figures against the population",
    "Credit bureau: credits elsewhere", "Previous applications", "Installment payments: days late over time",
    "Similar clients and their outcomes", "Client file (signed link for the client)",
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def _cli(env: dict[str, str], *args: str, timeout: float = 900) -> dict:
    proc = _run([str(SUPERSET_PY), "-m", "credit_superset", *args], env, timeout)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _build_warehouse(env: dict[str, str], home: Path) -> str:
    source = home / "data" / "synthetic"
    _run([str(PY), "-m", "warehouse", "generate", "--applicants", str(APPLICANTS), "--seed", "7",
          "--out", str(source), "--no-progress"], env)  # fmt: skip
    _run(["make", "--no-print-directory", "pipeline", f"SOURCE={source}"], env, timeout=3000)
    return f"make pipeline on {APPLICANTS:,} synthetic applicants (quick training)"


def _start_api(env: dict[str, str], home: Path) -> tuple[subprocess.Popen, str]:
    """The real scoring API (uvicorn, one worker) over the same CREDIT_HOME, with an API key."""
    port = _free_port()
    api_env = {
        **env,
        "CREDIT_ENV": "test",
        # Superset's key has the role superset: it may name the officer (X-Credit-User) in the audit log
        "CREDIT_API_KEYS": f"superset:superset:{hashlib.sha256(API_KEY.encode()).hexdigest()}",
        "CREDIT_API_WORKERS": "1",
        "CREDIT_FILE_LINK_SECRET": "superset-test-link-secret",
        "CREDIT_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = (home / "api.log").open("w")
    proc = subprocess.Popen(
        [str(PY), "-m", "api", "serve", "--port", str(port)],
        cwd=REPO, env=api_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"the API exited ({proc.returncode}):\n{(home / 'api.log').read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise AssertionError(f"the API was not ready within 180 s:\n{(home / 'api.log').read_text()[-3000:]}")


def _api_score(stack, applicant: int) -> dict:
    request = urllib.request.Request(
        f"{stack['api_url']}/v1/applicants/{applicant}/score", headers={"X-API-Key": API_KEY}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    install = subprocess.run(
        ["make", "--no-print-directory", "superset-venv", "chromium"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if install.returncode != 0 or not SUPERSET_PY.exists() or not Path("/usr/bin/chromium").exists():
        pytest.skip(
            f"could not install Superset's venv or Debian chromium via make:\n{install.stderr[-2000:]}"
        )
    home = tmp_path_factory.mktemp("credit_home")
    reports = REPO / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "DBT_", "MLFLOW_"))}
    env.update({
        "CREDIT_HOME": str(home),
        "CREDIT_SUPERSET_PORT": str(_free_port()),
        "CREDIT_REPORTS_DIR": str(reports),
        "PYTHONPATH": str(REPO / "superset"),
        "SUPERSET_OFFICER_PASSWORD": OFFICER_PASSWORD,
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(home / "dbt" / "target"),
        "DBT_LOG_PATH": str(home / "dbt" / "logs"),
        **QUICK_TRAINING,
    })  # fmt: skip
    data = _build_warehouse(env, home)
    api, api_url = _start_api(env, home)
    env.update({"CREDIT_SUPERSET_API_URL": api_url, "CREDIT_SUPERSET_API_KEY": API_KEY})
    try:
        started = time.monotonic()
        up = _run([str(SUPERSET_PY), "-m", "credit_superset", "up"], env)
        up_s = time.monotonic() - started
        stamp = json.loads((home / "superset" / "provisioned.json").read_text())
        info = {"env": env, "home": home, "serving": home / "warehouse" / "serving.duckdb", "data": data,
                "up_s": up_s, "stamp": stamp, "up_stdout": up.stdout, "reports": reports,
                "api_url": api_url}  # fmt: skip
        # one decision in the API's audit log before Monitoring is checked
        _api_score(info, _officer_and_applicant(info)[1])
        yield info
    finally:
        subprocess.run([str(SUPERSET_PY), "-m", "credit_superset", "stop"], cwd=REPO, env=env, check=False)
        api.terminate()
        try:
            api.wait(timeout=30)
        except subprocess.TimeoutExpired:
            api.kill()


def _warehouse(stack):
    return duckdb.connect(str(stack["serving"]), read_only=True)


def _officer_and_applicant(stack) -> tuple[str, int, float, set[int]]:
    """A loan officer, one applicant of their branch with history, its probability, the branch's applicants."""
    con = _warehouse(stack)
    try:
        officer, branch = con.execute(
            "select officer_username, branch_id from marts.dim_branches order by branch_id limit 1"
        ).fetchone()
        ids = {r[0] for r in con.execute(
            "select sk_id_curr from marts.dim_applicant_branches where branch_id = ?", [branch]
        ).fetchall()}  # fmt: skip
        applicant, probability = con.execute(
            """
            select scores.sk_id_curr, scores.probability
            from marts.fct_scores as scores
            inner join marts.dim_applicant_branches as branches using (sk_id_curr)
            where branches.branch_id = ?
              and exists (select 1 from raw.bureau where "SK_ID_CURR" = scores.sk_id_curr)
              and exists (select 1 from raw.previous_application where "SK_ID_CURR" = scores.sk_id_curr)
              and exists (select 1 from raw.installments_payments where "SK_ID_CURR" = scores.sk_id_curr)
              and exists (select 1 from marts.fct_reasons where sk_id_curr = scores.sk_id_curr)
            order by scores.sk_id_curr
            limit 1
            """,
            [branch],
        ).fetchone()
    finally:
        con.close()
    return officer, applicant, probability, ids & _scored_ids(stack)


def _scored_ids(stack) -> set[int]:
    con = _warehouse(stack)
    try:
        return {r[0] for r in con.execute("select sk_id_curr from marts.fct_scores").fetchall()}
    finally:
        con.close()


def test_every_chart_returns_rows(stack):
    _, applicant, probability, _ = _officer_and_applicant(stack)
    result = _cli(stack["env"], "check", "--applicant", str(applicant))
    charts = result["charts"]
    assert len(charts) == N_CHARTS, [c["name"] for c in charts]
    failed = [c for c in charts if not c["ok"]]
    assert not failed, json.dumps(failed, indent=1)[:4000]
    assert set(result["dashboards"]) == {"portfolio", "client-360", "monitoring"}
    by_name = {c["name"]: c for c in charts}
    live = by_name["Live score from the API"]["applicant_data"]
    assert live[0]["api_status"] == "ok", live  # the macro reached the API with its key
    # the batch probability is the picked applicant's, and empty ("No data") until one is picked
    # with no applicant picked, no chart lists every applicant's rows
    for name in PROMPTED:
        assert by_name[name]["rows"] == 0 and by_name[name]["applicant_rows"] >= 1, by_name[name]
    batch = by_name["Probability of default (batch)"]
    assert batch["data"] == [{"probability": None}], batch["data"]
    assert batch["applicant_data"] == [{"probability": pytest.approx(probability)}], batch["applicant_data"]
    (stack["reports"] / "superset").mkdir(parents=True, exist_ok=True)
    (stack["reports"] / "superset" / "provisioning.json").write_text(
        json.dumps(
            {"data": stack["data"], "make_superset_s": round(stack["up_s"], 1), **stack["stamp"]}, indent=2
        )
    )


def _rename_chart(env: dict[str, str], name: str, new_name: str) -> None:
    """Edit a chart by hand through the REST API (as someone would in the UI)."""
    code = (
        "import sys\nfrom credit_superset import checks\n"
        "api = checks.client(f'http://127.0.0.1:{sys.argv[1]}', 'admin')\n"
        "chart = checks.chart_id(api, sys.argv[2])\n"
        "api.put(f'{api.base_url}/chart/{chart}', json={'slice_name': sys.argv[3]}).raise_for_status()\n"
    )
    _run([str(SUPERSET_PY), "-c", code, env["CREDIT_SUPERSET_PORT"], name, new_name], env)


def test_second_run_and_rest_import_are_idempotent(stack):
    before = _cli(stack["env"], "check")
    again = _run([str(SUPERSET_PY), "-m", "credit_superset", "up"], stack["env"])
    assert "nothing to change" in again.stdout
    # provisioning makes the assets in git the state of Superset: a hand edit is overwritten
    _rename_chart(stack["env"], "Scoring runs", "edited by hand")
    assert "edited by hand" in {c["name"] for c in _cli(stack["env"], "check")["charts"]}
    forced = _run([str(SUPERSET_PY), "-m", "credit_superset", "provision"], stack["env"])
    assert "provisioned Superset" in forced.stdout
    counts = _cli(stack["env"], "import-api")
    after = _cli(stack["env"], "check")
    assert counts == {"charts": N_CHARTS, "datasets": N_DATASETS, "dashboards": 3}
    assert [(c["id"], c["name"]) for c in after["charts"]] == [(c["id"], c["name"]) for c in before["charts"]]
    assert after["dashboards"] == before["dashboards"]


def test_loan_officer_sees_only_their_branch_and_no_sql_lab(stack):
    officer, _, _, branch_ids = _officer_and_applicant(stack)
    view = _cli(stack["env"], "user-view", "--user", officer, "--password", OFFICER_PASSWORD)
    assert view["decision_error"] is None
    assert view["applicants"], "the loan officer sees no applicant at all"
    assert set(view["applicants"]) == branch_ids
    assert len(branch_ids) < len(_scored_ids(stack))
    assert view["sqllab"]["status"] == 403
    assert view["dashboards"]["client-360"] == 200
    assert view["dashboards"]["portfolio"] != 200 and view["dashboards"]["monitoring"] != 200

    analyst = _cli(stack["env"], "user-view", "--user", "analyst")
    assert set(analyst["applicants"]) == _scored_ids(stack)
    assert analyst["sqllab"]["status"] == 200
    assert analyst["sqllab"]["data"][0]["n"] == len(_scored_ids(stack))
    # SQL Lab cannot read the machine's files: DuckDB's external access is off
    assert analyst["sqllab_file"]["status"] != 200
    assert "disabled by configuration" in json.dumps(analyst["sqllab_file"]["error"])


def _readme_matrix() -> dict[str, dict[str, str]]:
    """The routes x roles table of superset/README.md: {route: {admin, analyst, officer: cell}}."""
    text = (REPO / "superset" / "README.md").read_text()
    section = text.split("## Routes x roles", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| route")]
    out = {}
    for line in rows:
        route, admin, analyst, officer = (cell.strip() for cell in line.strip("|").split(" | "))
        out[route] = {"admin": admin, "analyst": analyst, "officer": officer}
    return out


def test_routes_by_role_matrix(stack):
    """Every cell of the Superset README's routes x roles table, as the users get it now."""
    officer, applicant, _, branch_ids = _officer_and_applicant(stack)
    other = _other_branch_applicant(stack, branch_ids)
    got = _cli(stack["env"], "matrix", "--officer", officer, "--officer-password", OFFICER_PASSWORD,
               "--own", str(applicant), "--other", str(other))  # fmt: skip
    got = {
        route: {"officer" if u == officer else u: c for u, c in cells.items()} for route, cells in got.items()
    }
    expected = _readme_matrix()
    assert len(expected) >= 18
    assert got == expected
    # the property the table exists for, whatever its wording: no officer row outside the branch, no SQL
    assert all(cells["officer"] in ("branch", "none", "denied", "refused", "ok") for cells in got.values())
    assert got["SQL Lab: execute"]["officer"] == "denied"
    # the live-score macro asked the API for the other branch's applicant for admin and the analyst,
    # never for the officer (it checks the branch first: RLS alone would filter the row afterwards)
    asked = {
        e["caller"]
        for e in _audit(stack)
        if e.get("sk_id_curr") == other and e.get("kind") != "file_link_made"
    }
    assert {"superset/admin", "superset/analyst"} <= asked, asked
    assert f"superset/{officer}" not in asked, asked


def _percent(text: str) -> float:
    """'12.5%' -> 0.125 (Client 360 shows probabilities as percentages with one decimal)."""
    assert text.endswith("%"), text
    return float(text[:-1]) / 100


def _other_branch_applicant(stack, branch_ids: set[int]) -> int:
    return min(_scored_ids(stack) - branch_ids)


def _audit(stack) -> list[dict]:
    path = stack["home"] / "audit" / "api_audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_browser_loan_officer_client_360_and_screenshots(stack):
    officer, applicant, probability, branch_ids = _officer_and_applicant(stack)
    out = stack["reports"] / "superset"
    other = _other_branch_applicant(stack, branch_ids)
    seen = _cli(stack["env"], "browse", "--user", officer, "--password", OFFICER_PASSWORD,
                "--applicant", str(applicant), "--dashboards", "client-360", "--out", str(out),
                "--file-links", f"{applicant},{other}")  # fmt: skip
    answer = _api_score(stack, applicant)
    c360 = seen["dashboards"]["client-360"]
    assert c360["status"] == 200
    assert not c360["errors"], c360["errors"]
    assert len(c360["charts"]) == CHARTS_PER_DASHBOARD["client-360"]
    shown = {c["title"]: c for c in c360["charts"]}
    assert _percent(shown["Probability of default (batch)"]["big_number"]) == pytest.approx(
        probability, abs=5e-4
    )
    # the live score, fetched from the API by the Jinja macro when the chart rendered, is the API's answer
    (live,) = shown["Live score from the API"]["table"]["rows"]
    assert live["api_status"] == "ok", live
    assert int(live["sk_id_curr"]) == applicant
    assert _percent(live["live_probability"]) == pytest.approx(answer["probability"], abs=5e-4), live
    assert live["live_decision"] == answer["decision"]
    assert live["live_model_version"] == answer["model"]["version"]
    assert abs(answer["probability"] - probability) < 1e-9  # the API scores known applicants as the batch did
    live_reasons = shown["Top reasons (live, from the API)"]["table"]["rows"]
    assert {r["text_en"] for r in live_reasons} == {r["text_en"] for r in answer["reasons"]}
    assert Path(c360["screenshot"]).stat().st_size > 50_000
    # the officer's way to the client's file: a link for the picked applicant, which asks the API
    # for a signed link; another branch's applicant is refused before the API is asked
    file_links = [h for h in shown["Client file (signed link for the client)"]["links"] if "/credit/" in h]
    assert file_links == [f"/credit/file-link/{applicant}"], file_links
    other = _other_branch_applicant(stack, branch_ids)
    links = seen["file_links"]
    made = links[str(applicant)]
    assert made["status"] == 200 and made["link"].startswith(
        f"{stack['api_url']}/client/file/{applicant}/"
    ), made
    with urllib.request.urlopen(made["link"], timeout=60) as resp:  # the client's page, no key
        assert resp.status == 200 and str(applicant) in resp.read().decode()
    assert links[str(other)]["status"] == 403 and links[str(other)]["link"] is None, links[str(other)]
    assert "agence" in links[str(other)]["refused"]
    analyst = _cli(stack["env"], "browse", "--user", "analyst", "--dashboards", "", "--applicant", "none",
                   "--file-links", str(applicant), "--out", str(out))["file_links"][str(applicant)]  # fmt: skip
    assert analyst["status"] == 403 and analyst["link"] is None, analyst
    made_by = [e for e in _audit(stack) if e.get("kind") == "file_link_made"]
    assert [(e["sk_id_curr"], e["caller"]) for e in made_by] == [(applicant, f"superset/{officer}")], made_by

    everything = _cli(
        stack["env"], "browse", "--user", "admin", "--applicant", str(applicant), "--out", str(out)
    )
    for slug, state in everything["dashboards"].items():
        assert state["status"] == 200, slug
        assert not state["errors"], (slug, state["errors"])
        assert Path(state["screenshot"]).exists()
    assert {slug: len(s["charts"]) for slug, s in everything["dashboards"].items()} == CHARTS_PER_DASHBOARD

    # Monitoring shows the API's recent decisions from its audit log: the live scores above,
    # asked with Superset's own key, and an intact hash chain
    monitoring = {c["title"]: c for c in everything["dashboards"]["monitoring"]["charts"]}
    decisions = monitoring["The scoring API's recent decisions (audit log)"]["table"]["rows"]
    superset_caller = "superset"
    mine = [d for d in decisions if d["sk_id_curr"] == str(applicant) and d["caller"] == superset_caller]
    assert mine, decisions[:3]
    assert mine[0]["decision"] == answer["decision"]
    assert _percent(mine[0]["probability"]) == pytest.approx(answer["probability"], abs=5e-4)
    assert all(d["chain_ok"] == "true" for d in decisions), decisions
    assert [int(d["seq"]) for d in decisions] == sorted((int(d["seq"]) for d in decisions), reverse=True)
    # the drift cards come from the dbt drift marts
    con = _warehouse(stack)
    try:
        score_psi, drifting = con.execute(
            "select (select psi from marts.fct_score_drift where is_latest_run), "
            "(select count(*) from marts.fct_feature_drift where psi_reading <> 'stable')"
        ).fetchone()
    finally:
        con.close()
    assert monitoring["Score PSI (latest scoring run)"]["big_number"] == f"{score_psi:.3f}"
    assert monitoring["Features drifting (PSI >= 0.1)"]["big_number"] == f"{drifting:,}"


def test_superset_keeps_answering_while_the_warehouse_is_republished(stack):
    """Publishes, two of them killed at their fault points (SIGKILL before and after the rename),
    while every chart's data is fetched in a loop: no chart query fails."""
    env = stack["env"]
    results: list[dict] = []
    stop = threading.Event()

    def query_loop() -> None:
        while not stop.is_set() and len(results) < 20:
            results.append(_cli(env, "check"))

    thread = threading.Thread(target=query_loop)
    thread.start()
    try:
        for fault in ("publish:before_rename", None, "publish:after_rename", None):
            if fault is None:
                _run([str(PY), "-m", "warehouse", "publish"], env)
            else:
                killed = subprocess.run(
                    [str(PY), "-m", "warehouse", "publish"],
                    cwd=REPO, env={**env, "CREDIT_FAULT": fault}, capture_output=True, timeout=600, check=False,
                )  # fmt: skip
                assert killed.returncode == -9, (fault, killed.returncode, killed.stderr[-1000:])
            time.sleep(2)
    finally:
        stop.set()
        thread.join(timeout=600)
    assert results, "no chart query ran during the publishes"
    errors = [c for r in results for c in r["charts"] if c["error"] or c["status"] != 200]
    assert not errors, errors[:3]
