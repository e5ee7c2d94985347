"""`python -m warehouse <command>`: generate, scale, realism, fit-synth, build-schema, load, validate, publish, summary."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic Kaggle-format files")
    gen.add_argument("--applicants", type=int, default=30_000)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--out", type=Path, default=None, help="default: $CREDIT_HOME/data/synthetic")
    gen.add_argument("--format", choices=["csv", "parquet"], default="csv")
    gen.add_argument("--drift", choices=["default", "none"], default="default")
    gen.add_argument("--no-progress", action="store_true")

    rea = sub.add_parser("realism", help="compare synthetic files with real ones")
    rea.add_argument("--real", type=Path, required=True)
    rea.add_argument("--synthetic", type=Path, required=True)
    rea.add_argument("--out", type=Path, default=None, help="default: $CREDIT_REPORTS_DIR/realism.md")

    fit = sub.add_parser("fit-synth", help="(maintainers) learn the generator's statistics")
    fit.add_argument("--real", type=Path, default=None, help="the real sample (optional with --risk-only)")
    fit.add_argument(
        "--risk-only",
        action="store_true",
        help="only the default process: the application risk direction (with --real) and the "
        "constants calibrated on generated data; marginals and correlations stay as they are",
    )

    bsc = sub.add_parser("build-schema", help="(maintainers) derive kaggle_schema.yaml")
    bsc.add_argument("--real", type=Path, required=True)

    sca = sub.add_parser("scale", help="real-shaped files of any size, resampled from a real data set")
    sca.add_argument("--source", type=Path, required=True, help="the real files (coverage.csv optional)")
    sca.add_argument("--applicants", type=int, required=True)
    sca.add_argument("--seed", type=int, default=42)
    sca.add_argument("--out", type=Path, required=True)
    sca.add_argument(
        "--train-share",
        type=float,
        default=None,
        help="share of application_train rows (default: the source's)",
    )
    sca.add_argument("--format", choices=["csv", "parquet"], default="csv")

    load = sub.add_parser("load", help="load the eight Kaggle files into the raw schema")
    load.add_argument("--source", type=Path, default=None, help="default: $CREDIT_HOME/data/synthetic")

    val = sub.add_parser("validate", help="Great Expectations suites on the raw tables and the feature mart")
    val.add_argument("--sample-rows", type=int, default=200_000, help="rows read per large table")

    sub.add_parser("publish", help="publish the build warehouse as the read-only serving copy")
    rl = sub.add_parser(
        "run-locked", help="run a writing command (e.g. `-- dbt build`) holding the CREDIT_HOME writer lock"
    )
    rl.add_argument("argv", nargs=argparse.REMAINDER, help="the command, after --")
    sub.add_parser("summary", help="print row counts of the build warehouse")
    sub.add_parser("demo-summary", help="what runs where, logins, documents and times (the end of make demo)")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    from warehouse.config import get_settings

    settings = get_settings()
    try:
        if args.command == "generate":
            from warehouse.synth.generate import generate

            out = args.out or settings.data_dir / "synthetic"
            generate(
                out,
                applicants=args.applicants,
                seed=args.seed,
                fmt=args.format,
                drift=args.drift,
                progress=not args.no_progress,
            )
            print(f"wrote synthetic data to {out}")
        elif args.command == "scale":
            from warehouse.scale import scale

            report = scale(args.source, args.applicants, args.seed, args.out, args.train_share, args.format)
            print(report.summary())
        elif args.command == "realism":
            from warehouse.synth.realism import realism

            out = args.out or settings.reports_dir / "realism.md"
            result = realism(args.real, args.synthetic, out)
            print(result.summary())
            print(f"wrote {out}")
        elif args.command == "fit-synth":
            from warehouse.synth.fit import fit

            if args.real is None and not args.risk_only:
                raise UserError("fit-synth needs --real DIR (or --risk-only)")
            print(f"wrote {fit(args.real, risk_only=args.risk_only)}")
        elif args.command == "build-schema":
            from warehouse.schema_build import write

            print(f"wrote {write(args.real)}")
        elif args.command == "load":
            from warehouse.load import load
            from warehouse.lock import writer_lock

            with writer_lock(settings.home, "python -m warehouse load"):
                report = load(args.source or settings.data_dir / "synthetic", settings.warehouse_path)
            print(report.summary())
        elif args.command == "validate":
            from warehouse.quality.validate import validate

            report = validate(settings.warehouse_path, settings.reports_dir, sample_rows=args.sample_rows)
            print(report.summary())
            if not report.success:
                raise UserError(
                    "data validation failed (see above and the data docs); the pipeline stops here"
                )
        elif args.command == "publish":
            from warehouse.lock import writer_lock
            from warehouse.publish import publish

            with writer_lock(settings.home, "python -m warehouse publish"):
                print(f"published {publish(settings.warehouse_path, settings.serving_path)}")
        elif args.command == "run-locked":
            from warehouse.lock import run_locked

            argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            return run_locked(settings.home, argv)
        elif args.command == "summary":
            from warehouse.publish import summary

            print(summary(settings.warehouse_path))
        elif args.command == "demo-summary":
            from warehouse.demo_summary import demo_summary

            print(demo_summary(settings))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


from warehouse.errors import UserError  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
