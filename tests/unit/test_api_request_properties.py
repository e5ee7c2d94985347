"""Property-based tests (hypothesis) of the scoring API's request models.

Any body drawn within the Kaggle schema (types, ranges, labels, required columns, a few history
rows) is accepted; any body with exactly one thing broken (a wrong type, a value out of range, an
unknown label, an unknown or a missing field) is refused, and the error names that field: the API
answers 422 with that error (tests/e2e/api/test_request_properties.py sends some of them for real).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from api.schemas import ScoreRequest
from tests.request_strategies import invalid_request, valid_request

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(valid_request())
def test_any_body_within_the_schema_is_accepted(body):
    request = ScoreRequest.model_validate(body)
    assert request.application is not None


@PROPERTY
@given(invalid_request())
def test_any_body_with_one_thing_broken_is_refused_naming_the_field(case):
    body, field = case
    with pytest.raises(ValidationError) as refused:
        ScoreRequest.model_validate(body)
    located = {str(part) for error in refused.value.errors() for part in error["loc"]}
    assert field in located, (field, refused.value.errors()[:3])
