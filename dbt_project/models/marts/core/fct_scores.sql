-- One row per scored applicant (sk_id_curr): the score of the applicant's latest scoring run,
-- with the label and the segment attributes that dashboards slice by, and the branch.

with

scores as (

    select * from {{ source('scoring', 'scores') }}

),

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

applications as (

    select * from {{ ref('stg_home_credit__applications') }}

),

applicant_branches as (

    select * from {{ ref('dim_applicant_branches') }}

),

ranked_scores as (

    select
        *,
        row_number() over (
            partition by sk_id_curr
            order by scored_at desc, run_id desc
        ) as recency_rank

    from scores

),

latest_scores as (

    select * exclude (recency_rank)
    from ranked_scores
    where recency_rank = 1

),

final as (

    select
        latest_scores.*,
        labels.target,
        labels.is_train,
        applications.name_contract_type as contract_type,
        applications.name_income_type as income_type,
        applications.name_education_type as education_type,
        applications.code_gender as gender,
        applications.region_rating_client as region_rating,
        applications.amt_income_total,
        applications.amt_credit,
        applicant_branches.branch_id,
        case
            when applications.days_birth > -25 * 365.25 then '<25'
            when applications.days_birth > -35 * 365.25 then '25-34'
            when applications.days_birth > -45 * 365.25 then '35-44'
            when applications.days_birth > -55 * 365.25 then '45-54'
            when applications.days_birth > -65 * 365.25 then '55-64'
            else '65+'
        end as age_band

    from latest_scores
    left join labels
        on latest_scores.sk_id_curr = labels.sk_id_curr
    left join applications
        on latest_scores.sk_id_curr = applications.sk_id_curr
    left join applicant_branches
        on latest_scores.sk_id_curr = applicant_branches.sk_id_curr

)

select * from final
