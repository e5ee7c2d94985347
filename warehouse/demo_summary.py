"""What a new user reads at the end of `make demo`: what runs where, the logins, the documents
written and the measured times (python -m warehouse demo-summary).

The step times come from ``$CREDIT_HOME/run/demo_times.txt`` (``step seconds`` lines, which the
Makefile's demo recipe appends); the browser check's details stay in reports/superset/browse.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from warehouse.config import Settings

DEV_LOGINS = "admin / admin, analyst / analyst, each branch's loan officer (officer_north, ...) / officer"


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _warehouse_lines(path: Path) -> list[str]:
    if not path.exists():
        return [f"  no published warehouse at {path}"]
    con = duckdb.connect(str(path), read_only=True)
    try:
        train, new = con.execute(
            "select count(*) filter (where is_train), count(*) filter (where not is_train) "
            "from marts.feat_applicant_labels"
        ).fetchone()
        run = con.execute(
            "select model_name, model_version, n_scored, finished_at from scoring.scoring_runs "
            "order by finished_at desc limit 1"
        ).fetchone()
    except duckdb.Error as exc:
        return [f"  {path}: {str(exc).splitlines()[0]}"]
    finally:
        con.close()
    lines = [f"  {train:,} training applicants, {new:,} new applications"]
    if run:
        lines.append(
            f"  scored {run[2]:,} applicants with {run[0]} v{run[1]} (the champion) at {run[3]:%Y-%m-%d %H:%M}"
        )
    return lines


def _times(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, seconds = line.rpartition(" ")
        try:
            out.append((name.strip(), float(seconds)))
        except ValueError:
            continue
    return out


def _browse(reports: Path) -> str | None:
    path = reports / "superset" / "browse.json"
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    dashboards = result.get("dashboards", {})
    errors = sum(len(d.get("errors", [])) for d in dashboards.values())
    slow = max((d.get("wall_s", 0) or 0 for d in dashboards.values()), default=0)
    return f"{len(dashboards)} dashboards opened in Chromium, {errors} chart errors, slowest {slow:.1f} s ({path})"


def demo_summary(settings: Settings, times_file: Path | None = None) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    superset = f"http://127.0.0.1:{settings.superset_port}"
    lines = [
        "",
        f"The demo is running (CREDIT_HOME={settings.home}, CREDIT_ENV={settings.env}).",
        "",
        f"  Scoring API   {api}/docs   (stop: make api-stop)",
        f"  Superset      {superset}/   (stop: make superset-stop)",
        f"                logins: {DEV_LOGINS}",
        "                (dev passwords: CREDIT_ENV=prod refuses them; see superset/README.md)",
        "  MLflow        make mlflow-ui, then http://127.0.0.1:5000",
        "",
        "Data:",
        *_warehouse_lines(settings.serving_path),
    ]
    reports = settings.reports_dir
    docs = sorted(
        p for p in reports.glob("*") if p.is_file() and p.suffix in (".html", ".pdf", ".pptx", ".md")
    )
    shots = sorted((reports / "superset").glob("*.png"))
    lines += ["", f"Documents ({reports}):"]
    lines += [f"  {p.name:<40} {_size(p.stat().st_size):>9}" for p in docs] or ["  none yet"]
    if shots:
        lines.append(f"  superset/*.png: {len(shots)} dashboard screenshots")
    if browse := _browse(reports):
        lines.append(f"  browser check: {browse}")
    times = _times(times_file or settings.home / "run" / "demo_times.txt")
    if times:
        lines += ["", "Measured (this run, this machine: " + f"{os.cpu_count()} cores):"]
        lines += [f"  {name:<34} {seconds:7.0f} s" for name, seconds in times]
        lines.append(f"  {'total':<34} {sum(s for _, s in times):7.0f} s")
    lines += ["", "Next: README.md (the steps, the contract), docs/deploy.md (production)."]
    return "\n".join(lines)
