"""The client's file: everything held about one applicant, as JSON, a CSV zip, and a French letter.

The rows come from the published warehouse (warehouse.client_file), the model's features, texts and
decision rules from the champion being served, the API's decisions from the audit log's index.
The letter (HTML for a phone, PDF through WeasyPrint, imported here only when a PDF is asked for)
says the decision, its main reasons in plain French, the key figures against other applicants,
what the client can do, and lists every data item held, by source.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np

from api.services.state import Serving
from warehouse.client_file import ApplicantRecord, label

DECISION_KINDS = ("lookup", "decision")  # audit entries that are decisions (not file accesses)
TABLE_TITLES = {
    "application_train": ("Votre demande de crédit", "Your credit application"),
    "application_test": ("Votre demande de crédit", "Your credit application"),
    "bureau": ("Vos crédits déclarés par d'autres établissements (bureau de crédit)", "Credit bureau"),
    "bureau_balance": ("Historique mensuel de ces crédits", "Credit bureau, month by month"),
    "previous_application": ("Vos demandes précédentes chez nous", "Previous applications with us"),
    "pos_cash_balance": (
        "Suivi mensuel de vos crédits précédents chez nous",
        "Previous loans, month by month",
    ),
    "installments_payments": ("Vos remboursements chez nous", "Repayments to us"),
    "credit_card_balance": ("Vos cartes de crédit chez nous", "Credit cards with us"),
}
DECISION_FR = {
    "approve": (
        "Accordé",
        "Votre demande est acceptée : le risque de difficultés de remboursement estimé est faible.",
    ),
    "review": (
        "À examiner par un conseiller",
        "Votre dossier est proche de notre seuil : un conseiller l'examine avant toute décision.",
    ),
    "refuse": (
        "Refusé",
        "Votre demande n'est pas acceptée en l'état : le risque de difficultés de remboursement estimé "
        "dépasse notre seuil. Vous pouvez demander qu'une personne réexamine votre dossier.",
    ),
}


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _reason_text(serving: Serving):
    """The registered model's own `reason_text` (its code runs as a module the API may not name)."""
    return type(serving.model).reasons.__globals__["reason_text"]


def _texts(serving: Serving, feature: str, value: float | None) -> tuple[str, str]:
    code = serving.model.reason_codes.get(feature)
    if code is None:
        return feature, feature
    text = _reason_text(serving)
    return text(code, value, "fr"), text(code, value, "en")


def _live_decision(serving: Serving, x: np.ndarray, sk_id_curr: int) -> tuple[dict, list[dict]]:
    from api.services.scoring import score_vectors

    (resp,) = score_vectors(serving, x[None, :], [sk_id_curr], "lookup", "client-file", 0)
    decision = {
        "probability": resp.probability,
        "risk_grade": resp.risk_grade,
        "decision": resp.decision,
        "threshold": resp.threshold,
        "review_band": list(resp.review_band),
        "model_name": resp.model.name,
        "model_version": resp.model.version,
        "scored_at": _now(),
        "source": "the champion now (no batch score stored for this applicant)",
    }
    reasons = [r.model_dump() for r in resp.reasons]
    return decision, reasons


