-- One row per applicant with at least one bureau credit: bureau_* features, see bureau_features().
{{ config(materialized='chunked_table', chunks=var('applicant_chunks', 2)) }}

with

credits as (

    select * from {{ ref('int_bureau_credits_enriched') }}
    where {{ applicant_chunk() }}

),

aggregated as (

    select
        sk_id_curr,
        {{ feature_select(bureau_features()) | indent(4) }}

    from credits
    group by sk_id_curr

)

select * from aggregated
