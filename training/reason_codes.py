"""The reason-code dictionary: one entry per feature, in English and French, editable.

Every feature of the mart gets an entry ``{family, fact, unit, en, fr, missing_en, missing_fr}``:
- ``family``: the history table it comes from (app, bureau, prev, pos, inst, cc, ...), read from
  the name's prefix;
- ``fact``: the underlying fact (the name without its aggregate and window), so that two
  near-duplicates (``inst_days_late_max`` and ``inst_days_late_mean_last_365d``) never appear as
  two reasons for the same applicant;
- ``en`` / ``fr``: a sentence with ``{value}``, e.g. "Credit amount divided by annual income: {value}".

Entries are generated from the feature's name (a vocabulary of name tokens, below) and, for the
English label, from the column's description in the dbt contract (which itself comes from
HomeCredit_columns_description). The committed file ``training/reason_codes.yaml`` holds the
generated entries; edit an entry there and set ``edited: true`` to keep it when regenerating
(`python -m training reason-codes`). Training bundles the dictionary into the registered model,
so a model version's reasons never change after registration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    import pandas as pd

REASON_CODES_PATH = Path(__file__).with_name("reason_codes.yaml")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FAMILIES = {
    "app": ("application", "demande"),
    "bureau": ("credit bureau", "bureau de crédit"),
    "bb": ("credit bureau monthly balance", "solde mensuel du bureau de crédit"),
    "prev": ("previous Home Credit applications", "demandes précédentes chez Home Credit"),
    "pos": ("previous point-of-sale and cash loans", "prêts précédents au point de vente et en espèces"),
    "inst": ("installment payments", "paiements des échéances"),
    "cc": ("credit card balance", "solde de carte de crédit"),
}

AGGREGATES = {
    "min": ("lowest", "minimum"),
    "max": ("highest", "maximum"),
    "mean": ("average", "moyenne"),
    "avg": ("average", "moyenne"),
    "sum": ("total", "total"),
    "var": ("variance", "variance"),
    "std": ("variability", "variabilité"),
    "share": ("share", "part"),
    "count": ("number", "nombre"),
    "nunique": ("number of distinct", "nombre distinct"),
    "slope": ("trend", "tendance"),
    "first": ("earliest", "premier"),
    "last": ("latest", "dernier"),
    "median": ("median", "médiane"),
}

# Name tokens -> (English, French). Unknown tokens are kept as they are (the file is editable).
VOCAB = {
    "amt": ("amount", "montant"),
    "amount": ("amount", "montant"),
    "credit": ("credit", "crédit"),
    "income": ("income", "revenu"),
    "total": ("total", "total"),
    "annuity": ("annuity", "annuité"),
    "goods": ("goods", "biens"),
    "price": ("price", "prix"),
    "days": ("days", "jours"),
    "day": ("day", "jour"),
    "birth": ("birth", "naissance"),
    "employed": ("employed", "en emploi"),
    "registration": ("registration", "enregistrement"),
    "id": ("identity document", "pièce d'identité"),
    "publish": ("change", "changement"),
    "own": ("own", "propre"),
    "car": ("car", "voiture"),
    "age": ("age", "âge"),
    "years": ("years", "années"),
    "year": ("year", "année"),
    "ext": ("external", "externe"),
    "source": ("score", "score"),
    "ratio": ("ratio", "ratio"),
    "to": ("to", "sur"),
    "per": ("per", "par"),
    "person": ("person", "personne"),
    "child": ("child", "enfant"),
    "children": ("children", "enfants"),
    "cnt": ("number of", "nombre de"),
    "fam": ("family", "famille"),
    "members": ("members", "membres"),
    "family": ("family", "famille"),
    "region": ("region", "région"),
    "rating": ("rating", "note"),
    "client": ("client", "client"),
    "city": ("city", "ville"),
    "population": ("population", "population"),
    "relative": ("relative", "relative"),
    "flag": ("flag", "indicateur"),
    "document": ("document", "document"),
    "phone": ("phone", "téléphone"),
    "mobile": ("mobile", "mobile"),
    "email": ("email", "e-mail"),
    "work": ("work", "travail"),
    "live": ("residence", "résidence"),
    "reg": ("registration", "enregistrement"),
    "not": ("not", "pas"),
    "hour": ("hour", "heure"),
    "appr": ("application", "demande"),
    "process": ("process", "processus"),
    "start": ("start", "début"),
    "social": ("social", "social"),
    "circle": ("circle", "entourage"),
    "obs": ("observed", "observés"),
    "def": ("defaulted", "en défaut"),
    "req": ("enquiries", "demandes"),
    "week": ("week", "semaine"),
    "mon": ("month", "mois"),
    "qrt": ("quarter", "trimestre"),
    "contract": ("contract", "contrat"),
    "type": ("type", "type"),
    "suite": ("companion", "accompagnant"),
    "education": ("education", "éducation"),
    "housing": ("housing", "logement"),
    "occupation": ("occupation", "profession"),
    "organization": ("employer", "employeur"),
    "weekday": ("weekday", "jour de la semaine"),
    "overdue": ("overdue", "en retard"),
    "dpd": ("days past due", "jours de retard"),
    "debt": ("debt", "dette"),
    "limit": ("limit", "plafond"),
    "active": ("active", "actif"),
    "closed": ("closed", "clôturé"),
    "status": ("status", "statut"),
    "balance": ("balance", "solde"),
    "months": ("months", "mois"),
    "month": ("month", "mois"),
    "prolong": ("prolongation", "prolongation"),
    "enddate": ("end date", "date de fin"),
    "fact": ("actual", "effective"),
    "update": ("update", "mise à jour"),
    "max": ("maximum", "maximum"),
    "application": ("application", "demande"),
    "approved": ("approved", "approuvée"),
    "refused": ("refused", "refusée"),
    "canceled": ("canceled", "annulée"),
    "down": ("down", "acompte"),
    "payment": ("payment", "paiement"),
    "payments": ("payments", "paiements"),
    "rate": ("rate", "taux"),
    "interest": ("interest", "intérêt"),
    "decision": ("decision", "décision"),
    "term": ("term", "durée"),
    "instalment": ("installment", "échéance"),
    "installment": ("installment", "échéance"),
    "installments": ("installments", "échéances"),
    "late": ("late", "en retard"),
    "early": ("early", "en avance"),
    "underpaid": ("underpaid", "sous-payé"),
    "paid": ("paid", "payé"),
    "future": ("future", "futur"),
    "drawings": ("drawings", "retraits"),
    "atm": ("ATM", "DAB"),
    "pos": ("point of sale", "point de vente"),
    "receivable": ("receivable", "à recevoir"),
    "utilisation": ("utilisation", "utilisation"),
    "utilization": ("utilisation", "utilisation"),
    "last": ("last", "derniers"),
    "share": ("share", "part"),
    "count": ("number", "nombre"),
    "is": ("is", "est"),
    "has": ("has", "a"),
    "missing": ("missing", "manquant"),
    "sentinel": ("not employed", "sans emploi"),
    "owns": ("owns", "possède"),
    "realty": ("home", "logement"),
    "gender": ("gender", "genre"),
    "version": ("version", "version"),
    "diff": ("difference", "écart"),
    "minus": ("minus", "moins"),
    "times": ("times", "fois"),
    "weighted": ("weighted", "pondéré"),
    "prod": ("product", "produit"),
    "and": ("and", "et"),
    "of": ("of", "de"),
    "in": ("in", "en"),
    "with": ("with", "avec"),
    "without": ("without", "sans"),
    "since": ("since", "depuis"),
    "recent": ("recent", "récent"),
    "loan": ("loan", "prêt"),
    "loans": ("loans", "prêts"),
    "cash": ("cash", "espèces"),
    "consumer": ("consumer", "consommation"),
    "revolving": ("revolving", "renouvelable"),
    "card": ("card", "carte"),
    "sk": ("", ""),
    "curr": ("", ""),
}

VOCAB.update(
    {
        "due": ("due", "dû"),
        "current": ("current", "en cours"),
        "bb": ("monthly status", "statut mensuel"),
        "past": ("past", "de"),
        "over": ("over", "au-delà de"),
        "other": ("other", "autre"),
        "industry": ("industry", "industrie"),
        "category": ("category", "catégorie"),
        "purpose": ("purpose", "objet"),
        "product": ("product", "produit"),
        "annual": ("annual", "annuel"),
        "combination": ("combination", "combinaison"),
        "mode": ("mode", "mode"),
        "duration": ("duration", "durée"),
        "difference": ("difference", "écart"),
        "group": ("group", "groupe"),
        "trend": ("trend", "tendance"),
        "medi": ("median", "médiane"),
        "yield": ("interest-rate", "taux d'intérêt"),
        "minimum": ("minimum", "minimum"),
        "before": ("before", "avant"),
        "drawing": ("drawing", "retrait"),
        "1st": ("first", "premier"),
        "termination": ("termination", "résiliation"),
        "shift": ("shift", "décalage"),
        "staff": ("staff", "personnel"),
        "remaining": ("remaining", "restant"),
        "seller": ("seller", "vendeur"),
        "simple": ("simple", "simple"),
        "low": ("low", "bas"),
        "on": ("on", "à"),
        "actual": ("actual", "effectif"),
        "inst": ("installment", "échéance"),
        "regularity": ("regularity", "régularité"),
        "principal": ("principal", "capital"),
        "mature": ("matured", "échu"),
        "cum": ("cumulative", "cumulé"),
        "channel": ("channel", "canal"),
        "a": ("a", "un"),
        "worst": ("worst", "pire"),
        "for": ("for", "pour"),
        "planned": ("planned", "prévu"),
        "bureau": ("bureau", "bureau"),
        "high": ("high", "élevé"),
        "trade": ("trade", "commerce"),
        "the": ("the", "le"),
        "reject": ("rejection", "rejet"),
        "reason": ("reason", "motif"),
        "business": ("business", "entreprise"),
        "unknown": ("unknown", "inconnu"),
        "currency": ("currency", "devise"),
        "below": ("below", "sous"),
        "account": ("account", "compte"),
        "apartment": ("apartment", "appartement"),
        "purchase": ("purchase", "achat"),
        "buying": ("buying", "achat"),
        "sell": ("sale", "vente"),
        "middle": ("middle", "moyen"),
        "change": ("change", "changement"),
        "medicine": ("medicine", "médecine"),
        "transport": ("transport", "transport"),
        "time": ("time", "temps"),
        "equipment": ("equipment", "équipement"),
        "gap": ("gap", "écart"),
        "completed": ("completed", "terminé"),
        "insured": ("insured", "assuré"),
        "approval": ("approval", "approbation"),
        "portfolio": ("portfolio", "portefeuille"),
        "street": ("street", "rue"),
        "working": ("working", "salarié"),
        "sales": ("sales", "ventes"),
        "security": ("security", "sécurité"),
        "construction": ("construction", "construction"),
        "build": ("built", "construit"),
        "signed": ("signed", "signé"),
        "running": ("running", "en cours"),
        "action": ("promotional", "promotionnel"),
        "normal": ("normal", "normal"),
        "building": ("building", "immeuble"),
        "higher": ("higher", "supérieur"),
        "married": ("married", "marié"),
        "bank": ("bank", "banque"),
        "insurance": ("insurance", "assurance"),
        "default": ("default", "défaut"),
        "mortgage": ("mortgage", "prêt immobilier"),
        "microloan": ("microloan", "microcrédit"),
        "cards": ("cards", "cartes"),
        "number": ("number", "nombre"),
        "returned": ("returned", "retourné"),
        "new": ("new", "nouveau"),
        "repairs": ("repairs", "réparations"),
        "auto": ("car", "automobile"),
        "from": ("from", "depuis"),
        "household": ("household", "ménage"),
        "address": ("address", "adresse"),
        "mismatch": ("mismatch", "incohérence"),
        "requests": ("requests", "demandes"),
        "single": ("single", "célibataire"),
        "pensioner": ("pensioner", "retraité"),
        "student": ("student", "étudiant"),
        "unemployed": ("unemployed", "sans emploi"),
        "government": ("government", "administration"),
        "school": ("school", "école"),
        "sold": ("sold", "vendu"),
        "sent": ("sent", "envoyée"),
        "proposal": ("proposal", "proposition"),
        "state": ("state", "état"),
        "emergency": ("emergency", "urgence"),
        "spouse": ("spouse", "conjoint"),
        "partner": ("partner", "partenaire"),
        "unaccompanied": ("unaccompanied", "non accompagné"),
        "totalarea": ("total area", "surface totale"),
        "wallsmaterial": ("wall material", "matériau des murs"),
        "housetype": ("house type", "type de maison"),
        "secondary": ("secondary", "secondaire"),
        "lending": ("lending", "prêt"),
        "margin": ("margin", "marge"),
        "laborers": ("laborers", "ouvriers"),
        "drivers": ("drivers", "chauffeurs"),
        "managers": ("managers", "cadres"),
        "core": ("core", "principal"),
        "private": ("private", "privé"),
        "service": ("service", "service"),
        "holiday": ("holiday", "vacances"),
        "home": ("home", "maison"),
        "furniture": ("furniture", "meubles"),
        "electronics": ("electronics", "électronique"),
        "clothing": ("clothing", "vêtements"),
        "tourism": ("tourism", "tourisme"),
        "jewelry": ("jewelry", "bijoux"),
        "accessories": ("accessories", "accessoires"),
        "store": ("store", "magasin"),
        "livingarea": ("living area", "surface habitable"),
        "landarea": ("land area", "surface du terrain"),
        "commonarea": ("common area", "parties communes"),
        "basementarea": ("basement area", "sous-sol"),
        "floorsmax": ("highest floor", "étage le plus haut"),
        "floorsmin": ("lowest floor", "étage le plus bas"),
        "entrances": ("entrances", "entrées"),
        "elevators": ("elevators", "ascenseurs"),
        "apartments": ("apartments", "appartements"),
        "completed_loan": ("completed loan", "prêt terminé"),
    }
)

WINDOW = re.compile(r"^(last_)?\d+[dmy]$|^last_\d+$")


def family_of(name: str) -> str:
    head = name.split("_", 1)[0]
    return head if head in FAMILIES else "other"


def _split(name: str) -> tuple[str, list[str], str | None, str | None]:
    """(family, measure tokens, aggregate, window) from <family>_<measure>_<agg>[_<window>]."""
    tokens = name.split("_")
    family = tokens[0] if tokens[0] in FAMILIES else "other"
    rest = tokens[1:] if family != "other" else tokens
    window = None
    for size in (2, 1):  # trailing window: last_365d, 12m, last_3
        if len(rest) > size and WINDOW.match("_".join(rest[-size:])):
            window = "_".join(rest[-size:])
            rest = rest[:-size]
            break
    agg = None
    positions = [i for i, t in enumerate(rest) if i > 0 and t in AGGREGATES]
    if positions:  # <measure>_<agg>[_<state qualifier>], e.g. amt_down_payment_max_refused
        i = positions[-1]
        agg = rest[i]
        rest = rest[:i] + rest[i + 1 :]
    return family, rest, agg, window


def fact_of(name: str) -> str:
    """The underlying fact: the name without aggregate, window or trailing index digits."""
    family, rest, _, _ = _split(name)
    stem = "_".join(t for t in rest if not t.isdigit()) or "_".join(rest)
    return f"{family}:{stem}"


def unit_of(name: str, description: str = "") -> str:
    """How the value reads: percent, count, flag, times, score, days, months, years, amount, number."""
    _, rest, agg, _ = _split(name)
    if "(1/0" in description and agg is None:
        return "flag"
    if description.lower().startswith("normalised"):
        return "number"
    toks = set(rest) | ({agg} if agg else set())
    is_flag = bool(set(rest[:1]) & {"flag", "is", "has", "owns"}) or "sentinel" in toks
    if toks & {"share", "rate", "utilisation", "utilization", "pct", "frac"} or (
        is_flag and agg in ("mean", "avg")
    ):
        return "percent"
    if agg in ("count", "nunique") or toks & {"count", "cnt", "number"}:
        return "count"
    if is_flag:
        return "flag"
    if toks & {"ratio", "to", "times"}:
        return "times"
    if "ext" in toks and "source" in toks:
        return "score"
    if toks & {"days", "dpd"}:
        return "days"
    if toks & {"months", "month", "term"}:
        return "months"
    if toks & {"years", "age"}:
        return "years"
    if toks & {
        "amt",
        "amount",
        "income",
        "credit",
        "annuity",
        "price",
        "debt",
        "balance",
        "limit",
        "payment",
    }:
        return "amount"
    return "number"


def _window_text(window: str | None, lang: str) -> str:
    if not window:
        return ""
    m = re.match(r"^(?:last_)?(\d+)([dmy]?)$", window)
    if not m:
        return f" ({window})"
    n, u = m.groups()
    unit = {
        "d": ("days", "jours"),
        "m": ("months", "mois"),
        "y": ("years", "ans"),
        "": ("records", "relevés"),
    }[u]
    return f" over the last {n} {unit[0]}" if lang == "en" else f" sur les {n} derniers {unit[1]}"


def _words(tokens: list[str], lang: str) -> str:
    i = 0 if lang == "en" else 1
    words = [VOCAB.get(t, (t, t))[i] for t in tokens]
    return " ".join(w for w in words if w)


def clean_description(text: str) -> str:
    """A dbt column description as a label: first sentence, without flags and NULL notes."""
    text = re.sub(r"\s*\((?:1/0|negative)[^)]*\)", "", text.strip())
    text = re.split(r"\.\s+(?:NULL|0 when|Zero)", text)[0].rstrip(". ")
    text = re.sub(r"^Application:\s*", "", text)
    return text[:1].upper() + text[1:] if text else text


def generate_entry(name: str, description: str | None = None) -> dict:
    family, rest, agg, window = _split(name)
    unit = unit_of(name, description or "")
    labels = {}
    for lang, i in (("en", 0), ("fr", 1)):
        measure = _words(rest, lang) or name
        where = FAMILIES.get(family, ("", ""))[i]
        if agg:
            label = f"{AGGREGATES[agg][i]} {measure}" if lang == "en" else f"{measure} ({AGGREGATES[agg][i]})"
        else:
            label = measure
        if where and family != "app":
            label += f", {where}" if lang == "en" else f", {where}"
        label += _window_text(window, lang)
        labels[lang] = label[:1].upper() + label[1:]
    if description:
        labels["en"] = clean_description(description) or labels["en"]
    return {
        "family": family,
        "fact": fact_of(name),
        "unit": unit,
        "en": f"{labels['en']}: {{value}}",
        "fr": f"{labels['fr']} : {{value}}",
        "missing_en": f"{labels['en']}: no information",
        "missing_fr": f"{labels['fr']} : aucune information",
    }


def load_file(path: Path = REASON_CODES_PATH) -> dict[str, dict]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader) or {}


def build(
    features: list[str], descriptions: dict[str, str] | None = None, path: Path = REASON_CODES_PATH
) -> dict:
    """Entries for `features`: the committed file's entries where present, generated otherwise."""
    committed = load_file(path)
    descriptions = descriptions or {}
    out = {}
    for name in features:
        entry = committed.get(name)
        out[name] = dict(entry) if entry else generate_entry(name, descriptions.get(name))
    return out


