-- One row per previous credit card and month (sk_id_prev, months_balance).
with

source as (

    select * from {{ source('home_credit', 'credit_card_balance') }}

),

renamed as (

    select
        sk_id_prev as sk_id_prev,
        sk_id_curr as sk_id_curr,
        months_balance as months_balance,
        amt_balance as amt_balance,
        amt_credit_limit_actual as amt_credit_limit_actual,
        amt_drawings_atm_current as amt_drawings_atm_current,
        amt_drawings_current as amt_drawings_current,
        amt_drawings_other_current as amt_drawings_other_current,
        amt_drawings_pos_current as amt_drawings_pos_current,
        amt_inst_min_regularity as amt_inst_min_regularity,
        amt_payment_current as amt_payment_current,
        amt_payment_total_current as amt_payment_total_current,
        amt_receivable_principal as amt_receivable_principal,
        amt_recivable as amt_receivable,
        amt_total_receivable as amt_total_receivable,
        cnt_drawings_atm_current as cnt_drawings_atm_current,
        cnt_drawings_current as cnt_drawings_current,
        cnt_drawings_other_current as cnt_drawings_other_current,
        cnt_drawings_pos_current as cnt_drawings_pos_current,
        cnt_instalment_mature_cum as cnt_instalment_mature_cum,
        name_contract_status as name_contract_status,
        sk_dpd as sk_dpd,
        sk_dpd_def as sk_dpd_def

    from source

)

select * from renamed
