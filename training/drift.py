"""`python -m training drift`: data drift of the new applications against the training applicants.

Two views of the same question, both with the training applicants as reference and the applicants
without a label (application_test, or any later batch) as current:

- the population stability index of every feature and of the score, computed in SQL by dbt
  (dbt_project/models/marts/monitoring/: fct_feature_drift, fct_score_drift), read here;
- an Evidently (0.7) data drift report on the most important features (global mean |SHAP| of the
  latest scoring run's model), the features whose PSI calls for attention, and the score, written
  to ``<reports>/data_drift.html`` (scripts inline: it opens offline).

Evidently is slow on wide data (FINDINGS.md): the report takes a few dozen columns and at most
``max_rows`` applicants of each population (a fixed hash sample). The run is logged to MLflow
(run name ``drift``) with the summary, the figure and the report as artifacts.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SCORE = "probability"
READINGS = ("stable", "watch", "act")
READING_COLORS = {"stable": "#4c956c", "watch": "#f4a261", "act": "#d62828"}


@dataclass(frozen=True)
class DriftSettings:
    top_features: int = 15  # most important features in the Evidently report
    extra_drifted: int = 10  # plus up to this many features whose PSI reading is watch/act
    max_rows: int = 50_000  # applicants per population in the Evidently report
    psi_watch: float = 0.1
    psi_act: float = 0.25
    log_mlflow: bool = True


@dataclass
class DriftOutcome:
    html: Path
    summary: Path
    figure: Path | None
    columns: list[str]
    n_reference: int
    n_current: int
    n_reference_total: int
    n_current_total: int
    scoring_run_id: str | None
    score_psi: float | None
    score_reading: str | None
    psi_counts: dict[str, int]
    drifted_by_psi: list[str]
    evidently: dict[str, dict] = field(default_factory=dict)
    evidently_drifted: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    mlflow_run_id: str | None = None


# --- steps -----------------------------------------------------------------------------------------
def psi_reading(psi: float | None, watch: float = 0.1, act: float = 0.25) -> str | None:
    """The usual reading of a population stability index (the same cut-offs as the dbt marts)."""
    if psi is None or not np.isfinite(psi):
        return None
    return "stable" if psi < watch else ("watch" if psi <= act else "act")


def choose_columns(importance: list[str], feature_drift: pd.DataFrame, top: int, extra: int) -> list[str]:
    """The `top` most important features, then up to `extra` more among those that PSI flags.

    Without importance (nothing scored yet) the `top` highest-PSI features stand in for them.
    """
    flagged: list[str] = []
    by_psi: list[str] = []
    if len(feature_drift):
        ranked = feature_drift.sort_values(["psi", "feature"], ascending=[False, True])
        by_psi = list(ranked["feature"])
        flagged = list(ranked.loc[ranked["psi_reading"].isin(["watch", "act"]), "feature"])
    chosen = list(importance[:top]) if importance else by_psi[:top]
    return chosen + [name for name in flagged if name not in chosen][:extra]


def column_kinds(reference: pd.DataFrame, max_levels: int = 10) -> tuple[list[str], list[str]]:
    """(numerical, categorical): a column of few integer values (flags, counts of levels) is categorical."""
    numerical, categorical = [], []
    for name in reference.columns:
        values = reference[name].dropna().to_numpy()
        few = len(values) > 0 and len(np.unique(values)) <= max_levels and np.all(np.mod(values, 1) == 0)
        (categorical if few and name != SCORE else numerical).append(name)
    return numerical, categorical


def evidently_report(
    reference: pd.DataFrame, current: pd.DataFrame, numerical: list[str], categorical: list[str]
):
    """Run Evidently's DataDriftPreset (default tests per column type and sample size)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    columns = numerical + categorical
    cur = current.copy()
    ref = reference.copy()
    for name in categorical:  # Evidently wants labels, not floats, for categorical columns
        cur[name] = cur[name].map(_level)
        ref[name] = ref[name].map(_level)
    report = Report([DataDriftPreset(columns=columns)])
    return report.run(
        current_data=Dataset.from_pandas(cur[columns], data_definition=definition),
        reference_data=Dataset.from_pandas(ref[columns], data_definition=definition),
    )


