-- One row per applicant, direction and rank (sk_id_curr, direction, rank): the plain-language
-- reasons of the applicant's latest scoring run.

with

reasons as (

    select * from {{ source('scoring', 'reasons') }}

),

scores as (

    select * from {{ ref('fct_scores') }}

),

final as (

    select reasons.*

    from reasons
    inner join scores
        on
            reasons.run_id = scores.run_id
            and reasons.sk_id_curr = scores.sk_id_curr

)

select * from final
