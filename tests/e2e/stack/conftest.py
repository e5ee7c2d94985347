"""A running production stack to test (the switch): CREDIT_E2E_STACK=<its env file>.

`make prod-check` (python -m deploy check) starts the stack from $CREDIT_HOME/.env.prod and runs
these tests against it; without the switch they skip, since they start nothing themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy import envfile


@dataclass
class Stack:
    values: dict[str, str]

    @property
    def home(self) -> Path:
        return Path(self.values["CREDIT_HOME"])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.values['CREDIT_API_PORT']}"

    @property
    def superset_url(self) -> str:
        return f"http://127.0.0.1:{self.values['CREDIT_SUPERSET_PORT']}"

    def api(self, key: str | None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=60)


@pytest.fixture(scope="session")
def stack() -> Stack:
    path = os.environ.get("CREDIT_E2E_STACK", "")
    if not path:
        pytest.skip("no running stack: CREDIT_E2E_STACK unset (make prod-check starts one and sets it)")
    return Stack(envfile.read(Path(path)))
