"""The daily pipeline run (the pipeline container's command): `make pipeline` at CREDIT_DAILY_AT.

Sleeps until the next CREDIT_DAILY_AT (HH:MM, UTC, default 02:00), runs `make pipeline` (load ->
dbt build -> train -> score -> serving marts -> publish; every step all-or-nothing, so a failed run
leaves the published warehouse and the champion as they were), logs its exit status and duration,
and waits for the next day. `--now` runs once first. SIGTERM between runs stops it at once.
"""

from __future__ import annotations

import logging
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("deploy.daily")
REPO = Path(__file__).resolve().parent.parent


def seconds_until(at: str, now: datetime) -> float:
    """Seconds from `now` (UTC) to the next HH:MM."""
    try:
        hour, minute = (int(x) for x in at.split(":"))
        target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise ValueError(f"CREDIT_DAILY_AT={at!r}: expected HH:MM (UTC)") from None
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


def run_once() -> int:
    started = time.perf_counter()
    rc = subprocess.run(["make", "-s", "pipeline"], cwd=REPO).returncode
    log.info("make pipeline: exit %s after %.0f s", rc, time.perf_counter() - started)
    return rc


def main(now_first: bool) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from warehouse.config import get_settings

    at = get_settings().daily_at  # CREDIT_DAILY_AT, checked by the contract
    seconds_until(at, datetime.now(UTC))  # refuses a malformed time before the first wait
    if now_first:
        run_once()
    while True:
        wait = seconds_until(at, datetime.now(UTC))
        log.info("next pipeline run at %s UTC, in %.0f s", at, wait)
        time.sleep(wait)
        run_once()
