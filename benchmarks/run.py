"""`make bench`: run every benchmark in turn (each writes its table under the reports dir)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks

SKIP = {"measure", "run", "real_sample"}  # real_sample: its own target, `make bench-real`


def main() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name not in SKIP)
    only = sys.argv[1:]
    for name in names:
        if only and name not in only:
            continue
        print(f"== benchmark {name}")
        module = importlib.import_module(f"benchmarks.{name}")
        sys.argv = [f"benchmarks.{name}"]
        module.main()


if __name__ == "__main__":
    main()
