"""Model quality on real applicants: the champion against a plain application-only model.

    python -m benchmarks.real_sample [--repeats 3] [--folds 5] [--home DIR] [--study]
    make bench-real

Reads the real Home Credit sample from CREDIT_REAL_SAMPLE_DIR (default
../shared/data/homecredit-sample; skips with a message when it is absent), loads it into its
own CREDIT_HOME (default $CREDIT_HOME/bench_real_sample) and builds the feature mart with dbt.
The sample's installments are partial for every applicant (its README): that table is emptied
after the load, so no `inst_*` feature carries a truncated history.

Segments, from coverage.csv (labelled applicants):
- complete: all five history flags true (5,000);
- bureau-covered: bureau, bureau balance and card complete, not previous applications/POS (9,501);
- unknown: histories not sampled (12,738): they may have a history we do not hold. Never call
  them thin files.

Repeated stratified CV (`--repeats` x `--folds`): in every outer fold the champion is trained by
the production recipe (`training.champion.fit_champion`: its own inner CV, calibrator and
threshold) on the other folds, and so is the baseline (LightGBM with `BASE_PARAMS` on the mart's
`app_*` columns). Both score the same test rows, and the thin-file simulation: the complete and
bureau-covered test applicants scored again with all their history rows removed, their features
computed by the API's real-time path (`warehouse.feature_sql.FeatureEngine`) from the
application row alone. Every comparison is a paired difference (champion minus baseline, same
rows, same folds) with a 95% interval from the corrected resampled t-test (Nadeau and Bengio,
2003), which widens the naive interval for the overlap of training sets between folds.

`--study` runs the offline study that chose the defaults of training/models.py instead (nested:
the candidates are compared by inner CV inside each outer fold; the outer folds only report).

Writes <reports>/bench_real_sample.json and .md (the study: study_real_sample.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warehouse.config import REPO_ROOT, get_settings

SEGMENTS = ("complete", "bureau_covered", "unknown")
HISTORY_FLAGS = (
    "bureau_complete",
    "bureau_balance_complete",
    "credit_card_complete",
    "previous_application_complete",
    "POS_CASH_complete",
)


def sample_dir() -> Path:
    return Path(
        os.environ.get("CREDIT_REAL_SAMPLE_DIR", REPO_ROOT.parent / "shared" / "data" / "homecredit-sample")
    )


@dataclass
class RealData:
    ids: np.ndarray
    y: np.ndarray
    X: np.ndarray  # the mart's features, labelled applicants, sorted by id
    features: list[str]
    segment: np.ndarray  # one of SEGMENTS per row
    X_thin: np.ndarray  # same rows: the features computed from the application row alone (NaN rows outside)
    covered: np.ndarray  # rows with a thin-file simulation (complete + bureau-covered)


def segments(ids: np.ndarray, coverage_csv: Path) -> np.ndarray:
    import pandas as pd

    cov = pd.read_csv(coverage_csv)
    flags = cov[list(HISTORY_FLAGS)].astype(str).apply(lambda s: s.str.lower() == "true")
    complete = flags.all(axis=1)
    bureau = flags[["bureau_complete", "bureau_balance_complete", "credit_card_complete"]].all(axis=1)
    label = np.where(complete, "complete", np.where(bureau, "bureau_covered", "unknown"))
    by_id = dict(zip(cov["SK_ID_CURR"].to_numpy(np.int64).tolist(), label.tolist(), strict=True))
    return np.array([by_id.get(int(i), "unknown") for i in ids], dtype=object)


def prepare(home: Path, say, reuse: bool = False) -> RealData:
    """Load the sample into `home`, build the mart, read it; compute the thin-file features.

    `reuse`: read the arrays a previous run saved in `home` (about 30 s saved; stale if the
    feature models changed since)."""
    import duckdb

    from warehouse import feature_sql, marts
    from warehouse.load import load

    src = sample_dir()
    wh = home / "warehouse" / "build.duckdb"
    target = home / "dbt" / "target"
    cache = home / "real_data.npz"
    env = {
        **os.environ,
        "CREDIT_HOME": str(home),
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(home / "dbt" / "logs"),
    }
    if reuse and cache.exists():
        z = np.load(cache, allow_pickle=True)
        say(f"reusing {cache}")
        return RealData(
            z["ids"], z["y"], z["X"], [str(f) for f in z["features"]], z["segment"], z["X_thin"], z["covered"]
        )
    say(f"loading {src} into {wh}")
    load(src, wh)
    con = duckdb.connect(str(wh))
    con.execute("delete from raw.installments_payments")  # partial for everyone: left out
    con.close()
    dbt = Path(sys.executable).with_name("dbt")
    say("dbt build (features)")
    subprocess.run(
        [str(dbt), "build", "--quiet", "--exclude", "tag:serving"], cwd=REPO_ROOT, env=env, check=True
    )
    matrix, y = marts.read_training_set(wh)
    X, ids, features = matrix.X, matrix.ids, matrix.features
    X[~np.isfinite(X)] = np.nan
    seg = segments(ids, src / "coverage.csv")
    covered = seg != "unknown"

    # The thin-file simulation: the application rows alone through the real-time feature SQL.
    say(f"thin-file features of {covered.sum():,} covered applicants (application rows only)")
    engine = feature_sql.FeatureEngine(feature_sql.extract(target), connections=1)
    X_thin = np.full_like(X, np.nan)
    col_of = {c: j for j, c in enumerate(engine.columns)}
    take = [col_of[f] for f in features]
    key = col_of["sk_id_curr"]
    pos = {int(i): k for k, i in enumerate(ids)}
    con = duckdb.connect(str(wh), read_only=True)
    try:
        wanted = ids[covered]
        for start in range(0, len(wanted), 2_000):
            chunk = wanted[start : start + 2_000].tolist()
            rows = con.sql(
                f"select * from raw.application_train where SK_ID_CURR in ({', '.join(map(str, chunk))})"
            ).to_arrow_table()
            for row in engine.compute({"application_train": rows}):
                X_thin[pos[int(row[key])]] = np.array([row[j] for j in take], dtype=np.float32)
    finally:
        con.close()
        engine.close()
    X_thin[~np.isfinite(X_thin)] = np.nan
    np.savez(
        cache, ids=ids, y=y, X=X, features=np.array(features), segment=seg, X_thin=X_thin, covered=covered
    )
    return RealData(ids, y, X, features, seg, X_thin, covered)


# --- statistics ------------------------------------------------------------------------------------
def corrected_interval(diffs: list[float], n_train: float, n_test: float) -> tuple[float, float, float]:
    """Mean and 95% interval of per-fold paired differences, corrected resampled t (Nadeau-Bengio)."""
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    k = len(d)
    if k < 2:
        return float(d.mean()) if k else math.nan, math.nan, math.nan
    var = d.var(ddof=1) * (1 / k + n_test / n_train)
    half = stats.t.ppf(0.975, k - 1) * math.sqrt(var)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def metrics(y: np.ndarray, p: np.ndarray, threshold: float, cfg) -> dict[str, float]:
    from training.metrics import classification_metrics

    m = classification_metrics(y, p, threshold, cfg.cost_fn, cfg.cost_fp)
    return {k: m[k] for k in ("auc", "gini", "brier", "cost_per_applicant", "approval_rate")}


def drop_gender(data: RealData) -> RealData:
    """The model's inputs: CODE_GENDER-derived columns are not features (as in training)."""
    from training.fairness import gender_features

    excluded = set(gender_features(data.features))
    keep = [i for i, f in enumerate(data.features) if f not in excluded]
    return RealData(
        data.ids,
        data.y,
        data.X[:, keep],
        [data.features[i] for i in keep],
        data.segment,
        data.X_thin[:, keep],
        data.covered,
    )


