-- One row per feature (feature) for the model version of the latest scoring run: mean |SHAP|
-- and rank.

with

global_importance as (

    select * from {{ source('scoring', 'global_importance') }}

),

scoring_runs as (

    select * from {{ ref('fct_scoring_runs') }}

),

latest_run as (

    select
        model_name,
        model_version

    from scoring_runs
    where is_latest

),

final as (

    select global_importance.*

    from global_importance
    inner join latest_run
        on
            global_importance.model_name = latest_run.model_name
            and global_importance.model_version = latest_run.model_version

)

select * from final
