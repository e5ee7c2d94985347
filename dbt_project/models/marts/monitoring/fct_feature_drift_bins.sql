-- One row per feature and bin: how the new applications (current: applicants without a label,
-- is_train = false) spread over bins fixed on the training applicants (reference), with each bin's
-- term of the population stability index. Bins are the reference deciles of the feature
-- (dim_feature_drift_edges; tied deciles leave empty bins, which are dropped), plus a 'missing'
-- bin (bin = -1) for NULL values.
-- The feature mart is a view joining wide per-table feature tables: reading all its columns at
-- once does not fit DuckDB's memory_limit at full scale, so it is read in slices of
-- `drift_batch_columns` columns (one import CTE each, never materialized), unpivoted and stacked.
{%- set n_bins = var('drift_bins', 10) | int(10) %}
{%- set mart = ref('feat_applicant_features') %}
{%- set batches = drift_feature_batches(mart, var('drift_batch_columns', 250) | int(250)) %}

with
{% for batch in batches %}
features_{{ loop.index }} as not materialized (

    select
        sk_id_curr,
        {{ drift_column_list(batch) }}
    from {{ mart }}

),
{% endfor %}

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

-- every feature of the mart, from the catalog (no scan), so all-NULL features get a row too
feature_list as (

    select column_name as feature

    from information_schema.columns
    where
        table_schema = '{{ mart.schema }}'
        and table_name = '{{ mart.identifier }}'
        and column_name != 'sk_id_curr'

),

populations as (

    select
        sk_id_curr,
        case when is_train then 'reference' else 'current' end as population

    from labels

),

population_sizes as (

    select
        count(*) filter (where population = 'reference') as n_reference,
        count(*) filter (where population = 'current') as n_current

    from populations

),

reference_edges as (

    select * from {{ ref('dim_feature_drift_edges') }}

),

-- every non-null value of every applicant, one row each (UNPIVOT drops NULLs)
long_values as (
    {% for batch in batches %}
    {{ 'union all' if not loop.first }}
    select
        population,
        feature,
        feature_value
    from (
        unpivot (
            select
                features_{{ loop.index }}.*,
                populations.population
            from features_{{ loop.index }}
            inner join populations
                on features_{{ loop.index }}.sk_id_curr = populations.sk_id_curr
        )
        on columns(* exclude (sk_id_curr, population))
        into name feature value feature_value
    ) as value_slice_{{ loop.index }}
    {% endfor %}
),

binned as (

    select
        long_values.population,
        long_values.feature,
        long_values.feature_value,
        coalesce({{ drift_bin('long_values.feature_value', 'reference_edges', n_bins) }}, 0) as bin

    from long_values
    left join reference_edges
        on long_values.feature = reference_edges.feature

),

value_bins as (

    select
        feature,
        bin,
        count(*) filter (where population = 'reference') as n_reference,
        count(*) filter (where population = 'current') as n_current,
        sum(feature_value) filter (where population = 'reference') as sum_reference,
        sum(feature_value) filter (where population = 'current') as sum_current

    from binned
    group by feature, bin

),

non_null_counts as (

    select
        feature,
        sum(n_reference) as n_reference,
        sum(n_current) as n_current

    from value_bins
    group by feature

),

missing_bins as (

    select
        feature_list.feature,
        -1 as bin,
        population_sizes.n_reference - coalesce(non_null_counts.n_reference, 0) as n_reference,
        population_sizes.n_current - coalesce(non_null_counts.n_current, 0) as n_current,
        cast(null as double) as sum_reference,
        cast(null as double) as sum_current

    from feature_list
    cross join population_sizes
    left join non_null_counts
        on feature_list.feature = non_null_counts.feature

),

all_bins as (

    select * from value_bins
    union all
    select * from missing_bins
    where n_reference > 0 or n_current > 0

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
        sum_reference,
        sum_current,
        share_reference,
        share_current,
        {{ psi_term('share_reference', 'share_current') }} as psi_contribution

    from bounded

)

select * from final
