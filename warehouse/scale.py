"""`python -m warehouse scale`: real-shaped Kaggle files of any size, resampled from a real data set.

Each new applicant copies a real applicant's application row (drawn with replacement, train and
test in the proportion `train_share`) and, per history group, every history row of one real
applicant whose history in that group is complete: the same applicant when it is complete there,
else another drawn at random among the complete ones (so the share of applicants with no rows in
a table stays the share among complete applicants). All keys are new and consistent:
SK_ID_CURR, SK_ID_BUREAU (bureau -> bureau_balance) and SK_ID_PREV (previous applications -> POS,
installments; cards keep their own SK_ID_PREV, remapped per copy).

History groups and their completeness flags (coverage.csv in the source, as in the shared real
sample; without it every applicant is complete everywhere, as in the Kaggle files):

    bureau:   bureau, bureau_balance                          (bureau_complete, bureau_balance_complete)
    previous: previous_application, POS_CASH_balance, installments_payments
              (previous_application_complete, POS_CASH_complete, installments_payments_complete)
    card:     credit_card_balance                             (credit_card_complete)

A table whose flag column is missing from coverage.csv is complete for nobody. Installments are
then *derived* from the new previous applications: one instalment per month from DAYS_FIRST_DUE
for CNT_PAYMENT months (those due before the application day), AMT_INSTALMENT = AMT_ANNUITY; each
instalment's payment delay, paid ratio and version are copied from a real instalment row drawn at
random (the source's partial installments), so lateness has the real distribution. The shared
sample's installments are partial for everyone: that is how its scaled files get theirs.

Resampled data repeat applicants: use it for timings and memory, never for model quality.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from warehouse.errors import UserError
from warehouse.schema import TABLE_FILES, load_schema

log = logging.getLogger(__name__)

GROUPS = {
    "bureau": {"bureau": "bureau_complete", "bureau_balance": "bureau_balance_complete"},
    "previous": {
        "previous_application": "previous_application_complete",
        "pos_cash_balance": "POS_CASH_complete",
        "installments_payments": "installments_payments_complete",
    },
    "card": {"credit_card_balance": "credit_card_complete"},
}
BASE_BUREAU = 5_000_000
BASE_PREV = 1_000_000
BASE_CURR = 100_001


@dataclass
class ScaleReport:
    out: Path
    applicants: int
    rows: dict[str, int]
    derived: list[str]
    seconds: float

    def summary(self) -> str:
        lines = [f"wrote {self.applicants:,} applicants to {self.out} in {self.seconds:.1f} s"]
        lines += [f"  {name:<24} {n:>12,} rows" for name, n in self.rows.items()]
        if self.derived:
            lines.append(f"  derived (no applicant complete in the source): {', '.join(self.derived)}")
        return "\n".join(lines)


def _completeness(con: duckdb.DuckDBPyConnection, source: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per group, the source applicants complete for it; the tables complete for nobody."""
    ids = con.execute('select "SK_ID_CURR" from raw.applications order by 1').fetchnumpy()["SK_ID_CURR"]
    coverage = source / "coverage.csv"
    if not coverage.exists():
        return {g: ids for g in GROUPS}, []
    cov = con.execute(f"select * from read_csv('{coverage}', header = true, all_varchar = true)").df()
    if "SK_ID_CURR" not in cov.columns:
        raise UserError(f"{coverage}: no SK_ID_CURR column")
    cov_ids = cov["SK_ID_CURR"].astype(np.int64).to_numpy()
    out, nobody = {}, []
    for group, tables in GROUPS.items():
        flagged = [flag for table, flag in tables.items() if flag in cov.columns]
        nobody += [table for table, flag in tables.items() if flag not in cov.columns]
        if not flagged:
            out[group] = np.array([], dtype=np.int64)
            continue
        ok = np.ones(len(cov), dtype=bool)
        for flag in flagged:
            ok &= cov[flag].str.strip().str.lower().isin(["true", "1", "t", "yes"]).to_numpy()
        out[group] = np.intersect1d(cov_ids[ok], ids)
    return out, nobody


