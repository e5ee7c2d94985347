-- One row per scoring run and score bin: how the new applications' calibrated probabilities
-- (current: applicants without a label) spread over the deciles of the training applicants'
-- probabilities in the same run (reference), with each bin's term of the population stability index.
-- Both sides are the champion's probability (scores.champion_probability): the batch scoring runs
-- the champion on every applicant of the mart, training applicants included. scores.probability is
-- not used: for the champion's cross-validation rows it holds their out-of-fold probability, another
-- source whose spread differs from the champion's, so comparing it with the champion's scores of
-- the new applications measured the change of source, not a drift of the population.
{%- set n_bins = var('drift_bins', 10) | int(10) %}

with

scores as (

    select * from {{ source('scoring', 'scores') }}

),

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

scored as (

    select
        scores.run_id,
        {{ drift_champion_probability('scores') }} as probability,
        case when labels.is_train then 'reference' else 'current' end as population

    from scores
    inner join labels
        on scores.sk_id_curr = labels.sk_id_curr
    where {{ drift_champion_probability('scores') }} is not null

),

population_sizes as (

    select
        run_id,
        count(*) filter (where population = 'reference') as n_reference_total,
        count(*) filter (where population = 'current') as n_current_total

    from scored
    group by run_id

),

reference_quantiles as (

    select
        run_id,
        quantile_disc(probability, {{ drift_quantiles(n_bins) }}) as edges

    from scored
    where population = 'reference'
    group by run_id

),

reference_edges as (

    select
        run_id,
        {{ drift_edge_columns('edges', n_bins) }}

    from reference_quantiles

),

binned as (

    select
        scored.run_id,
        scored.population,
        coalesce({{ drift_bin('scored.probability', 'reference_edges', n_bins) }}, 0) as bin

    from scored
    left join reference_edges
        on scored.run_id = reference_edges.run_id

),

counts as (

    select
        run_id,
        bin,
        count(*) filter (where population = 'reference') as n_reference,
        count(*) filter (where population = 'current') as n_current

    from binned
    group by run_id, bin

),

shares as (

    select
        counts.*,
        counts.n_reference / nullif(population_sizes.n_reference_total, 0) as share_reference,
        counts.n_current / nullif(population_sizes.n_current_total, 0) as share_current

    from counts
    inner join population_sizes
        on counts.run_id = population_sizes.run_id

),

final as (

    select
        shares.run_id,
        shares.bin,
        {{ drift_bin_bounds('shares.bin', 'reference_edges', n_bins) }},
        shares.n_reference,
        shares.n_current,
        shares.share_reference,
        shares.share_current,
        {{ psi_term('shares.share_reference', 'shares.share_current') }} as psi_contribution

    from shares
    left join reference_edges
        on shares.run_id = reference_edges.run_id

)

select * from final
