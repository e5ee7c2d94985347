-- One row per applicant with at least one POS / cash balance month: pos_* features, see
-- pos_cash_features().
{{ config(materialized='chunked_table', chunks=var('applicant_chunks', 1)) }}

with

balances as (

    select * from {{ ref('stg_home_credit__pos_cash_balances') }}
    where {{ applicant_chunk() }}

),

aggregated as (

    select
        sk_id_curr,
        {{ feature_select(pos_cash_features()) | indent(4) }}

    from balances
    group by sk_id_curr

)

select * from aggregated
