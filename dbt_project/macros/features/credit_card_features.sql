{#-
    Credit card monthly balance features (prefix cc_), aggregated from
    stg_home_credit__credit_card_balances in one pass: every amount and count with
    min / max / mean / sum / variance, recency windows, utilisation and payment ratios,
    days-past-due buckets, status shares and trends.
-#}

{% macro credit_card_windows() %}
    {{ return([
        {'key': 'all', 'suffix': '', 'where': none, 'desc': 'all monthly credit card balances'},
        {'key': 'last_6m', 'suffix': 'last_6m', 'where': 'months_balance >= -6', 'desc': 'monthly credit card balances of the last 6 months'},
        {'key': 'last_12m', 'suffix': 'last_12m', 'where': 'months_balance >= -12', 'desc': 'monthly credit card balances of the last 12 months'},
    ]) }}
{% endmacro %}


{% macro credit_card_measures() %}
    {%- set full = ['min', 'max', 'mean', 'sum', 'var'] -%}
    {%- set recent = ['max', 'mean'] -%}
    {%- set columns = [
        ['amt_balance', 'balance'],
        ['amt_credit_limit_actual', 'credit limit'],
        ['amt_drawings_atm_current', 'amount drawn at ATMs in the month'],
        ['amt_drawings_current', 'amount drawn in the month'],
        ['amt_drawings_other_current', 'other drawings in the month'],
        ['amt_drawings_pos_current', 'amount spent at points of sale in the month'],
        ['amt_inst_min_regularity', 'minimum installment of the month'],
        ['amt_payment_current', 'amount paid in the month'],
        ['amt_payment_total_current', 'total amount paid in the month'],
        ['amt_receivable_principal', 'principal receivable'],
        ['amt_receivable', 'amount receivable'],
        ['amt_total_receivable', 'total amount receivable'],
        ['cnt_drawings_atm_current', 'number of ATM drawings in the month'],
        ['cnt_drawings_current', 'number of drawings in the month'],
        ['cnt_drawings_other_current', 'number of other drawings in the month'],
        ['cnt_drawings_pos_current', 'number of point-of-sale drawings in the month'],
        ['cnt_instalment_mature_cum', 'number of paid installments'],
        ['sk_dpd', 'days past due in the month'],
        ['sk_dpd_def', 'days past due in the month, ignoring small debts'],
    ] -%}
    {%- set out = [] -%}
    {%- for column, desc in columns -%}
        {%- do out.append({'name': column | replace('sk_dpd', 'days_past_due'), 'expr': column, 'desc': 'credit card ' ~ desc, 'aggs': full, 'windows': ['all']}) -%}
        {%- do out.append({'name': column | replace('sk_dpd', 'days_past_due'), 'expr': column, 'desc': 'credit card ' ~ desc, 'aggs': recent, 'windows': ['last_6m', 'last_12m']}) -%}
    {%- endfor -%}
    {%- do out.extend([
        {'name': 'utilisation', 'expr': 'amt_balance / nullif(amt_credit_limit_actual, 0)', 'desc': 'balance divided by credit limit', 'aggs': ['mean', 'max']},
        {'name': 'drawings_to_limit_ratio', 'expr': 'amt_drawings_current / nullif(amt_credit_limit_actual, 0)', 'desc': 'drawings of the month divided by credit limit', 'aggs': ['mean', 'max']},
        {'name': 'receivable_to_limit_ratio', 'expr': 'amt_total_receivable / nullif(amt_credit_limit_actual, 0)', 'desc': 'total receivable divided by credit limit', 'aggs': ['mean', 'max']},
        {'name': 'payment_to_minimum_ratio', 'expr': 'amt_payment_total_current / nullif(amt_inst_min_regularity, 0)', 'desc': 'amount paid divided by the minimum installment', 'aggs': ['mean', 'min']},
        {'name': 'below_minimum_payment', 'expr': 'amt_payment_total_current < amt_inst_min_regularity', 'desc': 'the card holder paid less than the minimum installment', 'aggs': ['share', 'count']},
        {'name': 'is_late', 'expr': 'sk_dpd > 0', 'desc': 'the card was past due in the month', 'aggs': ['share', 'count']},
        {'name': 'dpd_over_30', 'expr': 'sk_dpd > 30', 'desc': 'the card was more than 30 days past due in the month', 'aggs': ['share']},
        {'name': 'dpd_over_60', 'expr': 'sk_dpd > 60', 'desc': 'the card was more than 60 days past due in the month', 'aggs': ['share']},
        {'name': 'dpd_over_90', 'expr': 'sk_dpd > 90', 'desc': 'the card was more than 90 days past due in the month', 'aggs': ['share']},
        {'name': 'over_limit', 'expr': 'amt_balance > amt_credit_limit_actual', 'desc': 'the balance exceeded the credit limit', 'aggs': ['share']},
    ]) -%}
    {{ return(out) }}
{% endmacro %}


{% macro credit_card_features() %}
    {%- set windows = credit_card_windows() -%}
    {%- set levels = category_levels() -%}
    {%- set out = count_features('cc', windows, 'monthly credit card balances') -%}
    {%- do out.extend(aggregate_features('cc', credit_card_measures(), windows, 'credit cards')) -%}
    {%- do out.extend(category_share_features('cc', 'status', 'name_contract_status', levels['credit_card_balance.name_contract_status'], 'contract status', 'monthly credit card balances')) -%}
    {#- time key of the latest month, ties broken by the card id -#}
    {%- set latest = 'months_balance * 1e8 + sk_id_prev' -%}
    {%- set custom = [
        ['cc_amt_balance_last', 'arg_max(amt_balance, ' ~ latest ~ ')', 'Balance in the most recent credit card month. NULL when there are none.'],
        ['cc_utilisation_last', 'arg_max(amt_balance / nullif(amt_credit_limit_actual, 0), ' ~ latest ~ ')', 'Balance divided by limit in the most recent credit card month. NULL when there are none.'],
        ['cc_days_past_due_last', 'arg_max(sk_dpd, ' ~ latest ~ ')', 'Days past due in the most recent credit card month. NULL when there are none.'],
        ['cc_amt_balance_trend', 'regr_slope(amt_balance, months_balance)', 'Trend of the credit card balance over months (slope per month). NULL with fewer than two months.'],
        ['cc_utilisation_trend', 'regr_slope(amt_balance / nullif(amt_credit_limit_actual, 0), months_balance)', 'Trend of credit card utilisation over months (slope per month). NULL with fewer than two months.'],
        ['cc_utilisation_trend_last_12m', 'regr_slope(case when months_balance >= -12 then amt_balance / nullif(amt_credit_limit_actual, 0) end, months_balance)', 'Trend of credit card utilisation over the last 12 months (slope per month). NULL with fewer than two months.'],
        ['cc_days_past_due_trend', 'regr_slope(sk_dpd, months_balance)', 'Trend of credit card days past due over months (slope per month). NULL with fewer than two months.'],
        ['cc_drawings_atm_ratio', 'sum(amt_drawings_atm_current) / nullif(sum(amt_drawings_current), 0)', 'Amount drawn at ATMs (cash) divided by all credit card drawings. NULL without drawings.'],
    ] -%}
    {%- for name, expr, desc in custom -%}
        {%- do out.append(feature(name, expr, desc)) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
