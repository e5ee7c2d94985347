-- The built feat_applicant_features has exactly the columns of feature_catalog(), in order, as
-- doubles (plus the bigint key): the contract YAML and the models derive from the same macros,
-- and this catches any drift between them and the table. Returns the mismatching columns.
{%- set relation = ref('feat_applicant_features') %}

with

expected as (

    select
        expected_columns.column_name,
        expected_columns.data_type,
        expected_columns.ordinal_position

    from (
        values
        {%- for name, data_type in feature_mart_column_types() %}
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
        expected.data_type as expected_type,
        built.data_type as built_type,
        expected.ordinal_position as expected_position,
        built.ordinal_position as built_position,
        coalesce(expected.column_name, built.column_name) as column_name

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
