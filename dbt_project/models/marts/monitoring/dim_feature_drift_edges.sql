-- One row per feature of the mart: the edges of its drift bins, the reference deciles edge_1 ..
-- edge_{n-1} of the feature over a fixed hash sample of `drift_edge_sample_rows` training
-- applicants (NULL edges: no reference value in the sample). fct_feature_drift_bins bins every
-- applicant's value with them. A table of its own so that this aggregation and the full scan of
-- the bins never hold memory at the same time.
-- The feature mart is a view joining wide per-table feature tables: it is read in slices of
-- `drift_batch_columns` columns (one import CTE each, never materialized).
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

edge_sample as (

    select sk_id_curr

    from labels
    where is_train
    qualify
        row_number() over (order by hash(sk_id_curr), sk_id_curr)
        <= {{ var('drift_edge_sample_rows', 20000) }}

),

edge_sample_values as (
    {% for batch in batches %}
    {{ 'union all' if not loop.first }}
    select
        feature,
        feature_value
    from (
        unpivot (
            select features_{{ loop.index }}.*
            from features_{{ loop.index }}
            semi join edge_sample
                on features_{{ loop.index }}.sk_id_curr = edge_sample.sk_id_curr
        )
        on columns(* exclude (sk_id_curr))
        into name feature value feature_value
    ) as sample_slice_{{ loop.index }}
    {% endfor %}
),

reference_quantiles as (

    select
        feature,
        quantile_disc(feature_value, {{ drift_quantiles(n_bins) }}) as edges

    from edge_sample_values
    group by feature

),

final as (

    select
        feature,
        {{ drift_edge_columns('edges', n_bins) }}

    from reference_quantiles

)

select * from final
