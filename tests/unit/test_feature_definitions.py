"""The feature store's definitions, checked without building anything.

- the category levels of the one-hot / share features are exactly the schema's labels (minus the
  'XNA' / 'XAP' that staging turns into NULL), so they can never be learned from data;
- the generated contract of feat_applicant_features: 1,000+ documented lowercase features and no
  label;
- the Great Expectations suites derived from the schema and the contract.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from warehouse.quality.suites import contract_columns, feature_kind, raw_suite
from warehouse.schema import load_schema

REPO = Path(__file__).resolve().parents[2]
LEVELS_MACRO = REPO / "dbt_project" / "macros" / "features" / "category_levels.sql"
CONTRACT = REPO / "dbt_project" / "models" / "marts" / "features" / "_feat_applicant_features.yml"


def _macro_levels() -> dict[str, list[str]]:
    text = LEVELS_MACRO.read_text(encoding="utf-8")
    literal = text[text.index("return(") + len("return(") : text.rindex(") }}")]
    return ast.literal_eval(literal)


def test_category_levels_are_the_schema_labels_without_not_available() -> None:
    schema = load_schema()
    levels = _macro_levels()
    assert levels, "category_levels() is empty"
    for key, values in levels.items():
        table, column = key.split(".")
        table = "application_train" if table == "application" else table
        labels = schema.table(table).column(column.upper()).labels
        assert labels, f"{key}: the schema has no labels for it"
        assert values == [label for label in labels if label not in ("XNA", "XAP")], key


def _contract_model() -> dict:
    doc = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return next(m for m in doc["models"] if m["name"] == "feat_applicant_features")


def test_contract_has_1000_documented_lowercase_features_and_no_label() -> None:
    model = _contract_model()
    assert model["config"]["contract"]["enforced"] is True
    columns = model["columns"]
    names = [c["name"] for c in columns]
    assert names[0] == "sk_id_curr"
    features = names[1:]
    assert len(features) >= 1000
    assert len(set(names)) == len(names), "duplicate column names"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in features)
    assert not {"target", "is_train"} & set(names), "a label leaked into the feature mart"
    prefixes = {n.split("_")[0] for n in features}
    assert prefixes == {"app", "bureau", "prev", "pos", "inst", "cc"}
    for column in columns:
        assert len(column.get("description", "")) > 20, f"{column['name']} is not documented"
        assert column["data_type"] == ("bigint" if column["name"] == "sk_id_curr" else "double")
    assert contract_columns(CONTRACT) == names


def test_feature_kinds_drive_the_profile_expectations() -> None:
    assert feature_kind("bureau_count_active") == "count"
    assert feature_kind("pos_loans_nunique_last_12m") == "count"
    assert feature_kind("inst_late_payment_share_last_365d") == "share"
    assert feature_kind("bureau_credit_type_car_loan_share_active") == "share"
    # differences and trends of shares can be negative: not shares
    assert feature_kind("inst_late_payment_share_change") == "other"
    assert feature_kind("pos_remaining_share_trend") == "other"
    kinds = {feature_kind(c) for c in contract_columns(CONTRACT)}
    assert kinds == {"count", "share", "other"}


def test_raw_suite_follows_the_schema() -> None:
    table = load_schema().table("bureau")
    suite = raw_suite(table)
    by_type: dict[str, list[dict]] = {}
    for exp in suite.expectations:
        by_type.setdefault(exp.type, []).append(exp.kwargs)
    assert by_type["ExpectTableColumnsToMatchOrderedList"][0]["column_list"] == table.column_names
    assert {"column": "SK_ID_BUREAU"} in by_type["ExpectColumnValuesToBeUnique"]
    in_set = {k["column"]: k["value_set"] for k in by_type["ExpectColumnValuesToBeInSet"]}
    assert in_set["CREDIT_ACTIVE"] == table.column("CREDIT_ACTIVE").labels
    ranged = {k["column"] for k in by_type["ExpectColumnValuesToBeBetween"]}
    assert "AMT_CREDIT_SUM" in ranged and "DAYS_CREDIT" in ranged
