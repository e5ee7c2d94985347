"""A corpus of bad requests: each gets a 4xx naming what is wrong (never a 500) and the decision
log is unchanged (its bytes hashed before and after): nothing is scored, nothing is written."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from api.schemas import EXAMPLE_REQUEST
from tests.e2e.api.conftest import Pipeline, Server


def _body(**changes) -> bytes:
    body = copy.deepcopy(EXAMPLE_REQUEST)
    for key, value in changes.items():
        if key in body["application"] or key.isupper():
            body["application"][key] = value
        else:
            body[key] = value
    return json.dumps(body).encode()


def _deep(n: int) -> bytes:
    return ('{"application": ' + '{"a": ' * n + "1" + "}" * n + "}").encode()


CASES: dict[str, tuple[bytes, int, str]] = {
    "malformed JSON": (b'{"application": {"SK_ID_CURR": 1,', 422, "JSON"),
    "invalid UTF-8": (b'{"application": {"NAME_CONTRACT_TYPE": "\xff\xfe"}}', 400, "parsing the body"),
    "NaN literal": (_body(AMT_INCOME_TOTAL="__NAN__").replace(b'"__NAN__"', b"NaN"), 422, "AMT_INCOME_TOTAL"),
    "Infinity literal": (_body(AMT_CREDIT="__INF__").replace(b'"__INF__"', b"Infinity"), 422, "AMT_CREDIT"),
    "huge integer": (_body(CNT_CHILDREN=10**40), 422, "CNT_CHILDREN"),
    "huge id": (_body(SK_ID_CURR=2**70), 422, "SK_ID_CURR"),
    "string for a number": (_body(AMT_ANNUITY="12 000"), 422, "AMT_ANNUITY"),
    "list for a number": (_body(AMT_ANNUITY=[1, 2]), 422, "AMT_ANNUITY"),
    "unknown label": (_body(NAME_EDUCATION_TYPE="PhD"), 422, "NAME_EDUCATION_TYPE"),
    "unknown field": (_body(SALARY_BONUS=1), 422, "SALARY_BONUS"),
    "unknown table": (_body(loans_elsewhere=[{"x": 1}]), 422, "loans_elsewhere"),
    "application missing": (json.dumps({"bureau": []}).encode(), 422, "application"),
    "application is a list": (json.dumps({"application": [1, 2]}).encode(), 422, "application"),
    "body is a string": (b'"score me"', 422, ""),
    "empty body": (b"", 422, ""),
    "deep nesting": (_deep(2000), 400, "parsing the body"),  # beyond the JSON parser's depth
    "10,000-row history": (
        _body(installments_payments=[dict(EXAMPLE_REQUEST["installments_payments"][0])] * 10_000),
        422,
        "installments_payments",
    ),
    "bureau row without its key": (_body(bureau=[{"CREDIT_ACTIVE": "Closed"}]), 422, "SK_ID_BUREAU"),
    "negative top_k": (_body(top_k=-1), 422, "top_k"),
    "null application": (json.dumps({"application": None}).encode(), 422, "application"),
}


@pytest.fixture(scope="module")
def log_digest(pipeline: Pipeline):
    path = pipeline.home / "audit" / "api_audit.jsonl"

    def digest() -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""

    return digest


@pytest.mark.parametrize("case", list(CASES))
def test_bad_request_is_a_4xx_and_changes_nothing(server: Server, log_digest, case: str) -> None:
    body, status, names = CASES[case]
    before = log_digest()
    with server.client() as client:
        response = client.post("/v1/score", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, (case, response.status_code, response.text[:300])
    text = response.text
    assert "Traceback" not in text and "/work/" not in text and 'File "' not in text
    if names:
        assert names in text, (case, text[:500])
    assert log_digest() == before, f"{case}: the decision log changed"