def scale(
    source: Path,
    applicants: int,
    seed: int,
    out: Path,
    train_share: float | None = None,
    fmt: str = "csv",
    threads: int = 2,
) -> ScaleReport:
    """Write `applicants` resampled applicants with their history rows to `out` (the eight files)."""
    from warehouse.load import load

    started = time.perf_counter()
    if applicants < 2:
        raise UserError(f"--applicants {applicants}: at least 2 (one train, one test)")
    if fmt not in ("csv", "parquet"):
        raise UserError(f"--format {fmt}: csv or parquet")
    if train_share is not None and not 0 < train_share < 1:
        raise UserError(f"--train-share {train_share}: strictly between 0 and 1")
    source = Path(source)
    out = Path(out)
    schema = load_schema()
    with tempfile.TemporaryDirectory(prefix="credit-scale-") as tmp:
        wh = Path(tmp) / "source.duckdb"
        load(source, wh)  # the loader's checks and types: a broken source fails here, naming the file
        out.mkdir(parents=True, exist_ok=True)  # only once the source is known good: a failed run leaves none
        con = duckdb.connect(str(wh))
        con.execute(f"set threads = {max(1, threads)}")
        con.execute(f"set temp_directory = '{tmp}'")
        try:
            complete, nobody = _completeness(con, source)
            derivable = {"installments_payments"}
            for table in nobody:
                if table not in derivable:
                    raise UserError(
                        f"{source / 'coverage.csv'}: no applicant is complete for {table} "
                        f"(no column {GROUPS_FLAG[table]}) and it cannot be derived"
                    )
            rng = np.random.default_rng(seed)
            train = con.execute('select "SK_ID_CURR" from raw.application_train order by 1').fetchnumpy()[
                "SK_ID_CURR"
            ]
            test = con.execute('select "SK_ID_CURR" from raw.application_test order by 1').fetchnumpy()[
                "SK_ID_CURR"
            ]
            share = train_share if train_share is not None else len(train) / (len(train) + len(test))
            n_train = min(applicants - 1, max(1, round(applicants * share)))
            donors = np.concatenate(
                [rng.choice(train, n_train), rng.choice(test, applicants - n_train)]
            ).astype(np.int64)
            is_train = np.arange(applicants) < n_train
            order = rng.permutation(applicants)  # train and test keys interleaved, as in Kaggle
            new_id = np.empty(applicants, dtype=np.int64)
            new_id[order] = BASE_CURR + np.arange(applicants)
            table = {"new_id": new_id, "app_donor": donors, "is_train": is_train}
            for group, ok in complete.items():
                own = np.isin(donors, ok)
                pick = donors.copy()
                if len(ok):
                    pick[~own] = rng.choice(ok, int((~own).sum()))
                else:
                    pick[:] = -1  # nobody complete: no rows copied (derived later)
                table[f"{group}_donor"] = pick
            import pandas as pd

            con.register("donor_frame", pd.DataFrame(table))
            con.execute("create table donors as select * from donor_frame")
            con.unregister("donor_frame")
            rows = _write(con, schema, out, fmt, nobody, seed)
        finally:
            con.close()
    report = ScaleReport(out, applicants, rows, nobody, time.perf_counter() - started)
    return report


GROUPS_FLAG = {table: flag for tables in GROUPS.values() for table, flag in tables.items()}


def _cols(schema, name: str, replace: dict[str, str], alias: str) -> str:
    """The table's Kaggle columns in order, keys replaced by expressions."""
    return ", ".join(
        f'{replace[c]} as "{c}"' if c in replace else f'{alias}."{c}"'
        for c in schema.table(name).column_names
    )


def _write(con, schema, out: Path, fmt: str, derived: list[str], seed: int) -> dict[str, int]:
    """Build the new tables in DuckDB and write them with COPY."""
    # key maps: one new SK_ID_BUREAU / SK_ID_PREV per (new applicant, copied row)
    for map_name, table, key, donor, base in (
        ("bureau_map", "bureau", "SK_ID_BUREAU", "bureau_donor", BASE_BUREAU),
        ("prev_map", "previous_application", "SK_ID_PREV", "previous_donor", BASE_PREV),
    ):
        con.execute(
            f"""
            create table {map_name} as
            select d.new_id, t."{key}" as old_id,
                   {base} + row_number() over (order by d.new_id, t."{key}") as new_key
            from donors d join raw.{table} t on t."SK_ID_CURR" = d.{donor}
            """
        )
    (n_prev,) = con.execute("select count(*) from prev_map").fetchone()
    con.execute(
        """
        create table card_map as
        select distinct d.new_id, c."SK_ID_PREV" as old_id
        from donors d join raw.credit_card_balance c on c."SK_ID_CURR" = d.card_donor
        """
    )
    con.execute(
        f"""
        create or replace table card_map as
        select *, {BASE_PREV} + {n_prev} + row_number() over (order by new_id, old_id) as new_key from card_map
        """
    )
    queries = {
        "application_train": f"""
            select {_cols(schema, "application_train", {"SK_ID_CURR": "d.new_id"}, "a")}
            from donors d join raw.application_train a on a."SK_ID_CURR" = d.app_donor
            where d.is_train order by d.new_id""",
        "application_test": f"""
            select {_cols(schema, "application_test", {"SK_ID_CURR": "d.new_id"}, "a")}
            from donors d join raw.application_test a on a."SK_ID_CURR" = d.app_donor
            where not d.is_train order by d.new_id""",
        "bureau": f"""
            select {_cols(schema, "bureau", {"SK_ID_CURR": "m.new_id", "SK_ID_BUREAU": "m.new_key"}, "b")}
            from bureau_map m join raw.bureau b on b."SK_ID_BUREAU" = m.old_id order by m.new_key""",
        "bureau_balance": f"""
            select {_cols(schema, "bureau_balance", {"SK_ID_BUREAU": "m.new_key"}, "bb")}
            from bureau_map m join raw.bureau_balance bb on bb."SK_ID_BUREAU" = m.old_id""",
        "previous_application": f"""
            select {_cols(schema, "previous_application", {"SK_ID_CURR": "m.new_id", "SK_ID_PREV": "m.new_key"}, "p")}
            from prev_map m join raw.previous_application p on p."SK_ID_PREV" = m.old_id order by m.new_key""",
        "pos_cash_balance": f"""
            select {_cols(schema, "pos_cash_balance", {"SK_ID_CURR": "m.new_id", "SK_ID_PREV": "m.new_key"}, "x")}
            from prev_map m join raw.pos_cash_balance x on x."SK_ID_PREV" = m.old_id
            join donors d on d.new_id = m.new_id and x."SK_ID_CURR" = d.previous_donor""",
        "credit_card_balance": f"""
            select {_cols(schema, "credit_card_balance", {"SK_ID_CURR": "m.new_id", "SK_ID_PREV": "m.new_key"}, "c")}
            from card_map m join donors d on d.new_id = m.new_id
            join raw.credit_card_balance c on c."SK_ID_PREV" = m.old_id and c."SK_ID_CURR" = d.card_donor""",
    }
    if "installments_payments" in derived:
        queries["installments_payments"] = _derived_installments(con, schema, seed)
    else:
        queries["installments_payments"] = f"""
            select {_cols(schema, "installments_payments", {"SK_ID_CURR": "m.new_id", "SK_ID_PREV": "m.new_key"}, "i")}
            from prev_map m join raw.installments_payments i on i."SK_ID_PREV" = m.old_id
            join donors d on d.new_id = m.new_id and i."SK_ID_CURR" = d.previous_donor"""
    # Every file is written under a temporary name first and renamed into place only once all eight
    # exist: a failure on the way leaves the folder as it was, never a mix of two data sets.
    rows, written = {}, []
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    options = "format csv, header true" if fmt == "csv" else "format parquet"
    try:
        for name, query in queries.items():
            stem = TABLE_FILES[name]
            tmp = out / f"{stem}.{fmt}.writing"
            written.append((tmp, out / f"{stem}.{fmt}"))
            con.execute(f"copy ({query}) to '{tmp}' ({options})")
            (rows[name],) = con.execute(f"select count(*) from {reader}('{tmp}')").fetchone()
            log.info("scale: %s %s rows", stem, f"{rows[name]:,}")
    except BaseException:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        raise
    for other in ("csv", "parquet", "csv.gz"):  # a previous run in another format would shadow these files
        if other != fmt:
            for stem in TABLE_FILES.values():
                (out / f"{stem}.{other}").unlink(missing_ok=True)
    for tmp, path in written:
        tmp.replace(path)
    return rows


