"""The expectations, derived from project metadata rather than written per column.

- raw tables: column order, allowed labels, plausible ranges and non-null columns from
  warehouse/kaggle_schema.yaml (the schema the loader enforces), plus keys and TARGET values;
- feature mart: one row per applicant and a unique key; and a profile of every feature column
  (computed by DuckDB in one pass): the contract's columns, counts never NULL and >= 0, shares
  within [0, 1], at most a fifth of the features entirely NULL;
- labels: one row per applicant, target 0/1 on training rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warehouse.config import REPO_ROOT
from warehouse.schema import Table, load_schema

FEATURE_CONTRACT = (
    REPO_ROOT / "dbt_project" / "models" / "marts" / "features" / "_feat_applicant_features.yml"
)


@dataclass(frozen=True)
class Expectation:
    """One GX expectation by class name and keyword arguments (kept plain for testing)."""

    type: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    """The expectations of one table, and which of its columns to read."""

    name: str
    relation: str  # schema-qualified table in the warehouse
    columns: list[str]  # columns read into pandas
    expectations: list[Expectation] = field(default_factory=list)


RANGE_PREFIXES = ("AMT_", "DAYS_", "EXT_SOURCE_", "CNT_", "MONTHS_", "SK_DPD", "NUM_", "RATE_")


def raw_suite(table: Table) -> Suite:
    """Column order, key, labels of every categorical and ranges of the amount / day / count columns."""
    exps = [
        Expectation("ExpectTableColumnsToMatchOrderedList", {"column_list": table.column_names}),
        Expectation("ExpectTableRowCountToBeBetween", {"min_value": 1}),
    ]
    if len(table.key) == 1:
        exps.append(Expectation("ExpectColumnValuesToBeUnique", {"column": table.key[0]}))
    for col in table.columns:
        if not col.nullable or col.name in table.key or col.name == table.parent_key:
            exps.append(Expectation("ExpectColumnValuesToNotBeNull", {"column": col.name}))
        if col.labels:
            exps.append(
                Expectation("ExpectColumnValuesToBeInSet", {"column": col.name, "value_set": col.labels})
            )
        elif col.name.startswith(RANGE_PREFIXES) and (col.min is not None or col.max is not None):
            exps.append(
                Expectation(
                    "ExpectColumnValuesToBeBetween",
                    {"column": col.name, "min_value": col.min, "max_value": col.max},
                )
            )
    if table.name == "application_train":
        exps.append(Expectation("ExpectColumnValuesToBeInSet", {"column": "TARGET", "value_set": [0, 1]}))
        exps.append(Expectation("ExpectColumnValuesToNotBeNull", {"column": "TARGET"}))
    return Suite(f"raw_{table.name}", f"raw.{table.name}", table.column_names, exps)


def raw_suites() -> list[Suite]:
    return [raw_suite(t) for t in load_schema().tables]


def contract_columns(path: Path = FEATURE_CONTRACT) -> list[str]:
    """Column names of feat_applicant_features, in order, from its generated contract YAML."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    model = next(m for m in doc["models"] if m["name"] == "feat_applicant_features")
    return [c["name"] for c in model["columns"]]


_SPLIT = r"(_last_\w+|_active|_closed|_approved|_refused)?"
_COUNT = re.compile(rf"_(count|nunique){_SPLIT}$")
_SHARE = re.compile(rf"_share{_SPLIT}$")


def feature_kind(name: str) -> str:
    """count (zero-filled, never NULL, >= 0), share (within [0, 1]) or other, from the name."""
    if _COUNT.search(name):
        return "count"
    if _SHARE.search(name):
        return "share"
    return "other"


def mart_suite(schema: str, n_applicants: int, columns: list[str]) -> Suite:
    """Suite of the feature mart's key (read in full: one row per applicant, unique)."""
    exps = [
        Expectation("ExpectTableRowCountToEqual", {"value": n_applicants}),
        Expectation("ExpectColumnValuesToBeUnique", {"column": "sk_id_curr"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "sk_id_curr"}),
    ]
    return Suite("mart_feat_applicant_features", f"{schema}.feat_applicant_features", ["sk_id_curr"], exps)


def profile_suite(columns: list[str]) -> Suite:
    """Suite of the mart's column profile (one row per feature: kind, n_null, min, max).

    1,500+ columns checked one expectation each would take minutes in GX; the profile is
    computed by DuckDB in one pass and validated here, with the failing features named.
    """
    features = [c for c in columns if c != "sk_id_curr"]
    exps = [
        Expectation("ExpectColumnDistinctValuesToEqualSet", {"column": "feature", "value_set": features}),
        Expectation(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "n_null",
                "max_value": 0,
                "row_condition": 'kind=="count"',
                "condition_parser": "pandas",
            },
        ),
        Expectation(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "min_value",
                "min_value": 0,
                "row_condition": 'kind!="other"',
                "condition_parser": "pandas",
            },
        ),
        Expectation(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "max_value",
                "max_value": 1,
                "row_condition": 'kind=="share"',
                "condition_parser": "pandas",
            },
        ),
        Expectation(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "null_share",
                "max_value": 0.999999,
                "row_condition": 'kind!="count"',
                "condition_parser": "pandas",
                "mostly": 0.8,
            },
        ),
    ]
    return Suite(
        "mart_feature_profile",
        "",
        ["feature", "kind", "n_null", "null_share", "min_value", "max_value"],
        exps,
    )


def labels_suite(schema: str, n_applicants: int) -> Suite:
    exps = [
        Expectation(
            "ExpectTableColumnsToMatchOrderedList", {"column_list": ["sk_id_curr", "target", "is_train"]}
        ),
        Expectation("ExpectTableRowCountToEqual", {"value": n_applicants}),
        Expectation("ExpectColumnValuesToBeUnique", {"column": "sk_id_curr"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "is_train"}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "target", "value_set": [0, 1]}),
    ]
    return Suite(
        "mart_feat_applicant_labels",
        f"{schema}.feat_applicant_labels",
        ["sk_id_curr", "target", "is_train"],
        exps,
    )
