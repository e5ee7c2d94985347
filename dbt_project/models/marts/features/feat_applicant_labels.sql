-- One row per applicant (train and test), keyed by sk_id_curr: the outcome, kept apart from the
-- features so that no feature can read it. target is NULL for test applicants.

with

applications as (

    select * from {{ ref('stg_home_credit__applications') }}

),

labels as (

    select
        sk_id_curr,
        target,
        is_train

    from applications

)

select * from labels
