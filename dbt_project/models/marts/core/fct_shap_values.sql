-- One row per applicant and feature (sk_id_curr, feature) of the applicant's latest scoring run:
-- the top SHAP contributions plus the '__bias__' and '__others__' rows.

with

shap_values as (

    select * from {{ source('scoring', 'shap_values') }}

),

scores as (

    select * from {{ ref('fct_scores') }}

),

final as (

    select shap_values.*

    from shap_values
    inner join scores
        on
            shap_values.run_id = scores.run_id
            and shap_values.sk_id_curr = scores.sk_id_curr

)

select * from final
