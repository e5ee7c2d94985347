{#-
    Population stability index helpers (the monitoring marts' one definition of PSI).

    PSI = sum over bins of (current share - reference share) * ln(current share / reference share),
    bins fixed on the reference population. Shares are floored at `drift_psi_epsilon` so that a bin
    empty on one side gives a large but finite term. Reading: below `drift_psi_watch` (0.1) stable,
    up to `drift_psi_act` (0.25) watch, above act.
-#}

{% macro psi_term(reference_share, current_share) -%}
    (
        greatest({{ current_share }}, {{ var('drift_psi_epsilon', 0.0001) }})
        - greatest({{ reference_share }}, {{ var('drift_psi_epsilon', 0.0001) }})
    ) * ln(
        greatest({{ current_share }}, {{ var('drift_psi_epsilon', 0.0001) }})
        / greatest({{ reference_share }}, {{ var('drift_psi_epsilon', 0.0001) }})
    )
{%- endmacro %}

{% macro psi_reading(psi) -%}
    case
        when {{ psi }} is null then null
        when {{ psi }} < {{ var('drift_psi_watch', 0.1) }} then 'stable'
        when {{ psi }} <= {{ var('drift_psi_act', 0.25) }} then 'watch'
        else 'act'
    end
{%- endmacro %}

{#- Bin of `value` among the reference edges edge_1 .. edge_{n-1}: 0 .. n-1, bin k = (edge_k, edge_k+1]. -#}
{% macro drift_bin(value, edges_relation, n_bins) -%}
    {%- for k in range(1, n_bins) %}
    cast({{ value }} > {{ edges_relation }}.edge_{{ k }} as integer){{ ' +' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- edge_1 .. edge_{n-1} as columns from a list of n-1 reference quantiles. -#}
{% macro drift_edge_columns(edges_list, n_bins) -%}
    {%- for k in range(1, n_bins) %}
    {{ edges_list }}[{{ k }}] as edge_{{ k }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- [1/n, 2/n, ..., (n-1)/n]: the reference quantiles that bound the bins. -#}
{% macro drift_quantiles(n_bins) -%}
    [{%- for k in range(1, n_bins) %}{{ (k / n_bins) | round(6) }}{{ ', ' if not loop.last }}{%- endfor %}]
{%- endmacro %}

{#- Lower and upper bound of bin `bin` (null = unbounded). -#}
{% macro drift_bin_bounds(bin, edges_relation, n_bins) -%}
    case {{ bin }}
        {%- for k in range(1, n_bins) %}
        when {{ k }} then {{ edges_relation }}.edge_{{ k }}
        {%- endfor %}
    end as lower_edge,
    case {{ bin }}
        {%- for k in range(0, n_bins - 1) %}
        when {{ k }} then {{ edges_relation }}.edge_{{ k + 1 }}
        {%- endfor %}
    end as upper_edge
{%- endmacro %}

{#-
    The rows of one feature group (an entry of feature_catalog()) for the applicants listed in the
    relation `ids` (a column sk_id_curr): read from the group's own table, not through the mart view
    (joining six wide tables to scan them costs more than the counting), one row per listed
    applicant: those without a row in the group's table (no history) get one with NULL features,
    and counts zero-filled as in feat_applicant_features. The applicant filter and the missing
    applicants are semi and anti joins whose build side is the narrow `ids`, never the wide table.
-#}
{% macro drift_group_rows(group, ids) -%}
    select
        group_rows.sk_id_curr,
        {%- for f in group.features %}
        {{ ('coalesce(group_rows.' ~ f.name ~ ', 0)') if f.fill_zero else ('group_rows.' ~ f.name) }} as {{ f.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select * from {{ ref(group.model) }}
        where sk_id_curr in (select sk_id_curr from {{ ids }})
        union all by name
        select without_rows.sk_id_curr
        from {{ ids }} as without_rows
        anti join {{ ref(group.model) }} as group_table
            on without_rows.sk_id_curr = group_table.sk_id_curr
    ) as group_rows
{%- endmacro %}

{#-
    The champion's probability of a scores row, the one score the drift marts compare: the batch
    scoring stores it for every applicant (champion_probability), while `probability` holds the
    out-of-fold one for the champion's cross-validation rows. Rows written before the column
    existed fall back to `probability` where it came from the champion; otherwise NULL.
-#}
{% macro drift_champion_probability(scores) -%}
    coalesce(
        {{ scores }}.champion_probability,
        case when {{ scores }}.probability_source = 'champion' then {{ scores }}.probability end
    )
{%- endmacro %}

{#-
    The reference edges of every feature as SQL literals, read from `edges_relation` when the model
    runs: {feature: ['<edge_1>'::double, ..., 'null' for a missing edge]} ({} at parse time).
    DuckDB writes a double as the shortest text that reads back to the same double, so comparisons
    with the literals are exact. One string per feature ('|'-joined) so that agate infers no numbers.
-#}
{% macro drift_edge_literals(edges_relation, n_bins) -%}
    {%- if not execute -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set query -%}
        select
            feature,
            concat_ws(
                '|',
                {%- for k in range(1, n_bins) %}
                coalesce(edge_{{ k }}::varchar, 'null'){{ ',' if not loop.last }}
                {%- endfor %}
            ) as edges
        from {{ edges_relation }}
    {%- endset -%}
    {%- set literals = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- set values = [] -%}
        {%- for text in (row[1] | string).split('|') -%}
            {%- do values.append('null' if text == 'null' else "'" ~ text ~ "'::double") -%}
        {%- endfor -%}
        {%- do literals.update({row[0]: values}) -%}
    {%- endfor -%}
    {{ return(literals) }}
{%- endmacro %}

{#-
    The counts of one feature in one population (an aggregate: used with GROUP BY): values present,
    their sum, and how many lie above each edge (a list of n_bins - 1; 0 for a missing edge, so that
    every value falls in bin 0 when the reference had none). Repeated edges repeat one aggregate,
    which DuckDB computes once.
-#}
{% macro drift_feature_counts(value, edge_literals, n_bins) -%}
    struct_pack(
        n_values := count({{ value }}),
        sum_values := sum({{ value }}),
        above := [
            {%- for k in range(n_bins - 1) -%}
            {%- set edge = edge_literals[k] if k < (edge_literals | length) else 'null' -%}
            {{ 'cast(0 as bigint)' if edge == 'null' else 'count_if(' ~ value ~ ' > ' ~ edge ~ ')' }}
            {{- ', ' if not loop.last }}
            {%- endfor -%}
        ]
    )
{%- endmacro %}

{#-
    DuckDB threads while the feature edges and counts run (dbt var drift_duckdb_threads, 2), then
    back to the profile's (CREDIT_DBT_DUCKDB_THREADS, 1): they run alone at the end of step 5.
-#}
{% macro drift_threads(during) -%}
    set threads = {{ var('drift_duckdb_threads', 2) if during else env_var('CREDIT_DBT_DUCKDB_THREADS', '1') }}
{%- endmacro %}
