-- One row per applicant (train and test), keyed by sk_id_curr: every feature the model sees, and
-- no label (see feat_applicant_labels). Columns come from feature_catalog(); applicants without
-- history keep their row, with NULL aggregates and zero counts.
-- A view over the six per-table feature tables: writing 1,500+ columns again as one table costs
-- more time and memory than the key joins it saves (readers scan it once, or look up one key).
{{ config(materialized='view') }}
{%- set catalog = feature_catalog() %}
{%- set base = catalog[0].alias %}

with
{% for group in catalog %}
{{ group.alias }} as (

    select * from {{ ref(group.model) }}

),
{% endfor %}
joined as (

    select
        {{ feature_mart_columns(catalog) | join(',\n        ') }}

    from {{ base }}
    {% for group in catalog[1:] %}
    left join {{ group.alias }}
        on {{ base }}.sk_id_curr = {{ group.alias }}.sk_id_curr
    {% endfor %}

)

select * from joined
