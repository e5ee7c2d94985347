"""The raw load: real files, declared types, clear refusals, all or nothing."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from warehouse.errors import LoadError
from warehouse.load import load
from warehouse.schema import TABLE_FILES, load_schema


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _warehouse(home: Path) -> Path:
    return home / "warehouse" / "build.duckdb"


def _rewrite(path: Path, fn) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(fn(lines)), encoding="utf-8")


def test_tiny_dataset_loads_with_declared_types(tiny_dataset: Path, credit_home: Path) -> None:
    report = load(tiny_dataset, _warehouse(credit_home))
    assert [t.table for t in report.tables] == list(TABLE_FILES)
    con = duckdb.connect(str(_warehouse(credit_home)), read_only=True)
    schema = load_schema()
    for table in schema.tables:
        described = con.execute(f"describe raw.{table.name}").fetchall()
        assert [r[0] for r in described] == table.column_names
        declared = {"BIGINT": "BIGINT", "INTEGER": "INTEGER", "DOUBLE": "DOUBLE", "VARCHAR": "VARCHAR"}
        assert [r[1] for r in described] == [declared[c.type] for c in table.columns]
    # scoring tables exist, empty, from the first load
    assert con.execute("select count(*) from scoring.scores").fetchone()[0] == 0
    con.close()


def test_gzip_and_parquet_sources(tiny_dataset: Path, credit_home: Path, tmp_path: Path) -> None:
    gz = tmp_path / "gz"
    gz.mkdir()
    for f in tiny_dataset.glob("*.csv"):
        with f.open("rb") as src, gzip.open(gz / (f.name + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    assert load(gz, _warehouse(credit_home)).tables[0].rows == 4
    pq = tmp_path / "pq"
    pq.mkdir()
    con = duckdb.connect()
    for f in tiny_dataset.glob("*.csv"):
        con.execute(
            f"copy (select * from read_csv('{f}', all_varchar=true)) to '{pq / (f.stem + '.parquet')}'"
        )
    report = load(pq, _warehouse(credit_home))
    assert sum(t.rows for t in report.tables) == sum(t.rows for t in load(gz, _warehouse(credit_home)).tables)


BAD_CASES = {
    "missing file": (lambda d: (d / "bureau.csv").unlink(), r"bureau\.csv: file missing"),
    "missing column": (
        lambda d: _rewrite(
            d / "bureau.csv", lambda ls: [",".join(line.rstrip("\n").split(",")[:-1]) + "\n" for line in ls]
        ),
        r"bureau\.csv: missing column\(s\) AMT_ANNUITY",
    ),
    "unknown column": (
        lambda d: _rewrite(
            d / "bureau_balance.csv",
            lambda ls: [ls[0].rstrip("\n") + ",EXTRA\n"] + [line.rstrip("\n") + ",1\n" for line in ls[1:]],
        ),
        r"bureau_balance\.csv: unknown column\(s\) EXTRA",
    ),
    "wrong type": (
        lambda d: _rewrite(
            d / "application_train.csv", lambda ls: ls[:2] + [ls[2].replace("1.5", "abc", 1)] + ls[3:]
        ),
        r"application_train\.csv: column \w+, row 2 \(line 3\): value 'abc' is not a valid DOUBLE",
    ),
    "duplicate applicant": (
        lambda d: _rewrite(d / "application_train.csv", lambda ls: ls + [ls[1]]),
        r"application_train\.csv: column SK_ID_CURR: duplicate key 100001",
    ),
    "duplicate bureau credit": (
        lambda d: _rewrite(d / "bureau.csv", lambda ls: ls + [ls[1]]),
        r"bureau\.csv: column SK_ID_BUREAU: duplicate key 5000000",
    ),
    "duplicate previous application": (
        lambda d: _rewrite(d / "previous_application.csv", lambda ls: ls + [ls[2]]),
        r"previous_application\.csv: column SK_ID_PREV: duplicate key 1000001",
    ),
    "empty file": (
        lambda d: (d / "credit_card_balance.csv").write_text(""),
        r"credit_card_balance\.csv: empty file",
    ),
    "header only": (
        lambda d: _rewrite(d / "installments_payments.csv", lambda ls: ls[:1]),
        r"installments_payments\.csv: empty file \(header only",
    ),
    "truncated file": (
        lambda d: _rewrite(d / "POS_CASH_balance.csv", lambda ls: ls[:-1] + [ls[-1][: len(ls[-1]) // 3]]),
        r"POS_CASH_balance\.csv, row \d+ \(line \d+\): expected 8 columns, found \d+ \(truncated",
    ),
    "truncated gzip": (
        lambda d: _truncate_gzip(d / "bureau_balance.csv"),
        r"bureau_balance\.csv\.gz",
    ),
    "NaN written as text": (
        lambda d: _replace(d / "application_train.csv", ",1.5,", ",NaN,"),
        r"application_train\.csv: column \w+: 1 value\(s\) are not finite numbers \(e\.g\. nan at SK_ID_CURR \d+\)",
    ),
    "infinity written as text": (
        lambda d: _replace(d / "application_train.csv", ",1.5,", ",-inf,"),
        r"application_train\.csv: column \w+: 1 value\(s\) are not finite numbers",
    ),
    "decimal comma": (
        lambda d: _replace(d / "application_train.csv", ",1.5,", ',"1,5",'),
        r"application_train\.csv: column \w+, row \d+ \(line \d+\): value '1,5' is not a valid DOUBLE",
    ),
    "semicolon delimiter": (
        lambda d: _replace(d / "bureau.csv", ",", ";", count=-1),
        r"bureau\.csv: missing column\(s\) SK_ID_CURR",
    ),
    "latin-1 encoding": (
        lambda d: (d / "application_train.csv").write_bytes(
            (d / "application_train.csv")
            .read_text()
            .replace("Cash loans", "Cash lo\xe9ans")
            .encode("latin-1")
        ),
        r"application_train\.csv: cannot read the header \('utf-8' codec can't decode",
    ),
    "10 MB field": (
        lambda d: _replace(d / "application_train.csv", "Cash loans", "x" * 10_000_000),
        r"application_train\.csv, row 1 \(line 2\): unreadable",
    ),
    "key out of range": (
        lambda d: _replace(d / "bureau_balance.csv", "\n5000000,", "\n99999999999999999999999,"),
        r"bureau_balance\.csv: column SK_ID_BUREAU, row 1 \(line 2\): value '99999999999999999999999' is not a valid BIGINT",
    ),
    "directory in place of a file": (
        lambda d: ((d / "bureau.csv").unlink(), (d / "bureau.csv").mkdir()),
        r"bureau\.csv: cannot read the header \(\[Errno 21\] Is a directory",
    ),
    "symlink loop": (
        lambda d: ((d / "bureau.csv").unlink(), (d / "bureau.csv").symlink_to(d / "bureau.csv")),
        r"bureau\.csv: file missing",
    ),
    "not gzip despite its name": (
        lambda d: (d / "bureau.csv").rename(d / "bureau.csv.gz"),
        r"bureau\.csv\.gz: cannot read the header \(Not a gzipped file",
    ),
}


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, (path.name, old)
    path.write_text(text.replace(old, new, count))


def _truncate_gzip(path: Path) -> None:
    data = gzip.compress(path.read_bytes() * 50)
    path.unlink()
    path.with_name(path.name + ".gz").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_refused_and_previous_warehouse_unchanged(
    case: str, tiny_dataset: Path, credit_home: Path, tmp_path: Path
) -> None:
    warehouse = _warehouse(credit_home)
    load(tiny_dataset, warehouse)
    before = _digest(warehouse)
    bad = tmp_path / "bad"
    shutil.copytree(tiny_dataset, bad)
    mutate, message = BAD_CASES[case]
    mutate(bad)
    with pytest.raises(LoadError, match=message):
        load(bad, warehouse)
    assert _digest(warehouse) == before, "a refused load must leave the previous warehouse unchanged"
    assert not list(warehouse.parent.glob("*.loading*")), "temporary files must be cleaned up"


def test_first_load_refused_leaves_no_warehouse(tiny_dataset: Path, credit_home: Path) -> None:
    (tiny_dataset / "bureau.csv").unlink()
    with pytest.raises(LoadError):
        load(tiny_dataset, _warehouse(credit_home))
    assert not _warehouse(credit_home).exists()


def test_orphans_are_counted_not_fatal(tiny_dataset: Path, credit_home: Path) -> None:
    _rewrite(
        tiny_dataset / "bureau.csv",
        lambda ls: ls + [ls[1].replace("100001", "999999", 1).replace("5000000", "5999999", 1)],
    )
    report = load(tiny_dataset, _warehouse(credit_home))
    assert {t.table: t.orphans for t in report.tables}["bureau"] == 1
    assert "1 orphan rows" in report.summary()


def test_scoring_history_survives_a_reload(tiny_dataset: Path, credit_home: Path) -> None:
    warehouse = _warehouse(credit_home)
    load(tiny_dataset, warehouse)
    con = duckdb.connect(str(warehouse))
    con.execute("insert into scoring.scoring_runs (run_id, model_version) values ('r1', '1')")
    con.close()
    load(tiny_dataset, warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select run_id from scoring.scoring_runs").fetchall() == [("r1",)]
    con.close()


@pytest.mark.real_sample
def test_real_sample_loads(real_sample: Path, credit_home: Path) -> None:
    report = load(real_sample, _warehouse(credit_home))
    rows = {t.table: t.rows for t in report.tables}
    assert rows["application_train"] == 27_239
    assert rows["bureau_balance"] == 1_656_507
    # the sample's installments are partial: many of their applicants are absent
    assert {t.table: t.orphans for t in report.tables}["installments_payments"] > 0


def test_cli_reports_error_without_traceback(tmp_path: Path, credit_home: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "warehouse", "load", "--source", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2
    assert "source folder does not exist" in result.stderr
    assert "Traceback" not in result.stderr
