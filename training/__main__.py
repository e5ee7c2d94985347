"""`python -m training <command>`: train, score, reason-codes, drift, report."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="studies, champion booster + calibrator, MLflow registry")
    tr.add_argument(
        "--quick", action="store_true", help="champion only, no studies (CREDIT_TRAIN_RUN_STUDIES=false)"
    )
    sc = sub.add_parser(
        "score", help="score every applicant of the mart with models:/credit_default@champion"
    )
    sc.add_argument("--no-publish", action="store_true", help="do not publish the serving copy afterwards")
    sub.add_parser("reason-codes", help="regenerate training/reason_codes.yaml for the mart's features")
    cov = sub.add_parser(
        "reasons-coverage",
        help="share of the latest scoring run's displayed reasons whose text is hand-written (edited: true)",
    )
    cov.add_argument(
        "--min-share", type=float, default=0.001, help="list features shown to at least this share"
    )
    rt = sub.add_parser(
        "retext",
        help="register the champion again with the current reason texts and move @champion to it (no retraining)",
    )
    rt.add_argument(
        "--codes", type=Path, default=None, help="reason texts (default training/reason_codes.yaml)"
    )
    from training.drift import add_cli as add_drift_cli
    from training.report import add_cli as add_report_cli

    add_drift_cli(sub)
    add_report_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    from pydantic import ValidationError

    from training.config import get_train_settings
    from warehouse.errors import UserError

    try:
        cfg = get_train_settings()
    except ValidationError as exc:  # a CREDIT_TRAIN_* variable with a wrong value: name it, no traceback
        for err in exc.errors():
            name = "CREDIT_TRAIN_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"error: {name}={err.get('input')!r}: {err['msg']}", file=sys.stderr)
        return 2
    from warehouse.config import get_settings as _settings
    from warehouse.lock import writer_lock

    try:
        if args.command in ("train", "score", "retext"):  # writers: one at a time per CREDIT_HOME
            with writer_lock(_settings().home, f"python -m training {args.command}"):
                return _run(args, cfg)
        return _run(args, cfg)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args, cfg) -> int:  # noqa: ANN001
    from warehouse.errors import UserError

    if getattr(args, "run", None) is not None:
        args.run(args, cfg)
    elif args.command == "train":
        from training.train import train

        if args.quick:
            cfg = cfg.model_copy(update={"run_studies": False})
        out = train(cfg)
        print(f"model version {out.model_version}: {out.reason}")
    elif args.command == "score":
        from training.scoring import score

        out = score(cfg, publish=not args.no_publish)
        print(
            f"scoring run {out.run_id}: {out.n_scored:,} applicants with model version {out.model_version} "
            f"in {out.seconds['total']:.0f} s ({', '.join(f'{k} {v:,}' for k, v in out.counts.items())} rows)"
        )
    elif args.command == "reason-codes":
        from training import reason_codes
        from warehouse import marts
        from warehouse.config import REPO_ROOT, get_settings

        features = marts.mart_feature_names(get_settings().warehouse_path)
        path = reason_codes.write_file(
            features, reason_codes.descriptions_from_dbt(REPO_ROOT / "dbt_project")
        )
        print(f"wrote {len(features)} reason codes to {path}")
    elif args.command == "retext":
        from training.retext import retext

        retext(cfg, args.codes)
    elif args.command == "reasons-coverage":
        import duckdb

        from training import reason_codes
        from warehouse.config import get_settings

        if not 0 <= args.min_share <= 1:
            raise UserError(f"--min-share {args.min_share}: a share between 0 and 1 (e.g. 0.001)")
        path = get_settings().warehouse_path
        if not path.exists():
            raise UserError(f"{path}: no build warehouse yet; run `make pipeline` first")
        con = duckdb.connect(str(path), read_only=True)
        try:
            reasons = con.execute(
                "select sk_id_curr, feature, fact from scoring.reasons where run_id = "
                "(select run_id from scoring.scoring_runs order by finished_at desc limit 1)"
            ).df()
        except duckdb.CatalogException:
            reasons = None
        finally:
            con.close()
        if reasons is None or reasons.empty:
            raise UserError("no scoring run with reasons yet: run `python -m training score` first")
        out = reason_codes.coverage(reasons, reason_codes.load_file(), args.min_share)
        print(
            f"{out['edited_share']:.1%} of {out['reasons']:,} displayed reasons ({out['applicants']:,} "
            f"applicants) come from hand-written texts; {len(out['to_write'])} feature(s) shown to at "
            f"least {args.min_share:.1%} of applicants still have generated texts"
        )
        for feature, share in out["to_write"]:
            print(f"  {share:6.1%}  {feature}")
    elif args.command in ("drift", "report"):
        args.run(args, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
