"""Every raw Kaggle column has a plain French and English label for the client's file."""

from __future__ import annotations

from training.reason_codes import generated_glue
from warehouse.client_file import column_labels
from warehouse.schema import load_schema


def test_every_column_has_both_labels_in_plain_french() -> None:
    labels = column_labels()
    missing, glued = [], []
    for table in load_schema().tables:
        for column in table.columns:
            entry = labels.get(table.name, {}).get(column.name) or {}
            if not (entry.get("fr") and entry.get("en")):
                missing.append(f"{table.name}.{column.name}")
            elif generated_glue(entry["fr"]) or entry["fr"] == column.name:
                glued.append((f"{table.name}.{column.name}", entry["fr"]))
    assert not missing, missing
    assert not glued, glued
    known = {(t.name, c.name) for t in load_schema().tables for c in t.columns}
    extra = [
        (t, c) for t, cols in labels.items() if t != "application_test" for c in cols if (t, c) not in known
    ]
    assert not extra, extra
