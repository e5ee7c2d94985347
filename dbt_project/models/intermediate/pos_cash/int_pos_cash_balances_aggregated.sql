-- One row per applicant with at least one POS / cash balance month: pos_* features, see
-- pos_cash_features().
with

balances as (

    select * from {{ ref('stg_home_credit__pos_cash_balances') }}

),

aggregated as (

    select
        sk_id_curr,
        {{ feature_select(pos_cash_features()) | indent(4) }}

    from balances
    group by sk_id_curr

)

select * from aggregated
