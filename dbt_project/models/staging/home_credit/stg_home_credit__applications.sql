-- One row per applicant (train and test): the application as filed, renamed and typed.
with

train as (

    select * from {{ source('home_credit', 'application_train') }}

),

test as (

    select * from {{ source('home_credit', 'application_test') }}

),

unioned as (

    select
        *,
        true as is_train
    from train
    union all by name
    select
        *,
        false as is_train,
        null::integer as target
    from test

),

renamed as (

    select
        sk_id_curr as sk_id_curr,
        is_train as is_train,
        target as target,
        name_contract_type as name_contract_type,
        nullif(code_gender, 'XNA') as code_gender,
        case flag_own_car when 'Y' then true when 'N' then false end as owns_car,
        case flag_own_realty when 'Y' then true when 'N' then false end as owns_realty,
        cnt_children as cnt_children,
        amt_income_total as amt_income_total,
        amt_credit as amt_credit,
        amt_annuity as amt_annuity,
        amt_goods_price as amt_goods_price,
        name_type_suite as name_type_suite,
        name_income_type as name_income_type,
        name_education_type as name_education_type,
        name_family_status as name_family_status,
        name_housing_type as name_housing_type,
        region_population_relative as region_population_relative,
        days_birth as days_birth,
        nullif(days_employed, 365243) as days_employed,
        days_registration as days_registration,
        days_id_publish as days_id_publish,
        own_car_age as own_car_age,
        flag_mobil as flag_mobil,
        flag_emp_phone as flag_emp_phone,
        flag_work_phone as flag_work_phone,
        flag_cont_mobile as flag_cont_mobile,
        flag_phone as flag_phone,
        flag_email as flag_email,
        occupation_type as occupation_type,
        cnt_fam_members as cnt_fam_members,
        region_rating_client as region_rating_client,
        region_rating_client_w_city as region_rating_client_w_city,
        weekday_appr_process_start as weekday_appr_process_start,
        hour_appr_process_start as hour_appr_process_start,
        reg_region_not_live_region as reg_region_not_live_region,
        reg_region_not_work_region as reg_region_not_work_region,
        live_region_not_work_region as live_region_not_work_region,
        reg_city_not_live_city as reg_city_not_live_city,
        reg_city_not_work_city as reg_city_not_work_city,
        live_city_not_work_city as live_city_not_work_city,
        nullif(organization_type, 'XNA') as organization_type,
        ext_source_1 as ext_source_1,
        ext_source_2 as ext_source_2,
        ext_source_3 as ext_source_3,
        apartments_avg as apartments_avg,
        basementarea_avg as basementarea_avg,
        years_beginexpluatation_avg as years_beginexpluatation_avg,
        years_build_avg as years_build_avg,
        commonarea_avg as commonarea_avg,
        elevators_avg as elevators_avg,
        entrances_avg as entrances_avg,
        floorsmax_avg as floorsmax_avg,
        floorsmin_avg as floorsmin_avg,
        landarea_avg as landarea_avg,
        livingapartments_avg as livingapartments_avg,
        livingarea_avg as livingarea_avg,
        nonlivingapartments_avg as nonlivingapartments_avg,
        nonlivingarea_avg as nonlivingarea_avg,
        apartments_mode as apartments_mode,
        basementarea_mode as basementarea_mode,
        years_beginexpluatation_mode as years_beginexpluatation_mode,
        years_build_mode as years_build_mode,
        commonarea_mode as commonarea_mode,
        elevators_mode as elevators_mode,
        entrances_mode as entrances_mode,
        floorsmax_mode as floorsmax_mode,
        floorsmin_mode as floorsmin_mode,
        landarea_mode as landarea_mode,
        livingapartments_mode as livingapartments_mode,
        livingarea_mode as livingarea_mode,
        nonlivingapartments_mode as nonlivingapartments_mode,
        nonlivingarea_mode as nonlivingarea_mode,
        apartments_medi as apartments_medi,
        basementarea_medi as basementarea_medi,
        years_beginexpluatation_medi as years_beginexpluatation_medi,
        years_build_medi as years_build_medi,
        commonarea_medi as commonarea_medi,
        elevators_medi as elevators_medi,
        entrances_medi as entrances_medi,
        floorsmax_medi as floorsmax_medi,
        floorsmin_medi as floorsmin_medi,
        landarea_medi as landarea_medi,
        livingapartments_medi as livingapartments_medi,
        livingarea_medi as livingarea_medi,
        nonlivingapartments_medi as nonlivingapartments_medi,
        nonlivingarea_medi as nonlivingarea_medi,
        fondkapremont_mode as fondkapremont_mode,
        housetype_mode as housetype_mode,
        totalarea_mode as totalarea_mode,
        wallsmaterial_mode as wallsmaterial_mode,
        case emergencystate_mode when 'Yes' then true when 'No' then false end as has_emergency_state_mode,
        obs_30_cnt_social_circle as obs_30_cnt_social_circle,
        def_30_cnt_social_circle as def_30_cnt_social_circle,
        obs_60_cnt_social_circle as obs_60_cnt_social_circle,
        def_60_cnt_social_circle as def_60_cnt_social_circle,
        days_last_phone_change as days_last_phone_change,
        flag_document_2 as flag_document_2,
        flag_document_3 as flag_document_3,
        flag_document_4 as flag_document_4,
        flag_document_5 as flag_document_5,
        flag_document_6 as flag_document_6,
        flag_document_7 as flag_document_7,
        flag_document_8 as flag_document_8,
        flag_document_9 as flag_document_9,
        flag_document_10 as flag_document_10,
        flag_document_11 as flag_document_11,
        flag_document_12 as flag_document_12,
        flag_document_13 as flag_document_13,
        flag_document_14 as flag_document_14,
        flag_document_15 as flag_document_15,
        flag_document_16 as flag_document_16,
        flag_document_17 as flag_document_17,
        flag_document_18 as flag_document_18,
        flag_document_19 as flag_document_19,
        flag_document_20 as flag_document_20,
        flag_document_21 as flag_document_21,
        amt_req_credit_bureau_hour as amt_req_credit_bureau_hour,
        amt_req_credit_bureau_day as amt_req_credit_bureau_day,
        amt_req_credit_bureau_week as amt_req_credit_bureau_week,
        amt_req_credit_bureau_mon as amt_req_credit_bureau_mon,
        amt_req_credit_bureau_qrt as amt_req_credit_bureau_qrt,
        amt_req_credit_bureau_year as amt_req_credit_bureau_year,
        days_employed = 365243 as is_days_employed_sentinel

    from unioned

)

select * from renamed
