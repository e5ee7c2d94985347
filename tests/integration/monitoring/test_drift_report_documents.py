"""`python -m training drift` and `python -m training report` on a real scored warehouse.

Real DuckDB files, a real dbt build, a real MLflow store in a temp dir (see conftest.py).
"""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.slow

PLANTED = {"app_contract_type_revolving_loans", "app_credit_to_income_ratio", "app_goods_to_income_ratio"}
SECTION_BUDGETS = {
    "1. Méthodologie d'entraînement": 2,
    "2. Traitement du déséquilibre des classes": 1,
    "3. Fonction de coût métier, algorithme d'optimisation et métrique d'évaluation": 1,
    "4. Tableau de synthèse des résultats": 1,
    "5. Interprétabilité globale et locale": 1,
    "6. Limites et améliorations possibles": 1,
    "7. Analyse du data drift": 1,
}
FIGURES = {"roc", "cost", "calibration", "shap_summary", "local", "drift"}


@pytest.fixture(scope="module")
def drift_runs(scored):
    planted, unplanted = scored
    out = {}
    for name, home in (("planted", planted), ("unplanted", unplanted)):
        stdout = home.py("training", "drift")
        out[name] = (home, stdout, json.loads((home.reports / "data_drift.json").read_text(encoding="utf-8")))
    return out


def test_drift_report_opens_offline_and_covers_important_features_and_the_score(drift_runs):
    home, stdout, summary = drift_runs["planted"]
    html = (home.reports / "data_drift.html").read_text(encoding="utf-8")
    assert len(html) > 100_000
    assert not re.search(r"<script[^>]+src=[\"']https?://", html), (
        "the report loads scripts from the internet"
    )
    assert not re.search(r"<link[^>]+href=[\"']https?://", html)
    assert "probability" in summary["columns"]
    for column in summary["columns"]:
        assert column in html
    assert "score PSI" in stdout and "feature PSI" in stdout
    # the report compares the most important features of the scored model
    import duckdb

    con = duckdb.connect(str(home.build), read_only=True)
    try:
        top = [
            r[0]
            for r in con.execute(
                "select feature from scoring.global_importance order by rank limit 5"
            ).fetchall()
        ]
    finally:
        con.close()
    assert set(top) <= set(summary["columns"])


def test_drift_command_finds_the_planted_drift_and_none_without_it(drift_runs):
    _, _, with_drift = drift_runs["planted"]
    _, _, without = drift_runs["unplanted"]
    assert with_drift["psi_counts"]["watch"] + with_drift["psi_counts"]["act"] >= 1
    assert set(with_drift["drifted_by_psi"]) & PLANTED
    # Evidently, on the PSI-flagged planted columns it was given, agrees
    assert set(with_drift["evidently_drifted"]) & PLANTED
    assert without["psi_counts"]["watch"] == 0 and without["psi_counts"]["act"] == 0
    assert without["drifted_by_psi"] == []
    assert not set(without["evidently_drifted"]) & PLANTED
    assert without["score_reading"] == "stable"


def test_drift_run_is_logged_to_mlflow(drift_runs, mlflow_uri):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_uri)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "tags.kind = 'drift'", max_results=10
    )
    assert len(runs) == 2
    assert all("score_psi" in r.data.metrics for r in runs)
    names = {a.path for a in client.list_artifacts(runs[0].info.run_id, "drift")}
    assert {"drift/data_drift.html", "drift/data_drift.json"} <= names


@pytest.fixture(scope="module")
def report(drift_runs):
    home, _, _ = drift_runs["planted"]
    stdout = home.py("training", "report")
    return home, stdout


def test_methodology_note_sections_pages_and_figures(report):
    from pypdf import PdfReader

    home, _ = report
    pdf = home.reports / "methodology.pdf"
    reader = PdfReader(str(pdf))
    starts = [(item.title, reader.get_destination_page_number(item) + 1) for item in reader.outline]
    titles = [t for t, _ in starts]
    assert titles == list(SECTION_BUDGETS), titles
    ends = [s for _, s in starts[1:]] + [len(reader.pages) + 1]
    for (title, start), end in zip(starts, ends, strict=True):
        assert end - start <= SECTION_BUDGETS[title], f"{title}: {end - start} pages"
        assert end > start
        # each section starts on a page of its own: its title opens the page
        first_line = reader.pages[start - 1].extract_text().strip().splitlines()[0]
        assert title.split(".")[0] in first_line
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "PSI" in text and "AUC" in text and "coût" in text
    images = {image.name for page in reader.pages for image in page.images}  # resources are shared by pages
    assert len(images) >= len(FIGURES)
    html = (home.reports / "methodology.html").read_text(encoding="utf-8")
    assert set(re.findall(r'data-figure="([a-z_]+)"', html)) >= FIGURES
    assert "absente de cette exécution" not in html
    assert 'lang="fr"' in html


def test_slides_count_and_every_picture_exists(report):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    home, _ = report
    deck = Presentation(str(home.reports / "presentation.pptx"))
    assert 10 <= len(deck.slides) <= 30
    pictures = [
        shape for slide in deck.slides for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE
    ]
    assert len(pictures) >= 5
    for pic in pictures:
        source = home.reports / pic.name
        assert source.exists(), f"slide picture {pic.name} is not in the reports folder"
        assert pic.image.blob == source.read_bytes()
    texts = "\n".join(s.text_frame.text for slide in deck.slides for s in slide.shapes if s.has_text_frame)
    # no Superset here: each dashboard gets a placeholder naming the screenshot it needs
    for stem in ("portfolio", "client-360", "monitoring"):
        assert f"superset/{stem}.png" in texts


def test_model_card_is_attached_to_the_champion(report, mlflow_uri):
    import mlflow

    home, _ = report
    card = (home.reports / "model_card.md").read_text(encoding="utf-8")
    for heading in (
        "## Intended use",
        "## Out of scope",
        "## Monitoring",
        "## Data",
        "## Metrics",
        "## Fairness",
        "## Limits",
    ):
        assert heading in card, heading
    client = mlflow.MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
    version = client.get_model_version_by_alias("credit_default", "champion")
    assert version.description == card
    assert version.tags["model_card_full"] == "model_card/model_card.md"
    assert [a.path for a in client.list_artifacts(version.run_id, "model_card")] == [
        "model_card/model_card.md"
    ]
