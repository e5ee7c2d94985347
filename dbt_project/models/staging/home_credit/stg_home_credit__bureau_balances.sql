-- One row per bureau credit and month (sk_id_bureau, months_balance): monthly status.
with

source as (

    select * from {{ source('home_credit', 'bureau_balance') }}

),

renamed as (

    select
        sk_id_bureau as sk_id_bureau,
        months_balance as months_balance,
        status as status

    from source

)

select * from renamed
