"""`make prod-check`: the production stack started, exercised end to end and stopped, on this machine.

Steps (each timed; the summary goes to stdout and $CREDIT_HOME/prod_check.json):
 1. PostgreSQL and Redis up (deploy/services.py), the env file's secrets (deploy/envfile.py);
 2. synthetic data (`--applicants`, once) and `make pipeline` in prod mode: MLflow's backend store on
    PostgreSQL, a quick training budget (the stack is under test here, not the model);
 3. the API (`python -m api serve`, CREDIT_ENV=prod, rate-limit counts in Redis), Superset
    (`make superset`: metadata on PostgreSQL, caches in Redis) and MLflow's server (`make
    mlflow-server`, the MLflow image's command) over the PostgreSQL registry;
 4. the e2e tests that target a running stack (tests/e2e/stack, CREDIT_E2E_STACK=<env file>);
 5. stops what it started (the API, Superset, MLflow's server, PostgreSQL, Redis), unless --keep.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deploy.__main__ import services_down, services_up

REPO = Path(__file__).resolve().parent.parent
QUICK_TRAINING = {
    "CREDIT_TRAIN_RUN_STUDIES": "false",
    "CREDIT_TRAIN_N_FOLDS": "3",
    "CREDIT_TRAIN_MAX_ROUNDS": "200",
    "CREDIT_TRAIN_BOOTSTRAP": "50",
    "CREDIT_TRAIN_SHAP_SAMPLE_ROWS": "500",
}


def stack_env(values: dict[str, str]) -> dict[str, str]:
    """This process's environment without any other stack's settings, plus the env file's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CREDIT_", "MLFLOW_", "SUPERSET_", "DBT_TARGET", "DBT_LOG"))
    }
    home = Path(values["CREDIT_HOME"])
    env.update(values)
    env.update({"DBT_TARGET_PATH": str(home / "dbt" / "target"), "DBT_LOG_PATH": str(home / "dbt" / "logs"),
                "CREDIT_REPORTS_DIR": str(home / "reports"), "DBT_PROFILES_DIR": str(REPO)})  # fmt: skip
    return env


def _step(name: str, steps: list[dict], cmd: list[str], env: dict[str, str], log: Path) -> None:
    started = time.perf_counter()
    print(f"prod-check: {name} ...", flush=True)
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        rc = subprocess.run(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    seconds = round(time.perf_counter() - started, 1)
    steps.append({"step": name, "seconds": seconds, "exit": rc})
    if rc != 0:
        raise RuntimeError(f"{name} failed (exit {rc}); see {log}")


def _wait(url: str, seconds: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer {url} within {seconds:.0f} s")


def run_check(values: dict[str, str], applicants: int, keep: bool) -> int:
    home = Path(values["CREDIT_HOME"])
    py = str(REPO / ".venv" / "bin" / "python")
    run_dir = home / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "prod_check.log"
    log.write_text("")
    steps: list[dict] = []
    api: subprocess.Popen | None = None
    mlflow: subprocess.Popen | None = None
    values = {
        **values,
        "MLFLOW_PORT": values.get("MLFLOW_PORT", str(int(values["CREDIT_SUPERSET_PORT"]) + 1)),
    }
    env = stack_env(values)
    superset_started = False
    status = 1
    started = time.perf_counter()
    try:
        t0 = time.perf_counter()
        services_up(values)
        steps.append(
            {"step": "PostgreSQL and Redis up", "seconds": round(time.perf_counter() - t0, 1), "exit": 0}
        )
        data = home / "data" / "synthetic"
        if not (data / "application_train.csv").exists():
            _step("generate", steps, [py, "-m", "warehouse", "generate", "--applicants", str(applicants),
                                      "--seed", "42", "--out", str(data), "--no-progress"], env, log)  # fmt: skip
        _step("make pipeline (prod)", steps, ["make", "-s", "pipeline", f"SOURCE={data}"],
              {**env, **QUICK_TRAINING}, log)  # fmt: skip
        t0 = time.perf_counter()
        api_log = (run_dir / "api.log").open("w")
        api = subprocess.Popen([py, "-m", "api", "serve"], cwd=REPO, env=env, stdout=api_log,
                               stderr=subprocess.STDOUT)  # fmt: skip
        api_url = f"http://127.0.0.1:{values['CREDIT_API_PORT']}"
        _wait(f"{api_url}/ready", 120, f"the API (log {run_dir / 'api.log'})", api)
        steps.append({"step": "API ready", "seconds": round(time.perf_counter() - t0, 1), "exit": 0})
        superset_started = True
        _step("make superset (prod)", steps, ["make", "-s", "superset"], env, log)
        t0 = time.perf_counter()
        mlflow_log = (run_dir / "mlflow.log").open("w")
        # its own process group: make's child (mlflow server, then its workers) stop with it
        mlflow = subprocess.Popen(["make", "-s", "mlflow-server"], cwd=REPO, env=env, stdout=mlflow_log,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        _wait(
            f"http://127.0.0.1:{values['MLFLOW_PORT']}/health",
            120,
            f"MLflow (log {run_dir / 'mlflow.log'})",
            mlflow,
        )
        steps.append(
            {"step": "MLflow server ready", "seconds": round(time.perf_counter() - t0, 1), "exit": 0}
        )
        tests = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e/stack"]
        _step("e2e tests against the stack", steps, tests,
              {**env, "CREDIT_E2E_STACK": str(home / ".env.prod")}, log)  # fmt: skip
        status = 0
    except Exception as exc:  # noqa: BLE001 - reported, then everything started is stopped
        print(f"prod-check: {exc}", file=sys.stderr)
    finally:
        if not keep:
            if api is not None:
                api.terminate()
                try:
                    api.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    api.kill()
            if mlflow is not None:
                for sig in (15, 9):
                    try:
                        os.killpg(mlflow.pid, sig)
                        mlflow.wait(timeout=20)
                        break
                    except ProcessLookupError:
                        break
                    except subprocess.TimeoutExpired:
                        continue
            if superset_started:
                subprocess.run(["make", "-s", "superset-stop"], cwd=REPO, env=env, capture_output=True)
            services_down(values)
    summary = {"status": "passed" if status == 0 else "failed", "seconds": round(time.perf_counter() - started, 1),
               "home": str(home), "log": str(log), "steps": steps}  # fmt: skip
    (home / "prod_check.json").write_text(json.dumps(summary, indent=2))
    for s in steps:
        print(f"  {s['step']:<34} {s['seconds']:>7.1f} s  exit {s['exit']}")
    print(f"prod-check {summary['status']} in {summary['seconds']:.0f} s (log: {log})")
    return status
