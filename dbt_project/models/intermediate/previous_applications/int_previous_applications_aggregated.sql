-- One row per applicant with at least one previous application: prev_* features, see
-- previous_application_features().
{{ config(materialized='chunked_table', chunks=var('applicant_chunks', 3)) }}

with

previous_applications as (

    select * from {{ ref('int_previous_applications_enriched') }}
    where {{ applicant_chunk() }}

),

aggregated as (

    select
        sk_id_curr,
        {{ feature_select(previous_application_features()) | indent(4) }}

    from previous_applications
    group by sk_id_curr

)

select * from aggregated
