-- One row per previous Home Credit application (sk_id_prev).
with

source as (

    select * from {{ source('home_credit', 'previous_application') }}

),

renamed as (

    select
        sk_id_prev as sk_id_prev,
        sk_id_curr as sk_id_curr,
        nullif(name_contract_type, 'XNA') as name_contract_type,
        amt_annuity as amt_annuity,
        amt_application as amt_application,
        amt_credit as amt_credit,
        amt_down_payment as amt_down_payment,
        amt_goods_price as amt_goods_price,
        weekday_appr_process_start as weekday_appr_process_start,
        hour_appr_process_start as hour_appr_process_start,
        case flag_last_appl_per_contract when 'Y' then true when 'N' then false end as is_last_application_per_contract,
        nflag_last_appl_in_day as nflag_last_appl_in_day,
        rate_down_payment as rate_down_payment,
        rate_interest_primary as rate_interest_primary,
        rate_interest_privileged as rate_interest_privileged,
        case
            when name_cash_loan_purpose in ('XAP', 'XNA') then null else name_cash_loan_purpose
        end as name_cash_loan_purpose,
        name_contract_status as name_contract_status,
        days_decision as days_decision,
        nullif(name_payment_type, 'XNA') as name_payment_type,
        case
            when code_reject_reason in ('XAP', 'XNA') then null else code_reject_reason
        end as code_reject_reason,
        name_type_suite as name_type_suite,
        nullif(name_client_type, 'XNA') as name_client_type,
        nullif(name_goods_category, 'XNA') as name_goods_category,
        nullif(name_portfolio, 'XNA') as name_portfolio,
        nullif(name_product_type, 'XNA') as name_product_type,
        channel_type as channel_type,
        sellerplace_area as sellerplace_area,
        nullif(name_seller_industry, 'XNA') as name_seller_industry,
        cnt_payment as cnt_payment,
        nullif(name_yield_group, 'XNA') as name_yield_group,
        product_combination as product_combination,
        nullif(days_first_drawing, 365243) as days_first_drawing,
        nullif(days_first_due, 365243) as days_first_due,
        nullif(days_last_due_1st_version, 365243) as days_last_due_1st_version,
        nullif(days_last_due, 365243) as days_last_due,
        nullif(days_termination, 365243) as days_termination,
        nflag_insured_on_approval as nflag_insured_on_approval

    from source

)

select * from renamed
