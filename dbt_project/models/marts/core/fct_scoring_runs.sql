-- One row per scoring run (run_id), newest first by run_order, with is_latest on the newest.

with

scoring_runs as (

    select * from {{ source('scoring', 'scoring_runs') }}

),

final as (

    select
        *,
        row_number() over (order by started_at desc nulls last, run_id desc) as run_order,
        row_number() over (order by started_at desc nulls last, run_id desc) = 1 as is_latest

    from scoring_runs

)

select * from final
