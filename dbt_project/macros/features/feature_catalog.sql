{#-
    Every feature group of feat_applicant_features, in column order: the intermediate model that
    computes it, the alias it is joined under, and its feature specs. The single definition that
    the models, the contract YAML (print_feature_contract) and the contract test all read.
-#}
{% macro feature_catalog() %}
    {{ return([
        {'model': 'int_applications_encoded', 'alias': 'applications', 'features': application_features()},
        {'model': 'int_bureau_credits_aggregated', 'alias': 'bureau', 'features': bureau_features()},
    ]) }}
{% endmacro %}


{#- Every feature of the mart, flattened. -#}
{% macro feature_list() %}
    {%- set out = [] -%}
    {%- for group in feature_catalog() -%}
        {%- do out.extend(group.features) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