# --- the study (nested) ----------------------------------------------------------------------------
def study_candidates(learning_rate: float, threads: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Main-booster and thin-booster parameter candidates; the first of each: the defaults chosen on
    synthetic data before this study (15 leaves, depth 4), which the study replaced."""
    from training import models

    base = {**models.BASE_PARAMS, "learning_rate": learning_rate, "num_threads": threads}
    original = {  # the defaults chosen on synthetic data before this study
        **base,
        "num_leaves": 15,
        "max_depth": 4,
        "min_child_samples": 100,
        "feature_fraction": 0.1,
        "bagging_fraction": 0.8,
        "lambda_l2": 10.0,
    }
    main = {
        "ff0.1_l15_d4": original,
        "ff0.2_l15_d4": {**original, "feature_fraction": 0.2},
        "ff0.05_l15_d4": {**original, "feature_fraction": 0.05},
        "ff0.1_l7_d3": {**original, "num_leaves": 7, "max_depth": 3},
        "ff0.1_l31_d6_mcs200": {**original, "num_leaves": 31, "max_depth": 6, "min_child_samples": 200},
        "ff0.1_l15_d4_l2_30": {**original, "lambda_l2": 30.0, "min_child_samples": 200},
    }
    thin = {
        "thin_ff0.1": {**original},
        "thin_ff0.3_l7_d3": {**original, "feature_fraction": 0.3, "num_leaves": 7, "max_depth": 3},
    }
    return main, thin


def _inner_oof(X, X_thin, covered, y, params, folds, cfg, cols=None):
    """Inner CV: OOF log-odds on X and on the thin-file rows, mean fold-model log-odds for new rows."""
    from training import models

    Xc = X if cols is None else X[:, cols]
    cv = models.lgb_cv(
        Xc, y, params, folds, "none", cfg.max_rounds, cfg.early_stopping_rounds, cfg.seed, keep_boosters=True
    )
    thin_oof = np.full(len(y), np.nan)
    for (_, va), b in zip(folds, cv.boosters, strict=True):
        rows = va[covered[va]]
        if len(rows):
            Xt = X_thin[rows] if cols is None else X_thin[rows][:, cols]
            thin_oof[rows] = b.predict(Xt, raw_score=True, num_iteration=b.best_iteration)
    return cv, thin_oof


def _predict_bag(boosters, X) -> np.ndarray:
    return np.mean([b.predict(X, raw_score=True, num_iteration=b.best_iteration) for b in boosters], axis=0)


def _auc(y, s) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else math.nan


def run_study(data: RealData, cfg, folds_outer: int, inner_folds: int, weights, say) -> dict:
    """Nested CV over (main params, thin params, blend weight). Selection score: inner OOF AUC over
    all applicants plus inner AUC of the thin-file simulation (both audiences count equally)."""
    from training import models
    from training.champion import thin_features
    from training.credit_model import no_history

    X, Xt, y, F = data.X, data.X_thin, data.y, data.features
    app_names = set(thin_features(F))
    app = np.array([i for i, f in enumerate(F) if f in app_names])
    nohist = no_history(X, F)
    main_c, thin_c = study_candidates(cfg.learning_rate, cfg.threads)
    outer = models.stratified_folds(y, folds_outer, cfg.seed + 1000)
    combos = [
        (m, t, w) for m in main_c for t in thin_c for w in weights if not (w == 0 and t != next(iter(thin_c)))
    ]
    records = []
    for k, (tr, te) in enumerate(outer):
        inner = models.stratified_folds(y[tr], inner_folds, cfg.seed)
        ytr, cov_tr, nh_tr = y[tr], data.covered[tr], nohist[tr]
        main_out, thin_out = {}, {}
        for name, p in main_c.items():
            t0 = time.perf_counter()
            cv, thin_oof = _inner_oof(X[tr], Xt[tr], cov_tr, ytr, p, inner, cfg)
            main_out[name] = (
                cv.oof_raw,
                thin_oof,
                _predict_bag(cv.boosters, X[te]),
                _predict_bag(cv.boosters, Xt[te][data.covered[te]]),
            )
            say(
                f"outer {k + 1}/{folds_outer} {name}: inner AUC {_auc(ytr, cv.oof_raw):.4f} "
                f"thin {_auc(ytr[cov_tr], thin_oof[cov_tr]):.4f} ({time.perf_counter() - t0:.0f} s)"
            )
        for name, p in thin_c.items():
            cv, thin_oof = _inner_oof(X[tr], Xt[tr], cov_tr, ytr, p, inner, cfg, cols=app)
            thin_out[name] = (
                cv.oof_raw,
                thin_oof,
                _predict_bag(cv.boosters, X[te][:, app]),
                _predict_bag(cv.boosters, Xt[te][data.covered[te]][:, app]),
            )
        cov_te, nh_te = data.covered[te], nohist[te]
        for m, t, w in combos:
            mo, to = main_out[m], thin_out[t]
            oof = np.where(nh_tr, (1 - w) * mo[0] + w * to[0], mo[0])
            thin_inner = (1 - w) * mo[1][cov_tr] + w * to[1][cov_tr]  # simulated rows have no history
            test = np.where(nh_te, (1 - w) * mo[2] + w * to[2], mo[2])
            thin_test = (1 - w) * mo[3] + w * to[3]
            seg_te = data.segment[te]
            records.append(
                {
                    "outer": k,
                    "main": m,
                    "thin": t,
                    "weight": w,
                    "inner_auc": _auc(ytr, oof),
                    "inner_thin_auc": _auc(ytr[cov_tr], thin_inner),
                    "outer_auc": _auc(y[te], test),
                    "outer_thin_auc": _auc(y[te][cov_te], thin_test),
                    **{f"outer_auc_{s}": _auc(y[te][seg_te == s], test[seg_te == s]) for s in SEGMENTS},
                    # the plain application-only model with the first thin candidate: the baseline
                    "outer_baseline_auc": _auc(y[te], thin_out[next(iter(thin_c))][2]),
                    "outer_baseline_thin_auc": _auc(y[te][cov_te], thin_out[next(iter(thin_c))][3]),
                }
            )
    return {"records": records, "main": main_c, "thin": thin_c, "weights": list(weights)}


def summarise_study(study: dict) -> dict:
    import pandas as pd

    r = pd.DataFrame(study["records"])
    r["score"] = r["inner_auc"] + r["inner_thin_auc"]
    chosen = r.loc[r.groupby("outer")["score"].idxmax()]
    table = (
        r.groupby(["main", "thin", "weight"])[
            [
                "inner_auc",
                "inner_thin_auc",
                "score",
                "outer_auc",
                "outer_thin_auc",
                *[f"outer_auc_{s}" for s in SEGMENTS],
            ]
        ]
        .mean()
        .sort_values("score", ascending=False)
        .reset_index()
    )
    best = table.iloc[0]
    return {
        "nested": {  # the selection procedure's own outer estimate
            "outer_auc": float(chosen["outer_auc"].mean()),
            "outer_thin_auc": float(chosen["outer_thin_auc"].mean()),
            "outer_baseline_auc": float(chosen["outer_baseline_auc"].mean()),
            "outer_baseline_thin_auc": float(chosen["outer_baseline_thin_auc"].mean()),
            "chosen": chosen[["outer", "main", "thin", "weight"]].to_dict(orient="records"),
        },
        "defaults": {"main": best["main"], "thin": best["thin"], "weight": float(best["weight"])},
        "table": table.to_dict(orient="records"),
    }


# --- the benchmark ---------------------------------------------------------------------------------
METRICS = ("auc", "gini", "brier", "cost_per_applicant")
GROUPS = ("all", *SEGMENTS, "thin_file_simulation")


def run_benchmark(data: RealData, cfg, repeats: int, n_folds: int, say) -> dict:
    """Champion and baseline, trained per outer fold by the production recipe; paired differences."""
    from training import champion, models

    X, Xt, y, F = data.X, data.X_thin, data.y, data.features
    app_names = set(champion.thin_features(F))  # the baseline's columns: the application's own
    app = [i for i, f in enumerate(F) if f in app_names]
    params = {**models.BASE_PARAMS, "learning_rate": cfg.learning_rate, "num_threads": cfg.threads}
    thin_params = {**models.THIN_PARAMS, "learning_rate": cfg.learning_rate, "num_threads": cfg.threads}
    thin_weight = cfg.thin_weight if cfg.thin_booster else 0.0
    folds_out = []
    for r in range(repeats):
        for k, (tr, te) in enumerate(models.stratified_folds(y, n_folds, cfg.seed + 101 * (r + 1))):
            t0 = time.perf_counter()
            champ = champion.fit_champion(
                X[tr], y[tr], F, cfg, params, "none", thin_params, thin_weight, bootstrap=0
            )
            base = champion.fit_champion(X[tr][:, app], y[tr], [F[i] for i in app], cfg, params, bootstrap=0)
            seg, cov = data.segment[te], data.covered[te]
            p_c, p_b = champ.predict(X[te]), base.predict(X[te][:, app])
            thin_c, thin_b = champ.predict(Xt[te][cov]), base.predict(Xt[te][cov][:, app])
            rows = {"all": np.ones(len(te), dtype=bool), **{s: seg == s for s in SEGMENTS}}
            rec = {"repeat": r, "fold": k, "n_train": len(tr), "n_test": len(te), "seconds": 0.0}
            for g, mask in rows.items():
                rec[g] = {
                    "n": int(mask.sum()),
                    "defaults": int(y[te][mask].sum()),
                    "champion": metrics(y[te][mask], p_c[mask], champ.choice.threshold, cfg),
                    "baseline": metrics(y[te][mask], p_b[mask], base.choice.threshold, cfg),
                }
            rec["thin_file_simulation"] = {
                "n": int(cov.sum()),
                "defaults": int(y[te][cov].sum()),
                "champion": metrics(y[te][cov], thin_c, champ.choice.threshold, cfg),
                "baseline": metrics(y[te][cov], thin_b, base.choice.threshold, cfg),
            }
            rec["seconds"] = time.perf_counter() - t0
            folds_out.append(rec)
            say(
                f"repeat {r + 1}/{repeats} fold {k + 1}/{n_folds}: AUC champion {rec['all']['champion']['auc']:.4f} "
                f"baseline {rec['all']['baseline']['auc']:.4f}; thin-file simulation champion "
                f"{rec['thin_file_simulation']['champion']['auc']:.4f} baseline "
                f"{rec['thin_file_simulation']['baseline']['auc']:.4f} ({rec['seconds']:.0f} s)"
            )
    summary = {}
    for g in GROUPS:
        summary[g] = {"n": folds_out[0][g]["n"] if g != "all" else len(y)}
        for m in METRICS:
            c = [f[g]["champion"][m] for f in folds_out]
            b = [f[g]["baseline"][m] for f in folds_out]
            n_tr, n_te = np.mean([f["n_train"] for f in folds_out]), np.mean([f["n_test"] for f in folds_out])
            summary[g][m] = {
                "champion": corrected_interval(c, n_tr, n_te),
                "baseline": corrected_interval(b, n_tr, n_te),
                "difference": corrected_interval([a - z for a, z in zip(c, b, strict=True)], n_tr, n_te),
            }
    return {"folds": folds_out, "summary": summary}


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except OSError:
        return "unknown"


GROUP_LABELS = {
    "all": "all applicants",
    "complete": "complete histories",
    "bureau_covered": "bureau-covered",
    "unknown": "unknown (histories not sampled)",
    "thin_file_simulation": "thin-file simulation (covered, history removed)",
}


def _ci(t) -> str:
    mean, low, high = t
    return f"{mean:.4f} [{low:.4f}, {high:.4f}]"


def write_reports(
    result: dict, meta: dict, out_dir: Path, stem: str = "bench_real_sample"
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / f"{stem}.json"
    js.write_text(json.dumps({"meta": meta, **result}, indent=1, default=float), encoding="utf-8")
    s = result["summary"]
    lines = [
        "# Model quality on real applicants (`python -m benchmarks.real_sample`)",
        "",
        f"Measured {meta['date']} at commit `{meta['commit']}` on {meta['machine']}; "
        f"{meta['repeats']} x {meta['folds']}-fold stratified CV on the real sample ({meta['n']:,} labelled "
        f"applicants, {meta['defaults']:,} defaults), {meta['seconds']:.0f} s. Installments left out (partial in "
        "the sample for everyone).",
        f"Champion: the production recipe with today's defaults (thin-file weight {meta['thin_weight']:g}); baseline: "
        "LightGBM with `BASE_PARAMS` on the mart's `app_*` columns. Each cell: mean over folds [95% interval, "
        "corrected resampled t]; differences are paired (same rows, same folds).",
        "",
        "| group | applicants | AUC champion | AUC baseline | AUC difference | Brier difference | cost difference |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for g in GROUPS:
        lines.append(
            f"| {GROUP_LABELS[g]} | {s[g]['n']:,} per fold | {_ci(s[g]['auc']['champion'])} | "
            f"{_ci(s[g]['auc']['baseline'])} | {_ci(s[g]['auc']['difference'])} | "
            f"{_ci(s[g]['brier']['difference'])} | {_ci(s[g]['cost_per_applicant']['difference'])} |"
        )
    lines[-len(GROUPS)] = lines[-len(GROUPS)].replace(" per fold", " in all")
    lines += [
        "",
        "Gini = 2 AUC - 1 (its differences are twice the AUC's). Cost per applicant at each model's own "
        "cost-optimal threshold (false negative 10, false positive 1), chosen on its training folds.",
        "",
    ]
    md = out_dir / f"{stem}.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return js, md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.real_sample", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--home", type=Path, default=None, help="default: $CREDIT_HOME/bench_real_sample")
    parser.add_argument("--study", action="store_true", help="run the defaults study instead")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the data prepared by a previous run in --home"
    )
    args = parser.parse_args(argv)
    from training.config import TrainSettings

    if not (sample_dir() / "application_train.csv").exists():
        print(f"skipped: the real Home Credit sample is not at {sample_dir()} (set CREDIT_REAL_SAMPLE_DIR)")
        return 0
    settings = get_settings()
    reports = settings.reports_dir
    home = (args.home or settings.home / "bench_real_sample").resolve()
    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {msg}", flush=True)

    cfg = TrainSettings()
    data = drop_gender(prepare(home, say, args.reuse))
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "sample": str(sample_dir()),
        "n": int(len(data.y)),
        "defaults": int(data.y.sum()),
        "n_features": len(data.features),
        "segments": {s: int((data.segment == s).sum()) for s in SEGMENTS},
        "repeats": args.repeats,
        "folds": args.folds,
        "thin_weight": cfg.thin_weight if cfg.thin_booster else 0.0,
    }
    if args.study:
        study = run_study(data, cfg, args.folds, 3, (0.0, 0.25, 0.5, 0.75, 1.0), say)
        out = summarise_study(study)
        meta["seconds"] = time.perf_counter() - started
        path = reports / "study_real_sample.json"
        path.write_text(
            json.dumps({"meta": meta, **out, "records": study["records"]}, indent=1, default=float)
        )
        print(json.dumps(out["nested"], indent=1, default=float))
        print(f"defaults: {out['defaults']}; wrote {path}")
        return 0
    result = run_benchmark(data, cfg, args.repeats, args.folds, say)
    meta["seconds"] = time.perf_counter() - started
    js, md = write_reports(result, meta, reports)
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
