"""DEV FIXTURE, not the pipeline: plausible scoring marts over a loaded `raw` schema.

Used only while `python -m training score` and the serving dbt marts do not exist yet, so the
Superset assets can be developed and tested. It writes tables with the names and columns of the
serving marts (fct_scores, fct_reasons, fct_shap_values, dim_global_importance,
fct_scoring_runs, dim_applicant_branches) from a toy score (a logistic function of EXT_SOURCE_*),
never a model. Run: python tests/e2e/superset/dev_fixture.py WAREHOUSE.duckdb
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SCHEMA = "marts"

SQL = f"""
create schema if not exists {SCHEMA};
create or replace table {SCHEMA}.dim_branches as
select * from (values
    (1, 'Branch North', 'Lille', 'officer_north', 'Camille Martin'),
    (2, 'Branch East', 'Strasbourg', 'officer_east', 'Lucas Bernard'),
    (3, 'Branch South', 'Marseille', 'officer_south', 'Chloe Dubois')
) as branches (branch_id, branch_name, city, officer_username, officer_name);

create or replace table {SCHEMA}.dim_applicant_branches as
select "SK_ID_CURR" as sk_id_curr, cast(1 + hash("SK_ID_CURR") % 3 as integer) as branch_id
from raw.applications;

create or replace table {SCHEMA}._apps as
select "SK_ID_CURR" as sk_id_curr, "TARGET" as target, true as is_train, * exclude ("SK_ID_CURR", "TARGET")
from raw.application_train
union all by name
select "SK_ID_CURR" as sk_id_curr, null as target, false as is_train, * exclude ("SK_ID_CURR")
from raw.application_test;

create or replace table {SCHEMA}.fct_scores as
with scored as (
    select
        *,
        1 / (1 + exp(-(-2.4 - 4.0 * (coalesce(("EXT_SOURCE_2" + coalesce("EXT_SOURCE_3", 0.5)) / 2, 0.5) - 0.5)
            + 0.3 * (("DAYS_BIRTH" / -365.25) < 30)::int))) as probability
    from {SCHEMA}._apps
)
select
    sk_id_curr,
    round(probability, 6) as probability,
    case when probability < 0.03 then 'A' when probability < 0.05 then 'B' when probability < 0.08 then 'C'
         when probability < 0.12 then 'D' when probability < 0.18 then 'E' when probability < 0.3 then 'F'
         else 'G' end as risk_grade,
    case when probability < 0.075 then 'approve' when probability < 0.11 then 'review' else 'refuse' end
        as decision,
    0.091 as threshold,
    'credit_default' as model_name,
    '1' as model_version,
    'dev-fixture-run-2' as run_id,
    timestamp '2026-11-28 12:00:00' as scored_at,
    case when is_train then 'out_of_fold' else 'champion' end as probability_source,
    target,
    is_train,
    "NAME_CONTRACT_TYPE" as contract_type,
    "NAME_INCOME_TYPE" as income_type,
    "NAME_EDUCATION_TYPE" as education_type,
    case when -"DAYS_BIRTH" / 365.25 < 30 then '20-29' when -"DAYS_BIRTH" / 365.25 < 40 then '30-39'
         when -"DAYS_BIRTH" / 365.25 < 50 then '40-49' when -"DAYS_BIRTH" / 365.25 < 60 then '50-59'
         else '60+' end as age_band,
    "REGION_RATING_CLIENT" as region_rating,
    "CODE_GENDER" as gender,
    "AMT_INCOME_TOTAL" as amt_income_total,
    "AMT_CREDIT" as amt_credit,
    "AMT_ANNUITY" as amt_annuity,
    round(-"DAYS_BIRTH" / 365.25, 1) as age_years,
    "EXT_SOURCE_2" as ext_source_2,
    "EXT_SOURCE_3" as ext_source_3
from scored;

create or replace table {SCHEMA}.fct_shap_values as
with long as (
    select sk_id_curr, feature, feature_value,
        case feature
            when 'ext_source_2' then -2.0 * (coalesce(feature_value, 0.5) - 0.5)
            when 'ext_source_3' then -2.0 * (coalesce(feature_value, 0.5) - 0.5)
            when 'credit_income_ratio' then 0.05 * (coalesce(feature_value, 3) - 3)
            when 'age_years' then -0.01 * (coalesce(feature_value, 40) - 40)
            when 'annuity_income_ratio' then 1.5 * (coalesce(feature_value, 0.18) - 0.18)
            else 0.001 * hash(sk_id_curr, feature) % 100 / 100.0
        end as shap_value
    from (
        select sk_id_curr, unnest(['ext_source_2', 'ext_source_3', 'credit_income_ratio', 'age_years',
            'annuity_income_ratio', 'amt_credit']) as feature,
            unnest([ext_source_2, ext_source_3, amt_credit / amt_income_total, age_years,
            amt_annuity / amt_income_total, amt_credit]) as feature_value
        from {SCHEMA}.fct_scores
    )
)
select sk_id_curr, feature, feature_value, shap_value,
    row_number() over (partition by sk_id_curr order by abs(shap_value) desc) as rank,
    'dev-fixture-run-2' as run_id
from long;

create or replace table {SCHEMA}.fct_reasons as
select
    sk_id_curr,
    case when shap_value > 0 then 'raises' else 'lowers' end as direction,
    row_number() over (partition by sk_id_curr, shap_value > 0 order by abs(shap_value) desc) as rank,
    feature,
    split_part(feature, '_', 1) as family,
    feature_value,
    shap_value,
    case feature
        when 'credit_income_ratio' then 'loan amount is ' || round(feature_value, 1) || ' times annual income'
        when 'age_years' then 'applicant is ' || round(feature_value) || ' years old'
        else 'external score ' || feature || ' is ' || round(feature_value, 2)
    end as text_en,
    case feature
        when 'credit_income_ratio' then 'le montant du prêt vaut ' || round(feature_value, 1) || ' fois le revenu annuel'
        when 'age_years' then 'le client a ' || round(feature_value) || ' ans'
        else 'le score externe ' || feature || ' vaut ' || round(feature_value, 2)
    end as text_fr,
    run_id
from {SCHEMA}.fct_shap_values
where feature <> 'amt_credit';

create or replace table {SCHEMA}.dim_global_importance as
select 'credit_default' as model_name, '1' as model_version, feature, avg(abs(shap_value)) as mean_abs_shap,
    row_number() over (order by avg(abs(shap_value)) desc) as rank
from {SCHEMA}.fct_shap_values group by feature;

create or replace table {SCHEMA}.fct_scoring_runs as
select * from (values
    ('dev-fixture-run-1', 'credit_default', '1', timestamp '2026-11-27 12:00:00', timestamp '2026-11-27 12:01:00',
     30000, 600000, 240000, 4.0, 2.0, 9.0, 0.091, 0.075, 0.11),
    ('dev-fixture-run-2', 'credit_default', '1', timestamp '2026-11-28 12:00:00', timestamp '2026-11-28 12:01:00',
     (select count(*) from {SCHEMA}.fct_scores), 0, 0, 4.0, 2.0, 9.0, 0.091, 0.075, 0.11)
) as runs (run_id, model_name, model_version, started_at, finished_at, n_scored, n_shap_rows, n_reasons,
    seconds_features, seconds_scoring, seconds_explain, threshold, review_low, review_high);
drop table {SCHEMA}._apps;
"""


def build(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(SQL)
        con.execute("checkpoint")
    finally:
        con.close()


if __name__ == "__main__":
    build(Path(sys.argv[1]))
    print(f"dev fixture marts written to {sys.argv[1]}")
