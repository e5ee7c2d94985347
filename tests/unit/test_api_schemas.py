"""Request models follow the Kaggle dictionary: types, labels, ranges, unknown fields refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.schemas import EXAMPLE_REQUEST, Application, ScoreRequest
from warehouse.schema import load_schema


def _error_fields(exc: ValidationError) -> set:
    return {e["loc"][-1] for e in exc.errors()}


def test_example_is_valid() -> None:
    req = ScoreRequest.model_validate(EXAMPLE_REQUEST)
    assert req.application.AMT_CREDIT == 675000.0 and len(req.bureau) == 1


def test_every_application_column_but_target_is_a_field() -> None:
    table = load_schema().table("application_test")
    assert set(Application.model_fields) == set(table.column_names)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NAME_CONTRACT_TYPE", "Mortgage"),  # not an allowed label
        ("AMT_INCOME_TOTAL", -1.0),  # below the plausible range
        ("CNT_CHILDREN", 1.5),  # not an integer
        ("EXT_SOURCE_2", 7.0),  # above the range
        ("SK_ID_CURR", -3),  # keys are positive
        ("UNKNOWN_COLUMN", 1),  # not a Kaggle column
    ],
)
def test_bad_value_names_the_field(field: str, value) -> None:
    with pytest.raises(ValidationError) as info:
        Application.model_validate({field: value})
    assert field in _error_fields(info.value)


def test_ranges_come_from_the_schema() -> None:
    col = load_schema().table("application_test").column("AMT_INCOME_TOTAL")
    Application.model_validate({"AMT_INCOME_TOTAL": col.max})
    with pytest.raises(ValidationError):
        Application.model_validate({"AMT_INCOME_TOTAL": col.max * 1.01})
