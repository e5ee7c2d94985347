-- One row per scoring run: the population stability index of the calibrated probability between
-- the training applicants (reference) and the new applications (current) scored in that run, its
-- reading (stable / watch / act), and both populations' mean probability and decision mix.
-- Like fct_score_drift_bins, both sides use the champion's probability (champion_probability,
-- stored for every applicant), never the out-of-fold one kept in scores.probability for the
-- champion's cross-validation rows; the decision mix is the champion's decision for that
-- probability (the run's review band: approve below review_low, refuse from review_high).

with

scores as (

    select * from {{ source('scoring', 'scores') }}

),

scoring_runs as (

    select * from {{ source('scoring', 'scoring_runs') }}

),

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

score_bins as (

    select * from {{ ref('fct_score_drift_bins') }}

),

psi_by_run as (

    select
        run_id,
        sum(psi_contribution) as psi,
        count(*) as n_bins

    from score_bins
    group by run_id

),

champion_scores as (

    select
        scores.run_id,
        labels.is_train,
        {{ drift_champion_probability('scores') }} as probability

    from scores
    inner join labels
        on scores.sk_id_curr = labels.sk_id_curr
    where {{ drift_champion_probability('scores') }} is not null

),

champion_decisions as (

    select
        champion_scores.run_id,
        champion_scores.is_train,
        champion_scores.probability,
        case
            when champion_scores.probability < scoring_runs.review_low then 'approve'
            when champion_scores.probability >= scoring_runs.review_high then 'refuse'
            else 'review'
        end as decision

    from champion_scores
    inner join scoring_runs
        on champion_scores.run_id = scoring_runs.run_id

),

populations as (

    select
        run_id,
        count(*) filter (where is_train) as n_reference,
        count(*) filter (where not is_train) as n_current,
        avg(probability) filter (where is_train) as mean_probability_reference,
        avg(probability) filter (where not is_train) as mean_probability_current,
        avg(cast(decision = 'approve' as double)) filter (where is_train) as approve_share_reference,
        avg(cast(decision = 'approve' as double)) filter (where not is_train) as approve_share_current,
        avg(cast(decision = 'refuse' as double)) filter (where is_train) as refuse_share_reference,
        avg(cast(decision = 'refuse' as double)) filter (where not is_train) as refuse_share_current

    from champion_decisions
    group by run_id

),

final as (

    select
        scoring_runs.run_id,
        scoring_runs.model_name,
        scoring_runs.model_version,
        scoring_runs.finished_at as scored_at,
        psi_by_run.psi,
        {{ psi_reading('psi_by_run.psi') }} as psi_reading,
        psi_by_run.n_bins,
        populations.n_reference,
        populations.n_current,
        populations.mean_probability_reference,
        populations.mean_probability_current,
        populations.approve_share_reference,
        populations.approve_share_current,
        populations.refuse_share_reference,
        populations.refuse_share_current,
        scoring_runs.finished_at = max(scoring_runs.finished_at) over () as is_latest_run

    from scoring_runs
    inner join populations
        on scoring_runs.run_id = populations.run_id
    left join psi_by_run
        on scoring_runs.run_id = psi_by_run.run_id

)

select * from final
