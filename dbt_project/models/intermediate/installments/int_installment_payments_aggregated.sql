-- One row per applicant with at least one installment payment: inst_* features, see
-- installment_features().
{{ config(materialized='chunked_table', chunks=var('applicant_chunks', 1)) }}

with

payments as (

    select * from {{ ref('int_installment_payments_enriched') }}
    where {{ applicant_chunk() }}

),

aggregated as (

    select
        sk_id_curr,
        {{ feature_select(installment_features()) | indent(4) }}

    from payments
    group by sk_id_curr

)

select * from aggregated
