-- One row per applicant (sk_id_curr): the branch that serves the applicant, assigned
-- deterministically by sk_id_curr modulo the number of branches (synthetic, for row-level security).

with

labels as (

    select * from {{ ref('feat_applicant_labels') }}

),

branches as (

    select * from {{ ref('branches') }}

),

numbered_branches as (

    select
        branch_id,
        row_number() over (order by branch_id) - 1 as branch_slot,
        count(*) over () as n_branches

    from branches

),

final as (

    select
        labels.sk_id_curr,
        numbered_branches.branch_id

    from labels
    inner join numbered_branches
        on labels.sk_id_curr % numbered_branches.n_branches = numbered_branches.branch_slot

)

select * from final
