"""sqlfluff's jinja templater lacks dbt's `exceptions` context: the one function the macros call."""


def raise_compiler_error(message: str) -> None:
    raise ValueError(message)
