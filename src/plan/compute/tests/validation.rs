//! What Cloud Run's answer to validateOnly means for the plan.

use super::*;

/// Google does not document whether validateOnly checks secret access: when
/// it does, its refusal of what this plan grants first is no problem.
#[test]
fn a_validation_refusal_of_what_the_plan_grants_first_is_only_a_note() {
    let mut live = live();
    live.validation = Validation::Answered(Validated::RolloutCheckFailed {
        code: 9,
        message: "Permission denied on secret".into(),
    });
    let plan = compute(&env(), &deploy(), &live);
    assert!(
        plan.preflight.problems.is_empty(),
        "{:?}",
        plan.preflight.problems
    );
    assert_eq!(
        plan.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(),
        [WarningKind::ValidationAwaitsGrants]
    );

    // The same refusal when the plan grants nothing is a problem.
    let member = format!("serviceAccount:{SA}");
    for s in live.secrets.values_mut() {
        s.policy = Some(policy(
            b"e5",
            vec![
                Binding::new()
                    .set_role(SECRET_ACCESSOR)
                    .set_members([&member]),
            ],
        ));
    }
    let plan = compute(&env(), &deploy(), &live);
    assert_eq!(
        plan.preflight
            .problems
            .iter()
            .map(|p| p.kind)
            .collect::<Vec<_>>(),
        [ProblemKind::ServiceRejected]
    );
}

#[test]
fn no_verdict_from_cloud_run_is_a_warning_not_a_problem() {
    let mut live = live();
    live.validation = Validation::Answered(Validated::NoVerdict("404".into()));
    let plan = compute(&env(), &deploy(), &live);
    assert!(plan.preflight.problems.is_empty());
    assert_eq!(plan.warnings[0].kind, WarningKind::NotValidatedByCloudRun);
}

#[test]
fn a_missing_account_is_the_problem_not_cloud_runs_refusal() {
    let mut live = live();
    live.account.exists = false;
    live.validation = Validation::Answered(Validated::Refused("no such account".into()));
    let plan = compute(&env(), &deploy(), &live);
    assert_eq!(
        plan.preflight
            .problems
            .iter()
            .map(|p| p.kind)
            .collect::<Vec<_>>(),
        [ProblemKind::ServiceAccountMissing]
    );
}
