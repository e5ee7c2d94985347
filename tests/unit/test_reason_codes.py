"""Reason-code dictionary (training/reason_codes.py, training/reason_codes.yaml)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from training import reason_codes
from training.credit_model import reason_text

NAMES = [
    "app_ext_source_2",
    "app_credit_to_income_ratio",
    "bureau_days_credit_overdue_max",
    "bureau_days_credit_overdue_mean_last_730d",
    "inst_is_late_count_last_365d",
    "inst_is_late_share",
    "cc_utilisation_last",
    "prev_is_refused_share",
    "app_flag_document_3",
]


def test_generated_entries_are_specific_in_both_languages():
    for name in NAMES:
        entry = reason_codes.generate_entry(name)
        for lang in ("en", "fr"):
            text = reason_text(entry, 3.0, lang)
            missing = reason_text(entry, math.nan, lang)
            assert text and missing and text != missing
            assert "{value}" not in text
            assert len(text) > 12
        assert entry["family"] == name.split("_")[0]


def test_near_duplicates_share_a_fact():
    fact = reason_codes.fact_of
    assert fact("bureau_days_credit_overdue_max") == fact("bureau_days_credit_overdue_mean_last_730d")
    assert fact("inst_is_late_count_last_365d") == fact("inst_is_late_count")
    assert fact("app_ext_source_1") == fact("app_ext_source_3")
    assert fact("app_credit_to_income_ratio") != fact("app_annuity_to_income_ratio")


def test_units_and_formatting():
    entry = reason_codes.generate_entry("app_credit_to_income_ratio")
    assert entry["unit"] == "times"
    assert reason_text(entry, 5.23, "en").endswith("5.2")
    assert reason_text(entry, 5.23, "fr").endswith("5,2")
    share = reason_codes.generate_entry("inst_is_late_share_last_365d")
    assert reason_text(share, 0.25, "en").endswith("25%")
    assert "365" in share["en"] and "365" in share["fr"]


def test_edited_entries_survive_regeneration(tmp_path: Path):
    path = tmp_path / "codes.yaml"
    reason_codes.write_file(["app_ext_source_2", "inst_is_late_share"], path=path)
    codes = reason_codes.load_file(path)
    codes["app_ext_source_2"] |= {"en": "External score 2: {value}", "edited": True}
    import yaml

    path.write_text(yaml.safe_dump(codes), encoding="utf-8")
    reason_codes.write_file(["inst_is_late_share", "cc_utilisation_last"], path=path)
    again = reason_codes.load_file(path)
    assert again["app_ext_source_2"]["en"] == "External score 2: {value}"
    assert set(again) == {"app_ext_source_2", "inst_is_late_share", "cc_utilisation_last"}


def test_committed_dictionary_covers_the_mart_contract():
    """Every column the dbt contract documents has an entry in the committed, editable file."""
    repo = Path(reason_codes.__file__).resolve().parents[1]
    contract = reason_codes.descriptions_from_dbt(repo / "dbt_project")
    if not contract:
        pytest.skip("the dbt feature contract is not in the repository yet")
    committed = reason_codes.load_file()
    missing = sorted(set(contract) - set(committed) - {"sk_id_curr"})
    assert not missing, (
        f"{len(missing)} features without a reason code, e.g. {missing[:5]}: run `python -m training reason-codes`"
    )


def test_edited_texts_read_as_french_not_generated_glue():
    from training.reason_codes import generated_glue

    for text in (
        "Externe score (maximum) : 0,41",
        "Refusée sur approuvée ratio, demandes précédentes chez Home Credit",
        "Adresse incohérence (nombre) : 2",
        "Part des paiements en retard (inst_late_share) : 24 %",
        "Montant mean des crédits",
    ):
        assert generated_glue(text), text
    codes = reason_codes.load_file()
    edited = {name: code for name, code in codes.items() if code.get("edited")}
    assert len(edited) >= 18
    bad = {
        name: (field, generated_glue(code[field]))
        for name, code in edited.items()
        for field in ("fr", "missing_fr")
        if generated_glue(code[field])
    }
    assert not bad, bad


def test_coverage_counts_edited_and_absence_reasons():
    import pandas as pd

    from training.reason_codes import coverage

    reasons = pd.DataFrame(
        {
            "sk_id_curr": [1, 1, 2, 2, 3],
            "feature": ["a", "b", "a", "c", "c"],
            "fact": ["a", "b", "a", "inst:absent", "c"],
        }
    )
    out = coverage(reasons, {"a": {"edited": True}, "b": {}, "c": {}}, min_share=0.3)
    assert out["edited_share"] == 3 / 5 and out["applicants"] == 3
    assert out["to_write"] == [("b", 1 / 3), ("c", 1 / 3)]
