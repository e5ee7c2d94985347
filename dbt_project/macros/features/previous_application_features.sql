{#-
    Previous Home Credit application features (prefix prev_), aggregated from
    int_previous_applications_enriched in one pass: state splits (approved / refused), a recency
    window (decided in the last year), the last 3 applications, first / last attributes, shares of
    every category level, the estimated interest rate and current obligations (planned dates).
-#}

{% macro previous_application_windows() %}
    {{ return([
        {'key': 'all', 'suffix': '', 'where': none, 'desc': 'all previous applications'},
        {'key': 'approved', 'suffix': 'approved', 'where': "name_contract_status = 'Approved'", 'desc': 'approved previous applications'},
        {'key': 'refused', 'suffix': 'refused', 'where': "name_contract_status = 'Refused'", 'desc': 'refused previous applications'},
        {'key': 'last_365d', 'suffix': 'last_365d', 'where': 'days_decision >= -365', 'desc': 'previous applications decided in the 365 days before the application'},
        {'key': 'last_3', 'suffix': 'last_3', 'where': 'recency_rank <= 3', 'desc': 'the 3 most recent previous applications'},
    ]) }}
{% endmacro %}


{% macro previous_application_measures() %}
    {%- set splits = ['all', 'approved', 'refused', 'last_365d'] -%}
    {%- set granted = ['all', 'approved'] -%}
    {%- set decided = ['all', 'approved', 'refused'] -%}
    {{ return([
        {'name': 'amt_annuity', 'expr': 'amt_annuity', 'desc': 'annuity of the previous application', 'aggs': ['min', 'max', 'mean', 'sum'], 'windows': ['all', 'approved', 'refused', 'last_365d']},
        {'name': 'amt_application', 'expr': 'amt_application', 'desc': 'amount asked for on the previous application', 'aggs': ['min', 'max', 'mean'], 'windows': splits},
        {'name': 'amt_credit', 'expr': 'amt_credit', 'desc': 'final credit amount of the previous application', 'aggs': ['min', 'max', 'mean', 'sum'], 'windows': ['all', 'approved', 'refused', 'last_365d']},
        {'name': 'application_credit_ratio', 'expr': 'application_credit_ratio', 'desc': 'amount asked for divided by amount granted', 'aggs': ['min', 'max', 'mean', 'var'], 'windows': decided},
        {'name': 'amt_down_payment', 'expr': 'amt_down_payment', 'desc': 'down payment of the previous application', 'aggs': ['min', 'max', 'mean'], 'windows': decided},
        {'name': 'amt_goods_price', 'expr': 'amt_goods_price', 'desc': 'goods price of the previous application', 'aggs': ['min', 'max', 'mean'], 'windows': decided},
        {'name': 'credit_goods_ratio', 'expr': 'credit_goods_ratio', 'desc': 'credit amount divided by goods price', 'aggs': ['mean', 'max'], 'windows': decided},
        {'name': 'annuity_credit_ratio', 'expr': 'annuity_credit_ratio', 'desc': 'annuity divided by credit amount', 'aggs': ['mean', 'max'], 'windows': decided},
        {'name': 'hour_appr_process_start', 'expr': 'hour_appr_process_start', 'desc': 'hour of the day the previous application started', 'aggs': ['min', 'max', 'mean'], 'windows': ['all']},
        {'name': 'rate_down_payment', 'expr': 'rate_down_payment', 'desc': 'down payment rate', 'aggs': ['min', 'max', 'mean'], 'windows': decided},
        {'name': 'days_decision', 'expr': 'days_decision', 'desc': 'days from the decision on the previous application to the current application (negative)', 'aggs': ['min', 'max', 'mean'], 'windows': ['all', 'approved', 'refused', 'last_3']},
        {'name': 'cnt_payment', 'expr': 'cnt_payment', 'desc': 'number of payments (term) of the previous credit', 'aggs': ['mean', 'sum', 'max'], 'windows': ['all', 'approved', 'refused', 'last_3']},
        {'name': 'interest_rate_annual', 'expr': 'interest_rate_annual', 'desc': 'estimated annual interest rate of the previous credit (from annuity, credit and term)', 'aggs': ['min', 'max', 'mean']},
        {'name': 'simple_interest_rate', 'expr': 'simple_interest_rate_annual', 'desc': 'simple annual interest rate (total payments over credit, per year of term)', 'aggs': ['mean', 'max'], 'windows': decided},
        {'name': 'total_payment', 'expr': 'total_payment', 'desc': 'total of planned payments (annuity times term)', 'aggs': ['mean', 'sum'], 'windows': decided},
        {'name': 'days_first_drawing', 'expr': 'days_first_drawing', 'desc': 'days from the first drawing of the previous credit', 'aggs': ['min', 'max', 'mean'], 'windows': granted},
        {'name': 'days_first_due', 'expr': 'days_first_due', 'desc': 'days from the first due date of the previous credit', 'aggs': ['min', 'max', 'mean'], 'windows': granted},
        {'name': 'days_last_due_1st_version', 'expr': 'days_last_due_1st_version', 'desc': 'days to the originally planned last due date (positive: still running, a planned date known at the application)', 'aggs': ['min', 'max', 'mean'], 'windows': granted},
        {'name': 'days_last_due', 'expr': 'days_last_due', 'desc': 'days from the last due date of the previous credit', 'aggs': ['min', 'max', 'mean'], 'windows': granted},
        {'name': 'days_termination', 'expr': 'days_termination', 'desc': 'days from the expected termination of the previous credit', 'aggs': ['min', 'max', 'mean'], 'windows': granted},
        {'name': 'planned_duration_days', 'expr': 'planned_duration_days', 'desc': 'planned duration of the previous credit in days', 'aggs': ['mean', 'max'], 'windows': granted},
        {'name': 'last_due_shift_days', 'expr': 'last_due_shift_days', 'desc': 'actual minus originally planned last due date in days (negative: repaid early)', 'aggs': ['mean', 'min', 'max'], 'windows': granted},
        {'name': 'insured_on_approval', 'expr': 'nflag_insured_on_approval', 'desc': 'the client asked for insurance on the previous application (1/0)', 'aggs': ['mean'], 'windows': granted},
        {'name': 'is_refused', 'expr': 'is_refused', 'desc': 'the previous application was refused', 'aggs': ['share', 'count'], 'windows': ['all', 'last_365d', 'last_3']},
        {'name': 'is_approved', 'expr': 'is_approved', 'desc': 'the previous application was approved', 'aggs': ['share', 'count'], 'windows': ['all', 'last_365d', 'last_3']},
    ]) }}
{% endmacro %}


{#- column, short name, description: every level becomes a share feature over all previous applications. -#}
{% macro previous_application_categoricals() %}
    {{ return([
        ['name_contract_type', 'contract_type', 'contract type'],
        ['name_contract_status', 'contract_status', 'outcome'],
        ['name_payment_type', 'payment_type', 'payment method'],
        ['code_reject_reason', 'reject_reason', 'reject reason'],
        ['name_type_suite', 'type_suite', 'companion at the application'],
        ['name_client_type', 'client_type', 'client type'],
        ['name_goods_category', 'goods_category', 'goods category'],
        ['name_portfolio', 'portfolio', 'portfolio'],
        ['name_product_type', 'product_type', 'product type'],
        ['channel_type', 'channel', 'acquisition channel'],
        ['name_seller_industry', 'seller_industry', 'seller industry'],
        ['name_yield_group', 'yield_group', 'interest-rate group'],
        ['product_combination', 'product_combination', 'product combination'],
        ['name_cash_loan_purpose', 'cash_loan_purpose', 'cash loan purpose'],
        ['weekday_appr_process_start', 'weekday', 'weekday of the application'],
    ]) }}
{% endmacro %}


{% macro previous_application_features() %}
    {%- set windows = previous_application_windows() -%}
    {%- set levels = category_levels() -%}
    {%- set out = count_features('prev', windows, 'previous applications') -%}
    {%- do out.extend(aggregate_features('prev', previous_application_measures(), windows, 'previous applications')) -%}
    {%- for column, short_name, desc in previous_application_categoricals() -%}
        {%- do out.extend(category_share_features('prev', short_name, column, levels['previous_application.' ~ column], desc, 'previous applications')) -%}
    {%- endfor -%}
    {%- for window in windows if window.key in ['last_365d', 'last_3'] -%}
        {%- do out.extend(category_share_features('prev', 'yield_group', 'name_yield_group', levels['previous_application.name_yield_group'], 'interest-rate group', 'previous applications', where=window.where, where_desc='among ' ~ window.desc, suffix=window.suffix)) -%}
    {%- endfor -%}
    {%- set recency = 'recency_key' -%}
    {%- set attributes = [
        ['amt_credit', 'amt_credit', 'credit amount'],
        ['amt_annuity', 'amt_annuity', 'annuity'],
        ['cnt_payment', 'cnt_payment', 'number of payments'],
        ['interest_rate_annual', 'interest_rate_annual', 'estimated annual interest rate'],
        ['days_decision', 'days_decision', 'days from the decision'],
        ['application_credit_ratio', 'application_credit_ratio', 'amount asked divided by amount granted'],
        ['is_refused', 'cast(is_refused as integer)', 'refused (1/0)'],
        ['is_approved', 'cast(is_approved as integer)', 'approved (1/0)'],
        ['yield_group_high', "case when name_yield_group = 'high' then 1 else 0 end", "interest-rate group is 'high' (1/0)"],
    ] -%}
    {%- for name, expr, desc in attributes -%}
        {%- do out.append(feature('prev_' ~ name ~ '_last', 'arg_max(' ~ expr ~ ', ' ~ recency ~ ')',
            'Most recent previous application: ' ~ desc ~ '. NULL when there are none.')) -%}
    {%- endfor -%}
    {%- for name, expr, desc in attributes[:5] -%}
        {%- do out.append(feature('prev_' ~ name ~ '_first', 'arg_min(' ~ expr ~ ', ' ~ recency ~ ')',
            'Earliest previous application: ' ~ desc ~ '. NULL when there are none.')) -%}
    {%- endfor -%}
    {%- set custom = [
        ['prev_days_between_applications_mean', '(max(days_decision) - min(days_decision)) / nullif(count(*) - 1, 0)', 'Mean number of days between consecutive previous applications. NULL with fewer than two.'],
        ['prev_refused_to_approved_ratio', 'count(case when is_refused then 1 end) / nullif(count(case when is_approved then 1 end), 0)', 'Refused divided by approved previous applications. NULL when none was approved.'],
        ['prev_running_count', "count(case when is_approved and days_last_due_1st_version > 0 then 1 end)", 'Number of approved previous credits whose planned last due date is after the application (still running by plan). 0 when there are none.'],
        ['prev_running_annuity_sum', "sum(case when is_approved and days_last_due_1st_version > 0 then amt_annuity end)", 'Sum of annuities of approved previous credits still running by plan (current obligations). NULL when there are none.'],
        ['prev_running_remaining_payment_sum', "sum(case when is_approved and days_last_due_1st_version > 0 then amt_annuity * days_last_due_1st_version / 30.0 end)", 'Planned payments still to come on approved previous credits (annuity times months to the planned last due date). NULL when there are none.'],
        ['prev_amt_credit_trend', 'regr_slope(amt_credit, days_decision)', 'Trend of previous credit amounts over decision dates (slope per day). NULL with fewer than two applications.'],
        ['prev_interest_rate_trend', 'regr_slope(interest_rate_annual, days_decision)', 'Trend of the estimated interest rate over decision dates (slope per day). NULL with fewer than two.'],
        ['prev_contract_type_count', 'count(distinct name_contract_type)', 'Number of distinct contract types among previous applications. 0 when there are none.'],
        ['prev_last_application_per_contract_share', 'avg(case when is_last_application_per_contract then 1.0 else 0.0 end)', 'Share of previous applications that were the last one for their contract. NULL when there are none.'],
    ] -%}
    {%- for name, expr, desc in custom -%}
        {%- do out.append(feature(name, expr, desc, fill_zero=name.endswith('_count'))) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
