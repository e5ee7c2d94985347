{#- Generic test: the model has exactly as many rows as compare_model (fails with one row otherwise). -#}
{% test same_row_count(model, compare_model) %}

with

counts as (

    select
        (select count(*) from {{ model }}) as n_model,
        (select count(*) from {{ compare_model }}) as n_compare

)

select * from counts
where n_model != n_compare

{% endtest %}
