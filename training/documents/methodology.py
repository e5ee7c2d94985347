"""The methodology note: French HTML (self-contained) and PDF (WeasyPrint), sections with page limits.

Each section starts on a new page and has a page budget (the brief's). The PDF's outline (one
bookmark per section title) says where each section starts; :func:`section_pages` reads it back.
If a section overflows, the note is rendered again in a compact layout (smaller figures and
type); if it still overflows, :class:`PageBudgetError` names the section.
"""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from training.documents.context import ReportContext

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    max_pages: int


SECTIONS = [
    Section("methodologie", "Méthodologie d'entraînement", 2),
    Section("desequilibre", "Traitement du déséquilibre des classes", 1),
    Section("cout", "Fonction de coût métier, algorithme d'optimisation et métrique d'évaluation", 1),
    Section("resultats", "Tableau de synthèse des résultats", 1),
    Section("interpretabilite", "Interprétabilité globale et locale", 1),
    Section("limites", "Limites et améliorations possibles", 1),
    Section("derive", "Analyse du data drift", 1),
]
# the figures the note must carry (name in ReportContext.plots -> where)
REQUIRED_FIGURES = {
    "roc": "resultats",
    "cost": "cout",
    "calibration": "methodologie",
    "shap_summary": "interpretabilite",
    "local": "interpretabilite",
    "drift": "derive",
}
READING_FR = {"stable": "stable", "watch": "à surveiller", "act": "action requise", None: "n/d"}
TREATMENT_FR = {
    "none": "aucun",
    "class_weight": "pondération des classes",
    "undersample": "sous-échantillonnage aléatoire",
    "smote": "SMOTE",
}
FAMILY_FR = {
    "app": "demande en cours",
    "bureau": "bureau de crédit (crédits et soldes mensuels)",
    "prev": "demandes précédentes chez Home Credit",
    "pos": "prêts au point de vente et en espèces (mensuel)",
    "inst": "paiements des échéances",
    "cc": "cartes de crédit (mensuel)",
}
RESULT_ROWS = [
    ("auc", "AUC ROC", "num4"),
    ("gini", "Gini", "num4"),
    ("ks", "KS", "num4"),
    ("pr_auc", "AUC précision-rappel", "num4"),
    ("brier", "Score de Brier", "num4"),
    ("cost_per_applicant", "Coût moyen par demandeur", "num4"),
    ("approval_rate", "Taux d'accord", "pct"),
    ("recall", "Rappel des défauts (refusés)", "pct"),
    ("precision", "Précision des refus", "pct"),
]


class PageBudgetError(RuntimeError):
    """A section of the note is longer than its page budget."""


# --- formatting (French conventions: decimal comma, thin space for thousands) ---------------------
def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def num(x, digits: int = 3) -> str:
    return f"{float(x):,.{digits}f}".replace(",", "\u202f").replace(".", ",") if _finite(x) else "n/d"


def pct(x, digits: int = 1) -> str:
    return f"{100 * float(x):.{digits}f}".replace(".", ",") + "\u00a0%" if _finite(x) else "n/d"


def int_fr(x) -> str:
    return f"{int(float(x)):,}".replace(",", "\u202f") if _finite(x) else "n/d"


def signed(x, digits: int = 4) -> str:
    return ("+" if _finite(x) and float(x) >= 0 else "") + num(x, digits)


def sci(x) -> str:
    return f"{float(x):.1e}".replace(".", ",") if _finite(x) else "n/d"


def fmt(x, kind: str) -> str:
    return pct(x) if kind == "pct" else num(x, 4)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _records(frame: pd.DataFrame) -> list[dict]:
    return [] if frame is None or frame.empty else frame.to_dict(orient="records")


