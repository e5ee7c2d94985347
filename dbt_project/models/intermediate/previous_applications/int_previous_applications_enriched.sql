-- One row per previous application (sk_id_prev): ratios, the estimated interest rate and the
-- recency rank among the applicant's own previous applications. A table: the window and the
-- interest-rate iterations run once, and int_previous_applications_aggregated reads it per chunk.

with

previous_applications as (

    select * from {{ ref('stg_home_credit__previous_applications') }}

),

{{ annuity_interest_rate_ctes('previous_applications', 'amt_annuity', 'amt_credit', 'cnt_payment', iterations=5) }},

enriched as (

    select
        -- rounded to 1e-10 (far below any meaningful rate difference): stable across platforms
        * replace (
            case
                when interest_rate_monthly >= 0 and isfinite(interest_rate_monthly)
                    then round(interest_rate_monthly, 10)
            end as interest_rate_monthly
        ),
        case
            when interest_rate_monthly >= 0 and isfinite(interest_rate_monthly)
                then round(pow(1 + interest_rate_monthly, 12) - 1, 10)
        end as interest_rate_annual,
        amt_application / nullif(amt_credit, 0) as application_credit_ratio,
        amt_credit / nullif(amt_goods_price, 0) as credit_goods_ratio,
        amt_annuity / nullif(amt_credit, 0) as annuity_credit_ratio,
        amt_annuity * cnt_payment as total_payment,
        (amt_annuity * cnt_payment / nullif(amt_credit, 0) - 1)
        / nullif(cnt_payment / 12.0, 0) as simple_interest_rate_annual,
        days_last_due_1st_version - days_first_due as planned_duration_days,
        days_last_due - days_last_due_1st_version as last_due_shift_days,
        name_contract_status = 'Approved' as is_approved,
        name_contract_status = 'Refused' as is_refused,
        -- time key of first / last: the decision day, ties broken by the application id
        days_decision * 1e8 + sk_id_prev as recency_key,
        row_number() over (
            partition by sk_id_curr
            order by days_decision desc, sk_id_prev desc
        ) as recency_rank

    from rate_step_5

)

select * from enriched
