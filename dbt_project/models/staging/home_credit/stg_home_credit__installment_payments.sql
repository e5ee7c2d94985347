-- One row per installment payment of a previous credit (an installment can be paid in several rows).
with

source as (

    select * from {{ source('home_credit', 'installments_payments') }}

),

renamed as (

    select
        sk_id_prev as sk_id_prev,
        sk_id_curr as sk_id_curr,
        num_instalment_version as num_instalment_version,
        num_instalment_number as num_instalment_number,
        days_instalment as days_instalment,
        days_entry_payment as days_entry_payment,
        amt_instalment as amt_instalment,
        amt_payment as amt_payment

    from source

)

select * from renamed
