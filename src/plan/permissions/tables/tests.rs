//! The permission tables held to Google's role definitions (`types/roles/`):
//! every permission the tool asks testIamPermissions about exists, and every
//! role a "missing permission" hint names holds the permission it is named
//! for. A permission written from memory (`run.builds.create`, which no role
//! holds) fails here, not in a user's first source deploy.

use std::collections::BTreeSet;

use super::{READS, read_permission, role_for, role_holds, roles_holding, why};
use crate::plan::Target;
use crate::plan::live::Needs;
use crate::plan::permissions::{account_permissions, iap_permissions, to_ask};

/// A config that reads and grants everything a deploy can: its own runtime
/// account, secrets (the encryption key among them), project roles,
/// service-account users, IAP.
fn env() -> crate::config::Environment {
    crate::plan::fixtures::env_from(
        "project: acme-prod
service:
  service_account: run@acme-prod.iam.gserviceaccount.com
  secrets:
    GOOGLE_API_KEY: gemini-api-key
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
iam:
  project_roles: [roles/logging.logWriter]
  service_account_users: [serviceAccount:ci@acme-prod.iam.gserviceaccount.com]
",
    )
}

/// Every permission the tool can ask testIamPermissions about: the plan's
/// questions with every need switched on, and those of the commands that
/// ask up front (`key`, `secrets`), and those the refused reads name.
fn every_asked() -> BTreeSet<String> {
    let env = env();
    let target = Target::deploy("us-docker.pkg.dev/acme-prod/autosre/autosre:1");
    let mut needs = Needs::of(&env, &target);
    needs.number = true;
    needs.account_policy = true;
    needs.project_roles = true;
    needs.service = true;
    needs.iap = true;
    needs.build = true;
    let mut all: BTreeSet<String> = to_ask(&env, &needs)
        .into_iter()
        .flat_map(|(_, ps)| ps)
        .collect();
    all.extend(account_permissions(&needs));
    all.extend(iap_permissions());
    use crate::commands::{key, secrets};
    let commands = [
        &key::CREATE[..],
        &key::CHECK[..],
        &key::ROTATE[..],
        &secrets::READ_SERVICE[..],
        &secrets::READ_SECRET[..],
        &[secrets::DISABLE][..],
        &[crate::plan::key::ACCESS][..],
    ];
    all.extend(
        commands
            .iter()
            .flat_map(|c| c.iter().map(|p| p.to_string())),
    );
    all.extend(READS.iter().map(|(_, p)| p.to_string()));
    all
}

#[test]
fn the_enumeration_reaches_every_kind_of_question() {
    let all = every_asked();
    for p in [
        "cloudbuild.builds.create",
        "storage.objects.create",
        "run.services.setIamPolicy",
        "iap.webServices.setIamPolicy",
        "iam.serviceAccounts.actAs",
        "iam.serviceAccounts.setIamPolicy",
        "resourcemanager.projects.setIamPolicy",
        "secretmanager.secrets.setIamPolicy",
        "secretmanager.versions.access",
        "secretmanager.secrets.create",
        "secretmanager.versions.disable",
        "run.revisions.list",
    ] {
        assert!(all.contains(p), "{p} not asked: {all:?}");
    }
}

/// (a) Resource Manager answers 400 for a permission it does not know, and
/// loses every other answer of the question with it.
#[test]
fn every_permission_the_tool_asks_exists_in_googles_role_data() {
    let unknown: Vec<String> = every_asked()
        .into_iter()
        .filter(|p| roles_holding(p).next().is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "no predefined role holds {unknown:?}: not a permission"
    );
}

/// (b) "missing `X`, granted by R": R holds X, by Google's data.
#[test]
fn every_role_a_hint_names_holds_its_permission() {
    let wrong: Vec<(String, &str)> = every_asked()
        .into_iter()
        .map(|p| {
            let role = role_for(&p);
            (p, role)
        })
        .filter(|(p, role)| role_holds(role, p) != Some(true))
        .collect();
    assert!(
        wrong.is_empty(),
        "roles that do not hold their permission: {wrong:?}"
    );
}

