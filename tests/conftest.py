"""Shared fixtures: an isolated CREDIT_HOME per test, the real sample's location, tiny valid files."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SAMPLE = Path(
    os.environ.get("CREDIT_REAL_SAMPLE_DIR", REPO.parent / "shared" / "data" / "homecredit-sample")
)


@pytest.fixture
def credit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CREDIT_HOME (and settings) for one test."""
    from warehouse.config import get_settings

    home = tmp_path / "credit_home"
    monkeypatch.setenv("CREDIT_HOME", str(home))
    for var in ("CREDIT_WAREHOUSE_PATH", "CREDIT_SERVING_PATH"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def real_sample() -> Path:
    if not (REAL_SAMPLE / "application_train.csv").exists():
        pytest.skip(f"real Home Credit sample not found at {REAL_SAMPLE} (set CREDIT_REAL_SAMPLE_DIR)")
    return REAL_SAMPLE


def _value(col, i: int) -> str:
    if col.labels:
        return col.labels[i % len(col.labels)]
    if col.type == "VARCHAR":
        return "x"
    if col.type == "DOUBLE":
        return "1.5"
    return "0" if col.min is None or col.min <= 0 <= (col.max or 0) else str(int(col.min))


def write_tiny_dataset(folder: Path, n_applicants: int = 4) -> Path:
    """Write eight small, valid Kaggle-format files: a fixture independent of the generator."""
    from warehouse.schema import TABLE_FILES, load_schema

    schema = load_schema()
    folder.mkdir(parents=True, exist_ok=True)
    ids = {
        "application_train": [100001 + i for i in range(n_applicants)],
        "application_test": [200001 + i for i in range(2)],
    }
    for name, stem in TABLE_FILES.items():
        table = schema.table(name)
        rows = []
        n = len(ids.get(name, [])) or n_applicants * 2
        for i in range(n):
            row = {c.name: _value(c, i) for c in table.columns}
            if "SK_ID_CURR" in row:
                row["SK_ID_CURR"] = str(ids[name][i] if name in ids else 100001 + i % n_applicants)
            if "SK_ID_BUREAU" in row:
                row["SK_ID_BUREAU"] = str(5000000 + i)
            if "SK_ID_PREV" in row:
                row["SK_ID_PREV"] = str(1000000 + i)
            if "MONTHS_BALANCE" in row:
                row["MONTHS_BALANCE"] = str(-i)
            if "TARGET" in row:
                row["TARGET"] = str(i % 2)
            rows.append(row)
        with (folder / f"{stem}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=table.column_names)
            writer.writeheader()
            writer.writerows(rows)
    return folder


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "tiny")
