"""Run a command and measure its wall time and peak resident memory.

Peak memory is the largest resident set of the command or any descendant it waited for
(``getrusage(RUSAGE_CHILDREN)`` in a fresh process), so one measurement never mixes with another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

_CHILD = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[1:])
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


@dataclass
class Measurement:
    name: str
    command: str
    seconds: float
    peak_rss_mb: float
    returncode: int


def measure(
    name: str, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measurement:
    """Run `command` in a fresh wrapper process; raise if it fails."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, *command], env=full_env, cwd=cwd, stdout=subprocess.PIPE, text=True
    )
    last = result.stdout.strip().splitlines()[-1]
    data = json.loads(last)
    m = Measurement(name, " ".join(command), data["seconds"], data["peak_rss_mb"], data["rc"])
    if m.returncode != 0:
        raise RuntimeError(f"benchmark step {name!r} failed (exit {m.returncode}): {m.command}")
    return m


def write_table(path: Path, title: str, rows: list[Measurement], notes: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", "| step | seconds | peak RSS (MB) | command |", "|---|---:|---:|---|"]
    lines += [f"| {m.name} | {m.seconds:.1f} | {m.peak_rss_mb:.0f} | `{m.command}` |" for m in rows]
    if notes:
        lines += ["", notes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps([asdict(m) for m in rows], indent=2), encoding="utf-8")
    return path


def generate_command(applicants: int, out: Path, seed: int = 42) -> list[str]:
    """The synthetic generator's command line, as every benchmark runs it."""
    return [
        sys.executable, "-m", "warehouse", "generate",
        "--applicants", str(applicants), "--seed", str(seed), "--out", str(out), "--no-progress",
    ]  # fmt: skip


KAGGLE_TRAIN_SHARE = 307_511 / 356_255  # application_train's share of the Kaggle applicants
DATA_KINDS = ("generator", "real")


def real_sample_dir() -> Path:
    """The real Home Credit sample (CREDIT_REAL_SAMPLE_DIR, default ../shared/data/homecredit-sample)."""
    from warehouse.config import REPO_ROOT

    return Path(
        os.environ.get("CREDIT_REAL_SAMPLE_DIR", REPO_ROOT.parent / "shared" / "data" / "homecredit-sample")
    )


def data_command(kind: str, applicants: int, out: Path, seed: int = 42) -> list[str] | None:
    """How a benchmark makes its full-scale files: the generator, or `warehouse scale` of the real
    sample (real-shaped: real applicants with their real history rows under new keys, Kaggle's
    train/test split). None when the real sample is absent (the benchmark then skips that data set)."""
    if kind == "generator":
        return generate_command(applicants, out, seed)
    if kind != "real":
        raise ValueError(f"unknown data set {kind!r}: one of {DATA_KINDS}")
    source = real_sample_dir()
    if not (source / "application_train.csv").exists():
        return None
    return [
        sys.executable, "-m", "warehouse", "scale", "--source", str(source), "--applicants", str(applicants),
        "--seed", str(seed), "--out", str(out), "--train-share", f"{KAGGLE_TRAIN_SHARE:.6f}",
    ]  # fmt: skip
