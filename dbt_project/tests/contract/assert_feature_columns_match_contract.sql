-- The built feat_applicant_features has exactly the columns of feature_catalog(), in order, as
-- doubles (plus the bigint key): the contract YAML and the models derive from the same macros,
-- and this catches any drift between them and the table. Returns the mismatching columns.
{%- set relation = ref('feat_applicant_features') %}
{%- set expected = [('sk_id_curr', 'BIGINT')] %}
{%- for f in feature_list() %}
    {%- do expected.append((f.name, 'DOUBLE')) %}
{%- endfor %}

with

expected as (

    select * from (
        values
        {%- for name, data_type in expected %}
            ('{{ name }}', '{{ data_type }}', {{ loop.index }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as expected_columns (column_name, data_type, ordinal_position)

),

built as (

    select
        column_name,
        data_type,
        ordinal_position

    from information_schema.columns
    where
        table_catalog = '{{ relation.database }}'
        and table_schema = '{{ relation.schema }}'
        and table_name = '{{ relation.identifier }}'

),

mismatches as (

    select
        coalesce(expected.column_name, built.column_name) as column_name,
        expected.data_type as expected_type,
        built.data_type as built_type,
        expected.ordinal_position as expected_position,
        built.ordinal_position as built_position

    from expected
    full outer join built
        on expected.column_name = built.column_name
    where
        expected.column_name is null
        or built.column_name is null
        or expected.data_type != built.data_type
        or expected.ordinal_position != built.ordinal_position

)

select * from mismatches