def _derived_installments(con, schema, seed: int) -> str:
    """Monthly schedules of the new previous applications, with real payment behaviour."""
    (n_real,) = con.execute("select count(*) from raw.installments_payments").fetchone()
    if n_real:
        con.execute(
            """
            create table behaviour as
            select row_number() over (order by "SK_ID_PREV", "NUM_INSTALMENT_NUMBER", "DAYS_INSTALMENT",
                                      "DAYS_ENTRY_PAYMENT", "AMT_PAYMENT") - 1 as k,
                   "NUM_INSTALMENT_VERSION" as version,
                   "DAYS_ENTRY_PAYMENT" - "DAYS_INSTALMENT" as delay,
                   "AMT_PAYMENT" / nullif("AMT_INSTALMENT", 0) as paid_ratio
            from raw.installments_payments
            """
        )
    else:  # no real instalment at all: paid on time and in full
        con.execute(
            "create table behaviour as select 0 as k, 1.0 as version, 0.0 as delay, 1.0 as paid_ratio"
        )
        n_real = 1
    cols = {
        "SK_ID_PREV": "s.new_key",
        "SK_ID_CURR": "s.new_id",
        "NUM_INSTALMENT_VERSION": "b.version",
        "NUM_INSTALMENT_NUMBER": "s.n",
        "DAYS_INSTALMENT": "s.days_instalment",
        "DAYS_ENTRY_PAYMENT": "least(s.days_instalment + b.delay, -1.0)",
        "AMT_INSTALMENT": "s.amt",
        "AMT_PAYMENT": "round(s.amt * coalesce(b.paid_ratio, 1.0), 3)",
    }
    select = ", ".join(f'{cols[c]} as "{c}"' for c in schema.table("installments_payments").column_names)
    return f"""
        with base as (
            select m.new_id, m.new_key, p."DAYS_FIRST_DUE" as first_due, p."AMT_ANNUITY" as amt,
                   unnest(range(1, cast(least(p."CNT_PAYMENT", 120) as bigint) + 1)) as n
            from prev_map m
            join raw.previous_application p on p."SK_ID_PREV" = m.old_id
            where p."DAYS_FIRST_DUE" < 0 and p."CNT_PAYMENT" > 0 and p."AMT_ANNUITY" > 0
        ),
        schedules as (
            select new_id, new_key, n, first_due + 30 * (n - 1) as days_instalment, amt
            from base
            where first_due + 30 * (n - 1) < 0
        )
        select {select}
        from schedules s
        join behaviour b on b.k = hash(s.new_key, s.n, {int(seed)}) % {n_real}
        order by s.new_key, s.n"""
