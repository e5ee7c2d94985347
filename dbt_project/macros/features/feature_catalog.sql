{#-
    Every feature group of feat_applicant_features, in column order: the intermediate model that
    computes it, the alias it is joined under, and its feature specs. The single definition that
    the models, the contract YAML (print_feature_contract) and the contract test all read.
-#}
{% macro feature_catalog() %}
    {{ return([
        {'model': 'int_applications_encoded', 'alias': 'applications', 'features': application_features()},
        {'model': 'int_bureau_credits_aggregated', 'alias': 'bureau', 'features': bureau_features()},
        {'model': 'int_previous_applications_aggregated', 'alias': 'previous_applications', 'features': previous_application_features()},
        {'model': 'int_pos_cash_balances_aggregated', 'alias': 'pos_cash', 'features': pos_cash_features()},
        {'model': 'int_installment_payments_aggregated', 'alias': 'installments', 'features': installment_features()},
        {'model': 'int_credit_card_balances_aggregated', 'alias': 'credit_cards', 'features': credit_card_features()},
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


{#- The mart's select list: the key, then every feature under its group's alias (counts zero-filled). -#}
{% macro feature_mart_columns(catalog) %}
    {%- set columns = [catalog[0].alias ~ '.sk_id_curr'] -%}
    {%- for group in catalog -%}
        {%- for f in group.features -%}
            {%- if f.fill_zero -%}
                {%- do columns.append('coalesce(' ~ group.alias ~ '.' ~ f.name ~ ', 0) as ' ~ f.name) -%}
            {%- else -%}
                {%- do columns.append(group.alias ~ '.' ~ f.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}


{#- (name, DuckDB type) of every column of the mart, in order. -#}
{% macro feature_mart_column_types() %}
    {%- set columns = [('sk_id_curr', 'BIGINT')] -%}
    {%- for f in feature_list() -%}
        {%- do columns.append((f.name, 'DOUBLE')) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
