"""`python -m training report`: the documents, generated from the champion's run and the warehouse.

- reports/methodology.html and .pdf: the French methodology note (sections with page budgets);
- reports/presentation.pptx: the slides (at most 30);
- reports/model_card.md: the champion's model card, also attached to the registered version.

Run after `python -m training score`, `dbt build --select tag:serving` and (for the Evidently
summary) `python -m training drift`; dashboard screenshots are used when present.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DOCUMENTS = ("methodology", "slides", "model-card")


@dataclass
class ReportOutcome:
    paths: dict[str, Path] = field(default_factory=dict)
    pages: dict[str, tuple[int, int]] = field(default_factory=dict)
    n_pages: int = 0
    n_slides: int = 0
    placeholders: list[str] = field(default_factory=list)
    missing_figures: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    model_version: str = ""


def run_report(
    only: list[str] | None = None, register_name: str = "credit_default", experiment: str = "credit_default"
) -> ReportOutcome:
    from training.documents import context, methodology, model_card, slides

    wanted = set(only or DOCUMENTS)
    out = ReportOutcome()
    t0 = time.perf_counter()
    ctx = context.gather(register_name, experiment)
    out.model_version = ctx.model_version
    out.seconds["gather"] = time.perf_counter() - t0
    reports = ctx.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    if "methodology" in wanted:
        t0 = time.perf_counter()
        note = methodology.write_note(ctx, reports)
        out.paths |= {"methodology.html": note.html, "methodology.pdf": note.pdf}
        out.pages, out.n_pages, out.missing_figures = note.pages, note.n_pages, note.missing_figures
        out.seconds["methodology"] = time.perf_counter() - t0
    if "slides" in wanted:
        t0 = time.perf_counter()
        deck = slides.build_deck(ctx, reports)
        out.paths["presentation.pptx"] = deck.path
        out.n_slides, out.placeholders = deck.n_slides, deck.placeholders
        out.seconds["slides"] = time.perf_counter() - t0
    if "model-card" in wanted:
        t0 = time.perf_counter()
        card = model_card.render(ctx)
        path = reports / "model_card.md"
        model_card.attach(ctx, card, path)
        out.paths["model_card.md"] = path
        out.seconds["model_card"] = time.perf_counter() - t0
    return out


# --- CLI (wired in training/__main__.py) -------------------------------------------------------------
def add_cli(sub) -> None:
    p = sub.add_parser("report", help="methodology note (HTML + PDF), slides and model card into <reports>/")
    p.add_argument("--only", choices=DOCUMENTS, action="append", help="build only this document (repeatable)")
    p.set_defaults(run=cli)


def cli(args, cfg) -> None:
    out = run_report(args.only, register_name=cfg.register_name, experiment=cfg.experiment)
    if out.pages:
        budget = ", ".join(f"{label.split('.')[0]}: {b - a + 1}" for label, (a, b) in out.pages.items())
        print(f"methodology note: {out.n_pages} pages (pages per section {budget})")
    if out.missing_figures:
        print(f"  figures missing from this run: {', '.join(out.missing_figures)}")
    if out.n_slides:
        print(
            f"slides: {out.n_slides}"
            + (f" ({len(out.placeholders)} screenshot placeholders)" if out.placeholders else "")
        )
    for path in out.paths.values():
        print(f"wrote {path}")
    print(f"model version {out.model_version}; {sum(out.seconds.values()):.1f} s")
