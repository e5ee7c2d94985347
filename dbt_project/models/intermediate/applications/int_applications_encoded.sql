-- One row per applicant (train and test): application features (app_*), see application_features().
{{ config(materialized='view') }}

with

applications as (

    select * from {{ ref('stg_home_credit__applications') }}

),

encoded as (

    select
        sk_id_curr,
        {{ feature_select(application_features()) | indent(4) }}

    from applications

)

select * from encoded
