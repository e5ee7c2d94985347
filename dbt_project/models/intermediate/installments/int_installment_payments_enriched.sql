-- One row per installment payment: days past due / before due, payment ratio and difference.
-- A view, read once by int_installment_payments_aggregated.
{{ config(materialized='view') }}

with

payments as (

    select * from {{ ref('stg_home_credit__installment_payments') }}

),

enriched as (

    select
        *,
        -- days past due: paid after the due date (0 when on time or early; NULL when not paid:
        -- DuckDB's greatest() skips NULLs, hence the explicit case)
        case
            when days_entry_payment is not null
                then greatest(days_entry_payment - days_instalment, 0)
        end as days_past_due,
        -- days before due: paid before the due date (0 when on time or late; NULL when not paid)
        case
            when days_entry_payment is not null
                then greatest(days_instalment - days_entry_payment, 0)
        end as days_before_due,
        amt_payment / nullif(amt_instalment, 0) as payment_ratio,
        amt_instalment - amt_payment as payment_difference

    from payments

)

select * from enriched
