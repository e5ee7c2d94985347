"""`python -m api <command>`: serve, verify-audit, openapi."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

JEMALLOC = "libjemalloc.so.2"


def _jemalloc_path() -> str | None:
    """Where the dynamic loader finds libjemalloc.so.2 (Debian: libjemalloc2), or None."""
    import ctypes.util
    import glob

    found = sorted(glob.glob(f"/usr/lib/*/{JEMALLOC}") + glob.glob(f"/usr/lib/{JEMALLOC}"))
    if found:
        return found[0]
    name = ctypes.util.find_library("jemalloc")
    return name if name and name.endswith(".so.2") else None


def _with_allocator(argv: list[str]) -> None:
    """Re-executes `serve` with jemalloc preloaded when CREDIT_API_MALLOC asks for it (the default).

    The real-time feature SQL spends a fifth of its CPU in the C allocator (DuckDB's plans and
    expression states, ~1,300 columns per run): per typical application 48 ms with glibc's malloc,
    38 ms with jemalloc (measured). The allocator is chosen when a process starts, hence the
    re-exec; uvicorn's worker processes inherit LD_PRELOAD.
    """
    import os

    from api.settings import get_api_settings

    if get_api_settings().malloc != "jemalloc" or JEMALLOC in os.environ.get("LD_PRELOAD", ""):
        return
    path = _jemalloc_path()
    if path is None:
        print(
            f"warning: {JEMALLOC} not found (Debian: apt-get install libjemalloc2); serving with the system "
            "allocator, real-time scoring is slower (set CREDIT_API_MALLOC=system to silence this)",
            file=sys.stderr,
        )
        return
    preload = " ".join(p for p in (path, os.environ.get("LD_PRELOAD", "")) if p)
    os.execve(sys.executable, [sys.executable, "-m", "api", *argv], {**os.environ, "LD_PRELOAD": preload})


def _port(text: str) -> int:
    """A TCP port for argparse (1-65535; uvicorn would fail later with a traceback)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} out of range 1-65535")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API with uvicorn on CREDIT_API_HOST:CREDIT_API_PORT")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=_port, default=None)
    serve.add_argument(
        "--workers", type=int, default=None, help="uvicorn worker processes (default CREDIT_API_WORKERS, 2)"
    )
    ver = sub.add_parser("verify-audit", help="check the audit log's hash chain (exit 1 if broken)")
    ver.add_argument("--path", type=Path, default=None, help="default: $CREDIT_HOME/audit/api_audit.jsonl")
    key = sub.add_parser(
        "key", help="make a new random API key and its CREDIT_API_KEYS entry (name:role:sha256)"
    )
    key.add_argument("name", help="the key's name (the audit log's 'who')")
    key.add_argument("role", choices=["app", "officer", "superset"])
    oas = sub.add_parser("openapi", help="print the OpenAPI schema (JSON)")
    oas.add_argument("--out", type=Path, default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    if args.command == "serve":
        import logging
        import os

        _with_allocator(argv)

        # one OpenMP thread per process: single-row LightGBM predictions gain nothing from more, and
        # the worker processes already use the cores (same results whatever the thread count)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import uvicorn

        from api.settings import get_api_settings
        from warehouse.config import get_settings

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        settings = get_settings()
        from api.app import startup_problem

        if problem := startup_problem():  # refused here: uvicorn's workers would restart forever
            print(f"configuration refused: {problem}", file=sys.stderr)
            return 2
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=args.host or settings.api_host,
            port=args.port or settings.api_port,
            workers=args.workers or get_api_settings().workers,
            log_level="info",
            access_log=False,
            server_header=False,  # no "server: uvicorn" on every answer
        )
        return 0
    if args.command == "verify-audit":
        from api.services.audit import verify
        from api.settings import get_api_settings

        result = verify(args.path or get_api_settings().audit_file)
        print(result.summary())
        return 0 if result.ok else 1
    if args.command == "key":
        import hashlib
        import secrets

        if not args.name or any(ch in args.name for ch in ":, ") or not args.name.isprintable():
            print("the name must be non-empty, printable, without ':', ',' or spaces", file=sys.stderr)
            return 2
        secret = secrets.token_urlsafe(32)
        print(f"key (give it to the client; shown once): {secret}")
        print(f"CREDIT_API_KEYS entry: {args.name}:{args.role}:{hashlib.sha256(secret.encode()).hexdigest()}")
        return 0
    if args.command == "openapi":
        from api.app import create_app

        text = json.dumps(create_app().openapi(), indent=1)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        else:
            print(text)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
