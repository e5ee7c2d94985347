"""`python -m credit_superset <command>` (PYTHONPATH=superset, in .venv-superset).

up         provision (if anything changed since the last time) and start the server: `make superset`
provision  provision now, even if nothing changed
start      start the server (background, pid file under $CREDIT_HOME/superset)
stop       stop it: `make superset-stop`
bundle     write the import zip built from superset/assets (--out PATH)
check      fetch every chart's data through the REST API (--applicant ID for Client 360)
user-view  what one user reaches: applicants (row-level security), SQL Lab, dashboards
import-api import the bundle through the REST API (superset-api-client)
browse     open each dashboard in headless chromium: screenshots and load times into reports/
matrix     Superset's REST routes x roles: what admin, analyst and a loan officer get (README table)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

from credit_superset import bundle
from credit_superset.settings import (
    SUPERSET_DIR,
    check_secrets,
    port,
    reports_dir,
    serving_path,
    superset_home,
)


def _stamp_digest() -> str:
    import importlib.metadata

    digest = hashlib.sha256()
    digest.update(bundle.assets_digest().encode())
    for path in sorted(
        [*(SUPERSET_DIR / "credit_superset").glob("*.py"), SUPERSET_DIR / "superset_config.py"]
    ):
        digest.update(path.read_bytes())
    for part in (str(serving_path()), bundle.marts_schema(), importlib.metadata.version("apache-superset")):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def _stamp_file() -> Path:
    return superset_home() / "provisioned.json"


def cmd_up(force: bool) -> int:
    from credit_superset import provision, server

    check_secrets()  # outside dev: refuse default or missing secrets before anything starts
    digest = _stamp_digest()
    stamp = json.loads(_stamp_file().read_text()) if _stamp_file().exists() else {}
    if force or stamp.get("digest") != digest:
        if server.running_pid():
            server.stop()
        start = time.monotonic()
        timings = provision.provision()
        timings["provision_total_s"] = round(time.monotonic() - start, 1)
        _stamp_file().write_text(json.dumps({"digest": digest, **timings}, indent=2))
        print(f"provisioned Superset in {timings['provision_total_s']} s: {json.dumps(timings)}")
    else:
        print("Superset already provisioned with these assets and settings: nothing to change")
    seconds = server.start()
    state = "started" if seconds else "already running"
    print(f"Superset {state} on {server.base_url()} (pid file {server.pid_file()}, log {server.log_file()})")
    return 0


def _browse_applicant(value: str) -> int | None:
    """An SK_ID_CURR, or 'refused': the refused applicant of median probability in the published scores."""
    if value == "none":
        return None
    if value != "refused":
        return int(value)
    import duckdb

    con = duckdb.connect(str(serving_path()), read_only=True)
    try:
        row = con.execute(
            f"select sk_id_curr from {bundle.marts_schema()}.fct_scores where decision = 'refuse' "  # noqa: S608
            "order by probability, sk_id_curr limit 1 offset (select count(*) // 2 from "
            f"{bundle.marts_schema()}.fct_scores where decision = 'refuse')"
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m credit_superset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up")
    sub.add_parser("provision")
    sub.add_parser("start")
    sub.add_parser("stop")
    bun = sub.add_parser("bundle")
    bun.add_argument("--out", type=Path, default=None)
    chk = sub.add_parser("check")
    chk.add_argument("--applicant", type=int, default=None)
    chk.add_argument("--user", default="admin")
    chk.add_argument("--password", default=None)
    brw = sub.add_parser("browse")
    brw.add_argument("--user", default=None)
    brw.add_argument("--password", default=None)
    brw.add_argument(
        "--applicant",
        default="refused",
        help="Client 360's applicant: an SK_ID_CURR, 'refused' (default: the median refused applicant "
        "of the latest scoring run, as the screenshots show) or 'none'",
    )
    brw.add_argument(
        "--file-links", default="", help="comma-separated SK_ID_CURRs to ask a client-file link for"
    )
    brw.add_argument("--json", default=None, help="write the result here and print one line per dashboard")
    brw.add_argument("--out", type=Path, default=None, help="default: $CREDIT_REPORTS_DIR/superset")
    brw.add_argument("--dashboards", default="portfolio,client-360,monitoring")
    mat = sub.add_parser(
        "matrix", help="Superset's REST routes x roles (admin, analyst, an officer), as JSON"
    )
    mat.add_argument("--officer", required=True)
    mat.add_argument("--officer-password", default=None)
    mat.add_argument("--own", type=int, required=True, help="an applicant of the officer's branch")
    mat.add_argument("--other", type=int, required=True, help="an applicant of another branch")
    view = sub.add_parser("user-view", help="what a user reaches (RLS, SQL Lab, dashboards), as JSON")
    view.add_argument("--user", required=True)
    view.add_argument("--password", default=None)
    imp = sub.add_parser("import-api", help="import the bundle through the REST API (superset-api-client)")
    imp.add_argument("--zip", type=Path, default=None)
    step = sub.add_parser("_step")
    step.add_argument("name", choices=["users", "import", "after-import"])
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            return cmd_up(force=False)
        if args.command == "provision":
            return cmd_up(force=True)
        if args.command == "start":
            from credit_superset import server

            server.start()
            print(f"Superset on {server.base_url()}")
        elif args.command == "stop":
            from credit_superset import server

            print("stopped" if server.stop() else "Superset was not running")
        elif args.command == "bundle":
            out = bundle.write_zip(args.out or superset_home() / "bundle.zip")
            print(out)
        elif args.command == "check":
            from credit_superset import checks

            result = checks.check_all_charts(
                f"http://127.0.0.1:{port()}", args.user, args.password, applicant=args.applicant
            )
            print(json.dumps(result))
            failed = [
                c for c in result["charts"] if c["status"] != 200 or c["error"] or c.get("applicant_error")
            ]
            return 1 if failed else 0
        elif args.command == "browse":
            from credit_superset import browser

            result = browser.browse(
                f"http://127.0.0.1:{port()}",
                user=args.user,
                password=args.password,
                applicant=_browse_applicant(args.applicant),
                file_links=[int(a) for a in args.file_links.split(",") if a.strip()],
                out_dir=args.out or reports_dir() / "superset",
                slugs=[slug for slug in args.dashboards.split(",") if slug],
            )
            if args.json:  # the details to a file, a line per dashboard on the terminal
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps(result, indent=1))
                for slug, state in result["dashboards"].items():
                    print(
                        f"{slug:<22} {state['wall_s']:6.1f} s, {len(state['errors'])} chart errors, {state['screenshot']}"
                    )
            else:
                print(json.dumps(result))
        elif args.command == "matrix":
            from credit_superset import matrix

            users = [("admin", None), ("analyst", None), (args.officer, args.officer_password)]
            result = matrix.access_matrix(
                f"http://127.0.0.1:{port()}", users, args.officer, args.own, args.other
            )
            print(json.dumps(result))
        elif args.command == "user-view":
            from credit_superset import checks

            print(
                json.dumps(
                    checks.user_view(f"http://127.0.0.1:{port()}", args.user, args.password), default=str
                )
            )
        elif args.command == "import-api":
            from credit_superset import checks

            zip_path = args.zip or bundle.write_zip(superset_home() / "bundle.zip")
            print(json.dumps(checks.import_with_client(f"http://127.0.0.1:{port()}", str(zip_path))))
        elif args.command == "_step":
            from credit_superset import provision

            steps = {
                "users": lambda: provision.ensure_users(serving_path()),
                "import": lambda: provision.import_assets(serving_path()),
                "after-import": provision.after_import,
            }
            result = steps[args.name]()
            print(json.dumps(result))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
