"""sqlfluff's jinja templater lacks dbt's `modules` context: expose the one module the macros use."""

import re

__all__ = ["re"]
