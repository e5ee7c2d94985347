-- One row per applicant with at least one credit card balance month: cc_* features, see
-- credit_card_features().
{{ config(materialized='chunked_table', chunks=var('applicant_chunks', 1)) }}

with

balances as (

    select * from {{ ref('stg_home_credit__credit_card_balances') }}
    where {{ applicant_chunk() }}

),

aggregated as (

    select
        sk_id_curr,
        {{ feature_select(credit_card_features()) | indent(4) }}

    from balances
    group by sk_id_curr

)

select * from aggregated
