"""The presentation (reports/presentation.pptx, python-pptx, French, at most 30 slides).

Built from the same context as the note. Every picture on a slide is first copied under
``<reports>/figures/`` (or is a dashboard screenshot under ``<reports>/superset/``) and the picture
shape is named after that path relative to the reports folder, so a reader (or a test) can check
that every picture the deck shows exists. A missing dashboard screenshot gets a placeholder slide
that names the file and the command that makes it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from training.documents.context import ReportContext
from training.documents.methodology import RESULT_ROWS, TREATMENT_FR, drift_view, int_fr, num, pct, view

MAX_SLIDES = 30
DASHBOARDS = [  # (screenshot stem, title, what it is for)
    (
        "portfolio",
        "Tableau de bord « Portefeuille » (analystes)",
        "Distribution des scores par décision, taux d'accord et de défaut par segment, arbitrage du seuil, importance globale.",
    ),
    (
        "client-360",
        "Tableau de bord « Client 360 » (chargés de clientèle)",
        "Score et décision d'un demandeur, raisons en clair, contributions SHAP, historique, clients semblables ; score en direct de l'API.",
    ),
    (
        "monitoring",
        "Tableau de bord « Surveillance »",
        "PSI des variables et du score (marts dbt fct_feature_drift / fct_score_drift), qualité des données, décisions récentes de l'API.",
    ),
]
SCREENSHOT_DIRS = ("superset", "screenshots")
API_ROUTES = [
    ("GET", "/health, /ready", "vivant ; copie publiée et champion chargés"),
    ("GET", "/v1/model", "le modèle servi : version, seuil, zone d'examen"),
    ("GET", "/v1/applicants/{sk_id_curr}/score", "score d'un demandeur déjà dans l'entrepôt"),
    ("POST", "/v1/score", "score en temps réel d'une nouvelle demande (mêmes SQL dbt)"),
    ("POST", "/v1/score/batch", "plusieurs demandes en un appel"),
]

NAVY = (0x1D, 0x35, 0x57)
GREY = (0x55, 0x55, 0x55)


@dataclass
class DeckOutcome:
    path: Path
    n_slides: int
    pictures: list[str] = field(default_factory=list)  # paths relative to the reports folder
    placeholders: list[str] = field(default_factory=list)  # missing screenshots


def find_screenshot(reports: Path, stem: str) -> Path | None:
    for folder in SCREENSHOT_DIRS:
        p = reports / folder / f"{stem}.png"
        if p.exists():
            return p
    return None


class Deck:
    def __init__(self, reports: Path):
        from pptx import Presentation
        from pptx.util import Inches

        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = Inches(13.333), Inches(7.5)
        self.reports = reports
        self.figures = reports / "figures"
        self.figures.mkdir(parents=True, exist_ok=True)
        self.pictures: list[str] = []

    # -- primitives ---------------------------------------------------------------------------------
    def _slide(self, title: str):
        from pptx.dml.color import RGBColor
        from pptx.util import Inches, Pt

        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])  # blank
        box = slide.shapes.add_textbox(Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.8))
        p = box.text_frame.paragraphs[0]
        p.text = title
        p.font.size, p.font.bold, p.font.color.rgb = Pt(28), True, RGBColor(*NAVY)
        line = slide.shapes.add_connector(1, Inches(0.5), Inches(1.1), Inches(12.8), Inches(1.1))
        line.line.color.rgb = RGBColor(*NAVY)
        return slide

    def _bullets(self, slide, items: list[str], left=0.6, top=1.4, width=12.1, height=5.6, size=18):
        from pptx.util import Inches, Pt

        box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
        frame = box.text_frame
        frame.word_wrap = True
        for i, item in enumerate(items):
            p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            level = 1 if item.startswith("  ") else 0
            p.text = ("– " if level else "• ") + item.strip()
            p.level = level
            p.font.size = Pt(size - 3 * level)
            p.space_after = Pt(6)
        return box

    def _picture(self, slide, path: Path, left, top, max_w, max_h):
        """Fit the picture in the box (keeping its aspect); the shape is named after its path."""
        from PIL import Image
        from pptx.util import Inches

        path = Path(path)
        if not path.is_relative_to(self.reports):  # a run artifact: keep a copy beside the deck
            target = self.figures / path.name
            shutil.copyfile(path, target)
            path = target
        with Image.open(path) as im:
            w, h = im.size
        scale = min(max_w / w, max_h / h)
        width, height = w * scale, h * scale
        pic = slide.shapes.add_picture(
            str(path),
            Inches(left + (max_w - width) / 2),
            Inches(top + (max_h - height) / 2),
            Inches(width),
            Inches(height),
        )
        rel = path.relative_to(self.reports).as_posix()
        pic.name = rel
        self.pictures.append(rel)
        return pic

    def _table(self, slide, rows: list[list[str]], left, top, width, row_h=0.34, size=12, col_widths=None):
        from pptx.util import Inches, Pt

        shape = slide.shapes.add_table(
            len(rows), len(rows[0]), Inches(left), Inches(top), Inches(width), Inches(row_h * len(rows))
        )
        table = shape.table
        for j, w in enumerate(col_widths or []):
            table.columns[j].width = Inches(w)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                cell = table.cell(i, j)
                cell.text = str(value)
                for p in cell.text_frame.paragraphs:
                    p.font.size = Pt(size)
                    p.font.bold = i == 0
        return shape

    def _note(self, slide, text: str, top=6.85):
        from pptx.dml.color import RGBColor
        from pptx.util import Inches, Pt

        box = slide.shapes.add_textbox(Inches(0.6), Inches(top), Inches(12.1), Inches(0.5))
        p = box.text_frame.paragraphs[0]
        p.text = text
        p.font.size, p.font.color.rgb = Pt(11), RGBColor(*GREY)

    # -- slide kinds --------------------------------------------------------------------------------
    def title(self, title: str, subtitle: str):
        from pptx.dml.color import RGBColor
        from pptx.util import Inches, Pt

        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])
        box = slide.shapes.add_textbox(Inches(0.8), Inches(2.3), Inches(11.7), Inches(1.5))
        p = box.text_frame.paragraphs[0]
        p.text = title
        p.font.size, p.font.bold, p.font.color.rgb = Pt(40), True, RGBColor(*NAVY)
        box = slide.shapes.add_textbox(Inches(0.8), Inches(3.9), Inches(11.7), Inches(1.5))
        box.text_frame.word_wrap = True
        p = box.text_frame.paragraphs[0]
        p.text = subtitle
        p.font.size, p.font.color.rgb = Pt(18), RGBColor(*GREY)

    def bullets(self, title: str, items: list[str], note: str | None = None):
        slide = self._slide(title)
        self._bullets(slide, items)
        if note:
            self._note(slide, note)
        return slide

    def picture(self, title: str, path: Path | None, items: list[str] | None = None, note: str | None = None):
        slide = self._slide(title)
        if path is None:
            self._bullets(slide, ["(figure absente de cette exécution)"])
        elif items:
            self._picture(slide, path, 0.5, 1.35, 7.6, 5.4)
            self._bullets(slide, items, left=8.3, top=1.4, width=4.6, size=15)
        else:
            self._picture(slide, path, 0.5, 1.3, 12.3, 5.5)
        if note:
            self._note(slide, note)
        return slide

    def save(self, path: Path) -> Path:
        self.prs.save(str(path))
        return path


def build_deck(c: ReportContext, out_dir: Path) -> DeckOutcome:
    v = view(c)
    d = drift_view(c)
    deck = Deck(out_dir)
    placeholders: list[str] = []
    m = c.metric
    cost_fn, cost_fp = c.params.get("cfg_cost_fn", "10"), c.params.get("cfg_cost_fp", "1")

    deck.title(
        "Scoring crédit : de la donnée à la décision",
        f"Modèle « {c.model_name} » version {c.model_version} ; généré le {c.generated_at:%d/%m/%Y} depuis "
        f"l'exécution MLflow {c.train_run_id[:12]} et l'entrepôt DuckDB.",
    )
    deck.bullets(
        "Le problème",
        [
            "Décider d'accorder un crédit à des clients peu ou pas bancarisés, à partir de leur demande et de leur historique.",
            "Prédire une probabilité de défaut calibrée, pas seulement un classement.",
            f"Coût asymétrique : accorder un crédit qui fera défaut coûte {cost_fn}, refuser un bon client coûte {cost_fp}.",
            "Chaque décision doit être expliquée au client et au chargé de clientèle (raisons en clair).",
            "Le modèle doit être surveillé : la population des demandes change.",
        ],
    )
    counts = c.counts
    deck.bullets(
        "Les données",
        [
            f"{int_fr(counts.get('application_train', 0))} demandes étiquetées, "
            f"{int_fr(counts.get('application_test', 0))} nouvelles demandes (format Kaggle Home Credit).",
            f"Taux de défaut : {pct(float(c.params.get('default_rate', 'nan')))}.",
            f"Historique : {int_fr(counts.get('bureau', 0))} crédits au bureau de crédit, "
            f"{int_fr(counts.get('previous_application', 0))} demandes précédentes,",
            f"  {int_fr(counts.get('installments_payments', 0))} paiements d'échéances, "
            f"{int_fr(counts.get('pos_cash_balance', 0))} mois de prêts POS, "
            f"{int_fr(counts.get('credit_card_balance', 0))} mois de cartes.",
            "Chargement typé, tout ou rien, dans DuckDB (schéma raw) ; refus explicite des fichiers invalides.",
        ],
    )
    deck.bullets(
        "Architecture",
        [
            "python -m warehouse load : fichiers → DuckDB (copie de construction)",
            "dbt build : staging → intermédiaires → feat_applicant_features (magasin de variables)",
            "python -m training train : études, champion LightGBM + calibrateur, registre MLflow",
            "python -m training score : scores, SHAP, raisons → schéma scoring",
            "dbt build --select tag:serving : marts des tableaux de bord et de la surveillance",
            "python -m warehouse publish : copie publiée en lecture seule (API, Superset)",
            "python -m training drift / report : rapport de dérive, note, présentation, fiche modèle",
        ],
        note="Un seul écrivain DuckDB ; les lecteurs ouvrent la copie publiée, remplacée par renommage atomique.",
    )
    slide = deck._slide("Le magasin de variables (dbt)")
    rows = [["Famille", "Source", "Variables"]] + [
        [f["prefix"], f["label"], int_fr(f["n"])] for f in v["families"]
    ]
    deck._table(slide, rows, 0.6, 1.4, 7.5, col_widths=[1.3, 4.9, 1.3])
    deck._bullets(
        slide,
        [
            f"{int_fr(len(c.features))} variables utilisées, définies une seule fois en SQL.",
            "Une ligne par demandeur, contrat de colonnes imposé.",
            "Fenêtres temporelles, états, retards, taux d'intérêt estimé.",
            "L'API calcule les variables d'une nouvelle demande avec le même SQL.",
        ],
        left=8.4,
        top=1.4,
        width=4.5,
        size=15,
    )
    deck.picture(
        "Le modèle : LightGBM calibré",
        c.plots.get("calibration"),
        [
            f"Échantillon de test stratifié ({int_fr(c.params.get('n_holdout', 0))}) ; VC à {int_fr(m('champion_n_folds', 0)) if m('champion_n_folds', 0) else c.params.get('cfg_n_folds', '5')} plis.",
            f"Un booster LightGBM ({int_fr(m('n_rounds'))} itérations), traitement du déséquilibre : "
            f"{TREATMENT_FR.get(c.version_tags.get('treatment', 'none'), '?')}.",
            f"Calibrage {c.version_tags.get('calibration', '?')} sur les scores hors pli (Brier {num(m('oof_brier'), 4)}).",
            "Références : classe majoritaire, régression logistique."
            if c.studies_ran
            else "Études non exécutées (mode rapide).",
        ],
    )
    deck.picture(
        "Le seuil de coût",
        c.plots.get("cost"),
        [
            f"Coût : FN = {cost_fn}, FP = {cost_fp}.",
            f"Seuil optimal {num(m('threshold'), 3)} [{num(m('threshold_ci_low'), 3)} ; {num(m('threshold_ci_high'), 3)}] (bootstrap).",
            f"Théorie 1/(1+{cost_fn}/{cost_fp}) = {num(m('threshold_theoretical'), 3)}.",
            f"Zone d'examen manuel [{num(m('review_low'), 3)} ; {num(m('review_high'), 3)}[ : "
            f"{pct(m('review_band_share_oof'))} des demandes.",
        ],
    )
    slide = deck._slide("Résultats")
    rows = [["Métrique", "Hors pli", "Test"]]
    for key, label, kind in RESULT_ROWS:
        fmt = pct if kind == "pct" else (lambda x: num(x, 4))
        rows.append([label, fmt(m("oof_" + key)), fmt(m("holdout_" + key))])
    deck._table(slide, rows, 0.6, 1.4, 6.4, row_h=0.42, size=13, col_widths=[3.4, 1.5, 1.5])
    if c.plots.get("roc"):
        deck._picture(slide, c.plots["roc"], 7.4, 1.35, 5.4, 5.4)
    deck.picture(
        "Explications globales (SHAP)",
        c.plots.get("shap_summary"),
        [
            "Valeurs SHAP exactes du booster (pred_contrib de LightGBM).",
            "Importance globale = moyenne des |SHAP|.",
            "Variables les plus influentes : " + ", ".join(v["top_features"][:4]) + ".",
        ],
    )
    local = v["local"]
    reasons = [r["text_fr"] for r in v["reasons"]]
    deck.picture(
        "Explication locale d'une décision",
        c.plots.get("local"),
        (
            [f"Demandeur {local['sk_id_curr']} : {pct(local['probability'])}, « {local['decision']} »."]
            if local
            else []
        )
        + [f"  {t}" for t in reasons[:6]],
    )
    for stem, title, what in DASHBOARDS:
        shot = find_screenshot(c.reports_dir, stem)
        if shot is not None:
            deck.picture(title, shot, note=what)
        else:
            expected = f"{c.reports_dir}/superset/{stem}.png"
            placeholders.append(expected)
            deck.bullets(
                title + " (capture manquante)",
                [
                    what,
                    f"Capture attendue : {expected}",
                    "Elle est produite par `make superset-screenshots` (ou `make demo`) une fois Superset lancé ;",
                    "  relancer ensuite `python -m training report` pour l'insérer ici.",
                ],
            )
    slide = deck._slide("L'API de scoring (FastAPI)")
    deck._table(
        slide,
        [["Méthode", "Chemin", "Rôle"]] + [list(r) for r in API_ROUTES],
        0.6,
        1.4,
        12.1,
        row_h=0.45,
        size=14,
        col_widths=[1.2, 4.6, 6.3],
    )
    deck._bullets(
        slide,
        [
            "Clé d'API dans l'en-tête X-API-Key (obligatoire hors développement) ; journal d'audit des décisions.",
            "Le modèle servi est models:/credit_default@champion ; rechargement à chaud à chaque publication.",
            "Même code de modèle que le scoring par lot : probabilité, décision, SHAP et raisons identiques.",
        ],
        top=4.5,
        height=2.3,
        size=15,
    )
    deck.picture(
        "Surveillance : dérive des données",
        c.plots.get("drift"),
        [
            f"PSI de chaque variable ({int_fr(d['n_features'])}) et du score, calculé en SQL (dbt).",
            f"{d['n_stable']} stables, {d['n_watch']} à surveiller, {d['n_act']} à traiter.",
            (
                f"Score : PSI {num(d['score_psi'], 3)} ({d['score_reading_fr']})."
                if d["score_psi"] is not None
                else "Score : pas encore scoré."
            ),
            "Rapport Evidently détaillé : data_drift.html.",
        ],
    )
    fair = v["fairness"]
    if fair:
        slide = deck._slide("Équité")
        rows = [["Attribut", "Groupe", "Demandeurs", "Taux d'accord", "Rapport"]] + [
            [
                r["attribute"],
                str(r["group"]),
                int_fr(r["n"]),
                pct(r["approval_rate"]),
                num(r["approval_rate_ratio"], 2),
            ]
            for r in fair[:12]
        ]
        deck._table(slide, rows, 0.6, 1.4, 12.1, row_h=0.36, size=12)
        deck._note(
            slide,
            "Le genre n'est pas une variable du modèle ; la règle des 4/5 demande un rapport d'au moins 0,80.",
        )
    deck.bullets(
        "Limites",
        [
            "Une seule période d'apprentissage ; pas d'étiquette pour les demandes refusées (biais de sélection).",
            f"Le seuil suppose un rapport de coûts {cost_fn}:{cost_fp} fixe.",
            "Le calibrage se dégrade si le taux de défaut dérive ; SHAP décrit le modèle, pas des causes.",
            "Des variables corrélées au genre ou à l'âge peuvent porter leur information.",
        ],
    )
    deck.bullets(
        "Prochaines étapes",
        [
            "Suivre les cohortes accordées et mesurer le défaut réel ; inférence des refusés.",
            "Alerte quand le PSI du score dépasse 0,1 ; recalibrage périodique.",
            "Coûts réels (perte en cas de défaut, marge) et seuils par segment.",
            "Contraintes de monotonie et audit d'équité élargi.",
        ],
    )
    n = len(deck.prs.slides)
    if n > MAX_SLIDES:
        raise RuntimeError(f"the deck has {n} slides, more than {MAX_SLIDES}")
    path = deck.save(out_dir / "presentation.pptx")
    return DeckOutcome(path, n, deck.pictures, placeholders)
