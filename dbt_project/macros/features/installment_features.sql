{#-
    Installment payment features (prefix inst_), aggregated from int_installment_payments_enriched
    in one pass: days past due and before due, payment ratio and difference, late / underpaid
    shares, days-past-due buckets, recency windows on the due date, and trends.
-#}

{% macro installment_windows() %}
    {{ return([
        {'key': 'all', 'suffix': '', 'where': none, 'desc': 'all installment payments'},
        {'key': 'last_180d', 'suffix': 'last_180d', 'where': 'days_instalment >= -180', 'desc': 'installment payments due in the last 180 days'},
        {'key': 'last_365d', 'suffix': 'last_365d', 'where': 'days_instalment >= -365', 'desc': 'installment payments due in the last 365 days'},
    ]) }}
{% endmacro %}


{% macro installment_measures() %}
    {{ return([
        {'name': 'instalment_version', 'expr': 'num_instalment_version', 'desc': 'installment calendar version (changes of the schedule)', 'aggs': ['max', 'mean'], 'windows': ['all']},
        {'name': 'instalment_number', 'expr': 'num_instalment_number', 'desc': 'installment number', 'aggs': ['max', 'mean'], 'windows': ['all']},
        {'name': 'days_past_due', 'expr': 'days_past_due', 'desc': 'days the payment came after the due date', 'aggs': ['max', 'mean', 'sum', 'var']},
        {'name': 'days_before_due', 'expr': 'days_before_due', 'desc': 'days the payment came before the due date', 'aggs': ['max', 'mean', 'sum']},
        {'name': 'payment_ratio', 'expr': 'payment_ratio', 'desc': 'amount paid divided by the installment due', 'aggs': ['mean', 'min', 'max', 'var']},
        {'name': 'payment_difference', 'expr': 'payment_difference', 'desc': 'installment due minus amount paid', 'aggs': ['max', 'mean', 'sum', 'var']},
        {'name': 'amt_instalment', 'expr': 'amt_instalment', 'desc': 'installment amount due', 'aggs': ['min', 'max', 'mean', 'sum']},
        {'name': 'amt_payment', 'expr': 'amt_payment', 'desc': 'amount paid', 'aggs': ['min', 'max', 'mean', 'sum']},
        {'name': 'days_entry_payment', 'expr': 'days_entry_payment', 'desc': 'days from the payment to the application (negative)', 'aggs': ['min', 'max', 'mean'], 'windows': ['all']},
        {'name': 'late_payment', 'expr': 'days_past_due > 0', 'desc': 'the payment came after the due date', 'aggs': ['share', 'count']},
        {'name': 'dpd_over_30', 'expr': 'days_past_due > 30', 'desc': 'the payment came more than 30 days after the due date', 'aggs': ['share', 'count']},
        {'name': 'dpd_over_60', 'expr': 'days_past_due > 60', 'desc': 'the payment came more than 60 days after the due date', 'aggs': ['share']},
        {'name': 'dpd_over_90', 'expr': 'days_past_due > 90', 'desc': 'the payment came more than 90 days after the due date', 'aggs': ['share', 'count']},
        {'name': 'underpaid', 'expr': 'amt_payment < amt_instalment', 'desc': 'less than the installment due was paid', 'aggs': ['share', 'count']},
        {'name': 'paid_early', 'expr': 'days_before_due > 0', 'desc': 'the payment came before the due date', 'aggs': ['share']},
    ]) }}
{% endmacro %}


{% macro installment_features() %}
    {%- set windows = installment_windows() -%}
    {#- every measure over all payments and the last 365 days; the 180-day window only
        on lateness and payment ratios (amounts over a window add little to amounts over all) -#}
    {%- set short_long = ['days_past_due', 'payment_ratio', 'late_payment', 'dpd_over_30', 'underpaid'] -%}
    {%- set measures = default_windows(installment_measures(), ['all', 'last_365d'], unless=short_long) -%}
    {%- set out = count_features('inst', windows, 'installment payments') -%}
    {%- do out.extend(aggregate_features('inst', measures, windows, 'installment payments')) -%}
    {#- time key of the latest installment, ties broken by credit id and installment number -#}
    {%- set latest = 'days_instalment * 1e11 + sk_id_prev * 1e3 + num_instalment_number' -%}
    {%- set custom = [
        ['inst_days_past_due_last', 'arg_max(days_past_due, ' ~ latest ~ ')', 'Days past due of the most recent installment payment. NULL when there are none.'],
        ['inst_payment_ratio_last', 'arg_max(payment_ratio, ' ~ latest ~ ')', 'Amount paid divided by amount due for the most recent installment. NULL when there are none.'],
        ['inst_days_since_last_late_payment', '-max(case when days_past_due > 0 then days_instalment end)', 'Days from the due date of the most recent late payment to the application. NULL when never late.'],
        ['inst_days_past_due_trend', 'regr_slope(days_past_due, days_instalment)', 'Trend of days past due over due dates (slope per day). NULL with fewer than two payments.'],
        ['inst_days_past_due_trend_last_365d', 'regr_slope(case when days_instalment >= -365 then days_past_due end, days_instalment)', 'Trend of days past due over the last 365 days (slope per day). NULL with fewer than two payments.'],
        ['inst_payment_ratio_trend', 'regr_slope(payment_ratio, days_instalment)', 'Trend of the payment ratio over due dates (slope per day). NULL with fewer than two payments.'],
        ['inst_amt_payment_trend', 'regr_slope(amt_payment, days_instalment)', 'Trend of amounts paid over due dates (slope per day). NULL with fewer than two payments.'],
        ['inst_late_payment_share_change', "avg(case when days_instalment >= -365 then (case when days_past_due > 0 then 1.0 else 0.0 end) end) - avg(case when days_instalment < -365 then (case when days_past_due > 0 then 1.0 else 0.0 end) end)", 'Share of late payments in the last 365 days minus the share before. NULL unless both periods have payments.'],
    ] -%}
    {%- for name, expr, desc in custom -%}
        {%- do out.append(feature(name, expr, desc)) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
