-- One row per feature and population (reference: training applicants; current: applicants without
-- a label): how many applicants have the feature, its sum, and above_1 .. above_{n-1}, how many of
-- them lie above each reference edge (dim_feature_drift_edges). fct_feature_drift_bins derives the
-- bins from these cumulative counts (bin k = above_k - above_{k+1}), fct_feature_drift the means.
-- One pass per feature group, read from the group's own table (drift_group_rows), no long
-- (feature, value) rows: the edges are read when the model runs and written into the SQL as
-- constants, so each value costs n-1 comparisons and counts in an aggregate of two groups.
-- depends_on: {{ ref('feat_applicant_features') }}
{%- for group in feature_catalog() %}
-- depends_on: {{ ref(group.model) }}
{%- endfor %}
{{ config(
    pre_hook="{{ drift_threads(true) }}",
    post_hook="{{ drift_threads(false) }}",
) }}
{%- set n_bins = var('drift_bins', 10) | int(10) %}
{#- parse time, and sqlfluff: a few features of one group (all of them exceed sqlfluff's parse limit) #}
{%- set first = feature_catalog()[0] %}
{%- set parse_catalog = [{'model': first.model, 'alias': first.alias, 'features': first.features[:5]}] %}
{%- set catalog = feature_catalog() if execute is sameas true else parse_catalog %}
{%- set edges = drift_edge_literals(ref('dim_feature_drift_edges'), n_bins) %}

with

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

populations as materialized (

    select sk_id_curr
    from labels

),

reference as materialized (

    select sk_id_curr
    from labels
    where is_train

),
{% for group in catalog %}
counts_{{ group.alias }} as (

    select
        {%- for f in group.features %}
        {%- set counts = drift_feature_counts('features.' ~ f.name, edges.get(f.name, []), n_bins) %}
        {{ counts }} as {{ f.name }},
        {%- endfor %}
        case
            when features.sk_id_curr in (select reference.sk_id_curr from reference) then 'reference'
            else 'current'
        end as population

    from (
        {{ drift_group_rows(group, 'populations') | indent(8) }}
    ) as features
    group by population

),
{% endfor %}

long_counts as (
    {% for group in catalog %}
    {{ 'union all' if not loop.first }}
    select
        population,
        feature,
        feature_counts
    from (
        unpivot counts_{{ group.alias }}
        on columns(* exclude (population))
        into name feature value feature_counts
    ) as counts_{{ group.alias }}_long
    {% endfor %}
),

final as (

    select
        long_counts.feature,
        long_counts.population,
        long_counts.feature_counts.n_values,
        {%- for k in range(1, n_bins) %}
        long_counts.feature_counts.above[{{ k }}] as above_{{ k }},
        {%- endfor %}
        long_counts.feature_counts.sum_values

    from long_counts

)

select * from final
