"""DDL of the `scoring` schema: created empty at the first load so `dbt build` works before any score.

Written by `python -m training score` (through warehouse.scoring_io); dbt reads it as a source.
"""

SCORING_DDL = """
create schema if not exists scoring;
create table if not exists scoring.scoring_runs (
    run_id varchar primary key,
    model_name varchar,
    model_version varchar,
    started_at timestamp,
    finished_at timestamp,
    n_scored bigint,
    n_shap_rows bigint,
    n_reasons bigint,
    seconds_features double,
    seconds_scoring double,
    seconds_explain double,
    threshold double,
    review_low double,
    review_high double,
    n_applicants bigint,
    seconds_write double,
    chunk_rows bigint
);
create table if not exists scoring.scores (
    run_id varchar,
    sk_id_curr bigint,
    probability double,
    risk_grade varchar,
    decision varchar,
    threshold double,
    model_name varchar,
    model_version varchar,
    scored_at timestamp,
    probability_source varchar,  -- 'champion' or 'out_of_fold'
    raw_score double,            -- the booster's log-odds (what the SHAP values add up to)
    champion_probability double, -- the registered pyfunc's probability for this row
    sample varchar,              -- 'cv' / 'holdout' (training applicants of this model) or 'unlabeled' / 'new'
    primary key (run_id, sk_id_curr)
);
create table if not exists scoring.shap_values (
    run_id varchar,
    sk_id_curr bigint,
    feature varchar,           -- feature name, '__bias__' or '__others__'
    feature_value double,
    shap_value double,
    rank integer               -- 1 = largest |shap|; null for bias / others
);
create table if not exists scoring.reasons (
    run_id varchar,
    sk_id_curr bigint,
    direction varchar,         -- 'raises' or 'lowers'
    rank integer,
    feature varchar,
    family varchar,            -- source table: app, bureau, prev, pos, inst, cc
    fact varchar,              -- underlying fact (one reason per fact per direction)
    feature_value double,
    shap_value double,
    text_en varchar,
    text_fr varchar
);
create table if not exists scoring.global_importance (
    model_name varchar,
    model_version varchar,
    feature varchar,
    mean_abs_shap double,
    rank integer
);
create table if not exists scoring.risk_grades (
    model_version varchar,
    grade varchar,
    p_low double,
    p_high double,
    observed_default_rate double,
    n bigint
);
"""