def _level(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return f"{value:g}"


def evidently_results(snapshot) -> dict[str, dict]:
    """Per column: the drift method, its value, the threshold and whether Evidently calls it drifted."""
    out: dict[str, dict] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        method = str(config.get("method", ""))
        value = float(metric["value"])
        threshold = float(config.get("threshold") or 0.0)
        # distances drift above their threshold; p-value tests drift below it
        is_p_value = "p_value" in method
        drifted = value < threshold if is_p_value else value >= threshold
        out[config["column"]] = {
            "method": method,
            "value": value,
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    return out


def drift_figure(
    feature_drift: pd.DataFrame,
    score_bins: pd.DataFrame,
    path: Path,
    top: int = 15,
    watch: float = 0.1,
    act: float = 0.25,
) -> Path | None:
    """Two panels (French labels, for the documents): highest feature PSI; score shares per decile."""
    if feature_drift.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_score = not score_bins.empty
    fig, axes = plt.subplots(1, 2 if has_score else 1, figsize=(11 if has_score else 6.5, 4.2))
    axes = np.atleast_1d(axes)
    head = feature_drift.sort_values("psi", ascending=False).head(top).iloc[::-1]
    colors = [READING_COLORS.get(r, "grey") for r in head["psi_reading"]]
    ax = axes[0]
    ax.barh(head["feature"], head["psi"], color=colors)
    ax.axvline(watch, color=READING_COLORS["watch"], ls="--", lw=1, label=f"surveiller ({watch:g})")
    ax.axvline(act, color=READING_COLORS["act"], ls="--", lw=1, label=f"agir ({act:g})")
    ax.set_xlim(0, max(act * 1.2, float(head["psi"].max()) * 1.1))
    ax.tick_params(axis="y", labelsize=7)
    ax.set(xlabel="PSI", title=f"Variables : {top} PSI les plus élevés")
    ax.legend(fontsize=7, loc="lower right")
    if has_score:
        ax = axes[1]
        x = np.arange(len(score_bins))
        ax.bar(
            x - 0.2,
            score_bins["share_reference"],
            width=0.4,
            label="apprentissage (référence)",
            color="#577590",
        )
        ax.bar(x + 0.2, score_bins["share_current"], width=0.4, label="nouvelles demandes", color="#f8961e")
        ax.set_xticks(x, [f"D{int(b) + 1}" for b in score_bins["bin"]], fontsize=8)
        psi = float(score_bins["psi_contribution"].sum())
        ax.set(
            xlabel="déciles du score de référence",
            ylabel="part des demandeurs",
            title=f"Score : PSI {psi:.3f} ({psi_reading(psi, watch, act)})",
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- the command -------------------------------------------------------------------------------------
def run_drift(
    settings: DriftSettings | None = None, experiment: str = "credit_default", progress: bool = True
) -> DriftOutcome:
    from warehouse import monitoring
    from warehouse.config import get_settings
    from warehouse.errors import UserError

    cfg = settings or DriftSettings()
    env = get_settings()
    path = env.warehouse_path
    say = (lambda msg: print(msg, flush=True)) if progress else log.info
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    feature_drift = monitoring.feature_drift(path)
    if feature_drift.empty:
        log.warning("fct_feature_drift is absent or empty: run `dbt build --select tag:monitoring`")
    score_drift = monitoring.score_drift(path)
    latest_score = score_drift[score_drift["is_latest_run"]] if len(score_drift) else score_drift
    importance = list(monitoring.global_importance(path)["feature"])
    if not importance:
        log.warning("no global importance (nothing scored yet): the report uses the highest-PSI features")
    columns = choose_columns(importance, feature_drift, cfg.top_features, cfg.extra_drifted)
    if not columns:
        raise UserError(
            "no features to compare: build the feature store (`dbt build`) before `training drift`"
        )
    frames = monitoring.drift_frames(path, columns, cfg.max_rows)
    if frames.n_reference_total == 0 or frames.n_current_total == 0:
        raise UserError(
            f"nothing to compare: {frames.n_reference_total} training applicants and {frames.n_current_total} "
            "new applications in the mart (load application_test or a new batch)"
        )
    seconds["read"] = time.perf_counter() - t0
    say(
        f"comparing {len(frames.current):,} new applications (of {frames.n_current_total:,}) with "
        f"{len(frames.reference):,} training applicants (of {frames.n_reference_total:,}) on "
        f"{len(columns)} features{' and the score' if SCORE in frames.reference else ''}"
    )

    t0 = time.perf_counter()
    numerical, categorical = column_kinds(frames.reference)
    snapshot = evidently_report(frames.reference, frames.current, numerical, categorical)
    reports = env.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    html = reports / "data_drift.html"
    snapshot.save_html(str(html))
    ev = evidently_results(snapshot)
    seconds["evidently"] = time.perf_counter() - t0

    score_bins = (
        monitoring.score_drift_bins(path, str(latest_score.iloc[0]["run_id"]))
        if len(latest_score)
        else pd.DataFrame()
    )
    figure = drift_figure(
        feature_drift, score_bins, reports / "figures" / "drift.png", watch=cfg.psi_watch, act=cfg.psi_act
    )
    counts = {
        r: int((feature_drift["psi_reading"] == r).sum()) if len(feature_drift) else 0 for r in READINGS
    }
    flagged = (
        list(
            feature_drift.loc[feature_drift["psi_reading"] != "stable"].sort_values("psi", ascending=False)[
                "feature"
            ]
        )
        if len(feature_drift)
        else []
    )
    score_psi = (
        float(latest_score.iloc[0]["psi"])
        if len(latest_score) and pd.notna(latest_score.iloc[0]["psi"])
        else None
    )
    outcome = DriftOutcome(
        html=html,
        summary=reports / "data_drift.json",
        figure=figure,
        columns=columns + ([SCORE] if SCORE in frames.reference else []),
        n_reference=len(frames.reference),
        n_current=len(frames.current),
        n_reference_total=frames.n_reference_total,
        n_current_total=frames.n_current_total,
        scoring_run_id=frames.run_id,
        score_psi=score_psi,
        score_reading=psi_reading(score_psi, cfg.psi_watch, cfg.psi_act),
        psi_counts=counts,
        drifted_by_psi=flagged,
        evidently=ev,
        evidently_drifted=[c for c, r in ev.items() if r["drifted"]],
        seconds=seconds,
    )
    top_psi = (
        feature_drift.head(20)[["feature", "psi", "psi_reading", "importance_rank"]]
        if len(feature_drift)
        else None
    )
    summary = {
        **{k: v for k, v in asdict(outcome).items() if k not in ("html", "summary", "figure")},
        "html": str(html),
        "figure": str(figure) if figure else None,
        "top_psi": [] if top_psi is None else json.loads(top_psi.to_json(orient="records")),
    }
    outcome.summary.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")

    if cfg.log_mlflow:
        outcome.mlflow_run_id = _log_mlflow(outcome, experiment, env)
    seconds["total"] = sum(seconds.values())
    return outcome


def _log_mlflow(outcome: DriftOutcome, experiment: str, env) -> str:
    import mlflow

    from training import tracking

    tracking.setup(env.mlflow_tracking_uri, env.mlflow_dir, experiment)
    with mlflow.start_run(run_name="drift") as run:
        mlflow.set_tags({"kind": "drift", "scoring_run_id": outcome.scoring_run_id or "none"})
        mlflow.log_params(
            {
                "n_columns": len(outcome.columns),
                "n_reference": outcome.n_reference,
                "n_current": outcome.n_current,
            }
        )
        metrics = {f"features_{k}": float(v) for k, v in outcome.psi_counts.items()}
        metrics["evidently_drifted_columns"] = float(len(outcome.evidently_drifted))
        if outcome.score_psi is not None:
            metrics["score_psi"] = outcome.score_psi
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(outcome.html), "drift")
        mlflow.log_artifact(str(outcome.summary), "drift")
        if outcome.figure:
            mlflow.log_artifact(str(outcome.figure), "drift")
        return run.info.run_id


# --- CLI (wired in training/__main__.py) -------------------------------------------------------------
def add_cli(sub) -> None:
    p = sub.add_parser(
        "drift", help="data drift: Evidently report + the PSI marts, to <reports>/data_drift.html"
    )
    p.add_argument(
        "--top", type=int, default=DriftSettings.top_features, help="most important features compared"
    )
    p.add_argument("--max-rows", type=int, default=DriftSettings.max_rows, help="applicants per population")
    p.add_argument("--no-mlflow", action="store_true", help="do not log a `drift` run to MLflow")
    p.set_defaults(run=cli)


def cli(args, cfg) -> None:
    settings = DriftSettings(top_features=args.top, max_rows=args.max_rows, log_mlflow=not args.no_mlflow)
    out = run_drift(settings, experiment=cfg.experiment)
    c = out.psi_counts
    print(
        f"feature PSI: {c['stable']} stable, {c['watch']} watch, {c['act']} act"
        + (f" (not stable: {', '.join(out.drifted_by_psi[:8])})" if out.drifted_by_psi else "")
    )
    if out.score_psi is not None:
        print(f"score PSI: {out.score_psi:.4f} ({out.score_reading})")
    print(
        f"Evidently: {len(out.evidently_drifted)} of {len(out.evidently)} columns drifted"
        + (f" ({', '.join(out.evidently_drifted[:8])})" if out.evidently_drifted else "")
    )
    print(f"wrote {out.html} and {out.summary} in {out.seconds['total']:.1f} s")
