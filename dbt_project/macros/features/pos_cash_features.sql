{#-
    POS and cash loan monthly balance features (prefix pos_), aggregated from
    stg_home_credit__pos_cash_balances in one pass: recency windows on months_balance,
    days-past-due buckets, remaining-term shares, contract status shares and trends.
-#}

{% macro pos_cash_windows() %}
    {{ return([
        {'key': 'all', 'suffix': '', 'where': none, 'desc': 'all monthly POS / cash balances'},
        {'key': 'last_6m', 'suffix': 'last_6m', 'where': 'months_balance >= -6', 'desc': 'monthly POS / cash balances of the last 6 months'},
        {'key': 'last_12m', 'suffix': 'last_12m', 'where': 'months_balance >= -12', 'desc': 'monthly POS / cash balances of the last 12 months'},
    ]) }}
{% endmacro %}


{% macro pos_cash_measures() %}
    {{ return([
        {'name': 'months_balance', 'expr': 'months_balance', 'desc': 'month of the balance relative to the application (negative)', 'aggs': ['min', 'max', 'mean'], 'windows': ['all']},
        {'name': 'cnt_instalment', 'expr': 'cnt_instalment', 'desc': 'term of the previous credit (number of installments)', 'aggs': ['min', 'max', 'mean']},
        {'name': 'cnt_instalment_future', 'expr': 'cnt_instalment_future', 'desc': 'installments left to pay', 'aggs': ['min', 'max', 'mean']},
        {'name': 'remaining_share', 'expr': 'cnt_instalment_future / nullif(cnt_instalment, 0)', 'desc': 'share of the term left to pay', 'aggs': ['mean', 'min']},
        {'name': 'days_past_due', 'expr': 'sk_dpd', 'desc': 'days past due in the month', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'days_past_due_def', 'expr': 'sk_dpd_def', 'desc': 'days past due in the month, ignoring small debts', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'is_late', 'expr': 'sk_dpd > 0', 'desc': 'the loan was past due in the month', 'aggs': ['share', 'count']},
        {'name': 'is_late_def', 'expr': 'sk_dpd_def > 0', 'desc': 'the loan was past due in the month, ignoring small debts', 'aggs': ['share']},
        {'name': 'dpd_over_30', 'expr': 'sk_dpd > 30', 'desc': 'the loan was more than 30 days past due in the month', 'aggs': ['share', 'count']},
        {'name': 'dpd_over_60', 'expr': 'sk_dpd > 60', 'desc': 'the loan was more than 60 days past due in the month', 'aggs': ['share']},
        {'name': 'dpd_over_90', 'expr': 'sk_dpd > 90', 'desc': 'the loan was more than 90 days past due in the month', 'aggs': ['share', 'count']},
    ]) }}
{% endmacro %}


{% macro pos_cash_features() %}
    {%- set windows = pos_cash_windows() -%}
    {%- set levels = category_levels() -%}
    {#- every measure over all months and the last 12; the 6-month window on days past due only -#}
    {%- set short_long = ['days_past_due', 'is_late', 'dpd_over_30'] -%}
    {%- set measures = default_windows(pos_cash_measures(), ['all', 'last_12m'], unless=short_long) -%}
    {%- set out = count_features('pos', windows, 'monthly POS / cash balances') -%}
    {%- do out.extend(aggregate_features('pos', measures, windows, 'POS / cash loans')) -%}
    {%- do out.extend(category_share_features('pos', 'status', 'name_contract_status', levels['pos_cash_balance.name_contract_status'], 'contract status', 'monthly POS / cash balances')) -%}
    {%- do out.extend(category_share_features('pos', 'status', 'name_contract_status', levels['pos_cash_balance.name_contract_status'], 'contract status', 'monthly POS / cash balances', where='months_balance >= -12', where_desc='of the last 12 months', suffix='last_12m')) -%}
    {#- time key of the latest month, ties broken by the loan id -#}
    {%- set latest = 'months_balance * 1e8 + sk_id_prev' -%}
    {%- set custom = [
        ['pos_days_past_due_last', 'arg_max(sk_dpd, ' ~ latest ~ ')', 'Days past due in the most recent POS / cash balance month. NULL when there are none.'],
        ['pos_cnt_instalment_future_last', 'arg_max(cnt_instalment_future, ' ~ latest ~ ')', 'Installments left in the most recent POS / cash balance month. NULL when there are none.'],
        ['pos_is_active_last', "arg_max(case when name_contract_status = 'Active' then 1 else 0 end, " ~ latest ~ ')', 'Whether the most recent POS / cash balance month shows an active loan (1/0). NULL when there are none.'],
        ['pos_days_past_due_trend', 'regr_slope(sk_dpd, months_balance)', 'Trend of days past due over months (slope per month). NULL with fewer than two months.'],
        ['pos_days_past_due_trend_last_12m', 'regr_slope(case when months_balance >= -12 then sk_dpd end, months_balance)', 'Trend of days past due over the last 12 months (slope per month). NULL with fewer than two months.'],
        ['pos_remaining_share_trend', 'regr_slope(cnt_instalment_future / nullif(cnt_instalment, 0), months_balance)', 'Trend of the share of the term left to pay (slope per month). NULL with fewer than two months.'],
    ] -%}
    {%- for name, expr, desc in custom -%}
        {%- do out.append(feature(name, expr, desc, fill_zero=name.endswith('_count'))) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
