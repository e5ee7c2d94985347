{#-
    The feature framework. A feature is a dict made by `feature()`: its column name, its SQL
    expression (over the rows of one intermediate model) and its description. The per-table spec
    macros (application_features(), bureau_features(), ...) return lists of them, feature_catalog()
    lists every group, and three consumers read that one definition:
      - the intermediate models render the expressions (feature_select),
      - feat_applicant_features selects the columns (and zero-fills the counts),
      - print_feature_contract (dbt run-operation) writes the mart's contract YAML with the
        descriptions, and assert_feature_columns_match_contract checks the built table against it.
-#}

{% macro feature(name, expr, description, fill_zero=false) %}
    {%- if not modules.re.match('^[a-z][a-z0-9_]*$', name) -%}
        {{ exceptions.raise_compiler_error("feature name '" ~ name ~ "' is not lowercase [a-z0-9_]") }}
    {%- endif -%}
    {{ return({'name': name, 'expr': expr, 'description': description, 'fill_zero': fill_zero}) }}
{% endmacro %}


{#- Lowercase snake-case slug of a category label: 'Cash loans' -> 'cash_loans'. -#}
{% macro slug(label) %}
    {{ return(modules.re.sub('[^a-z0-9]+', '_', label | lower).strip('_')) }}
{% endmacro %}


{#-
    SQL of one aggregate over an expression, restricted to the rows where `where` holds (none = all
    rows). The restriction is a CASE inside the aggregate, not a FILTER clause: same result (the
    aggregates skip NULLs), but DuckDB evaluates many FILTER clauses about five times slower.
    A share is a count over a count (rows where `expr` is NULL count as "no"), not an avg of 1.0 /
    0.0: a count keeps 8 bytes of state per applicant instead of 16, and DuckDB computes the shared
    denominators once.
    `order_by` is the (numeric) time key of first / last and the x of slope.
-#}
{% macro agg_sql(agg, expr, order_by=none, where=none) %}
    {%- set value = ('case when ' ~ where ~ ' then ' ~ expr ~ ' end') if where else expr -%}
    {%- set key = ('case when ' ~ where ~ ' then ' ~ order_by ~ ' end') if where else order_by -%}
    {%- set templates = {
        'min': 'min(' ~ value ~ ')',
        'max': 'max(' ~ value ~ ')',
        'mean': 'avg(' ~ value ~ ')',
        'sum': 'sum(' ~ value ~ ')',
        'var': 'var_samp(' ~ value ~ ')',
        'std': 'stddev_samp(' ~ value ~ ')',
        'share': ('count(case when ' ~ where ~ ' and (' ~ expr ~ ') then 1 end) / nullif(count(case when ' ~ where ~ ' then 1 end), 0)')
            if where else ('count(case when ' ~ expr ~ ' then 1 end) / count(*)'),
        'count': 'count(case when ' ~ ((where ~ ' and ') if where else '') ~ '(' ~ expr ~ ') then 1 end)',
        'nunique': 'count(distinct ' ~ value ~ ')',
        'slope': 'regr_slope(' ~ value ~ ', ' ~ order_by ~ ')',
        'first': 'arg_min(' ~ expr ~ ', ' ~ key ~ ')',
        'last': 'arg_max(' ~ expr ~ ', ' ~ key ~ ')',
    } -%}
    {%- if agg not in templates -%}
        {{ exceptions.raise_compiler_error("unknown aggregate '" ~ agg ~ "'") }}
    {%- endif -%}
    {{ return(templates[agg]) }}
{% endmacro %}


{% macro agg_description(agg, measure_description) %}
    {%- set templates = {
        'min': 'Minimum of ' ~ measure_description,
        'max': 'Maximum of ' ~ measure_description,
        'mean': 'Mean of ' ~ measure_description,
        'sum': 'Sum of ' ~ measure_description,
        'var': 'Sample variance of ' ~ measure_description,
        'std': 'Sample standard deviation of ' ~ measure_description,
        'share': 'Share of rows where ' ~ measure_description,
        'count': 'Number of rows where ' ~ measure_description,
        'nunique': 'Number of distinct values of ' ~ measure_description,
        'slope': 'Trend (least-squares slope over time) of ' ~ measure_description,
        'first': 'Earliest value of ' ~ measure_description,
        'last': 'Most recent value of ' ~ measure_description,
    } -%}
    {{ return(templates[agg]) }}
{% endmacro %}


{#- A row restriction as a CASE for hand-written aggregates: `when(where, expr)`. -#}
{% macro when(where, expr) %}
    {{ return('case when ' ~ where ~ ' then ' ~ expr ~ ' end') }}
{% endmacro %}


{#-
    Measures x aggregates x windows, read in one pass with FILTER clauses.
    measure: {'name', 'expr', 'desc', 'aggs': [...], 'windows': [keys] (optional; default all)}
    window:  {'key', 'suffix' ('' for all rows), 'where' (none for all rows), 'desc'}
    Column name: <prefix>_<measure>_<aggregate>[_<window suffix>].
-#}
{% macro aggregate_features(prefix, measures, windows, unit_desc, order_by=none) %}
    {%- set out = [] -%}
    {%- for window in windows -%}
        {%- for measure in measures -%}
            {%- if measure.get('windows') is none or window.key in measure.windows -%}
                {%- for agg in measure.aggs -%}
                    {%- set name = prefix ~ '_' ~ measure.name ~ '_' ~ agg ~ ('_' ~ window.suffix if window.suffix else '') -%}
                    {%- set expr = agg_sql(agg, measure.expr, measure.get('order_by', order_by), window.where) -%}
                    {%- set is_count = agg in ['count', 'nunique'] -%}
                    {%- set desc = agg_description(agg, measure.desc) ~ ', over ' ~ window.desc ~ ' (' ~ unit_desc ~ ').'
                        ~ (' 0 when there are none.' if is_count else ' NULL when there are none.') -%}
                    {%- do out.append(feature(name, expr, desc, fill_zero=is_count)) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}


{#-
    The measures, with `keys` as the windows of every measure that names none of its own, except
    those in `unless` (which keep every window): how a table narrows its recency windows to the
    measures where recency matters.
-#}
{% macro default_windows(measures, keys, unless=[]) %}
    {%- for m in measures if m.get('windows') is none and m.name not in unless -%}
        {%- do m.update({'windows': keys}) -%}
    {%- endfor -%}
    {{ return(measures) }}
{% endmacro %}


{#- Row counts per window: zero (not NULL) for applicants without rows. -#}
{% macro count_features(prefix, windows, unit_desc) %}
    {%- set out = [] -%}
    {%- for window in windows -%}
        {%- set name = prefix ~ '_count' ~ ('_' ~ window.suffix if window.suffix else '') -%}
        {%- do out.append(feature(name, ('count(case when ' ~ window.where ~ ' then 1 end)') if window.where else 'count(*)',
            'Number of ' ~ unit_desc ~ ' over ' ~ window.desc ~ '. 0 when there are none.', fill_zero=true)) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}


{#- Share of rows in each category level (levels fixed in category_levels(), never learned from data). -#}
{% macro category_share_features(prefix, short_name, column, levels, column_desc, unit_desc, where=none, where_desc=none, suffix=none) %}
    {%- set out = [] -%}
    {%- for level in levels -%}
        {%- set name = prefix ~ '_' ~ short_name ~ '_' ~ slug(level) ~ '_share' ~ ('_' ~ suffix if suffix else '') -%}
        {%- set expr = agg_sql('share', column ~ " = '" ~ level ~ "'", where=where) -%}
        {%- do out.append(feature(name, expr,
            'Share of ' ~ unit_desc ~ (' ' ~ where_desc if where_desc else '') ~ ' whose ' ~ column_desc ~ " is '" ~ level ~ "'. NULL when there are none.")) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}


{#- The select list of an intermediate model: every feature as a double. -#}
{% macro feature_select(features) %}
    {%- for f in features %}
        cast({{ f.expr }} as double) as {{ f.name }}{{ ',' if not loop.last }}
    {%- endfor %}
{% endmacro %}