# --- the view ----------------------------------------------------------------------------------------
def drift_view(c: ReportContext) -> dict:
    fd = c.feature_drift
    counts = {r: int((fd["psi_reading"] == r).sum()) if len(fd) else 0 for r in ("stable", "watch", "act")}
    flagged = fd[fd["psi_reading"] != "stable"].head(8) if len(fd) else fd
    if len(fd) and len(flagged) < 5:  # show at least the five highest
        flagged = fd.head(5)
    sd = c.score_drift
    latest = sd[sd["is_latest_run"]].iloc[0].to_dict() if len(sd) and sd["is_latest_run"].any() else {}
    score_psi = latest.get("psi") if _finite(latest.get("psi")) else None
    n_ref = int(fd["n_reference"].iloc[0]) if len(fd) else int(latest.get("n_reference") or 0)
    n_cur = int(fd["n_current"].iloc[0]) if len(fd) else int(latest.get("n_current") or 0)
    ev = c.evidently.get("evidently", {}) if c.evidently else {}
    drifted = [k for k, v in ev.items() if v.get("drifted")]
    reading = latest.get("psi_reading")
    if counts["act"]:
        conclusion = (
            f"{counts['act']} variable(s) dépassent 0,25 : la population des nouvelles demandes a changé sur ces "
            "dimensions ; il faut vérifier la source (changement de produit, de canal ou de saisie) et, si la dérive est "
            "réelle, réévaluer le modèle sur des données récentes avant de continuer à l'utiliser sans contrôle."
        )
    elif counts["watch"]:
        names = ", ".join(fd[fd["psi_reading"] == "watch"].head(4)["feature"])
        conclusion = (
            f"{counts['watch']} variable(s) sont à surveiller ({names}) : des changements de composition modérés "
            "(type de contrat, montants), sans dépassement du seuil d'action. "
        )
        conclusion += (
            "Le score reste stable : le modèle classe la nouvelle population comme l'ancienne ; on suit ces variables à chaque lot."
            if reading == "stable"
            else "Le score bouge aussi : surveiller le taux de défaut des prochaines cohortes et envisager un recalibrage."
        )
    else:
        conclusion = "aucune variable ni le score ne dépassent 0,1 : les nouvelles demandes ressemblent à la population d'entraînement."
    return {
        "n_reference": n_ref,
        "n_current": n_cur,
        "n_features": len(fd),
        "n_stable": counts["stable"],
        "n_watch": counts["watch"],
        "n_act": counts["act"],
        "flagged": [
            {**r, "psi_reading_fr": READING_FR.get(r["psi_reading"], r["psi_reading"])}
            for r in _records(flagged)
        ],
        "score_psi": score_psi,
        "score_reading_fr": READING_FR.get(reading, "n/d"),
        "mean_ref": latest.get("mean_probability_reference"),
        "mean_cur": latest.get("mean_probability_current"),
        "approve_ref": latest.get("approve_share_reference"),
        "approve_cur": latest.get("approve_share_current"),
        "evidently_drifted": drifted,
        "evidently_n": len(ev),
        "conclusion": conclusion,
    }


def view(c: ReportContext) -> dict:
    from training.reason_codes import family_of

    fams: dict[str, int] = {}
    for f in c.features:
        fams[family_of(f)] = fams.get(family_of(f), 0) + 1
    cand = c.tables.get("candidates", pd.DataFrame())
    kinds = cand["kind"] if "kind" in cand else pd.Series(dtype=str)
    ablation = c.tables.get("ablation", pd.DataFrame())
    importance = c.tables.get("importance", pd.DataFrame())
    reasons = c.local_reasons
    if len(reasons):
        reasons = pd.concat([reasons[reasons["direction"] == d].head(3) for d in ("raises", "lowers")])
    local = dict(c.local_score)
    if local:
        local["decision"] = {"approve": "accord", "review": "examen manuel", "refuse": "refus"}.get(
            local.get("decision"), local.get("decision")
        )
        local["sk_id_curr"] = int(local["sk_id_curr"])
    treatment = c.version_tags.get("treatment", "none")
    return {
        "families": [
            {"prefix": k, "label": FAMILY_FR.get(k, "autre"), "n": v}
            for k, v in sorted(fams.items(), key=lambda kv: -kv[1])
        ],
        "candidates_main": _records(cand[kinds.isin(["baseline", "search"])]) if len(cand) else [],
        "imbalance": _records(cand[kinds == "imbalance"]) if len(cand) else [],
        "baselines": _records(cand[kinds == "baseline"]) if len(cand) else [],
        "ablation": _records(ablation),
        "grades": _records(c.tables.get("risk_grades", pd.DataFrame())),
        "fairness": _records(c.tables.get("fairness", pd.DataFrame())),
        "result_rows": RESULT_ROWS,
        "top_features": list(importance["feature"].head(6)) if len(importance) else [],
        "local": local,
        "reasons": _records(reasons),
        "treatment_fr": TREATMENT_FR.get(treatment, treatment),
        "drift": drift_view(c),
        "real": real_sample_view(c),
    }


