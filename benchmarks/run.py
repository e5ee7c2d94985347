"""`make bench`: run every benchmark in turn (each writes its table under the reports dir)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks

SKIP = {"measure", "run", "real_sample"}  # real_sample: its own target, `make bench-real`
# Benchmarks run on both full-scale data sets: the generator's and the real-shaped files
# (`warehouse scale` of the real sample; skipped with a message without it).
RUNS = {"foundation": [[], ["--data", "real"]], "dbt_features": [[], ["--data", "real"]]}


def main() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name not in SKIP)
    only = sys.argv[1:]
    for name in names:
        if only and name not in only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        for extra in RUNS.get(name, [[]]):
            print(f"== benchmark {name} {' '.join(extra)}".rstrip())
            sys.argv = [f"benchmarks.{name}", *extra]
            module.main()


if __name__ == "__main__":
    main()
