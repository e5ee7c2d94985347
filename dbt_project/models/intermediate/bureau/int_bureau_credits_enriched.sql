-- One row per bureau credit (sk_id_bureau): the credit, its folded monthly history (bb_*) and
-- per-credit ratios. A table: int_bureau_credits_aggregated reads it once per applicant chunk.

with

credits as (

    select * from {{ ref('stg_home_credit__bureau_credits') }}

),

balances as (

    select * from {{ ref('int_bureau_balances_aggregated') }}

),

enriched as (

    select
        credits.*,
        balances.bb_month_count,
        balances.bb_months_balance_min,
        balances.bb_dpd_month_count,
        balances.bb_dpd_over_30_month_count,
        balances.bb_dpd_over_90_month_count,
        balances.bb_dpd_month_share,
        balances.bb_worst_status,
        balances.bb_status_c_share,
        balances.bb_status_x_share,
        balances.bb_status_0_share,
        balances.bb_months_since_dpd,
        balances.bb_last_status,
        balances.bb_dpd_month_count_last_12m,
        credits.amt_credit_sum_debt / nullif(credits.amt_credit_sum, 0) as debt_ratio,
        credits.amt_credit_sum_overdue / nullif(credits.amt_credit_sum_debt, 0) as overdue_ratio,
        credits.amt_credit_sum_limit / nullif(credits.amt_credit_sum, 0) as limit_ratio,
        credits.amt_annuity / nullif(credits.amt_credit_sum, 0) as annuity_to_credit_ratio,
        credits.days_credit_enddate - credits.days_credit as credit_duration_days,
        credits.days_enddate_fact - credits.days_credit_enddate as enddate_gap_days

    from credits
    left join balances
        on credits.sk_id_bureau = balances.sk_id_bureau

)

select * from enriched
