-- One row per feature of the mart: the edges of its drift bins, the reference deciles edge_1 ..
-- edge_{n-1} of the feature over a fixed hash sample of `drift_edge_sample_rows` training
-- applicants (NULL edges: no reference value in the sample). fct_feature_drift_counts bins every
-- applicant's value with them. A table of its own: its edges are written into the counts' SQL.
-- Each feature group is read from its own table for the sampled applicants only
-- (drift_group_rows), never through the mart view.
-- depends_on: {{ ref('feat_applicant_features') }}
{{ config(
    pre_hook="{{ drift_threads(true) }}",
    post_hook="{{ drift_threads(false) }}",
) }}
{%- set n_bins = var('drift_bins', 10) | int(10) %}
{%- set catalog = feature_catalog() %}

with

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

edge_sample as materialized (

    select sk_id_curr

    from labels
    where is_train
    qualify
        row_number() over (order by hash(sk_id_curr), sk_id_curr)
        <= {{ var('drift_edge_sample_rows', 20000) }}

),

edge_sample_values as (
    {% for group in catalog %}
    {{ 'union all' if not loop.first }}
    select
        feature,
        feature_value
    from (
        unpivot (
            {{ drift_group_rows(group, 'edge_sample') | indent(12) }}
        )
        on columns(* exclude (sk_id_curr))
        into name feature value feature_value
    ) as sample_{{ group.alias }}
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
