{#-
    The marker a model puts in the WHERE clause of each import CTE that reads applicant rows:
    `where {{ applicant_chunk() }}`. It renders as `true` (so the compiled SQL, as the API runs
    it over one request's rows, is plain), and the chunked_table materialization swaps it for
    `<chunk_key> % <chunks> = <i>` to build the table in `chunks` passes.
-#}
{% macro applicant_chunk() %}
    {{- return('true /* applicant_chunk */') -}}
{% endmacro %}


{#-
    materialized='chunked_table': a table built in `chunks` sequential passes, each over the
    applicants with `chunk_key % chunks = i` (config chunks, chunk_key; default 1 pass on
    sk_id_curr). Wide per-applicant aggregates (hundreds of aggregate states per applicant)
    then need 1/chunks of the memory, so DuckDB's memory_limit holds at full scale; each pass
    rereads only the columns it needs. Same result as a table: the chunks partition the keys
    and every feature depends only on its own applicant's rows. Contracts are honoured
    (create_table_as creates the contracted table with the first chunk).
-#}
{% materialization chunked_table, adapter='duckdb' %}
    {%- set chunks = config.get('chunks', 1) | int -%}
    {%- set chunk_key = config.get('chunk_key', 'sk_id_curr') -%}
    {%- set marker = applicant_chunk() -%}
    {%- if chunks > 1 and marker not in sql -%}
        {{ exceptions.raise_compiler_error(
            "chunked_table " ~ this ~ ": the model has no `where {{ applicant_chunk() }}` in its import CTEs") }}
    {%- endif -%}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
    {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
    {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
    {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}

    {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
    {{ drop_relation_if_exists(preexisting_backup_relation) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- for i in range(chunks) %}
        {%- set chunk_sql = sql | replace(marker, (chunk_key ~ ' % ' ~ chunks ~ ' = ' ~ i) if chunks > 1 else 'true') -%}
        {%- if loop.first %}
            {% call statement('main') -%}
                {{ create_table_as(False, intermediate_relation, chunk_sql) }}
            {%- endcall %}
        {%- else %}
            {% call statement('chunk_' ~ i) -%}
                insert into {{ intermediate_relation }}
                select * from (
                    {{ chunk_sql }}
                ) as applicant_chunk
            {%- endcall %}
        {%- endif %}
    {%- endfor %}

    {% if existing_relation is not none %}
        {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
