{#-
    Application features (prefix app_): the application as filed, one-hot categoricals over fixed
    levels, and the ratios of the public "LightGBM with simple features" script and beyond.
    Evaluated row by row over stg_home_credit__applications (no aggregation, no other applicant).
-#}

{% macro application_numeric_columns() %}
    {%- set columns = {
        'cnt_children': 'number of children',
        'amt_income_total': 'annual income of the client',
        'amt_credit': 'credit amount of the loan applied for',
        'amt_annuity': 'loan annuity',
        'amt_goods_price': 'price of the goods the loan is for',
        'region_population_relative': 'normalised population of the region where the client lives',
        'days_birth': "client's age in days at application (negative)",
        'days_employed': 'days since the current employment started (negative; NULL when not employed, was 365243)',
        'days_registration': 'days since the client changed registration (negative)',
        'days_id_publish': 'days since the identity document was changed (negative)',
        'own_car_age': "age of the client's car in years",
        'flag_mobil': 'client gave a mobile phone (1/0)',
        'flag_emp_phone': 'client gave a work phone (1/0)',
        'flag_work_phone': 'client gave a home phone (1/0)',
        'flag_cont_mobile': 'mobile phone was reachable (1/0)',
        'flag_phone': 'client gave a home phone (1/0)',
        'flag_email': 'client gave an email address (1/0)',
        'cnt_fam_members': 'number of family members',
        'region_rating_client': 'rating of the region where the client lives (1-3)',
        'region_rating_client_w_city': 'rating of the region where the client lives, taking the city into account (1-3)',
        'hour_appr_process_start': 'hour of the day the application started',
        'reg_region_not_live_region': 'permanent address region differs from contact address region (1/0)',
        'reg_region_not_work_region': 'permanent address region differs from work address region (1/0)',
        'live_region_not_work_region': 'contact address region differs from work address region (1/0)',
        'reg_city_not_live_city': 'permanent address city differs from contact address city (1/0)',
        'reg_city_not_work_city': 'permanent address city differs from work address city (1/0)',
        'live_city_not_work_city': 'contact address city differs from work address city (1/0)',
        'ext_source_1': 'normalised score from external data source 1',
        'ext_source_2': 'normalised score from external data source 2',
        'ext_source_3': 'normalised score from external data source 3',
        'totalarea_mode': 'normalised total area of the building where the client lives (mode)',
        'obs_30_cnt_social_circle': "observations of the client's social surroundings with observable 30 days past due",
        'def_30_cnt_social_circle': "observations of the client's social surroundings that defaulted on 30 days past due",
        'obs_60_cnt_social_circle': "observations of the client's social surroundings with observable 60 days past due",
        'def_60_cnt_social_circle': "observations of the client's social surroundings that defaulted on 60 days past due",
        'days_last_phone_change': 'days since the client changed phone (negative)',
        'amt_req_credit_bureau_hour': 'credit bureau enquiries about the client in the hour before the application',
        'amt_req_credit_bureau_day': 'credit bureau enquiries in the day before the application (excluding the last hour)',
        'amt_req_credit_bureau_week': 'credit bureau enquiries in the week before the application (excluding the last day)',
        'amt_req_credit_bureau_mon': 'credit bureau enquiries in the month before the application (excluding the last week)',
        'amt_req_credit_bureau_qrt': 'credit bureau enquiries in the 3 months before the application (excluding the last month)',
        'amt_req_credit_bureau_year': 'credit bureau enquiries in the year before the application (excluding the last 3 months)',
    } -%}
    {%- for n in range(2, 22) -%}
        {%- do columns.update({'flag_document_' ~ n: 'client provided document ' ~ n ~ ' (1/0)'}) -%}
    {%- endfor -%}
    {%- set building = {
        'apartments': 'apartment size', 'basementarea': 'basement area',
        'years_beginexpluatation': 'years since the start of exploitation', 'years_build': 'building age',
        'commonarea': 'common area', 'elevators': 'number of elevators', 'entrances': 'number of entrances',
        'floorsmax': 'highest floor', 'floorsmin': 'lowest floor', 'landarea': 'land area',
        'livingapartments': 'living apartments', 'livingarea': 'living area',
        'nonlivingapartments': 'non-living apartments', 'nonlivingarea': 'non-living area',
    } -%}
    {%- set statistic = {'avg': 'average', 'mode': 'mode', 'medi': 'median'} -%}
    {%- for suffix, stat_desc in statistic.items() -%}
        {%- for name, desc in building.items() -%}
            {%- do columns.update({name ~ '_' ~ suffix:
                'normalised ' ~ desc ~ ' of the building where the client lives (' ~ stat_desc ~ ')'}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}


{#- Categorical application columns one-hot encoded: column -> short name used in feature names. -#}
{% macro application_categorical_columns() %}
    {{ return({
        'name_contract_type': ['contract_type', 'contract type'],
        'code_gender': ['gender', 'gender'],
        'name_type_suite': ['type_suite', 'who accompanied the client'],
        'name_income_type': ['income_type', 'income type'],
        'name_education_type': ['education', 'education level'],
        'name_family_status': ['family_status', 'family status'],
        'name_housing_type': ['housing_type', 'housing situation'],
        'occupation_type': ['occupation', 'occupation'],
        'weekday_appr_process_start': ['weekday', 'weekday the application started'],
        'organization_type': ['organization', 'type of employer organisation'],
        'fondkapremont_mode': ['fondkapremont', 'building capital-repair fund (mode)'],
        'housetype_mode': ['housetype', 'building house type (mode)'],
        'wallsmaterial_mode': ['wallsmaterial', 'building wall material (mode)'],
    }) }}
{% endmacro %}


{% macro application_features() %}
    {%- set out = [] -%}
    {%- for column, desc in application_numeric_columns().items() -%}
        {%- do out.append(feature('app_' ~ column, column, 'Application: ' ~ desc ~ '.')) -%}
    {%- endfor -%}
    {%- set booleans = {
        'owns_car': 'the client owns a car (1/0)',
        'owns_realty': 'the client owns a house or flat (1/0)',
        'has_emergency_state_mode': 'the building has an emergency state (1/0, mode)',
        'is_days_employed_sentinel': 'days employed was the 365243 sentinel, i.e. not employed (1/0)',
    } -%}
    {%- for column, desc in booleans.items() -%}
        {%- do out.append(feature('app_' ~ column, 'cast(' ~ column ~ ' as integer)', 'Application: ' ~ desc ~ '.')) -%}
    {%- endfor -%}
    {%- set levels = category_levels() -%}
    {%- for column, names in application_categorical_columns().items() -%}
        {%- for level in levels['application.' ~ column] -%}
            {%- do out.append(feature(
                'app_' ~ names[0] ~ '_' ~ slug(level),
                "case when " ~ column ~ " = '" ~ level ~ "' then 1 else 0 end",
                'Application: ' ~ names[1] ~ " is '" ~ level ~ "' (1/0; 0 when missing).")) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set ext = 'ext_source_1, ext_source_2, ext_source_3' -%}
    {%- set derived = [
        ['app_credit_to_income_ratio', 'amt_credit / nullif(amt_income_total, 0)', 'credit amount divided by annual income'],
        ['app_annuity_to_income_ratio', 'amt_annuity / nullif(amt_income_total, 0)', 'annuity divided by annual income'],
        ['app_annuity_to_credit_ratio', 'amt_annuity / nullif(amt_credit, 0)', 'annuity divided by credit amount (payment rate)'],
        ['app_credit_term_months', 'amt_credit / nullif(amt_annuity, 0)', 'credit amount divided by annuity (number of annuities to repay)'],
        ['app_credit_to_goods_ratio', 'amt_credit / nullif(amt_goods_price, 0)', 'credit amount divided by goods price'],
        ['app_goods_to_income_ratio', 'amt_goods_price / nullif(amt_income_total, 0)', 'goods price divided by annual income'],
        ['app_credit_minus_goods', 'amt_credit - amt_goods_price', 'credit amount minus goods price'],
        ['app_income_per_person', 'amt_income_total / nullif(cnt_fam_members, 0)', 'annual income per family member'],
        ['app_income_per_child', 'amt_income_total / (1 + cnt_children)', 'annual income divided by (1 + number of children)'],
        ['app_children_to_family_ratio', 'cnt_children / nullif(cnt_fam_members, 0)', 'children divided by family members'],
        ['app_annuity_per_person', 'amt_annuity / nullif(cnt_fam_members, 0)', 'annuity per family member'],
        ['app_age_years', '-days_birth / 365.25', "client's age in years"],
        ['app_employed_years', '-days_employed / 365.25', 'years in the current employment (NULL when not employed)'],
        ['app_employed_to_age_ratio', 'days_employed / nullif(days_birth, 0)', 'days employed divided by age in days'],
        ['app_registration_to_age_ratio', 'days_registration / nullif(days_birth, 0)', 'days since registration change divided by age in days'],
        ['app_id_publish_to_age_ratio', 'days_id_publish / nullif(days_birth, 0)', 'days since identity document change divided by age in days'],
        ['app_phone_change_to_age_ratio', 'days_last_phone_change / nullif(days_birth, 0)', 'days since phone change divided by age in days'],
        ['app_phone_change_to_employed_ratio', 'days_last_phone_change / nullif(days_employed, 0)', 'days since phone change divided by days employed'],
        ['app_car_age_to_age_ratio', 'own_car_age / nullif(-days_birth / 365.25, 0)', 'car age divided by client age (years)'],
        ['app_car_age_to_employed_ratio', 'own_car_age / nullif(-days_employed / 365.25, 0)', 'car age divided by years employed'],
        ['app_credit_to_age_ratio', 'amt_credit / nullif(-days_birth / 365.25, 0)', 'credit amount per year of age'],
        ['app_annuity_to_employed_ratio', 'amt_annuity / nullif(-days_employed / 365.25, 0)', 'annuity per year employed'],
        ['app_ext_source_mean', 'list_avg([' ~ ext ~ '])', 'mean of the available external scores'],
        ['app_ext_source_min', 'least(' ~ ext ~ ')', 'lowest available external score'],
        ['app_ext_source_max', 'greatest(' ~ ext ~ ')', 'highest available external score'],
        ['app_ext_source_std', 'list_stddev_pop([' ~ ext ~ '])', 'population standard deviation of the available external scores'],
        ['app_ext_source_prod', 'ext_source_1 * ext_source_2 * ext_source_3', 'product of the three external scores (NULL if one is missing)'],
        ['app_ext_source_weighted', 'ext_source_1 * 2 + ext_source_2 + ext_source_3 * 3', 'weighted sum 2*ext_source_1 + ext_source_2 + 3*ext_source_3'],
        ['app_ext_source_missing_count', '(ext_source_1 is null)::integer + (ext_source_2 is null)::integer + (ext_source_3 is null)::integer', 'number of missing external scores'],
        ['app_ext_source_2_to_age_ratio', 'ext_source_2 / nullif(-days_birth / 365.25, 0)', 'external score 2 divided by age in years'],
        ['app_ext_source_mean_times_credit_to_annuity', 'list_avg([' ~ ext ~ ']) * amt_credit / nullif(amt_annuity, 0)', 'mean external score times the credit term'],
        ['app_document_count', 'flag_document_' ~ (range(2, 22) | join(' + flag_document_')), 'number of documents provided'],
        ['app_contact_flag_count', 'flag_mobil + flag_emp_phone + flag_work_phone + flag_cont_mobile + flag_phone + flag_email', 'number of contact channels given'],
        ['app_address_mismatch_count', 'reg_region_not_live_region + reg_region_not_work_region + live_region_not_work_region + reg_city_not_live_city + reg_city_not_work_city + live_city_not_work_city', 'number of address mismatch flags set'],
        ['app_social_circle_default_ratio_30', 'def_30_cnt_social_circle / nullif(obs_30_cnt_social_circle, 0)', 'social-circle defaults on 30 days past due divided by observations'],
        ['app_social_circle_default_ratio_60', 'def_60_cnt_social_circle / nullif(obs_60_cnt_social_circle, 0)', 'social-circle defaults on 60 days past due divided by observations'],
        ['app_bureau_requests_total', 'amt_req_credit_bureau_hour + amt_req_credit_bureau_day + amt_req_credit_bureau_week + amt_req_credit_bureau_mon + amt_req_credit_bureau_qrt + amt_req_credit_bureau_year', 'credit bureau enquiries in the year before the application'],
        ['app_building_info_missing_count', '(apartments_avg is null)::integer + (basementarea_avg is null)::integer + (years_build_avg is null)::integer + (commonarea_avg is null)::integer + (elevators_avg is null)::integer + (floorsmax_avg is null)::integer + (landarea_avg is null)::integer + (livingarea_avg is null)::integer + (totalarea_mode is null)::integer', 'number of missing building fields'],
    ] -%}
    {%- for name, expr, desc in derived -%}
        {%- do out.append(feature(name, expr, 'Application: ' ~ desc ~ '.')) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}
