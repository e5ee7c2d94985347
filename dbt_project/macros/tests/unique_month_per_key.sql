{#-
    Generic test: no two rows share (`key`, `month`), for monthly tables where `month` is a
    months-before-the-application integer (MONTHS_BALANCE: 0, -1, ..., -96 in the Kaggle data).
    Same result as unique_combination on the pair, without a hash table of every pair (27 M for
    bureau_balance): one pass groups by `key` and folds its months into two 63-bit masks; a key
    whose month count equals the number of set bits has no duplicate. Keys the masks cannot
    prove (months outside -125..0, or a count that differs) get the exact check.
-#}
{% test unique_month_per_key(model, key, month) %}

with

per_key as (

    select
        {{ key }} as key_value,
        count(*) as n_rows,
        coalesce(bit_count(bit_or(
            case when {{ month }} between -62 and 0 then cast(1 as bigint) << cast(-{{ month }} as bigint) end
        )), 0)
        + coalesce(bit_count(bit_or(
            case when {{ month }} between -125 and -63 then cast(1 as bigint) << cast(-{{ month }} - 63 as bigint) end
        )), 0) as n_distinct_months,
        count(case when {{ month }} not between -125 and 0 then 1 end) as n_outside

    from {{ model }}
    where {{ month }} is not null
    group by {{ key }}

),

unproven as (

    select key_value from per_key
    where n_outside > 0 or n_rows <> n_distinct_months

)

select
    {{ key }},
    {{ month }},
    count(*) as n_rows
from {{ model }}
where {{ key }} in (select key_value from unproven)
group by {{ key }}, {{ month }}
having count(*) > 1

{% endtest %}
