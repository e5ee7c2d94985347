"""`python -m api serve` re-executes itself with jemalloc preloaded unless told otherwise."""

from __future__ import annotations

import os
import sys

import pytest

from api import __main__ as launcher
from api.settings import get_api_settings


class Exec(Exception):
    """Raised instead of replacing the test process."""


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []

    def fake_execve(path: str, args: list[str], env: dict[str, str]) -> None:
        calls.append((path, args, env))
        raise Exec

    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.setattr(launcher, "_jemalloc_path", lambda: "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    get_api_settings.cache_clear()
    yield calls
    get_api_settings.cache_clear()


def test_default_preloads_jemalloc_and_keeps_the_arguments(execs: list[tuple], monkeypatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "libother.so")
    with pytest.raises(Exec):
        launcher._with_allocator(["serve", "--port", "8123"])
    path, args, env = execs[0]
    assert path == sys.executable and args == [sys.executable, "-m", "api", "serve", "--port", "8123"]
    assert env["LD_PRELOAD"] == "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 libother.so"


def test_no_re_exec_when_preloaded_or_system_asked(execs: list[tuple], monkeypatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    launcher._with_allocator(["serve"])
    monkeypatch.delenv("LD_PRELOAD")
    monkeypatch.setenv("CREDIT_API_MALLOC", "system")
    get_api_settings.cache_clear()
    launcher._with_allocator(["serve"])
    assert execs == []


def test_missing_library_warns_and_serves_with_the_system_allocator(execs, monkeypatch, capsys) -> None:
    monkeypatch.setattr(launcher, "_jemalloc_path", lambda: None)
    launcher._with_allocator(["serve"])
    assert execs == [] and "libjemalloc2" in capsys.readouterr().err


def test_unknown_allocator_is_refused_naming_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("CREDIT_API_MALLOC", "tcmalloc")
    get_api_settings.cache_clear()
    with pytest.raises(ValueError, match="malloc"):
        get_api_settings()
    get_api_settings.cache_clear()