def build_file(
    serving: Serving,
    record: ApplicantRecord,
    audit_entries: list[dict[str, Any]],
    verification: dict[str, Any],
    retention_days: int,
) -> dict[str, Any]:
    """The file as one JSON-ready document (see api/README.md, "The client's file")."""
    model = serving.model
    doc: dict[str, Any] = {
        "sk_id_curr": record.sk_id_curr,
        "generated_at": _now(),
        "known_from": "warehouse" if record.in_warehouse else "api_requests_only",
    }
    if record.application is not None:
        app = record.application
        doc["application"] = {
            "table": app.name,
            "fields": [
                {
                    "column": c,
                    "label_fr": label(app.name, c, "fr"),
                    "label_en": label(app.name, c, "en"),
                    "value": v,
                }
                for c, v in zip(app.columns, app.rows[0], strict=True)
            ],
        }
        doc["history"] = {
            name: {
                "title_fr": TABLE_TITLES[name][0],
                "title_en": TABLE_TITLES[name][1],
                "row_count": len(table.rows),
                "columns": [
                    {"name": c, "label_fr": label(name, c, "fr"), "label_en": label(name, c, "en")}
                    for c in table.columns
                ],
                "rows": table.records(),
            }
            for name, table in record.history.items()
        }
    else:
        doc["application"] = None
        doc["history"] = {}
    x = serving.lookup(record.sk_id_curr) if record.in_warehouse else None
    features = []
    if x is not None:
        for name, value in zip(serving.features, x.tolist(), strict=True):
            value = _finite(value)
            fr, en = _texts(serving, name, value)
            features.append({"name": name, "value": value, "label_fr": fr, "label_en": en})
    doc["features"] = features
    decision, reasons = None, []
    if record.score is not None:
        s, run = record.score, record.run or {}
        decision = {
            "probability": _finite(s.get("champion_probability") or s.get("probability")),
            "risk_grade": s.get("risk_grade"),
            "decision": s.get("decision"),
            "threshold": _finite(s.get("threshold") or run.get("threshold")),
            "review_band": [_finite(run.get("review_low")), _finite(run.get("review_high"))],
            "model_name": s.get("model_name"),
            "model_version": None if s.get("model_version") is None else str(s["model_version"]),
            "scored_at": s.get("scored_at"),
            "source": "batch scoring run " + str(s.get("run_id")),
        }
        reasons = [dict(r) for r in record.reasons]
    elif x is not None:
        decision, reasons = _live_decision(serving, x, record.sk_id_curr)
    doc["decision"] = decision
    doc["reasons"] = reasons
    doc["api_decisions"] = [
        {
            k: e.get(k)
            for k in (
                "seq",
                "time",
                "endpoint",
                "kind",
                "decision",
                "probability",
                "risk_grade",
                "model_name",
                "model_version",
                "caller",
                "inputs_hash",
                "reasons",
            )
        }
        for e in audit_entries
        if e.get("kind") in DECISION_KINDS
    ]
    doc["submitted_data"] = (
        "The API's log keeps, for each request about you, a SHA-256 fingerprint of the data sent "
        "(inputs_hash), never the data itself; the warehouse holds no rows about you."
        if not record.in_warehouse
        else None
    )
    doc["audit_log_check"] = verification
    doc["sources"] = record.sources
    doc["retention"] = retention(retention_days)
    doc["model"] = {
        "name": serving.champion.name,
        "version": serving.champion.version,
        "threshold": float(model.threshold),
        "review_band": [float(model.review_low), float(model.review_high)],
    }
    return doc


def retention(days: int) -> dict[str, Any]:
    return {
        "days": days,
        "fr": (
            f"Vos données sont conservées {days} jours après votre dernière demande, puis supprimées du "
            "entrepôt de données à la livraison suivante. Le journal des décisions est en ajout seul et "
            "chaîné : les entrées anciennes n'y sont pas modifiées ; il ne contient ni vos données ni votre "
            "nom, seulement votre numéro de demande, la décision et une empreinte des données envoyées."
        ),
        "enforced": (
            "CREDIT_RETENTION_DAYS is published in every file. Deletion is a new data delivery without the "
            "applicant (the load replaces the warehouse; the API reads the next published copy). The audit "
            "log is append-only and hash-chained: it holds no personal data beyond SK_ID_CURR and a hash of "
            "the inputs; rotating it (archive whole, start a new chain) is how old entries leave the server."
        ),
    }


