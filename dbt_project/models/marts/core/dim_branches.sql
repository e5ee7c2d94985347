-- One row per branch (branch_id) with its loan officer: the branch seed as a mart.

with

branches as (

    select * from {{ ref('branches') }}

),

final as (

    select
        branch_id,
        branch_name,
        city,
        officer_username,
        officer_name

    from branches

)

select * from final
