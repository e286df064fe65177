//! The IAM values of the file: roles, members and the runtime service account.

use super::{
    Check, InvalidValue, is_domain, is_lower_alnum_hyphen, is_project_id, is_project_number,
};

/// IAM roles: predefined `roles/service.name` (and basic `roles/viewer`), or custom roles
/// `projects/P/roles/NAME` and `organizations/N/roles/NAME`.
pub(in crate::config) fn role(s: &str) -> Check {
    let segment_ok =
        |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let custom_ok = |x: &str| {
        (3..=64).contains(&x.len())
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    let parts: Vec<&str> = s.split('/').collect();
    let ok = match parts.as_slice() {
        ["roles", name] => name.split('.').all(segment_ok),
        ["projects", p, "roles", name] => is_project_id(p) && custom_ok(name),
        ["organizations", n, "roles", name] => is_project_number(n) && custom_ok(name),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let hint = if parts.len() == 1 && s.contains('.') && s.split('.').all(segment_ok) {
        format!("predefined roles start with `roles/`: `roles/{s}`")
    } else {
        "write `roles/SERVICE.ROLE` (e.g. `roles/logging.logWriter`), \
         `projects/PROJECT/roles/NAME` or `organizations/NUMBER/roles/NAME`"
            .to_owned()
    };
    Err(InvalidValue::new(format!("invalid IAM role `{s}`"), hint))
}

/// The one placeholder members may contain; the caller substitutes the project number.
const PROJECT_NUMBER_PLACEHOLDER: &str = "{project_number}";

/// IAM member syntax. The crowd members (`allUsers`, `allAuthenticatedUsers`, `domain:`) are
/// valid here; keys that give power over the agent refuse them in [`account_user`].
pub(in crate::config) fn member(s: &str) -> Check {
    let unknown_placeholder = s
        .replace(PROJECT_NUMBER_PLACEHOLDER, "")
        .contains(['{', '}']);
    if unknown_placeholder {
        return Err(InvalidValue::new(
            format!("unknown placeholder in IAM member `{s}`"),
            format!("the only placeholder is `{PROJECT_NUMBER_PLACEHOLDER}`"),
        ));
    }
    // Check the syntax with a stand-in number where the placeholder is.
    let concrete = s.replace(PROJECT_NUMBER_PLACEHOLDER, "123456789012");
    let ok = match concrete.split_once(':') {
        None => matches!(s, "allUsers" | "allAuthenticatedUsers"),
        Some(("user" | "serviceAccount" | "group", email)) => is_email(email),
        Some(("domain", domain)) => is_domain(domain),
        Some(("principal" | "principalSet", rest)) => {
            rest.starts_with("//") && rest.len() > 2 && !rest.contains(char::is_whitespace)
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let hint = if !s.contains(':') && is_email(&concrete) {
        let kind = if concrete.ends_with(".gserviceaccount.com") {
            "serviceAccount"
        } else {
            "user"
        };
        format!("members carry their type: `{kind}:{s}`")
    } else {
        "write `user:EMAIL`, `serviceAccount:EMAIL`, `group:EMAIL`, `domain:DOMAIN`, \
         `principal://...` or `principalSet://...`"
            .to_owned()
    };
    Err(InvalidValue::new(format!("invalid IAM member `{s}`"), hint))
}

/// `allUsers`, `allAuthenticatedUsers` and `domain:D`: everyone, every Google account, or
/// every account of a Workspace domain. A whole domain is treated as broadly as `allUsers`:
/// it names nobody in particular, and in a large organisation it is most of the world.
pub(in crate::config) fn is_broad_member(s: &str) -> bool {
    matches!(s, "allUsers" | "allAuthenticatedUsers") || s.starts_with("domain:")
}

/// A member of `iam.service_account_users`: any valid member except a crowd, since each one
/// can then act as the agent's service account.
pub(in crate::config) fn account_user(s: &str) -> Check {
    member(s)?;
    if is_broad_member(s) {
        let who = match s.strip_prefix("domain:") {
            Some(domain) => format!("everyone in `{domain}`"),
            None => "anyone".to_owned(),
        };
        return Err(InvalidValue::new(
            format!("`{s}` would let {who} act as the agent's service account"),
            "name the people, groups or service accounts that deploy the agent",
        ));
    }
    Ok(())
}

/// A member of `iap.members`: any valid member except `allUsers` and
/// `allAuthenticatedUsers`, which would make IAP's sign-in pointless (a whole `domain:` is a
/// usual IAP audience and is accepted).
pub(in crate::config) fn iap_member(s: &str) -> Check {
    member(s)?;
    if matches!(s, "allUsers" | "allAuthenticatedUsers") {
        return Err(InvalidValue::new(
            format!("`{s}` would let anyone past IAP's sign-in"),
            "name the people, groups or domains that use the agent, e.g. \
             `group:sre@example.com` or `domain:example.com`",
        ));
    }
    Ok(())
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
                && is_domain(domain)
        }
        None => false,
    }
}

/// The runtime service account: an email address.
pub(in crate::config) fn service_account(s: &str, project: &str) -> Check {
    if is_email(s) {
        return Ok(());
    }
    let hint = if let Some(email) = s.strip_prefix("serviceAccount:") {
        format!("write the bare email: `{email}`")
    } else if !s.contains('@') && !s.is_empty() && is_lower_alnum_hyphen(s) {
        format!("write the full email: `{s}@{project}.iam.gserviceaccount.com`")
    } else {
        "write the account's email, such as `NAME@PROJECT.iam.gserviceaccount.com`, or omit \
         `service_account` to use the Compute Engine default account"
            .to_owned()
    };
    Err(InvalidValue::new(
        format!("service account `{s}` is not an email address"),
        hint,
    ))
}