# --- CSV -------------------------------------------------------------------------------------


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def csv_zip(doc: dict[str, Any]) -> bytes:
    """One CSV per table of the file (UTF-8, header row = Kaggle column names) plus labels.csv."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        labels_rows = []
        if doc["application"]:
            app = doc["application"]
            zf.writestr(
                f"{app['table']}.csv",
                _csv([f["column"] for f in app["fields"]], [[f["value"] for f in app["fields"]]]),
            )
            labels_rows += [[app["table"], f["column"], f["label_fr"], f["label_en"]] for f in app["fields"]]
        for name, table in doc["history"].items():
            cols = [c["name"] for c in table["columns"]]
            zf.writestr(f"{name}.csv", _csv(cols, [[r.get(c) for c in cols] for r in table["rows"]]))
            labels_rows += [[name, c["name"], c["label_fr"], c["label_en"]] for c in table["columns"]]
        zf.writestr("labels.csv", _csv(["table", "column", "label_fr", "label_en"], labels_rows))
        zf.writestr(
            "features.csv",
            _csv(
                ["name", "value", "label_fr", "label_en"],
                [[f["name"], f["value"], f["label_fr"], f["label_en"]] for f in doc["features"]],
            ),
        )
        d = doc["decision"] or {}
        keys = [
            "probability",
            "risk_grade",
            "decision",
            "threshold",
            "model_name",
            "model_version",
            "scored_at",
        ]
        zf.writestr("decision.csv", _csv(keys, [[d.get(k) for k in keys]] if d else []))
        rkeys = ["direction", "rank", "feature", "feature_value", "text_fr", "text_en"]
        zf.writestr("reasons.csv", _csv(rkeys, [[r.get(k) for k in rkeys] for r in doc["reasons"]]))
        akeys = ["seq", "time", "endpoint", "decision", "probability", "model_version", "inputs_hash"]
        zf.writestr(
            "api_decisions.csv", _csv(akeys, [[e.get(k) for k in akeys] for e in doc["api_decisions"]])
        )
        skeys = ["table_name", "file", "row_count", "loaded_at"]
        zf.writestr("sources.csv", _csv(skeys, [[s.get(k) for k in skeys] for s in doc["sources"]]))
    return out.getvalue()


# --- the letter ---------------------------------------------------------------------------------


def _pct(p: float | None) -> str:
    return "" if p is None else f"{100 * p:.1f} %".replace(".", ",")


def letter_reasons(doc: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """The letter's reasons: those that raise the risk first, each text once (the model says a
    history source the client has no rows in as one absence reason, which may weigh both ways)."""
    out, seen = [], set()
    ordered = sorted(doc["reasons"], key=lambda r: (r.get("direction") != "raises", r.get("rank") or 0))
    for r in ordered:
        text = r.get("text_fr") or r.get("feature")
        if text in seen:
            continue
        seen.add(text)
        out.append({**r, "text": text})
        if len(out) >= limit:
            break
    return out


def _position_svg(share_below: float) -> str:
    """A small bar: where the client's value lies among applicants (0 = lowest, 1 = highest)."""
    x = 8 + 284 * min(max(share_below, 0.0), 1.0)
    return (
        '<svg class="pos" viewBox="0 0 300 34" width="300" height="34" role="img" '
        f'aria-label="position {round(100 * share_below)} sur 100">'
        '<rect x="8" y="12" width="284" height="8" rx="4" fill="#dfe6ee"/>'
        f'<rect x="8" y="12" width="{x - 8:.1f}" height="8" rx="4" fill="#7a9cc6"/>'
        f'<circle cx="{x:.1f}" cy="16" r="7" fill="#1f4e79"/>'
        '<text x="8" y="32" font-size="9" fill="#555">plus bas</text>'
        '<text x="292" y="32" font-size="9" fill="#555" text-anchor="end">plus haut</text></svg>'
    )


def key_figures(serving: Serving, reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each reason with a value: the share of applicants with that information whose value is
    below the client's (read from the feature's own table: milliseconds, where the mart view takes
    0.3-0.6 s per column at full scale)."""
    figures = []
    with serving.copy.cursor() as cur:
        for r in reasons:
            value = r.get("feature_value")
            feature = r.get("feature")
            if value is None or feature not in serving.copy.feature_columns:
                continue
            below, total = cur.execute(
                f'select count(*) filter (where "{feature}" < ?), count("{feature}") '
                f"from {serving.copy.feature_source(feature)}",
                [float(value)],
            ).fetchone()
            if total:
                figures.append({"text": r["text"], "share_below": below / total, "applicants": total})
    return figures


CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:15px;line-height:1.45;color:#222;margin:0;padding:0 14px}
main{max-width:760px;margin:0 auto}
h1{font-size:22px;color:#1f4e79}h2{font-size:18px;color:#1f4e79;margin-top:1.4em}h3{font-size:15px}
.decision{border-left:6px solid #1f4e79;padding:8px 12px;background:#f2f6fa}
.refuse{border-color:#b03a2e}.approve{border-color:#2e7d32}.review{border-color:#c77c02}
li{margin:.4em 0}.pos{max-width:100%;height:auto;display:block}
dl{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:2px 10px;font-size:13px}
dt{color:#444;overflow-wrap:anywhere}dd{margin:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccd;padding:2px 5px}small{color:#555}a{overflow-wrap:anywhere}
table.annex{font-size:7.5px;width:100%}table.annex td{padding:1px 3px}table.annex td.v{white-space:nowrap}
@media print{body{font-size:10.5px;padding:0}h1{font-size:17px}h2{font-size:13px;margin-top:1em}h3{font-size:11px}}
@page{size:A4;margin:16mm 15mm}
"""


