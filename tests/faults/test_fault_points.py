"""kill -9 at named points of each writing step (CREDIT_FAULT), with the API probed throughout.

After each kill: the serving copy is the old one or the complete new one (hash compared), the API
keeps answering from it (every probe counted: 0 failures), the registry still resolves the
champion, and the step run again from where it died completes with no manual clean-up (the
writer lock and stale temp files are recognised).
"""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.api.conftest import API_KEY, REPO, build_pipeline, run, start_server, stop_server

APPLICANTS = 400


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _killed(cmd: list[str], env: dict[str, str], point: str) -> None:
    import subprocess

    proc = subprocess.run(
        cmd, cwd=REPO, env={**env, "CREDIT_FAULT": point}, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr[-2000:])


class Prober:
    """GET by id and /v1/model at ~10 req/s in a thread; counts failures."""

    def __init__(self, url: str, ids: list[int]) -> None:
        self.url, self.ids = url, ids
        self.sent = self.failed = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": API_KEY}, timeout=10) as client:
            i = 0
            while not self._stop.is_set():
                path = f"/v1/applicants/{self.ids[i % len(self.ids)]}/score" if i % 2 else "/v1/model"
                try:
                    code = client.get(path).status_code
                except httpx.HTTPError as exc:
                    code = str(exc)
                self.sent += 1
                if code != 200:
                    self.failed += 1
                    self.errors.append(f"{path}: {code}")
                i += 1
                time.sleep(0.1)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], Prober]]:
    home = tmp_path_factory.mktemp("faults_home")
    env = build_pipeline(home, APPLICANTS).env
    server = start_server(
        {
            **env,
            "CREDIT_ENV": "test",
            "CREDIT_API_KEYS": API_KEY,
            "CREDIT_FILE_LINK_SECRET": "faults-secret",
            "CREDIT_API_WORKERS": "1",
            "CREDIT_API_RELOAD_INTERVAL_S": "0.3",
        },
        home / "uvicorn.log",
    )
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True)
    ids = [r[0] for r in con.execute("select sk_id_curr from scoring.scores limit 20").fetchall()]
    con.close()
    prober = Prober(server.url, ids)
    with prober:
        yield home, env, prober
    stop_server(server)
    assert prober.sent > 50
    assert prober.failed == 0, prober.errors[:10]


def test_load_killed_before_and_after_the_swap(stack) -> None:
    home, env, _ = stack
    build, serving = home / "warehouse" / "build.duckdb", home / "warehouse" / "serving.duckdb"
    served = _sha(serving)
    source = home / "data" / "synthetic"
    before = _sha(build)
    _killed([sys.executable, "-m", "warehouse", "load", "--source", str(source)], env, "load:before_swap")
    assert _sha(build) == before  # the old build file, untouched
    assert list(build.parent.glob("*.loading*"))  # the dead run's temp file is left behind...
    _killed([sys.executable, "-m", "warehouse", "load", "--source", str(source)], env, "load:after_swap")
    assert _sha(build) != before and _sha(serving) == served  # a new build; the API's copy unchanged
    run([sys.executable, "-m", "warehouse", "load", "--source", str(source)], env)  # ...and removed here
    assert not list(build.parent.glob("*.loading*"))
    dbt = str(Path(sys.executable).with_name("dbt"))
    run([dbt, "run", "--quiet", "--select", "+feat_applicant_features", "+feat_applicant_labels"], env)


def test_score_killed_mid_write_and_before_commit(stack) -> None:
    home, env, _ = stack
    import duckdb

    build = home / "warehouse" / "build.duckdb"

    def runs() -> int:
        con = duckdb.connect(str(build), read_only=True)
        try:
            return con.execute("select count(*) from scoring.scoring_runs").fetchone()[0]
        finally:
            con.close()

    n = runs()
    for point in ("score:mid_write", "score:before_commit"):
        _killed([sys.executable, "-m", "training", "score", "--no-publish"], env, point)
        assert runs() == n, point  # the transaction never committed: no half run
    run([sys.executable, "-m", "training", "score", "--no-publish"], env)
    assert runs() == n + 1


def test_publish_killed_before_and_after_the_rename(stack) -> None:
    home, env, _ = stack
    build, serving = home / "warehouse" / "build.duckdb", home / "warehouse" / "serving.duckdb"
    old = _sha(serving)
    _killed([sys.executable, "-m", "warehouse", "publish"], env, "publish:before_rename")
    assert _sha(serving) == old
    _killed([sys.executable, "-m", "warehouse", "publish"], env, "publish:after_rename")
    new = _sha(serving)
    assert new != old  # the complete new copy (it carries the feature SQL: not byte-equal to build)
    run([sys.executable, "-m", "warehouse", "publish"], env)
    assert not [p for p in serving.parent.iterdir() if p.name.startswith(".serving.duckdb.")]
    assert build.exists()


def test_train_killed_around_registration_keeps_a_loadable_champion(stack) -> None:
    home, env, _ = stack
    check = (
        "from api.services.model import find_champion, load_model\n"
        "from warehouse.config import get_settings\n"
        "uri = get_settings().mlflow_tracking_uri\n"
        "c = find_champion(uri, 'credit_default')\n"
        "m = load_model(c, uri)\n"
        "print(c.version, len(m.features))\n"
    )
    versions = []
    for point in ("train:before_register", "train:after_register"):
        _killed([sys.executable, "-m", "training", "train", "--quick"], env, point)
        versions.append(run([sys.executable, "-c", check], env).split()[0])
    assert versions[0] == versions[1]  # the alias never moved to a half-registered version
    run([sys.executable, "-m", "training", "train", "--quick"], env)


def test_audit_killed_mid_line_then_recovered(stack, tmp_path) -> None:
    _, env, _ = stack
    path = tmp_path / "audit.jsonl"
    append = (
        "import sys\nfrom api.services.audit import AuditLog\n"
        "AuditLog(sys.argv[1]).append({'kind': 'decision', 'sk_id_curr': 1})\n"
    )
    run([sys.executable, "-c", append, str(path)], env)
    _killed([sys.executable, "-c", append, str(path)], env, "audit:mid_line")
    assert not path.read_bytes().endswith(b"\n")  # a torn line
    run([sys.executable, "-c", append, str(path)], env)
    out = run([sys.executable, "-m", "api", "verify-audit", "--path", str(path)], env)
    assert "intact: 3 entries" in out, out  # decision, recovered, decision


def test_dbt_build_killed_mid_model_then_rebuilt(stack) -> None:
    home, env, _ = stack
    serving = home / "warehouse" / "serving.duckdb"
    served = _sha(serving)
    dbt = str(Path(sys.executable).with_name("dbt"))
    locked = [sys.executable, "-m", "warehouse", "run-locked", "--", dbt, "build", "--quiet"]
    _killed(locked, env, "dbt:mid_model")
    assert _sha(serving) == served  # the API's copy untouched while the build file was half-built
    # the next build, with the dead holder's lock and whatever dbt left in the build file
    # (backup relations, a write-ahead log), completes without clean-up by hand
    run(locked, env, timeout=900)
    run([sys.executable, "-m", "warehouse", "publish"], env)
