{#-
    CTEs estimating the monthly interest rate r of an annuity loan from its annuity A, principal P
    and number of monthly payments n, i.e. solving A = P r / (1 - (1 + r)^-n).
    Newton's method on g(r) = P r - A (1 - (1 + r)^-n), started at r0 = 2 (A n - P) / (P (n + 1)),
    reaches machine precision in 3-4 steps for real loan terms. One CTE per step (a step refers
    to the previous estimate three times, so inlining the steps would grow the expression 3^k).
    A n <= P (no interest, e.g. 0 % POS loans) gives 0; missing or non-positive inputs give NULL.
    The last CTE, <prefix>_<iterations>, holds every input column plus `<name>`.
-#}
{% macro annuity_interest_rate_ctes(source, annuity, principal, n_payments, name='interest_rate_monthly', prefix='rate_step', iterations=5) %}
    {%- set ctes = [] -%}
    {%- do ctes.append(prefix ~ '_0 as (\n\n    select\n        *,\n        case\n            when ' ~ annuity ~ ' > 0 and ' ~ principal ~ ' > 0 and ' ~ n_payments ~ ' > 0\n'
        ~ '                then greatest(2.0 * (' ~ annuity ~ ' * ' ~ n_payments ~ ' - ' ~ principal ~ ') / (' ~ principal ~ ' * (' ~ n_payments ~ ' + 1)), 0.0)\n'
        ~ '        end as ' ~ name ~ '\n\n    from ' ~ source ~ '\n\n)') -%}
    {%- for i in range(1, iterations + 1) -%}
        {%- set r = name -%}
        {%- do ctes.append(prefix ~ '_' ~ i ~ ' as (\n\n    select\n        * replace (\n            case\n                when ' ~ r ~ ' > 0\n'
            ~ '                    then ' ~ r ~ ' - (' ~ principal ~ ' * ' ~ r ~ ' - ' ~ annuity ~ ' * (1 - pow(1 + ' ~ r ~ ', -' ~ n_payments ~ ')))\n'
            ~ '                    / nullif(' ~ principal ~ ' - ' ~ annuity ~ ' * ' ~ n_payments ~ ' * pow(1 + ' ~ r ~ ', -' ~ n_payments ~ ' - 1), 0)\n'
            ~ '                else ' ~ r ~ '\n            end as ' ~ name ~ '\n        )\n\n    from ' ~ prefix ~ '_' ~ (i - 1) ~ '\n\n)') -%}
    {%- endfor -%}
    {{ return(ctes | join(',\n\n')) }}
{% endmacro %}