NOT_APPLICABLE_DAYS = 365243  # Kaggle's "no such date" in DAYS_* columns


def _value(v: Any, column: str = "") -> str:
    if v is None:
        return "—"
    if column.startswith("DAYS_") and v == NOT_APPLICABLE_DAYS:
        return "sans objet"
    if isinstance(v, float):
        return f"{v:,.4g}".replace(",", " ").replace(".", ",")
    return escape(str(v))


def letter_html(
    doc: dict[str, Any], figures: list[dict[str, Any]], links: dict[str, str] | None, pdf: bool = False
) -> str:
    """The French letter: decision, reasons, key figures, rights, and the annex of data held."""
    d = doc["decision"]
    parts = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta name='referrer' content='no-referrer'>",
        f"<title>Votre dossier de crédit n° {doc['sk_id_curr']}</title><style>{CSS}</style></head><body><main>",
        f"<h1>Votre dossier de crédit n° {doc['sk_id_curr']}</h1>",
        f"<p><small>Document établi le {escape(doc['generated_at'][:10])}. Il contient tout ce que nous "
        "détenons sur vous et explique notre décision (RGPD, articles 15 et 22).</small></p>",
    ]
    if d:
        title, meaning = DECISION_FR.get(str(d.get("decision")), (str(d.get("decision")), ""))
        parts += [
            f"<h2>Notre décision</h2><div class='decision {escape(str(d.get('decision')))}'>",
            f"<p><strong>{escape(title)}</strong></p><p>{escape(meaning)}</p>",
            f"<p><small>Risque estimé de difficultés de remboursement : {_pct(d.get('probability'))} "
            f"(notre seuil : {_pct(d.get('threshold'))}). Cette estimation est calculée automatiquement "
            "par un modèle statistique à partir des données listées en annexe.</small></p></div>",
        ]
    else:
        parts.append(
            "<h2>Notre décision</h2><p>Aucune décision n'est enregistrée dans notre entrepôt de données "
            "pour ce numéro ; les décisions rendues par notre service en ligne sont listées plus bas.</p>"
        )
    reasons = letter_reasons(doc)
    if reasons:
        parts.append("<h2>Les principales raisons</h2><ol>")
        for r in reasons:
            effect = "augmente" if r.get("direction") == "raises" else "diminue"
            parts.append(f"<li>{escape(r['text'])} <small>(ce point {effect} le risque estimé)</small></li>")
        parts.append("</ol>")
    if figures:
        parts.append("<h2>Vos chiffres comparés aux autres demandeurs</h2>")
        for f in figures:
            parts.append(
                f"<h3>{escape(f['text'])}</h3>{_position_svg(f['share_below'])}"
                f"<p><small>{round(100 * f['share_below'])} % des {f['applicants']:,} demandeurs ont une "
                "valeur plus basse que la vôtre.</small></p>".replace(",", " ")
            )
    if doc["api_decisions"]:
        parts.append("<h2>Les décisions de notre service en ligne</h2><ul>")
        for e in doc["api_decisions"][-10:]:
            title = DECISION_FR.get(str(e.get("decision")), (str(e.get("decision")), ""))[0]
            parts.append(
                f"<li>{escape(str(e.get('time', ''))[:16].replace('T', ' '))} : {escape(title)} "
                f"(risque estimé {_pct(e.get('probability'))})</li>"
            )
        check = doc["audit_log_check"]
        state = "intact" if check.get("ok") else "anomalie détectée"
        parts.append(f"</ul><p><small>Journal des décisions vérifié : {state}.</small></p>")
    parts += [
        "<h2>Ce que vous pouvez faire</h2><ul>",
        "<li><strong>Demander un réexamen par une personne</strong> : un conseiller reprend votre dossier, "
        "vos explications et vos justificatifs, et peut modifier la décision.</li>",
        "<li><strong>Faire corriger une donnée inexacte</strong> : signalez-la avec un justificatif ; "
        "nous la corrigeons et recalculons la décision.</li>",
        "<li><strong>Nous contacter</strong> : votre agence, ou notre délégué à la protection des données "
        "(dpo@pret-a-depenser.example). Vous pouvez aussi saisir la CNIL (www.cnil.fr).</li></ul>",
        f"<p><small>{escape(doc['retention']['fr'])}</small></p>",
    ]
    if links and not pdf:
        parts.append(
            "<p>Télécharger ce dossier : "
            f"<a href='{escape(links['pdf'])}'>lettre PDF</a> · "
            f"<a href='{escape(links['csv'])}'>toutes les données (CSV)</a> · "
            f"<a href='{escape(links['json'])}'>toutes les données (JSON)</a></p>"
        )
    parts.append("<h2>Annexe : les données que nous détenons sur vous</h2>")
    if doc["application"]:
        fields = doc["application"]["fields"]
        parts.append("<h3>Votre demande de crédit</h3>")
        if pdf:  # two label/value pairs per row: the annex stays within two pages
            half = (len(fields) + 1) // 2
            parts.append("<table class='annex'>")
            for left, right in zip(fields[:half], fields[half:] + [None], strict=False):
                cells = [left] + ([right] if right else [])
                parts.append(
                    "<tr>"
                    + "".join(
                        f"<td>{escape(f['label_fr'])}</td><td class='v'>{_value(f['value'], f['column'])}</td>"
                        for f in cells
                    )
                    + "</tr>"
                )
            parts.append("</table>")
        else:
            parts.append("<dl>")
            for f in fields:
                parts.append(f"<dt>{escape(f['label_fr'])}</dt><dd>{_value(f['value'], f['column'])}</dd>")
            parts.append("</dl>")
    if pdf:
        parts.append("<h3>Votre historique</h3><table class='annex'>")
        for table in doc["history"].values():
            parts.append(
                f"<tr><td>{escape(table['title_fr'])}</td><td class='v'>{table['row_count']} ligne(s)</td></tr>"
            )
        parts.append(
            "</table><p><small>Toutes les lignes figurent dans le fichier CSV de votre dossier.</small></p>"
        )
    for table in [] if pdf else doc["history"].values():
        n = table["row_count"]
        parts.append(f"<h3>{escape(table['title_fr'])}</h3>")
        if not n:
            parts.append("<p>Aucune donnée.</p>")
            continue
        shown = table["rows"][:20]
        parts.append(
            f"<p>{n} ligne{'s' if n > 1 else ''}"
            + (" (toutes dans le fichier CSV)." if n > len(shown) else ".")
            + "</p>"
        )
        cols = table["columns"]
        parts.append("<div class='scroll'><table><tr>")
        parts += [f"<th>{escape(c['label_fr'])}</th>" for c in cols]
        parts.append("</tr>")
        for row in shown:
            parts.append(
                "<tr>" + "".join(f"<td>{_value(row.get(c['name']), c['name'])}</td>" for c in cols) + "</tr>"
            )
        parts.append("</table></div>")
    if doc["sources"]:
        loaded = max(str(s.get("loaded_at") or "") for s in doc["sources"])[:10]
        parts.append(
            f"<p><small>Origine : fichiers chargés le {escape(loaded)} ("
            + ", ".join(escape(str(s["table_name"])) for s in doc["sources"])
            + ").</small></p>"
        )
    parts.append("</main></body></html>")
    return "".join(parts)


def letter_pdf(html: str) -> bytes:
    """The letter as PDF (WeasyPrint, imported here only)."""
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
