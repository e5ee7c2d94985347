"""`python -m warehouse scale`: real-shaped files resampled under new, consistent keys."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from warehouse.errors import UserError
from warehouse.load import LoadError, load
from warehouse.scale import scale


def _load(folder: Path, tmp: Path) -> duckdb.DuckDBPyConnection:
    wh = tmp / f"{folder.name}.duckdb"
    load(folder, wh)
    return duckdb.connect(str(wh), read_only=True)


def _one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_scaled_files_load_with_consistent_keys(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "scaled"
    report = scale(tiny_dataset, 50, 3, out, train_share=0.8)
    assert report.applicants == 50 and not report.derived
    con = _load(out, tmp_path)  # the loader's key and orphan checks pass
    assert _one(con, "select count(*) from raw.applications") == 50
    assert _one(con, "select count(*) from raw.application_train") == 40
    assert _one(con, 'select count(distinct "SK_ID_CURR") from raw.applications') == 50
    # every child row points at a parent of the same applicant
    assert _one(con, "select count(*) from raw.load_manifest where orphan_rows > 0") == 0
    assert (
        _one(
            con,
            'select count(*) from raw.pos_cash_balance x join raw.previous_application p using ("SK_ID_PREV") '
            'where x."SK_ID_CURR" != p."SK_ID_CURR"',
        )
        == 0
    )
    # rows were copied, not invented: every copied bureau credit keeps its source values
    src = _load(tiny_dataset, tmp_path)
    amounts = {r[0] for r in src.execute('select "AMT_CREDIT_SUM" from raw.bureau').fetchall()}
    assert {r[0] for r in con.execute('select "AMT_CREDIT_SUM" from raw.bureau').fetchall()} <= amounts
    assert report.rows["bureau"] > 0 and report.rows["bureau_balance"] > 0


def test_same_seed_same_files_other_seed_other_draw(tiny_dataset: Path, tmp_path: Path) -> None:
    a = scale(tiny_dataset, 30, 5, tmp_path / "a", fmt="parquet")
    b = scale(tiny_dataset, 30, 5, tmp_path / "b", fmt="parquet")
    scale(tiny_dataset, 30, 6, tmp_path / "c", fmt="parquet")
    assert a.rows == b.rows
    read = "select * from read_parquet('{}') order by all"
    for stem in ("application_train", "bureau", "POS_CASH_balance"):
        assert (
            duckdb.sql(read.format(tmp_path / "a" / f"{stem}.parquet")).fetchall()
            == duckdb.sql(read.format(tmp_path / "b" / f"{stem}.parquet")).fetchall()
        )
    assert (
        duckdb.sql(read.format(tmp_path / "a" / "application_train.parquet")).fetchall()
        != duckdb.sql(read.format(tmp_path / "c" / "application_train.parquet")).fetchall()
    )


def test_histories_come_only_from_complete_applicants_and_installments_are_derived(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    # coverage: only applicant 100001 has a complete bureau and card; nobody's installments are
    # flagged, so they are derived from the previous applications
    with (tiny_dataset / "coverage.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "SK_ID_CURR",
                "is_train",
                "bureau_complete",
                "bureau_balance_complete",
                "credit_card_complete",
                "previous_application_complete",
                "POS_CASH_complete",
            ]
        )
        for i in range(4):
            flag = "true" if i == 0 else "false"
            w.writerow([100001 + i, "true", flag, flag, flag, "true", "true"])
    prev = tiny_dataset / "previous_application.csv"
    with prev.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:  # schedules due before the application day
        row |= {"DAYS_FIRST_DUE": "-300", "CNT_PAYMENT": "12", "AMT_ANNUITY": "1000.5"}
    with prev.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    src = _load(tiny_dataset, tmp_path)
    donor_credits = _one(src, 'select count(*) from raw.bureau where "SK_ID_CURR" = 100001')
    report = scale(tiny_dataset, 40, 1, tmp_path / "scaled")
    assert report.derived == ["installments_payments"]
    con = _load(tmp_path / "scaled", tmp_path)
    per_applicant = con.execute('select count(*) from raw.bureau group by "SK_ID_CURR"').fetchall()
    assert {n for (n,) in per_applicant} == {donor_credits}  # everyone copies the one complete applicant
    assert _one(con, 'select count(distinct "SK_ID_CURR") from raw.bureau') == 40
    inst = _one(con, "select count(*) from raw.installments_payments")
    previous = _one(con, "select count(*) from raw.previous_application")
    assert inst == report.rows["installments_payments"] == previous * 10  # -300, -270, ..., -30
    assert (
        _one(
            con,
            'select count(*) from raw.installments_payments i join raw.previous_application p using ("SK_ID_PREV") '
            'where i."AMT_INSTALMENT" != p."AMT_ANNUITY" or i."DAYS_INSTALMENT" >= 0',
        )
        == 0
    )


def test_a_failed_write_leaves_the_previous_files(tiny_dataset: Path, tmp_path: Path, monkeypatch) -> None:
    from warehouse import scale as scale_module

    out = tmp_path / "scaled"
    scale(tiny_dataset, 20, 1, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(con, schema, seed):  # the last table's query fails after seven files were written
        return "select * from no_such_table"

    monkeypatch.setattr(scale_module, "_derived_installments", broken)
    (tiny_dataset / "coverage.csv").write_text(
        "SK_ID_CURR,bureau_complete,bureau_balance_complete,credit_card_complete,"
        "previous_application_complete,POS_CASH_complete\n100001,true,true,true,true,true\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="no_such_table"):
        scale(tiny_dataset, 30, 2, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_bad_source_names_the_file_and_writes_nothing(tiny_dataset: Path, tmp_path: Path) -> None:
    (tiny_dataset / "bureau.csv").unlink()
    out = tmp_path / "scaled"
    with pytest.raises(LoadError, match="bureau"):
        scale(tiny_dataset, 10, 1, out)
    assert not any(out.glob("*.csv"))
    with pytest.raises(UserError, match="--applicants"):
        scale(tiny_dataset, 1, 1, out)


@pytest.mark.real_sample
def test_real_sample_scaled_has_the_real_shape(real_sample: Path, tmp_path: Path) -> None:
    report = scale(real_sample, 3000, 7, tmp_path / "scaled", train_share=0.8632, fmt="parquet")
    assert report.derived == ["installments_payments"]
    per = {k: v / 3000 for k, v in report.rows.items()}
    # the Kaggle files per applicant: bureau 4.8, bureau_balance 76.6, previous 4.7, POS 28.1, card 10.8
    assert 3.5 < per["bureau"] < 6.5 and 50 < per["bureau_balance"] < 110
    assert 3 < per["previous_application"] < 7 and 18 < per["pos_cash_balance"] < 40
    assert 6 < per["credit_card_balance"] < 16 and 15 < per["installments_payments"] < 60


@pytest.mark.real_sample
def test_same_seed_same_rows_on_a_multithreaded_load(real_sample: Path, tmp_path: Path) -> None:
    # the real sample is large enough for DuckDB to read it with several threads: the donors must
    # not depend on the order rows come back in
    for name in ("a", "b"):
        scale(real_sample, 2000, 3, tmp_path / name, train_share=0.8632, fmt="parquet")
    for stem in ("application_train", "bureau", "previous_application"):
        rows = [
            duckdb.sql(
                f"select * from read_parquet('{tmp_path / name / stem}.parquet') order by all"
            ).fetchall()
            for name in ("a", "b")
        ]
        assert rows[0] == rows[1], stem