def write_file(
    features: list[str], descriptions: dict[str, str] | None = None, path: Path = REASON_CODES_PATH
) -> Path:
    """Regenerate the committed file for `features`, keeping entries marked ``edited: true``."""
    committed = load_file(path)
    descriptions = descriptions or {}
    out = {}
    for name in sorted(set(features) | {k for k, v in committed.items() if v.get("edited")}):
        entry = committed.get(name)
        out[name] = entry if entry and entry.get("edited") else generate_entry(name, descriptions.get(name))
    header = (
        "# Reason codes: one entry per feature of the mart (EN + FR). Generated by\n"
        "# `python -m training reason-codes`; edit freely and set `edited: true` to keep your text.\n"
        "# {value} is replaced by the applicant's value, formatted by `unit`.\n"
    )
    path.write_text(
        header + yaml.safe_dump(out, allow_unicode=True, sort_keys=True, width=120), encoding="utf-8"
    )
    return path


def descriptions_from_dbt(project_dir: Path) -> dict[str, str]:
    """Column descriptions of the feature mart from the dbt YAML files (the contract)."""
    out: dict[str, str] = {}
    for yml in (project_dir / "models" / "marts" / "features").glob("*.yml"):
        doc = yaml.load(yml.read_text(encoding="utf-8"), Loader=_Loader) or {}
        for model in doc.get("models", []) or []:
            if model.get("name") != "feat_applicant_features":
                continue
            for col in model.get("columns", []) or []:
                if col.get("description"):
                    out[col["name"]] = col["description"]
    return out


