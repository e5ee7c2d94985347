"""python -m deploy env|up|down|status|check: the production stack on this machine (docs/deploy.md).

env     write $CREDIT_HOME/.env.prod with random secrets (once) and print its path
up      start PostgreSQL and Redis (as in the env file), create the databases; idempotent
down    stop them
status  which of them run
check   `make prod-check`: env, up, the pipeline, the API and Superset in prod mode, the e2e tests
        against that stack, then stop what it started
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deploy import envfile
from deploy.services import ServiceError, postgres, redis_service


def _home() -> Path:
    return Path(os.environ.get("CREDIT_HOME", Path(__file__).resolve().parent.parent / "var")).resolve()


def _ports(args) -> dict[str, int]:
    return {"pg_port": args.pg_port, "redis_port": args.redis_port, "api_port": args.api_port,
            "superset_port": args.superset_port}  # fmt: skip


def services_up(values: dict[str, str]) -> None:
    home = Path(values["CREDIT_HOME"])
    postgres(home, int(values["CREDIT_PG_PORT"])).up(envfile.database_passwords(values))
    redis_service(home, int(values["CREDIT_REDIS_PORT"])).up(envfile.redis_password(values))


def services_down(values: dict[str, str]) -> list[str]:
    home = Path(values["CREDIT_HOME"])
    stopped = []
    if postgres(home, int(values["CREDIT_PG_PORT"])).down():
        stopped.append("PostgreSQL")
    if redis_service(home, int(values["CREDIT_REDIS_PORT"])).down():
        stopped.append("Redis")
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("command", choices=["env", "up", "down", "status", "check", "daily"])
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("CREDIT_PG_PORT", 5433)))
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("CREDIT_REDIS_PORT", 6380)))
    parser.add_argument(
        "--api-port", type=int, default=8010, help="the stack's API port (env file; default 8010)"
    )
    parser.add_argument(
        "--superset-port", type=int, default=8098, help="the stack's Superset port (default 8098)"
    )
    parser.add_argument(
        "--applicants", type=int, default=3000, help="check: synthetic applicants (default 3000)"
    )
    parser.add_argument("--keep", action="store_true", help="check: leave the stack running at the end")
    parser.add_argument("--now", action="store_true", help="daily: run the pipeline once at start")
    args = parser.parse_args(argv)
    if args.command == "daily":  # the container's environment holds the contract; no env file
        from deploy.daily import main as daily

        try:
            return daily(args.now)
        except ValueError as exc:
            print(f"deploy daily: {exc}", file=sys.stderr)
            return 2
    home = _home()
    try:
        path = envfile.ensure(home, **_ports(args))
        values = envfile.read(path)
        if args.command == "env":
            print(path)
        elif args.command == "up":
            services_up(values)
            print(f"PostgreSQL on 127.0.0.1:{values['CREDIT_PG_PORT']}, Redis on 127.0.0.1:"
                  f"{values['CREDIT_REDIS_PORT']} (files under {home / 'services'}; env: {path})")  # fmt: skip
        elif args.command == "down":
            stopped = services_down(values)
            print("stopped: " + (", ".join(stopped) or "nothing was running"))
        elif args.command == "status":
            pg = postgres(home, int(values["CREDIT_PG_PORT"])).running()
            rd = redis_service(home, int(values["CREDIT_REDIS_PORT"])).running()
            print(f"PostgreSQL: {'running' if pg else 'stopped'}; Redis: {'running' if rd else 'stopped'}")
        else:
            from deploy.check import run_check

            return run_check(values, applicants=args.applicants, keep=args.keep)
    except (ServiceError, ValueError) as exc:
        print(f"deploy {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
