"""Provision Superset: metadata DB, roles, demo users, the dashboards bundle, row-level security.

Runs in .venv-superset. The Superset CLI does what it does well (`superset db upgrade`,
`superset init`); the rest runs inside the app context:
- roles: `analyst` (all warehouse datasets + SQL Lab through Superset's `sql_lab` role) and
  `loan_officer` (the Client 360 datasets only, no SQL Lab: it would bypass the row filters);
- users: admin, analyst and one loan officer per branch of the branch seed, passwords from the
  environment (dev falls back to documented defaults; other environments refuse to);
- the assets, imported with ImportAssetsCommand (overwrites every object by UUID: what is in git
  is what Superset has; `superset import-dashboards` would keep stale charts and datasets);
- after the import: datasets' columns synced from the warehouse, charts' saved query contexts
  pointed at the imported datasets, dashboards' roles (DASHBOARD_RBAC) and native-filter scopes;
- row-level security: a loan officer's queries only see applicants of their branch.
Every step is an upsert by name or UUID: running it twice changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from credit_superset import bundle
from credit_superset.settings import SUPERSET_DIR, password, serving_path, superset_home

log = logging.getLogger(__name__)

DATABASE_NAME = "credit_warehouse"
ANALYST_ROLE = "analyst"
OFFICER_ROLE = "loan_officer"
ANALYST_USER = "analyst"
CLIENT_360_DATASETS = [
    "fct_scores",
    "fct_reasons",
    "fct_shap_values",
    "live_score",
    "live_reasons",
    "client_percentiles",
    "bureau",
    "previous_applications",
    "installments",
    "similar_clients",
    "client_file_link",
]
DASHBOARD_ROLES = {
    "portfolio": [ANALYST_ROLE],
    "client-360": [ANALYST_ROLE, OFFICER_ROLE],
    "monitoring": [ANALYST_ROLE],
}
RLS_NAME = "loan officers: applicants of their branch"
RLS_SIMILAR_NAME = "loan officers: similar clients of their branch"
# Datasets keyed by applicant whose rows a loan officer may see only for their branch.
RLS_DATASETS = [d for d in CLIENT_360_DATASETS if d != "similar_clients"] + ["segment_rates"]


def branch_members_sql(username: str) -> str:
    """The applicants (sk_id_curr) of the branch whose officer is `username`, an SQL expression:
    the one rule behind the RLS clause, the client-file page and the live-score macro's check."""
    schema = bundle.marts_schema()
    return (
        f"select assignments.sk_id_curr from {schema}.dim_applicant_branches as assignments "
        f"inner join {schema}.dim_branches as branches on assignments.branch_id = branches.branch_id "
        f"where branches.officer_username = {username}"
    )


def branch_sql(key_column: str) -> str:
    """The RLS clause (Jinja: rendered per user by Superset) for a column holding sk_id_curr."""
    members = branch_members_sql("'{{ current_username() }}'")
    return f"{key_column} in ({members})"


def superset_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SUPERSET_CONFIG_PATH"] = str(SUPERSET_DIR / "superset_config.py")
    env["FLASK_APP"] = "superset.app:create_app()"
    env.setdefault("SUPERSET_LOAD_EXAMPLES", "no")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(SUPERSET_DIR), env.get("PYTHONPATH", "")] if p)
    return env


def superset_bin() -> str:
    return str(Path(sys.executable).with_name("superset"))


def run_cli(*args: str) -> float:
    """Run `superset ARGS` with the project's config; returns seconds taken."""
    start = time.monotonic()
    proc = subprocess.run(
        [superset_bin(), *args], env=superset_env(), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"superset {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.monotonic() - start


def officers(warehouse: Path) -> list[dict[str, str]]:
    """The loan officers of the branch seed (username, branch) from the serving warehouse."""
    import duckdb

    if not warehouse.exists():
        raise RuntimeError(
            f"{warehouse}: no serving warehouse; run `make pipeline` (or `python -m warehouse publish`)"
        )
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"select officer_username, branch_id, branch_name from {bundle.marts_schema()}.dim_branches "
            "order by officer_username"
        ).fetchall()
    finally:
        con.close()
    return [{"username": u, "branch_id": b, "branch_name": n} for u, b, n in rows]


# ----------------------------------------------------------------------------- in the app context
def _app():
    os.environ.update({k: v for k, v in superset_env().items() if k in ("SUPERSET_CONFIG_PATH", "FLASK_APP")})
    from superset.app import create_app

    return create_app()


def _upsert_user(sm, username: str, first: str, last: str, roles: list, pwd: str) -> None:
    user = sm.find_user(username=username)
    if user is None:
        sm.add_user(username, first, last, f"{username}@credit.example", roles, password=pwd)
        return
    user.roles = roles
    user.active = True
    from werkzeug.security import check_password_hash

    if not check_password_hash(user.password, pwd):
        sm.reset_password(user.id, pwd)


def ensure_users(warehouse: Path) -> dict[str, Any]:
    """Roles and demo users (before the import: the import runs as admin)."""
    app = _app()
    with app.app_context():
        from superset import db
        from superset import security_manager as sm

        admin_role, gamma, sql_lab = sm.find_role("Admin"), sm.find_role("Gamma"), sm.find_role("sql_lab")
        analyst_role = sm.find_role(ANALYST_ROLE) or sm.add_role(ANALYST_ROLE)
        officer_role = sm.find_role(OFFICER_ROLE) or sm.add_role(OFFICER_ROLE)
        _upsert_user(
            sm, "admin", "Admin", "Credit", [admin_role], password("SUPERSET_ADMIN_PASSWORD", "admin")
        )
        _upsert_user(
            sm,
            ANALYST_USER,
            "Ana",
            "Lyst",
            [gamma, sql_lab, analyst_role],
            password("SUPERSET_ANALYST_PASSWORD", "analyst"),
        )
        officer_pwd = password("SUPERSET_OFFICER_PASSWORD", "officer")
        found = officers(warehouse)
        for officer in found:
            _upsert_user(
                sm,
                officer["username"],
                "Loan officer",
                officer["branch_name"],
                [gamma, officer_role],
                officer_pwd,
            )
        db.session.commit()
        return {"officers": [o["username"] for o in found]}


