"""The champion's model card: intended use and monitoring added to the training step's card.

`python -m training train` already writes a card (data, method, metrics, fairness, limits) into
the registered bundle and the run (``model_card.md``). This module does not repeat it: it puts
the intended use, the out-of-scope uses and the latest monitoring status in front of it, writes
``<reports>/model_card.md`` and attaches the result to the registered version, as the version's
description (shown on its page in the MLflow UI), as an artifact of its training run
(``model_card/model_card.md``) and as the version tag ``model_card_full`` naming that artifact.
"""

from __future__ import annotations

from pathlib import Path

from training.documents.context import ReportContext
from training.documents.methodology import drift_view
from training.drift import psi_reading

ARTIFACT_DIR = "model_card"


def render(c: ReportContext) -> str:
    d = drift_view(c)
    m = c.metric
    cost_fn, cost_fp = (
        f"{float(c.params.get(key, default)):g}" for key, default in (("cfg_cost_fn", 10), ("cfg_cost_fp", 1))
    )
    score = (
        f"{d['score_psi']:.3f} ({psi_reading(d['score_psi'])})"
        if d["score_psi"] is not None
        else "not scored yet"
    )
    body = c.model_card or "_The training run logged no model card._\n"
    body = body.replace("# Model card:", "## Training report:", 1)
    lines = [
        f"# Model card: {c.model_name} version {c.model_version} (alias champion)",
        "",
        f"Generated {c.generated_at:%Y-%m-%d %H:%M} UTC by `python -m training report` from MLflow run "
        f"`{c.train_run_id}` and the warehouse. Methodology note: `methodology.pdf` (French).",
        "",
        "## Intended use",
        "- Estimate the probability that a consumer-credit applicant will have payment difficulties, from the "
        "application and the applicant's credit history (Home Credit data model), to support a decision to "
        "approve, send to manual review, or refuse.",
        f"- Decision rule: refuse at p >= {m('threshold'):.4f}, the threshold minimising expected cost with a "
        f"false negative costing {cost_fn} and a false positive {cost_fp}; applicants in the review band "
        f"[{m('review_low'):.4f}, {m('review_high'):.4f}) go to a loan officer.",
        "- Users: credit analysts (portfolio dashboards) and loan officers (Client 360, API), who read the "
        "reasons given with every score to the client.",
        "",
        "## Out of scope",
        "- Fully automated refusals without the review band and a human able to override.",
        "- Populations unlike the training applicants (other countries, products or channels) until drift "
        "monitoring and a back-test on their outcomes say otherwise.",
        "- Pricing, credit limits, collections or any use of the explanations as causal statements.",
        "",
        "## Headline metrics (held-out applicants)",
        f"- ROC AUC {m('holdout_auc'):.4f}, Gini {m('holdout_gini'):.4f}, Brier {m('holdout_brier'):.4f}, "
        f"cost per applicant {m('holdout_cost_per_applicant'):.4f}, approval rate {m('holdout_approval_rate'):.1%}.",
        "",
        *real_sample_lines(c),
        "## Monitoring (latest build)",
        f"- Feature PSI: {d['n_stable']} stable, {d['n_watch']} watch, {d['n_act']} act "
        f"({d['n_current']:,} new applications against {d['n_reference']:,} training applicants).",
        f"- Score PSI: {score}. Marts: fct_feature_drift, fct_score_drift; report: data_drift.html.",
        "",
        body.rstrip(),
        "",
    ]
    return "\n".join(lines)


REAL_ROWS = {
    "all": "all applicants",
    "complete": "complete histories",
    "bureau_covered": "bureau-covered",
    "unknown": "histories not sampled",
    "thin_file_simulation": "thin-file simulation (history removed)",
}


def real_sample_lines(c: ReportContext) -> list[str]:
    """Model quality on real applicants, from reports/bench_real_sample.json, or a line saying it was not measured."""
    if not c.real_sample:
        return [
            "## Applicants without history (real data)",
            "- Not measured: `make bench-real` (needs the real sample) writes reports/bench_real_sample.json.",
            "",
        ]
    meta, s = c.real_sample["meta"], c.real_sample["summary"]
    lines = [
        "## Applicants without history (real data)",
        f"Measured {meta['date']} at commit `{meta['commit']}`: {meta['repeats']} x {meta['folds']}-fold CV on "
        f"{meta['n']:,} real labelled applicants (`python -m benchmarks.real_sample`). Baseline: LightGBM on the "
        "application columns alone. Mean over folds; differences paired, with 95% intervals.",
        "",
        "| applicants | AUC champion | AUC baseline | AUC difference [95% CI] | Brier difference |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in REAL_ROWS.items():
        if key not in s:
            continue
        auc, brier = s[key]["auc"], s[key]["brier"]["difference"]
        d = auc["difference"]
        lines.append(
            f"| {label} | {auc['champion'][0]:.4f} | {auc['baseline'][0]:.4f} | "
            f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}] | {brier[0]:+.5f} |"
        )
    return [*lines, ""]


def attach(c: ReportContext, card: str, path: Path) -> str:
    """Write the card and attach it to the registered version; returns the artifact path."""
    from mlflow import MlflowClient

    path.write_text(card, encoding="utf-8")
    client = MlflowClient()
    client.log_artifact(c.train_run_id, str(path), ARTIFACT_DIR)
    artifact = f"{ARTIFACT_DIR}/{path.name}"
    client.update_model_version(c.model_name, c.model_version, description=card)
    client.set_model_version_tag(c.model_name, c.model_version, "model_card_full", artifact)
    return artifact
