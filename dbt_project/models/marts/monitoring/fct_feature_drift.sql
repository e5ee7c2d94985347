-- One row per feature of the mart: its population stability index between the training applicants
-- (reference) and the new applications (current), with the usual reading (stable / watch / act),
-- missing rates and means on both sides, the bin that moved most, and the feature's rank in the
-- latest scored model's global importance (NULL when nothing has been scored yet).

with

drift_bins as (

    select * from {{ ref('fct_feature_drift_bins') }}

),

drift_counts as (

    select * from {{ ref('fct_feature_drift_counts') }}

),

feature_means as (

    select
        feature,
        sum(sum_values) filter (where population = 'reference')
        / nullif(sum(n_values) filter (where population = 'reference'), 0) as mean_reference,
        sum(sum_values) filter (where population = 'current')
        / nullif(sum(n_values) filter (where population = 'current'), 0) as mean_current

    from drift_counts
    group by feature

),

scoring_runs as (

    select * from {{ source('scoring', 'scoring_runs') }}

),

global_importance as (

    select * from {{ source('scoring', 'global_importance') }}

),

latest_model as (

    select
        model_name,
        model_version

    from scoring_runs
    order by finished_at desc
    limit 1

),

latest_importance as (

    select
        global_importance.feature,
        global_importance.model_version,
        global_importance.rank as importance_rank,
        global_importance.mean_abs_shap

    from global_importance
    inner join latest_model
        on
            global_importance.model_name = latest_model.model_name
            and global_importance.model_version = latest_model.model_version

),

per_feature as (

    select
        feature,
        sum(n_reference) as n_reference,
        sum(n_current) as n_current,
        coalesce(sum(share_reference) filter (where bin = -1), 0) as missing_share_reference,
        coalesce(sum(share_current) filter (where bin = -1), 0) as missing_share_current,
        count(*) as n_bins,
        sum(psi_contribution) as psi,
        arg_max(bin_label, psi_contribution) as most_shifted_bin

    from drift_bins
    group by feature

),

final as (

    select
        per_feature.feature,
        split_part(per_feature.feature, '_', 1) as feature_family,
        per_feature.psi,
        {{ psi_reading('per_feature.psi') }} as psi_reading,
        per_feature.n_reference,
        per_feature.n_current,
        per_feature.missing_share_reference,
        per_feature.missing_share_current,
        feature_means.mean_reference,
        feature_means.mean_current,
        per_feature.n_bins,
        per_feature.most_shifted_bin,
        latest_importance.importance_rank,
        latest_importance.mean_abs_shap,
        latest_importance.model_version,
        current_timestamp as computed_at

    from per_feature
    left join feature_means
        on per_feature.feature = feature_means.feature
    left join latest_importance
        on per_feature.feature = latest_importance.feature

)

select * from final
