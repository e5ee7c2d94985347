-- One row per credit reported by the credit bureau (sk_id_bureau), before the application.
with

source as (

    select * from {{ source('home_credit', 'bureau') }}

),

renamed as (

    select
        sk_id_curr as sk_id_curr,
        sk_id_bureau as sk_id_bureau,
        credit_active as credit_active,
        credit_currency as credit_currency,
        days_credit as days_credit,
        credit_day_overdue as credit_day_overdue,
        days_credit_enddate as days_credit_enddate,
        days_enddate_fact as days_enddate_fact,
        amt_credit_max_overdue as amt_credit_max_overdue,
        cnt_credit_prolong as cnt_credit_prolong,
        amt_credit_sum as amt_credit_sum,
        amt_credit_sum_debt as amt_credit_sum_debt,
        amt_credit_sum_limit as amt_credit_sum_limit,
        amt_credit_sum_overdue as amt_credit_sum_overdue,
        credit_type as credit_type,
        days_credit_update as days_credit_update,
        amt_annuity as amt_annuity

    from source

)

select * from renamed