def import_assets(warehouse: Path) -> dict[str, Any]:
    """Import the assets as admin with ImportAssetsCommand, which overwrites every object by UUID.

    `superset import-dashboards` (and the REST dashboard import) keep existing databases,
    datasets and charts as they are, so a changed chart or dataset would never reach an
    installed Superset; the assets importer makes the assets in git the state of Superset.
    """
    app = _app()
    with app.app_context():
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.utils.core import override_user

        from superset import security_manager as sm

        files = bundle.contents(warehouse, kind="assets")
        with override_user(sm.find_user(username="admin")):
            ImportAssetsCommand(files).run()
        return {"imported_files": len(files)}


def _dataset_name(dataset) -> str:
    return dataset.table_name


def after_import() -> dict[str, Any]:
    """Sync columns, fix saved query contexts, dashboard roles and filter scopes, permissions, RLS."""
    app = _app()
    with app.app_context():
        from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
        from superset.models.core import Database
        from superset.models.dashboard import Dashboard
        from superset.models.slice import Slice

        from superset import db
        from superset import security_manager as sm

        database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one()
        datasets = db.session.query(SqlaTable).filter_by(database_id=database.id).all()
        by_name = {_dataset_name(d): d for d in datasets}
        for dataset in datasets:
            dataset.fetch_metadata()

        rendered = bundle.render()
        chart_uuids = {cfg["uuid"] for rel, cfg in rendered.items() if rel.startswith("charts/")}
        for chart in db.session.query(Slice).all():
            if str(chart.uuid) not in chart_uuids or not chart.query_context:
                continue
            qc = json.loads(chart.query_context)
            qc["datasource"] = {"id": chart.datasource_id, "type": "table"}
            qc.setdefault("form_data", {})["datasource"] = f"{chart.datasource_id}__table"
            qc["form_data"]["slice_id"] = chart.id
            chart.query_context = json.dumps(qc)

        analyst_role, officer_role = sm.find_role(ANALYST_ROLE), sm.find_role(OFFICER_ROLE)
        roles = {ANALYST_ROLE: analyst_role, OFFICER_ROLE: officer_role}
        for dashboard in db.session.query(Dashboard).all():
            if dashboard.slug not in DASHBOARD_ROLES:
                continue
            dashboard.roles = [roles[name] for name in DASHBOARD_ROLES[dashboard.slug]]
            meta = json.loads(dashboard.json_metadata or "{}")
            chart_ids = sorted(chart.id for chart in dashboard.slices)
            for native_filter in meta.get("native_filter_configuration", []):
                native_filter["chartsInScope"] = chart_ids
            dashboard.json_metadata = json.dumps(meta)

        sm.add_permission_role(analyst_role, sm.find_permission_view_menu("database_access", database.perm))
        for dataset in datasets:
            sm.add_permission_view_menu("datasource_access", dataset.perm)
            if dataset.table_name in CLIENT_360_DATASETS:
                sm.add_permission_role(
                    officer_role, sm.find_permission_view_menu("datasource_access", dataset.perm)
                )

        for name, key, tables in [
            (RLS_NAME, "sk_id_curr", [by_name[t] for t in RLS_DATASETS if t in by_name]),
            (RLS_SIMILAR_NAME, "similar_sk_id_curr", [by_name["similar_clients"]]),
        ]:
            rule = db.session.query(RowLevelSecurityFilter).filter_by(name=name).one_or_none()
            if rule is None:
                rule = RowLevelSecurityFilter(name=name)
                db.session.add(rule)
            rule.filter_type = "Regular"
            rule.clause = branch_sql(key)
            rule.description = (
                "Loan officers see only the applicants assigned to their branch (dbt branch seed)."
            )
            rule.group_key = None
            rule.roles = [officer_role]
            rule.tables = tables
        db.session.commit()
        return {
            "datasets": len(datasets),
            "charts": db.session.query(Slice).count(),
            "dashboards": db.session.query(Dashboard).count(),
        }


def provision(warehouse: Path | None = None) -> dict[str, Any]:
    """The whole provisioning, in order; returns the seconds each step took."""
    warehouse = warehouse or serving_path()
    home = superset_home()
    home.mkdir(parents=True, exist_ok=True)
    timings: dict[str, Any] = {}
    timings["db_upgrade_s"] = round(run_cli("db", "upgrade"), 1)
    timings["init_s"] = round(run_cli("init"), 1)
    start = time.monotonic()
    timings.update(ensure_users_subprocess())
    timings["users_s"] = round(time.monotonic() - start, 1)
    bundle.write_zip(home / "bundle.zip", warehouse)  # kept for `import-api` and for inspection
    start = time.monotonic()
    timings.update(in_subprocess("import"))
    timings["import_s"] = round(time.monotonic() - start, 1)
    start = time.monotonic()
    timings.update(in_subprocess("after-import"))
    timings["after_import_s"] = round(time.monotonic() - start, 1)
    return timings


def in_subprocess(step: str) -> dict[str, Any]:
    """Run an app-context step in a fresh interpreter (Superset's app is one per process)."""
    proc = subprocess.run(
        [sys.executable, "-m", "credit_superset", "_step", step],
        env=superset_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"provisioning step {step} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_users_subprocess() -> dict[str, Any]:
    return in_subprocess("users")
