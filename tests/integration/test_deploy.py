"""The production stack's parts that run here without containers: PostgreSQL and Redis started by
python -m deploy (as the postgres user when root), the env file, Redis-shared rate limits, and the
container files linted (hadolint, docker-compose config: no engine needed)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest
import redis

from api.services.limits import RedisRateLimit, make_rate_limit
from deploy import envfile
from deploy.daily import seconds_until
from tests.e2e.api.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = ["api/Dockerfile", "superset/Dockerfile", "deploy/docker/pipeline.Dockerfile",
               "deploy/docker/mlflow.Dockerfile"]  # fmt: skip


@pytest.fixture(scope="module")
def stack_home():
    """PostgreSQL and Redis up in a temp CREDIT_HOME outside pytest's private (0700) folders: when
    root, PostgreSQL runs as the postgres user, who must be able to enter it."""
    home = Path(tempfile.mkdtemp(prefix="credit-stack-"))
    home.chmod(0o755)
    env = {**os.environ, "CREDIT_HOME": str(home), "CREDIT_PG_PORT": str(free_port()),
           "CREDIT_REDIS_PORT": str(free_port())}  # fmt: skip
    up = subprocess.run([sys.executable, "-m", "deploy", "up"], cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=180)  # fmt: skip
    assert up.returncode == 0, up.stderr
    yield home, env
    subprocess.run(
        [sys.executable, "-m", "deploy", "down"], cwd=REPO, env=env, capture_output=True, timeout=60
    )


def test_services_up_idempotent_and_down(stack_home):
    home, env = stack_home
    path = home / ".env.prod"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = envfile.read(path)
    assert values["CREDIT_ENV"] == "prod" and len(envfile.redis_password(values)) == 48
    # a second `up` finds both running and changes nothing (same passwords still work)
    again = subprocess.run([sys.executable, "-m", "deploy", "up"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert envfile.read(path) == values
    for var in ("MLFLOW_TRACKING_URI", "SUPERSET_DATABASE_URI"):
        con = psycopg2.connect(
            values[var].replace("postgresql+psycopg2://", "postgresql://"), connect_timeout=5
        )
        con.close()
    bad = values["MLFLOW_TRACKING_URI"].replace(envfile.database_passwords(values)["mlflow"], "wrong")
    bad = bad.replace("postgresql+psycopg2://", "postgresql://")
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(bad, connect_timeout=5)
    assert redis.Redis.from_url(values["CREDIT_REDIS_URL"]).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=int(values["CREDIT_REDIS_PORT"]), password="wrong").ping()
    if os.geteuid() == 0:  # PostgreSQL's files belong to the postgres user
        assert (home / "services" / "postgres" / "data").stat().st_uid != 0
    status = subprocess.run([sys.executable, "-m", "deploy", "status"], cwd=REPO, env=env, capture_output=True,
                            text=True)  # fmt: skip
    assert "PostgreSQL: running; Redis: running" in status.stdout


def test_rate_limit_shared_by_workers_in_redis(stack_home):
    values = envfile.read(stack_home[0] / ".env.prod")
    url = values["CREDIT_REDIS_URL"]
    # two limiters = two API workers: 5 per minute in all, not 5 each
    workers = [make_rate_limit(5, url, "test"), make_rate_limit(5, url, "test")]
    assert all(isinstance(w, RedisRateLimit) for w in workers)
    answers = [workers[i % 2].retry_after("key:someone") for i in range(8)]
    assert answers[:5] == [0] * 5 and all(1 <= a <= 61 for a in answers[5:]), answers
    assert workers[0].retry_after("key:someone-else") == 0  # per key
    # Redis unreachable: let requests through (an outage of Redis is not one of the API)
    down = RedisRateLimit(5, f"redis://:x@127.0.0.1:{free_port()}/0", "test")
    assert [down.retry_after("k") for _ in range(7)] == [0] * 7
    assert make_rate_limit(5, "", "test").__class__.__name__ == "RateLimit"


def test_prod_refuses_a_redis_url_without_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "MLFLOW_"))}
    env.update({"CREDIT_HOME": str(tmp_path), "CREDIT_ENV": "prod", "CREDIT_REDIS_URL": "redis://127.0.0.1:6380/0",
                "CREDIT_API_KEYS": "a:app:" + "0" * 64})  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "warehouse", "summary"], cwd=REPO, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 2
    assert "CREDIT_REDIS_URL" in proc.stderr and "password" in proc.stderr


def test_daily_schedule():
    now = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
    assert seconds_until("02:00", now) == 1800
    assert seconds_until("01:30", now) == 86400
    with pytest.raises(ValueError, match="CREDIT_DAILY_AT"):
        seconds_until("2am", now)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfiles_lint(dockerfile):
    hadolint = Path(sys.executable).with_name("hadolint")
    proc = subprocess.run([str(hadolint), dockerfile], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_file_parses_and_requires_every_secret(tmp_path):
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose (Debian's package) missing: make test installs it"
    cmd = [compose, "-f", "deploy/compose.yaml", "config", "-q"]
    ok = subprocess.run([*cmd[:1], "--env-file", "deploy/compose.env.example", *cmd[1:]], cwd=REPO,
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    lines = (REPO / "deploy" / "compose.env.example").read_text().splitlines()
    partial = tmp_path / "partial.env"
    partial.write_text("\n".join(line for line in lines if not line.startswith("SUPERSET_SECRET_KEY=")))
    bad = subprocess.run([*cmd[:1], "--env-file", str(partial), *cmd[1:]], cwd=REPO, capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode != 0 and "SUPERSET_SECRET_KEY" in bad.stderr
    # every image built by the compose file exists, and its services carry health checks
    text = (REPO / "deploy" / "compose.yaml").read_text()
    for dockerfile in DOCKERFILES:
        assert f"dockerfile: {dockerfile}" in text, dockerfile
    assert text.count("healthcheck:") >= 4  # postgres, redis, api, superset; mlflow: its image's HEALTHCHECK


def test_api_reads_the_champion_from_postgresql_across_a_restart(stack_home):
    from api.services.model import find_champion

    home, env = stack_home
    values = envfile.read(home / ".env.prod")
    uri = values["MLFLOW_TRACKING_URI"]
    assert uri.startswith("postgresql+psycopg2://")
    assert find_champion(uri, "credit_default") is None  # a fresh store: no tables yet
    con = psycopg2.connect(uri.replace("postgresql+psycopg2://", "postgresql://"))
    con.autocommit = True
    with con.cursor() as cur:  # the two registry tables the API reads, as MLflow names them
        cur.execute("create table model_versions (name text, version int, storage_location text, run_id text, "
                    "creation_time bigint)")  # fmt: skip
        cur.execute("create table registered_model_aliases (name text, alias text, version int)")
        cur.execute("insert into model_versions values ('credit_default', 3, 'file:///x', 'r3', 1)")
        cur.execute("insert into registered_model_aliases values ('credit_default', 'champion', 3)")
    con.close()
    assert find_champion(uri, "credit_default").version == "3"
    # PostgreSQL restarts under the API's kept connection: the next check reconnects
    for command in ("down", "up"):
        proc = subprocess.run([sys.executable, "-m", "deploy", command], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert find_champion(uri, "credit_default").version == "3"
    assert find_champion(uri, "other_model") is None
