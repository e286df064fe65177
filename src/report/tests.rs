//! Both plan renderers over one fixture that reaches every branch: a missing
//! default account, an unwired key, each secret state, IAM adds and removes,
//! each kind of field change, and problems.

use super::*;
use crate::cli::LogFormat;
use crate::plan::permissions::PermissionCheck;
use crate::printer::{Capture, PrinterConfig, Streams};

fn fixture() -> Plan {
    let mut plan: Plan =
        serde_json::from_str(include_str!("testdata/plan.json")).expect("the fixture parses");
    plan.preflight.problems.push(Problem {
        kind: crate::plan::ProblemKind::VersionNotEnabled,
        message: "secret `old-key` version 2 is DESTROYED".into(),
        hint: "gcloud secrets versions add old-key --data-file=-".into(),
    });
    plan.preflight.permissions = permissions();
    plan.warnings.push(crate::plan::Warning {
        kind: crate::plan::WarningKind::MissingPermission,
        message: "the deploying identity lacks permissions on project acme-sre-staging".into(),
    });
    plan
}

/// A held, a missing and an unchecked permission.
fn permissions() -> Vec<PermissionCheck> {
    use crate::gcp::iam::PolicyResource;
    let row = |permission: &str, resource: PolicyResource, status, required| PermissionCheck {
        permission: permission.into(),
        role: crate::plan::permissions::role_for(permission).into(),
        why: "test".into(),
        resource,
        status,
        required,
    };
    let project = PolicyResource::Project {
        project: "acme-sre-staging".into(),
    };
    vec![
        row(
            "run.services.create",
            project.clone(),
            PermissionStatus::Held,
            true,
        ),
        row(
            "iam.serviceAccounts.actAs",
            PolicyResource::ServiceAccount {
                project: "acme-sre-staging".into(),
                email: "run@acme-sre-staging.iam.gserviceaccount.com".into(),
            },
            PermissionStatus::Missing,
            true,
        ),
        row(
            "resourcemanager.projects.setIamPolicy",
            project,
            PermissionStatus::Unknown,
            false,
        ),
    ]
}

#[test]
fn permission_table_text() {
    insta::assert_snapshot!(permissions_table(
        &permissions(),
        Format::Text(&printer(false))
    ));
}

#[test]
fn permission_table_markdown() {
    insta::assert_snapshot!(permissions_table(&permissions(), Format::Markdown));
}

/// A printer whose stdout is a terminal, with colour or without.
fn printer(color: bool) -> Printer {
    let no_color = (!color).then(|| "1".to_string());
    let config = PrinterConfig::new(false, LogFormat::Text, &|k| match k {
        "NO_COLOR" => no_color.clone(),
        _ => None,
    });
    let streams = Streams::new(Capture::new(), Capture::new()).terminals(true, true);
    Printer::new(config, streams)
}

#[test]
fn text() {
    insta::assert_snapshot!(plan_human(&fixture(), &printer(false)));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(plan_markdown(&fixture()));
}

/// Colour only adds styling around the markers: stripped, it is the
/// colourless text.
#[test]
fn colour_only_wraps_markers() {
    let plan = fixture();
    let colored = plan_human(&plan, &printer(true));
    assert!(colored.contains("\x1b[32m+\x1b[0m roles/logging.logWriter"));
    assert!(colored.contains("\x1b[33m~\x1b[0m image: img:1 -> img:2"));
    assert!(colored.contains("\x1b[31mFAIL\x1b[0m runtime service account"));
    assert_eq!(
        anstream::adapter::strip_str(&colored).to_string(),
        plan_human(&plan, &printer(false))
    );
}

/// A `|` in a value stays in its cell in every Markdown table of the plan.
#[test]
fn a_pipe_in_a_value_stays_in_its_cell() {
    let mut plan = fixture();
    plan.preflight.service_account.email = "run|x@acme-sre-staging.iam.gserviceaccount.com".into();
    plan.preflight.permissions[0].permission = "run.services|create".into();
    let md = plan_markdown(&plan);
    assert_eq!(
        crate::printer::markdown::assert_tables_intact(&md),
        1,
        "{md}"
    );
    assert!(md.contains("run\\|x@"), "{md}");
    let md = permissions_table(&plan.preflight.permissions, Format::Markdown);
    assert_eq!(
        crate::printer::markdown::assert_tables_intact(&md),
        1,
        "{md}"
    );
    assert!(md.contains("`run.services\\|create`"), "{md}");
}

/// A secret in another project says which project, in every format.
#[test]
fn a_secret_in_another_project_names_its_project() {
    let mut plan = fixture();
    let own = plan.project.clone();
    plan.preflight.secrets[0].project = "acme-shared".into();
    for text in [plan_human(&plan, &printer(false)), plan_markdown(&plan)] {
        assert!(text.contains("in project acme-shared"), "{text}");
        assert_eq!(text.matches(" in project ").count(), 1, "{own}: {text}");
    }
}
