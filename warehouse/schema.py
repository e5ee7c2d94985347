"""The Kaggle Home Credit schema, as committed in ``warehouse/kaggle_schema.yaml``.

The YAML is metadata only (column order, types, allowed labels, plausible ranges,
descriptions), derived from the real sample and HomeCredit_columns_description.csv by
``python -m warehouse build-schema``. The loader, the API's validation and the reason
texts all read it through :func:`load_schema`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel

SCHEMA_PATH = Path(__file__).with_name("kaggle_schema.yaml")

ColumnType = Literal["BIGINT", "INTEGER", "DOUBLE", "VARCHAR"]


class Column(BaseModel):
    name: str
    type: ColumnType
    description: str = ""
    labels: list[str] | None = None  # allowed values for categoricals
    min: float | None = None  # plausible range (widened from the real sample)
    max: float | None = None
    nullable: bool = True


class Table(BaseModel):
    name: str  # raw table name (lowercase)
    file: str  # Kaggle file stem, e.g. "POS_CASH_balance"
    key: list[str] = []  # unique key, checked at load
    parent_key: str | None = None  # column referring to the applicant / bureau credit
    columns: list[Column]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.file}: no column {name!r}")


class Schema(BaseModel):
    tables: list[Table]

    def table(self, name: str) -> Table:
        for tab in self.tables:
            if tab.name == name or tab.file == name:
                return tab
        raise KeyError(f"no table {name!r}")


# The eight Kaggle files, in load order: raw table name -> file stem.
TABLE_FILES: dict[str, str] = {
    "application_train": "application_train",
    "application_test": "application_test",
    "bureau": "bureau",
    "bureau_balance": "bureau_balance",
    "previous_application": "previous_application",
    "pos_cash_balance": "POS_CASH_balance",
    "installments_payments": "installments_payments",
    "credit_card_balance": "credit_card_balance",
}


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        return Schema.model_validate(yaml.safe_load(fh))
