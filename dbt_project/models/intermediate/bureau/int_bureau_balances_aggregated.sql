-- One row per bureau credit (sk_id_bureau): its monthly status history folded to the credit,
-- so that the 27 M monthly rows are read once and never joined to the applicant row by row.
with

balances as (

    select * from {{ ref('stg_home_credit__bureau_balances') }}

),

scored as (

    select
        sk_id_bureau,
        months_balance,
        status,
        -- status 1..5: 1-30, 31-60, 61-90, 91-120, over 120 days past due (or written off)
        case when status in ('1', '2', '3', '4', '5') then cast(status as integer) else 0 end as status_dpd_level

    from balances

),

aggregated as (

    select
        sk_id_bureau,
        count(*) as bb_month_count,
        min(months_balance) as bb_months_balance_min,
        count(*) filter (where status_dpd_level >= 1) as bb_dpd_month_count,
        count(*) filter (where status_dpd_level >= 2) as bb_dpd_over_30_month_count,
        count(*) filter (where status_dpd_level >= 4) as bb_dpd_over_90_month_count,
        avg(case when status_dpd_level >= 1 then 1.0 else 0.0 end) as bb_dpd_month_share,
        max(status_dpd_level) as bb_worst_status,
        avg(case when status = 'C' then 1.0 else 0.0 end) as bb_status_c_share,
        avg(case when status = 'X' then 1.0 else 0.0 end) as bb_status_x_share,
        avg(case when status = '0' then 1.0 else 0.0 end) as bb_status_0_share,
        -max(months_balance) filter (where status_dpd_level >= 1) as bb_months_since_dpd,
        arg_max(status_dpd_level, months_balance) as bb_last_status,
        count(*) filter (where status_dpd_level >= 1 and months_balance >= -12) as bb_dpd_month_count_last_12m

    from scored
    group by sk_id_bureau

)

select * from aggregated
