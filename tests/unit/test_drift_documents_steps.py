"""Pure steps of the drift command and the documents: readings, column choice, formatting, budgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.documents import methodology
from training.drift import choose_columns, column_kinds, evidently_results, psi_reading


@pytest.mark.parametrize(
    ("psi", "reading"),
    [(0.0, "stable"), (0.0999, "stable"), (0.1, "watch"), (0.25, "watch"), (0.2501, "act"), (None, None)],
)
def test_psi_reading_matches_the_marts_cut_offs(psi, reading):
    assert psi_reading(psi) == reading


def test_choose_columns_puts_important_features_first_then_flagged_ones():
    drift = pd.DataFrame(
        {
            "feature": ["a", "b", "c", "d", "e"],
            "psi": [0.4, 0.2, 0.05, 0.01, 0.12],
            "psi_reading": ["act", "watch", "stable", "stable", "watch"],
        }
    )
    assert choose_columns(["d", "c", "b"], drift, top=2, extra=1) == ["d", "c", "a"]
    assert choose_columns(["d", "c", "b"], drift, top=3, extra=5) == ["d", "c", "b", "a", "e"]
    # nothing scored yet: the highest PSI stand in for importance
    assert choose_columns([], drift, top=2, extra=0) == ["a", "b"]


def test_column_kinds_treats_flags_as_categorical_and_the_score_as_numerical():
    frame = pd.DataFrame(
        {
            "flag": [0.0, 1.0, 0.0, np.nan],
            "amount": [1.5, 2.25, 3.0, 4.0],
            "probability": [0.0, 1.0, 0.0, 1.0],
        }
    )
    numerical, categorical = column_kinds(frame)
    assert categorical == ["flag"]
    assert numerical == ["amount", "probability"]


def test_evidently_results_reads_distances_and_p_values():
    class Snapshot:
        def dict(self):
            return {
                "metrics": [
                    {"config": {"type": "evidently:metric_v2:DriftedColumnsCount"}, "value": {"count": 1}},
                    {
                        "config": {
                            "type": "evidently:metric_v2:ValueDrift",
                            "column": "x",
                            "method": "Wasserstein distance (normed)",
                            "threshold": 0.1,
                        },
                        "value": 0.3,
                    },
                    {
                        "config": {
                            "type": "evidently:metric_v2:ValueDrift",
                            "column": "y",
                            "method": "K-S p_value",
                            "threshold": 0.05,
                        },
                        "value": 0.5,
                    },
                ]
            }

    out = evidently_results(Snapshot())
    assert out["x"]["drifted"] is True
    assert out["y"]["drifted"] is False
    assert set(out) == {"x", "y"}


def test_french_number_formats():
    assert methodology.num(1234.5, 1) == "1\u202f234,5"
    assert methodology.pct(0.0813) == "8,1\u00a0%"
    assert methodology.int_fr(356255) == "356\u202f255"
    assert methodology.num(float("nan")) == "n/d"


def test_over_budget_names_the_long_and_the_missing_sections():
    pages = {
        f"{i}. {s.title}": (2 * i, 2 * i + s.max_pages - 1) for i, s in enumerate(methodology.SECTIONS, 1)
    }
    assert methodology.over_budget(pages) == []
    first = f"1. {methodology.SECTIONS[0].title}"
    long = {**pages, first: (2, 4)}
    assert methodology.over_budget(long) == [f"{first}: 3 page(s) for at most 2"]
    missing = {k: v for k, v in pages.items() if not k.startswith("7.")}
    assert len(methodology.over_budget(missing)) == 1