/// Google's source-deploy guide names roles/run.sourceDeveloper for the
/// deployer: it alone covers the upload and the build.
#[test]
fn a_source_deploys_permissions_are_all_granted_by_run_source_developer() {
    for (p, _) in crate::plan::permissions::ask::BUILD {
        assert_eq!(role_for(p), "roles/run.sourceDeveloper", "{p}");
    }
    assert!(roles_holding("cloudbuild.builds.create").any(|r| r == "roles/owner"));
    assert!(roles_holding("run.builds.create").next().is_none());
}

/// The user docs name only real predefined roles (the custom-role examples
/// aside), so a role a reader is told to grant holds what the text says.
#[test]
fn the_docs_name_only_roles_in_googles_role_data() {
    let docs = [
        ("README.md", include_str!("../../../../README.md")),
        (
            "docs/permissions.md",
            include_str!("../../../../docs/permissions.md"),
        ),
        (
            "docs/source-builds.md",
            include_str!("../../../../docs/source-builds.md"),
        ),
        (
            "docs/configuration.md",
            include_str!("../../../../docs/configuration.md"),
        ),
    ];
    let mut unknown = Vec::new();
    for (file, text) in docs {
        for chunk in text.split("roles/").skip(1) {
            let name: String = chunk
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            let name = name.trim_end_matches('.');
            // `roles/NAME` with a lower-case service: predefined (a custom
            // role is `projects/P/roles/ID`, written with its own prefix).
            let predefined = name.contains('.') || matches!(name, "owner" | "editor" | "viewer");
            if predefined
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && autosre_types::roles::permissions(&format!("roles/{name}")).is_none()
            {
                unknown.push(format!("{file}: roles/{name}"));
            }
        }
    }
    assert!(unknown.is_empty(), "not in types/roles/: {unknown:?}");
}

/// The roles the plan accepts as "may build" hold every permission a build's
/// own account uses, in Google's data. Two exceptions for the basic roles:
/// the data is trimmed to the services the tool calls (no `logging`), and
/// Editor and Owner read a project's objects through Cloud Storage's
/// convenience values (`projectEditor:`/`projectOwner:` in the bucket's
/// legacy roles), not through `storage.objects.*` in the role itself
/// (cloud.google.com/storage/docs/access-control/iam#convenience-values), which
/// the data rightly shows them without.
#[test]
fn the_roles_accepted_for_a_build_account_hold_the_build_permissions() {
    use super::{BUILD_ACCOUNT_PERMISSIONS, roles_holding_build_account_permissions};
    for role in roles_holding_build_account_permissions() {
        let basic = matches!(*role, "roles/owner" | "roles/editor");
        for permission in BUILD_ACCOUNT_PERMISSIONS {
            if basic
                && (permission.starts_with("logging.")
                    || permission.starts_with("storage.objects."))
            {
                continue;
            }
            assert_eq!(
                role_holds(role, permission),
                Some(true),
                "{role} should hold {permission} in Google's role data"
            );
        }
    }
}

/// The `secrets` commands' reads and write map to the smallest roles
/// that grant them (cloud.google.com/iam/docs/roles-permissions).
#[test]
fn secrets_commands_permissions_have_their_roles() {
    assert_eq!(
        read_permission("secrets.versions.list"),
        "secretmanager.versions.list"
    );
    assert_eq!(
        read_permission("services.revisions.list"),
        "run.revisions.list"
    );
    assert_eq!(
        role_for("secretmanager.versions.list"),
        "roles/secretmanager.viewer"
    );
    assert_eq!(role_for("run.revisions.list"), "roles/run.viewer");
    assert_eq!(
        role_for("secretmanager.versions.disable"),
        "roles/secretmanager.secretVersionManager"
    );
    assert_ne!(why("secretmanager.versions.disable"), "the plan");
}
