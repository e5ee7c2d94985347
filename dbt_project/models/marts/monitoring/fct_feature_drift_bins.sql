-- One row per feature and bin: how the new applications (current: applicants without a label,
-- is_train = false) spread over bins fixed on the training applicants (reference), with each bin's
-- term of the population stability index. Bins are the reference deciles of the feature
-- (dim_feature_drift_edges; tied deciles leave empty bins, which are dropped), plus a 'missing'
-- bin (bin = -1) for NULL values.
-- Counts come from fct_feature_drift_counts (one pass over the mart, cumulative counts above each
-- edge): bin 0 = values - above_1, bin k = above_k - above_{k+1}, the top bin = above_{n-1}.
{%- set n_bins = var('drift_bins', 10) | int(10) %}

with

counts as (

    select * from {{ ref('fct_feature_drift_counts') }}

),

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

population_sizes as (

    select
        count(*) filter (where is_train) as n_reference,
        count(*) filter (where not is_train) as n_current

    from labels

),

reference_edges as (

    select * from {{ ref('dim_feature_drift_edges') }}

),

-- one row per feature, population and bin (missing values: bin -1)
population_bins as (

    select
        counts.feature,
        counts.population,
        bins.bin,
        bins.n

    from counts
    cross join lateral (
        select
            -1 as bin,
            case counts.population
                when 'reference' then population_sizes.n_reference
                else population_sizes.n_current
            end - counts.n_values as n
        from population_sizes
        union all
        select
            0 as bin,
            counts.n_values - counts.above_1 as n
        {%- for k in range(1, n_bins - 1) %}
        union all
        select
            {{ k }} as bin,
            counts.above_{{ k }} - counts.above_{{ k + 1 }} as n
        {%- endfor %}
        union all
        select
            {{ n_bins - 1 }} as bin,
            counts.above_{{ n_bins - 1 }} as n
    ) as bins

),

all_bins as (

    select
        feature,
        bin,
        coalesce(sum(n) filter (where population = 'reference'), 0) as n_reference,
        coalesce(sum(n) filter (where population = 'current'), 0) as n_current

    from population_bins
    group by feature, bin
    having n_reference > 0 or n_current > 0

),

shares as (

    select
        all_bins.*,
        all_bins.n_reference / nullif(population_sizes.n_reference, 0) as share_reference,
        all_bins.n_current / nullif(population_sizes.n_current, 0) as share_current

    from all_bins
    cross join population_sizes

),

bounded as (

    select
        shares.*,
        reference_edges.edge_1 as first_edge,
        reference_edges.edge_{{ n_bins - 1 }} as last_edge,
        {{ drift_bin_bounds('shares.bin', 'reference_edges', n_bins) }}

    from shares
    left join reference_edges
        on shares.feature = reference_edges.feature

),

final as (

    select
        feature,
        bin,
        case
            when bin = -1 then 'missing'
            when bin = 0 then '<= ' || format('{:.6g}', first_edge)
            when bin = {{ n_bins - 1 }} then '> ' || format('{:.6g}', last_edge)
            else '(' || format('{:.6g}', lower_edge) || ', ' || format('{:.6g}', upper_edge) || ']'
        end as bin_label,
        lower_edge,
        upper_edge,
        n_reference,
        n_current,
        share_reference,
        share_current,
        {{ psi_term('share_reference', 'share_current') }} as psi_contribution

    from bounded

)

select * from final
