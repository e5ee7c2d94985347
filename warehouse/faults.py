"""Fault points: a named place in a writing step where a test can kill the process on purpose.

`CREDIT_FAULT=publish:before_rename` (several: comma-separated) makes `fault("publish:before_rename")`
SIGKILL its own process there: no `finally`, no clean-up, exactly as a crash or an OOM kill. Points
(tests/faults/): load:before_swap, load:after_swap, publish:before_rename, publish:after_rename,
score:mid_write, score:before_commit, train:before_register, train:after_register, audit:mid_line,
dbt:mid_model (`warehouse run-locked` kills the dbt command while its third model is being built).
Unset (the default), a fault point costs one environment look-up.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "CREDIT_FAULT"


def armed(point: str) -> bool:
    value = os.environ.get(ENV)
    return bool(value) and point in (p.strip() for p in value.split(","))


def fault(point: str) -> None:
    """SIGKILL this process when `point` is armed."""
    if armed(point):
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