# --- texts people read ----------------------------------------------------------------------------
# What a generated text looks like, and what an edited one must never look like: glued name tokens,
# aggregate suffixes, English words left in French.
GENERATED_PATTERNS = [
    r"_",
    r"Externe score",
    r"\(nombre\)",
    r"\(moyenne\)|\(maximum\)|\(minimum\)|\(somme\)",
    r"\bsur\b[^:]*\bratio\b",
    r"\b(?:mean|max|min|sum|std|the|of|and|share|days|amount|rows|previous|ratio|last|first)\b",
]
_GENERATED = re.compile("|".join(GENERATED_PATTERNS))


def generated_glue(text: str) -> str | None:
    """The first generated pattern found in a French text, or None."""
    hit = _GENERATED.search(text)
    return hit.group(0) if hit else None


def coverage(reasons: pd.DataFrame, codes: dict[str, dict], min_share: float = 0.001) -> dict:
    """How many displayed reasons come from edited entries; the features still to write.

    `reasons`: scoring.reasons rows (sk_id_curr, feature, fact) of one run (every stored reason is
    displayed: the API and Superset show the same four per direction). Absence reasons (fact
    '<source>:absent') have fixed texts and count as edited.
    """
    n_applicants = reasons["sk_id_curr"].nunique()
    edited = reasons["feature"].map(lambda f: bool(codes.get(f, {}).get("edited")))
    absent = reasons["fact"].astype(str).str.endswith(":absent") if "fact" in reasons else False
    ok = edited | absent
    per_feature = (
        reasons.loc[~ok].groupby("feature")["sk_id_curr"].nunique().sort_values(ascending=False)
        / n_applicants
    )
    return {
        "applicants": int(n_applicants),
        "reasons": int(len(reasons)),
        "edited_share": float(ok.mean()) if len(reasons) else 1.0,
        "to_write": [(f, float(s)) for f, s in per_feature.items() if s >= min_share],
    }
