-- One row per previous POS / cash loan and month (sk_id_prev, months_balance).
with

source as (

    select * from {{ source('home_credit', 'pos_cash_balance') }}

),

renamed as (

    select
        sk_id_prev as sk_id_prev,
        sk_id_curr as sk_id_curr,
        months_balance as months_balance,
        cnt_instalment as cnt_instalment,
        cnt_instalment_future as cnt_instalment_future,
        name_contract_status as name_contract_status,
        sk_dpd as sk_dpd,
        sk_dpd_def as sk_dpd_def

    from source

)

select * from renamed