REAL_ROWS_FR = {
    "all": "Tous les demandeurs",
    "unknown": "Historique non échantillonné",
    "thin_file_simulation": "Historique retiré (simulation)",
}


def real_sample_view(c: ReportContext) -> dict:
    """The real-data benchmark's AUC rows for the note ({} when it was not run)."""
    if not c.real_sample:
        return {}
    s = c.real_sample["summary"]
    rows = []
    for key, label in REAL_ROWS_FR.items():
        if key in s:
            auc = s[key]["auc"]
            diff, low, high = auc["difference"]
            rows.append(
                {
                    "label": label,
                    "champion": auc["champion"][0],
                    "baseline": auc["baseline"][0],
                    "diff": diff,
                    "low": low,
                    "high": high,
                }
            )
    return {"meta": c.real_sample["meta"], "rows": rows}


def render_html(c: ReportContext, compact: bool = False) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=num, pct=pct, int_fr=int_fr, signed=signed, sci=sci, fmt=fmt)
    env.globals.update(
        cost_fn=lambda ctx: num(float(ctx.params.get("cfg_cost_fn", "10")), 0),
        cost_fp=lambda ctx: num(float(ctx.params.get("cfg_cost_fp", "1")), 0),
    )
    images = {name: _data_uri(p) for name, p in c.plots.items() if Path(p).exists()}
    return env.get_template("methodology.html.j2").render(
        c=c,
        css=(TEMPLATES / "methodology.css").read_text(encoding="utf-8"),
        sections=SECTIONS,
        images=images,
        compact=compact,
        **view(c),
    )


def _render_pdf(html: str):
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):  # before the import, which logs
        logging.getLogger(name).setLevel(logging.ERROR)
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).render()


def document_section_pages(document) -> dict[str, tuple[int, int]]:
    """Section title -> (first page, last page), 1-based, from a rendered WeasyPrint document."""
    starts = []
    for label, destination, *_ in document.make_bookmark_tree():  # (label, (page, x, y), children, state)
        starts.append((label, destination[0] + 1))
    n = len(document.pages)
    out = {}
    for i, (label, start) in enumerate(starts):
        end = starts[i + 1][1] - 1 if i + 1 < len(starts) else n
        out[label] = (start, end)
    return out


def section_pages(pdf: Path) -> dict[str, tuple[int, int]]:
    """Section title -> (first page, last page), 1-based, read back from the PDF's outline (pypdf)."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    starts = [
        (item.title, reader.get_destination_page_number(item) + 1)
        for item in reader.outline
        if not isinstance(item, list)
    ]
    n = len(reader.pages)
    return {
        label: (start, (starts[i + 1][1] - 1) if i + 1 < len(starts) else n)
        for i, (label, start) in enumerate(starts)
    }


def over_budget(pages: dict[str, tuple[int, int]]) -> list[str]:
    out = []
    for number, s in enumerate(SECTIONS, start=1):
        label = f"{number}. {s.title}"
        first, last = pages.get(label, (0, -1))
        if last - first + 1 > s.max_pages or first == 0:
            out.append(f"{label}: {last - first + 1} page(s) for at most {s.max_pages}")
    return out


@dataclass
class NoteOutcome:
    html: Path
    pdf: Path
    pages: dict[str, tuple[int, int]]
    n_pages: int
    compact: bool
    missing_figures: list[str]


def write_note(c: ReportContext, out_dir: Path) -> NoteOutcome:
    """Render, check each section's page budget (compact layout if needed), write HTML and PDF."""
    missing = [name for name in REQUIRED_FIGURES if name not in c.plots]
    if missing:
        log.warning("figures missing from this run: %s", ", ".join(missing))
    out_dir.mkdir(parents=True, exist_ok=True)
    for compact in (False, True):
        html = render_html(c, compact)
        document = _render_pdf(html)
        pages = document_section_pages(document)
        problems = over_budget(pages)
        if not problems:
            break
        log.info(
            "methodology note over budget (%s)%s", "; ".join(problems), "" if compact else ": compact layout"
        )
    else:
        raise PageBudgetError("methodology note sections over their page budget: " + "; ".join(problems))
    html_path = out_dir / "methodology.html"
    pdf_path = out_dir / "methodology.pdf"
    html_path.write_text(html, encoding="utf-8")
    document.write_pdf(str(pdf_path))
    return NoteOutcome(html_path, pdf_path, pages, len(document.pages), compact, missing)
