"""Run the suites with Great Expectations 1.x (ephemeral context, pandas) and write data docs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.errors import UserError
from warehouse.quality.suites import (
    Suite,
    contract_columns,
    feature_kind,
    labels_suite,
    mart_suite,
    profile_suite,
    raw_suites,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    suite: str
    expectation: str
    column: str | None
    detail: str


@dataclass(frozen=True)
class ValidationReport:
    n_suites: int
    n_expectations: int
    failures: list[Failure]
    data_docs: Path

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        head = (
            f"{self.n_expectations} expectations in {self.n_suites} suites: "
            f"{'all passed' if self.success else f'{len(self.failures)} FAILED'}; data docs {self.data_docs}"
        )
        lines = [head]
        for f in self.failures:
            where = f"{f.suite}.{f.column}" if f.column else f.suite
            lines.append(f"  FAILED {where}: {f.expectation} ({f.detail})")
        return "\n".join(lines)


def _read(con: duckdb.DuckDBPyConnection, suite: Suite, sample_rows: int) -> pd.DataFrame:
    """The suite's columns; tables above `sample_rows` rows are read as a fixed-seed sample."""
    n = con.execute(f"select count(*) from {suite.relation}").fetchone()[0]
    cols = ", ".join(f'"{c}"' for c in suite.columns)
    sample = f" using sample reservoir({sample_rows} rows) repeatable (42)" if n > sample_rows else ""
    return con.execute(f"select {cols} from {suite.relation}{sample}").df()


def _profile(con: duckdb.DuckDBPyConnection, relation: str) -> pd.DataFrame:
    """One row per feature column of the mart: kind, NULL count and share, min, max (one scan)."""
    columns = [r[0] for r in con.execute(f"select column_name from (describe {relation})").fetchall()]
    features = [c for c in columns if c != "sk_id_curr"]
    selects = ", ".join(f'count(*) - count("{c}"), min("{c}"), max("{c}")' for c in features)
    row = con.execute(f"select count(*), {selects} from {relation}").fetchone()
    n = row[0]
    return pd.DataFrame(
        {
            "feature": features,
            "kind": [feature_kind(c) for c in features],
            "n_null": row[1::3],
            "null_share": [nulls / n if n else 0.0 for nulls in row[1::3]],
            "min_value": row[2::3],
            "max_value": row[3::3],
        }
    )


def _mart_schema(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "select schema_name from duckdb_views() where view_name = 'feat_applicant_features' "
        "union all select schema_name from duckdb_tables() where table_name = 'feat_applicant_features' "
        "order by schema_name = 'marts' desc"
    ).fetchall()
    if not rows:
        raise UserError("the warehouse has no feat_applicant_features: run `dbt build` before validating")
    return rows[0][0]


def _detail(result) -> str:
    res = result.result or {}
    named = res.get("unexpected_index_list")
    if named:
        names = [row.get("feature", row) if isinstance(row, dict) else row for row in named]
        return f"{len(names)} features: {', '.join(map(str, names[:10]))}{' ...' if len(names) > 10 else ''}"
    if "observed_value" in res:
        return f"observed {res['observed_value']!r}"
    if res.get("unexpected_count") is not None:
        sample = res.get("partial_unexpected_list") or []
        return f"{res['unexpected_count']} unexpected values, e.g. {sample[:5]}"
    if result.exception_info and result.exception_info.get("raised_exception"):
        return f"error: {result.exception_info.get('exception_message')}"
    return "failed"


def validate(
    warehouse: Path, reports_dir: Path, sample_rows: int = 200_000, raw: bool = True
) -> ValidationReport:
    """Validate raw tables (if `raw`) and the feature mart and labels; never raises on failures."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # GX's data-docs renderer logs a KeyError for row-conditioned results with named indices;
    # the page still renders, the noise would only hide real messages.
    logging.getLogger("great_expectations.render").setLevel(logging.CRITICAL)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if not warehouse.exists():
        raise UserError(
            f"{warehouse}: no build warehouse; run `python -m warehouse load` and `dbt build` first"
        )
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        schema = _mart_schema(con)
        n_applicants = con.execute(
            "select (select count(*) from raw.application_train) + (select count(*) from raw.application_test)"
        ).fetchone()[0]
        columns = contract_columns()
        suites = (raw_suites() if raw else []) + [
            mart_suite(schema, n_applicants, columns),
            profile_suite(columns),
            labels_suite(schema, n_applicants),
        ]
        frames = {s.name: _read(con, s, sample_rows) for s in suites if s.relation}
        frames["mart_feature_profile"] = _profile(con, f"{schema}.feat_applicant_features")
    finally:
        con.close()

    docs = reports_dir / "data_docs"
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="reports",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("warehouse")
    failures: list[Failure] = []
    n_expectations = 0
    for suite in suites:
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all_rows")
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name))
        for exp in suite.expectations:
            gx_suite.add_expectation(getattr(gx.expectations, exp.type)(**exp.kwargs))
        n_expectations += len(suite.expectations)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}_validation", data=batch, suite=gx_suite)
        )
        result_format: dict = {"result_format": "SUMMARY"}
        if "feature" in frames[suite.name].columns:
            result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": ["feature"]}
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{suite.name}_checkpoint",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["reports"])],
                result_format=result_format,
            )
        )
        log.info(
            "validating %s (%d rows, %d expectations)",
            suite.name,
            len(frames[suite.name]),
            len(suite.expectations),
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frames[suite.name]})
        for run in outcome.run_results.values():
            for result in run.results:
                if not result.success:
                    cfg = result.expectation_config
                    failures.append(Failure(suite.name, cfg.type, cfg.kwargs.get("column"), _detail(result)))
    return ValidationReport(len(suites), n_expectations, failures, docs / "index.html")
