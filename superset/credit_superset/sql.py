"""SQL text helpers shared by the Jinja macros (values from the API or its log reach SQL as literals)."""

from __future__ import annotations

from typing import Any


def literal(value: Any) -> str:
    """A SQL literal for a JSON scalar (strings quoted with '' escaping; everything else typed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(int(value))
    return "'" + str(value).replace("'", "''") + "'"
