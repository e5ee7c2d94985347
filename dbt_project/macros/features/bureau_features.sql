{#-
    Credit bureau features (prefix bureau_), aggregated from int_bureau_credits_enriched: one row
    per bureau credit with its monthly balance history already folded in (bb_* columns).
    State splits (active / closed) and a recency window (opened in the last 2 years) are FILTER
    clauses of the same single pass.
-#}

{% macro bureau_windows() %}
    {{ return([
        {'key': 'all', 'suffix': '', 'where': none, 'desc': 'all bureau credits'},
        {'key': 'active', 'suffix': 'active', 'where': "credit_active = 'Active'", 'desc': 'active bureau credits'},
        {'key': 'closed', 'suffix': 'closed', 'where': "credit_active = 'Closed'", 'desc': 'closed bureau credits'},
        {'key': 'last_730d', 'suffix': 'last_730d', 'where': 'days_credit >= -730', 'desc': 'bureau credits opened in the 730 days before the application'},
    ]) }}
{% endmacro %}


{% macro bureau_measures() %}
    {%- set all_splits = ['all', 'active', 'closed', 'last_730d'] -%}
    {{ return([
        {'name': 'days_credit', 'expr': 'days_credit', 'desc': 'days from the credit opening to the application (negative)', 'aggs': ['min', 'max', 'mean', 'var']},
        {'name': 'days_overdue', 'expr': 'credit_day_overdue', 'desc': 'days past due on the credit at the application', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'days_credit_enddate', 'expr': 'days_credit_enddate', 'desc': 'days to the planned end of the credit (positive: still to run, a planned date known at the application)', 'aggs': ['min', 'max', 'mean']},
        {'name': 'days_enddate_fact', 'expr': 'days_enddate_fact', 'desc': 'days since the credit was actually closed', 'aggs': ['min', 'max', 'mean'], 'windows': ['all', 'closed']},
        {'name': 'amt_credit_max_overdue', 'expr': 'amt_credit_max_overdue', 'desc': 'largest amount ever overdue on the credit', 'aggs': ['max', 'mean']},
        {'name': 'cnt_credit_prolong', 'expr': 'cnt_credit_prolong', 'desc': 'number of times the credit was prolonged', 'aggs': ['sum', 'max']},
        {'name': 'amt_credit_sum', 'expr': 'amt_credit_sum', 'desc': 'credit amount', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'amt_credit_sum_debt', 'expr': 'amt_credit_sum_debt', 'desc': 'current debt on the credit', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'amt_credit_sum_limit', 'expr': 'amt_credit_sum_limit', 'desc': 'credit limit of a credit card', 'aggs': ['mean', 'sum']},
        {'name': 'amt_credit_sum_overdue', 'expr': 'amt_credit_sum_overdue', 'desc': 'amount currently overdue on the credit', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'days_credit_update', 'expr': 'days_credit_update', 'desc': 'days since the last bureau update of the credit', 'aggs': ['min', 'max', 'mean']},
        {'name': 'amt_annuity', 'expr': 'amt_annuity', 'desc': 'annuity of the credit', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'debt_ratio', 'expr': 'debt_ratio', 'desc': 'debt divided by credit amount', 'aggs': ['mean', 'max']},
        {'name': 'overdue_ratio', 'expr': 'overdue_ratio', 'desc': 'overdue amount divided by debt', 'aggs': ['mean', 'max']},
        {'name': 'limit_ratio', 'expr': 'limit_ratio', 'desc': 'credit-card limit divided by credit amount', 'aggs': ['mean']},
        {'name': 'duration_days', 'expr': 'credit_duration_days', 'desc': 'planned duration of the credit in days', 'aggs': ['mean', 'max']},
        {'name': 'enddate_gap_days', 'expr': 'enddate_gap_days', 'desc': 'actual minus planned end date in days (positive: closed late)', 'aggs': ['mean', 'max'], 'windows': ['all', 'closed']},
        {'name': 'annuity_to_credit_ratio', 'expr': 'annuity_to_credit_ratio', 'desc': 'annuity divided by credit amount', 'aggs': ['mean']},
        {'name': 'is_overdue', 'expr': 'credit_day_overdue > 0', 'desc': 'the credit is past due at the application', 'aggs': ['share', 'count']},
        {'name': 'has_overdue_amount', 'expr': 'amt_credit_sum_overdue > 0', 'desc': 'the credit has an overdue amount', 'aggs': ['share']},
        {'name': 'bb_months', 'expr': 'bb_month_count', 'desc': 'months of balance history of the credit', 'aggs': ['mean', 'sum', 'max']},
        {'name': 'bb_dpd_month_share', 'expr': 'bb_dpd_month_share', 'desc': 'share of months past due (status 1-5) in the credit history', 'aggs': ['mean', 'max']},
        {'name': 'bb_dpd_months', 'expr': 'bb_dpd_month_count', 'desc': 'months past due (status 1-5) in the credit history', 'aggs': ['sum', 'max']},
        {'name': 'bb_dpd_over_30_months', 'expr': 'bb_dpd_over_30_month_count', 'desc': 'months more than 30 days past due (status 2-5)', 'aggs': ['sum', 'max']},
        {'name': 'bb_dpd_over_90_months', 'expr': 'bb_dpd_over_90_month_count', 'desc': 'months more than 90 days past due (status 4-5)', 'aggs': ['sum']},
        {'name': 'bb_worst_status', 'expr': 'bb_worst_status', 'desc': 'worst monthly status of the credit (0 = on time, 5 = over 120 days past due or written off)', 'aggs': ['max', 'mean']},
        {'name': 'bb_status_closed_share', 'expr': 'bb_status_c_share', 'desc': "share of months with status 'C' (closed)", 'aggs': ['mean']},
        {'name': 'bb_status_unknown_share', 'expr': 'bb_status_x_share', 'desc': "share of months with status 'X' (unknown)", 'aggs': ['mean']},
        {'name': 'bb_status_on_time_share', 'expr': 'bb_status_0_share', 'desc': "share of months with status '0' (no days past due)", 'aggs': ['mean']},
        {'name': 'bb_months_since_dpd', 'expr': 'bb_months_since_dpd', 'desc': 'months since the credit was last past due', 'aggs': ['min']},
        {'name': 'bb_last_status', 'expr': 'bb_last_status', 'desc': 'latest monthly status of the credit (0-5, C/X as 0)', 'aggs': ['max', 'mean']},
        {'name': 'bb_dpd_months_last_12m', 'expr': 'bb_dpd_month_count_last_12m', 'desc': 'months past due in the last 12 months of the credit history', 'aggs': ['sum', 'max']},
    ]) }}
{% endmacro %}


{% macro bureau_features() %}
    {%- set windows = bureau_windows() -%}
    {%- set levels = category_levels() -%}
    {#- the 730-day window only where recent behaviour says more than the whole history:
        amounts, debt, overdue and past-due months (the other measures over all / active / closed);
        the folded monthly history (bb_*, but the month count) not over closed credits -#}
    {%- set recent = ['days_credit', 'days_overdue', 'amt_credit_sum', 'amt_credit_sum_debt', 'amt_credit_sum_overdue',
                      'amt_annuity', 'debt_ratio', 'overdue_ratio', 'is_overdue', 'bb_dpd_month_share', 'bb_dpd_months',
                      'bb_worst_status'] -%}
    {%- set measures = bureau_measures() -%}
    {%- for m in measures if m.get('windows') is none -%}
        {%- set history = m.name.startswith('bb_') and m.name != 'bb_months' -%}
        {%- set splits = ['all', 'active'] if history else ['all', 'active', 'closed'] -%}
        {%- do m.update({'windows': splits + (['last_730d'] if m.name in recent else [])}) -%}
    {%- endfor -%}
    {%- set out = count_features('bureau', windows, 'bureau credits') -%}
    {%- do out.extend(aggregate_features('bureau', measures, windows, 'bureau')) -%}
    {%- do out.extend(category_share_features('bureau', 'credit_active', 'credit_active', levels['bureau.credit_active'], 'status', 'bureau credits')) -%}
    {%- do out.extend(category_share_features('bureau', 'currency', 'credit_currency', levels['bureau.credit_currency'], 'currency', 'bureau credits')) -%}
    {%- do out.extend(category_share_features('bureau', 'credit_type', 'credit_type', levels['bureau.credit_type'], 'credit type', 'bureau credits')) -%}
    {%- do out.extend(category_share_features('bureau', 'credit_type', 'credit_type', levels['bureau.credit_type'], 'credit type', 'bureau credits', where="credit_active = 'Active'", where_desc='that are active', suffix='active')) -%}
    {%- set custom = [
        ['bureau_credit_type_count', 'count(distinct credit_type)', 'Number of distinct credit types among bureau credits. 0 when there are none.'],
        ['bureau_active_share', "avg(case when credit_active = 'Active' then 1.0 else 0.0 end)", 'Share of bureau credits that are active. NULL when there are none.'],
        ['bureau_debt_to_credit_ratio', 'sum(amt_credit_sum_debt) / nullif(sum(amt_credit_sum), 0)', 'Total bureau debt divided by total bureau credit amount (overdue debt ratio family). NULL when there are none.'],
        ['bureau_debt_to_credit_ratio_active', "sum(case when credit_active = 'Active' then amt_credit_sum_debt end) / nullif(sum(case when credit_active = 'Active' then amt_credit_sum end), 0)", 'Total debt divided by total credit amount over active bureau credits. NULL when there are none.'],
        ['bureau_overdue_to_debt_ratio', 'sum(amt_credit_sum_overdue) / nullif(sum(amt_credit_sum_debt), 0)', 'Total overdue amount divided by total debt over bureau credits. NULL when there is no debt.'],
        ['bureau_overdue_to_debt_ratio_active', "sum(case when credit_active = 'Active' then amt_credit_sum_overdue end) / nullif(sum(case when credit_active = 'Active' then amt_credit_sum_debt end), 0)", 'Total overdue amount divided by total debt over active bureau credits. NULL when there is no debt.'],
        ['bureau_overdue_to_credit_ratio', 'sum(amt_credit_sum_overdue) / nullif(sum(amt_credit_sum), 0)', 'Total overdue amount divided by total credit amount over bureau credits. NULL when there are none.'],
        ['bureau_limit_to_debt_ratio_active', "sum(case when credit_active = 'Active' then amt_credit_sum_limit end) / nullif(sum(case when credit_active = 'Active' then amt_credit_sum_debt end), 0)", 'Total credit-card limit divided by total debt over active bureau credits. NULL when there is no debt.'],
        ['bureau_future_enddate_count', 'count(case when days_credit_enddate > 0 then 1 end)', 'Number of bureau credits whose planned end date is after the application (known plan). 0 when there are none.'],
        ['bureau_amt_credit_sum_last', 'arg_max(amt_credit_sum, days_credit * 1e8 + sk_id_bureau)', 'Credit amount of the most recently opened bureau credit. NULL when there are none.'],
        ['bureau_amt_credit_sum_debt_last', 'arg_max(amt_credit_sum_debt, days_credit * 1e8 + sk_id_bureau)', 'Current debt of the most recently opened bureau credit. NULL when there are none.'],
        ['bureau_days_overdue_last', 'arg_max(credit_day_overdue, days_credit * 1e8 + sk_id_bureau)', 'Days past due of the most recently opened bureau credit. NULL when there are none.'],
        ['bureau_is_active_last', "arg_max(case when credit_active = 'Active' then 1 else 0 end, days_credit * 1e8 + sk_id_bureau)", 'Whether the most recently opened bureau credit is active (1/0). NULL when there are none.'],
        ['bureau_amt_credit_sum_first', 'arg_min(amt_credit_sum, days_credit * 1e8 + sk_id_bureau)', 'Credit amount of the earliest bureau credit. NULL when there are none.'],
        ['bureau_amt_credit_sum_trend', 'regr_slope(amt_credit_sum, days_credit)', 'Trend of bureau credit amounts over opening dates (least-squares slope per day). NULL with fewer than two credits.'],
        ['bureau_days_overdue_trend', 'regr_slope(credit_day_overdue, days_credit)', 'Trend of days past due over bureau credit opening dates (slope per day). NULL with fewer than two credits.'],
    ] -%}
    {%- for name, expr, desc in custom -%}
        {%- do out.append(feature(name, expr, desc, fill_zero=name.endswith('_count'))) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
