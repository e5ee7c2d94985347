"""Hypothesis strategies for the scoring API's request bodies, derived from the Kaggle schema.

`valid_request()` draws bodies the request models must accept: every required application column,
any subset of the optional ones, a few rows of each history table, each value within its column's
type, range and labels, and the request's keys consistent (unique credits and previous
applications, bureau months of a bureau credit of the request). `invalid_request()` takes a valid body and breaks exactly one thing (a
wrong type, a value out of range, an unknown label, an unknown field, the missing application) and
returns it with the name of the field it broke.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from api.schemas import APPLICATION_TABLE, HISTORY_TABLES, INT_BOUNDS, VARCHAR_MAX
from warehouse.schema import Column, load_schema

SCHEMA = load_schema()
OPTIONAL_IN_REQUEST = {"SK_ID_CURR"}


def _value(col: Column) -> st.SearchStrategy[Any]:
    if col.labels:
        return st.sampled_from(col.labels)
    if col.type == "VARCHAR":
        return st.text(max_size=min(VARCHAR_MAX, 20))
    if col.type == "DOUBLE":
        return st.floats(
            min_value=col.min if col.min is not None else -1e12,
            max_value=col.max if col.max is not None else 1e12,
            allow_nan=False,
            allow_infinity=False,
        )
    lo, hi = INT_BOUNDS[col.type]
    lo = max(lo, int(col.min)) if col.min is not None else lo
    hi = min(hi, int(col.max)) if col.max is not None else hi
    return st.integers(min_value=lo, max_value=hi)


def _row(table: str, drop: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    columns = [c for c in SCHEMA.table(table).columns if c.name != "TARGET" and c.name not in drop]
    required = {c.name: _value(c) for c in columns if not c.nullable and c.name not in OPTIONAL_IN_REQUEST}
    optional = {
        c.name: (_value(c) | st.none()) if c.nullable else _value(c)
        for c in columns
        if c.nullable or c.name in OPTIONAL_IN_REQUEST
    }
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def valid_request(draw, max_rows: int = 2) -> dict[str, Any]:
    body: dict[str, Any] = {"application": draw(_row(APPLICATION_TABLE, drop={"SK_ID_CURR"}))}
    for key, table in HISTORY_TABLES.items():
        rows = draw(st.lists(_row(table, drop={"SK_ID_CURR"}), max_size=max_rows))
        if rows:
            body[key] = rows
    # the request's own keys (checked by the API beyond each row's schema): unique bureau credits and
    # previous applications, and bureau months that belong to a bureau credit of the request, once each
    for i, row in enumerate(body.get("bureau", []), start=1):
        row["SK_ID_BUREAU"] = i
    for i, row in enumerate(body.get("previous_application", []), start=1):
        row["SK_ID_PREV"] = i
    if "bureau_balance" in body:
        if not body.get("bureau"):
            del body["bureau_balance"]
        else:
            for i, row in enumerate(body["bureau_balance"]):
                row["SK_ID_BUREAU"] = 1
                row["MONTHS_BALANCE"] = -i
    return body


def _breakers(col: Column) -> list[Any]:
    """Values `col` must refuse."""
    if col.labels:
        return ["not-a-label", 3]
    if col.type == "VARCHAR":
        return [["a list"], "x" * (VARCHAR_MAX + 1)]
    out: list[Any] = ["twelve", [1]]
    if col.min is not None:
        out.append(col.min - 1 - abs(col.min))
    if col.max is not None:
        out.append(col.max + 1 + abs(col.max))
    return out


@st.composite
def invalid_request(draw) -> tuple[dict[str, Any], str]:
    body = draw(valid_request(max_rows=1))
    columns = [c for c in SCHEMA.table(APPLICATION_TABLE).columns if c.name not in ("TARGET", "SK_ID_CURR")]
    kind = draw(st.sampled_from(["value", "unknown field", "missing"]))
    application = body["application"]
    if kind == "unknown field":
        name = "X_" + draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=3, max_size=12))
        application[name] = 1
        return body, name
    if kind == "missing":  # every application column may be NULL: the application itself is required
        del body["application"]
        return body, "application"
    col = draw(st.sampled_from(columns))
    application[col.name] = draw(st.sampled_from(_breakers(col)))
    return body, col.name
