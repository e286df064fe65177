//! Offline syntax checks for single values, each returning what is wrong and how to fix it.
//!
//! These run before any call to Google so a typo costs milliseconds, not a failed revision.
//! Where a rule comes from Google's documentation the page is cited; where we are stricter
//! than Google (env var names) the comment says why. Checks that need cross-field context
//! (min vs max instances, env vs secrets) live in `resolve.rs`.

use std::fmt;

/// A rejected value: the message names the value in backticks, the hint says what to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    message: String,
    hint: String,
}

impl InvalidValue {
    pub(super) fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        InvalidValue {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint(&self) -> &str {
        &self.hint
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidValue {}

type Check<T = ()> = Result<T, InvalidValue>;

fn is_lower_alnum_hyphen(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Project ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter
/// and not ending with a hyphen (Resource Manager `Project.project_id`). Legacy domain-scoped
/// ids (`example.com:proj`) are not supported.
pub(super) fn is_project_id(s: &str) -> bool {
    (6..=30).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && is_lower_alnum_hyphen(s)
}

pub(super) fn is_project_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit()) && !s.starts_with('0')
}

pub(super) fn project_id(s: &str) -> Check {
    if is_project_id(s) {
        return Ok(());
    }
    let hint = if is_project_number(s) {
        "this looks like a project number; write the project id (for example `acme-sre-prod`), \
         see `gcloud projects describe NUMBER --format='value(projectId)'`"
            .to_owned()
    } else if s.chars().any(|c| c.is_ascii_uppercase()) && is_project_id(&s.to_ascii_lowercase()) {
        format!("project ids are lowercase: `{}`", s.to_ascii_lowercase())
    } else {
        "a project id has 6-30 lowercase letters, digits or hyphens, starts with a letter and \
         does not end with a hyphen; list yours with `gcloud projects list`"
            .to_owned()
    };
    Err(InvalidValue::new(format!("invalid project id `{s}`"), hint))
}

/// Regions look like `us-central1`, `europe-west4`, `northamerica-northeast1`.
pub(super) fn region(s: &str) -> Check {
    let ok = match s.split_once('-') {
        Some((area, rest)) => {
            let letters = rest.trim_end_matches(|c: char| c.is_ascii_digit());
            !area.is_empty()
                && area.chars().all(|c| c.is_ascii_lowercase())
                && !letters.is_empty()
                && letters.len() < rest.len()
                && letters.chars().all(|c| c.is_ascii_lowercase())
        }
        None => false,
    };
    if ok {
        return Ok(());
    }
    let hint = match s.rsplit_once('-') {
        Some((base, zone)) if zone.len() == 1 && region(base).is_ok() => {
            format!("`{s}` is a zone; Cloud Run takes the region: `{base}`")
        }
        _ => "write a Cloud Run region such as `us-central1` or `europe-west1`; list them with \
              `gcloud run regions list`"
            .to_owned(),
    };
    Err(InvalidValue::new(format!("invalid region `{s}`"), hint))
}

/// Cloud Run service names: lowercase letters, digits and hyphens, starting with a letter,
/// not ending with a hyphen, at most 49 characters. The Admin API's own error says "Maximum
/// length is 63 characters" (the RFC 1035 label limit; quoted in
/// <https://github.com/jamesward/cloud-run-button/issues/4>), but revision names append a
/// `-00001-abc` suffix to the service name and must fit in 63 too. The 49 comes from the
/// project brief; the Cloud Run page stating it was not found in the offline reference
/// search, so it is unverified here and errs on the strict side.
fn is_service_name(s: &str) -> bool {
    (1..=49).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && is_lower_alnum_hyphen(s)
}

pub(super) fn service_name(s: &str) -> Check {
    if is_service_name(s) {
        return Ok(());
    }
    let hint = if s.len() > 49 {
        format!("shorten it to at most 49 characters (it has {})", s.len())
    } else {
        let fixed: String = s
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let fixed = fixed.trim_matches('-');
        if is_service_name(fixed) {
            format!("use lowercase letters, digits and hyphens, starting with a letter: `{fixed}`")
        } else {
            "use lowercase letters, digits and hyphens, starting with a letter and not ending \
             with a hyphen"
                .to_owned()
        }
    };
    Err(InvalidValue::new(
        format!("invalid Cloud Run service name `{s}`"),
        hint,
    ))
}

/// Container image references: only the obvious mistakes are caught here; the registry is
/// the authority on whether the image exists.
pub(super) fn image(s: &str) -> Check {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return Err(InvalidValue::new(
            format!("invalid container image `{s}`"),
            "write a full image reference such as \
             `us-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG`, or omit `image` and pass `--image`",
        ));
    }
    Ok(())
}

/// CPU limit as Kubernetes CPU units. Cloud Run accepts 1, 2, 4, 6 or 8 whole CPUs, or a
/// fraction from 0.08 to 1 in steps of 0.001
/// (<https://cloud.google.com/run/docs/configuring/services/cpu>, "CPU and memory table").
/// Accepted spellings: `"2"`, `"0.5"`, `"500m"` (millicpu).
pub(super) fn cpu(s: &str) -> Check {
    let hint = "write the number of CPUs as `\"1\"`, `\"2\"`, `\"4\"`, `\"6\"` or `\"8\"`, or a \
                fraction between 0.08 and 1 such as `\"0.5\"` or `\"500m\"`";
    let Some(millis) = parse_millicpu(s) else {
        return Err(InvalidValue::new(format!("invalid CPU limit `{s}`"), hint));
    };
    if (80..=1000).contains(&millis) || [2000, 4000, 6000, 8000].contains(&millis) {
        return Ok(());
    }
    let why = if millis < 80 {
        "below Cloud Run's minimum of 0.08"
    } else if millis > 8000 {
        "above Cloud Run's maximum of 8"
    } else {
        "above 1 CPU Cloud Run takes only 2, 4, 6 or 8"
    };
    Err(InvalidValue::new(
        format!("unsupported CPU limit `{s}`: {why}"),
        hint,
    ))
}

/// `"2"` -> 2000, `"0.5"` -> 500, `"500m"` -> 500; at most 3 decimals.
pub(crate) fn parse_millicpu(s: &str) -> Option<u64> {
    if let Some(m) = s.strip_suffix('m') {
        return digits(m)?.parse().ok();
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 3 {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        digits(whole)?.parse().ok()?
    };
    let frac_millis: u64 = if frac.is_empty() {
        0
    } else {
        format!("{:0<3}", digits(frac)?).parse().ok()?
    };
    whole.checked_mul(1000)?.checked_add(frac_millis)
}

fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 12 && s.chars().all(|c| c.is_ascii_digit())).then_some(s)
}

/// Memory limit as a Kubernetes quantity: a number with an optional suffix `k`, `M`, `G`, `T`
/// (powers of 1000) or `Ki`, `Mi`, `Gi`, `Ti` (powers of 1024). Cloud Run allows 128 MiB
/// (first-generation minimum) up to 32 GiB
/// (<https://cloud.google.com/run/docs/configuring/services/memory-limits>).
pub(super) fn memory(s: &str) -> Check {
    let bytes = parse_memory(s).ok_or_else(|| {
        InvalidValue::new(format!("invalid memory quantity `{s}`"), memory_hint(s))
    })?;
    const MIB: u128 = 1024 * 1024;
    if bytes < 128 * MIB {
        return Err(InvalidValue::new(
            format!("memory `{s}` is below Cloud Run's minimum of 128Mi"),
            "write at least `512Mi` (the second-generation minimum and Cloud Run's default)",
        ));
    }
    if bytes > 32 * 1024 * MIB {
        return Err(InvalidValue::new(
            format!("memory `{s}` is above Cloud Run's maximum of 32Gi"),
            "write at most `32Gi`",
        ));
    }
    Ok(())
}

const MEMORY_SUFFIXES: &[(&str, u128)] = &[
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
];

/// Memory in bytes; `"1Gi"` -> 1073741824, `"1.5G"` -> 1500000000.
pub(crate) fn parse_memory(s: &str) -> Option<u128> {
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let unit = if suffix.is_empty() {
        1
    } else {
        MEMORY_SUFFIXES
            .iter()
            .find(|(name, _)| *name == suffix)
            .map(|(_, unit)| *unit)?
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = digits(whole)?.parse().ok()?;
    let mut bytes = whole.checked_mul(unit)?;
    if !frac.is_empty() {
        let frac_digits = digits(frac)?;
        let scale = 10u128.checked_pow(u32::try_from(frac_digits.len()).ok()?)?;
        bytes = bytes.checked_add(frac_digits.parse::<u128>().ok()?.checked_mul(unit)? / scale)?;
    }
    Some(bytes)
}

fn memory_hint(s: &str) -> String {
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let fixed = match suffix {
        "GB" | "gb" | "Gb" | "gi" | "GiB" | "g" => Some("Gi"),
        "MB" | "mb" | "Mb" | "mi" | "MiB" | "m" => Some("Mi"),
        _ => None,
    };
    match fixed {
        Some(unit) if !number.is_empty() => format!(
            "Kubernetes quantities have no `B` and are case-sensitive: write `{number}{unit}` \
             (or `{number}{}` for powers of 1000)",
            &unit[..1]
        ),
        _ => "write a Kubernetes quantity such as `512Mi`, `2Gi` or `16Gi`".to_owned(),
    }
}

/// Request timeout as a duration with units: `300s`, `5m`, `1h`, `1m30s` (gcloud's duration
/// syntax). A bare number is rejected: gcloud would read `300` as seconds, but a reader of the
/// file cannot tell, so we ask for the unit (the hint gives the exact fix). Cloud Run allows up to
/// 60 minutes (<https://cloud.google.com/run/docs/configuring/request-timeout>).
pub(super) fn timeout(s: &str) -> Check<u32> {
    if digits(s).is_some() {
        return Err(InvalidValue::new(
            format!("timeout `{s}` has no unit"),
            format!("write `{s}s` for seconds (or use `m` for minutes, e.g. `5m`)"),
        ));
    }
    let bad = || {
        InvalidValue::new(
            format!("invalid timeout `{s}`"),
            "write a duration such as `300s`, `5m`, `1h` or `1m30s`",
        )
    };
    let mut total: u64 = 0;
    let mut rest = s;
    let mut last_rank = 0;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, tail) = rest.split_at(split);
        let n: u64 = digits(number).ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let (rank, unit) = match tail.chars().next() {
            Some('h') => (1, 3600),
            Some('m') => (2, 60),
            Some('s') => (3, 1),
            _ => return Err(bad()),
        };
        if rank <= last_rank {
            return Err(bad());
        }
        last_rank = rank;
        total = n
            .checked_mul(unit)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(bad)?;
        rest = &tail[1..];
    }
    if last_rank == 0 {
        return Err(bad());
    }
    match u32::try_from(total) {
        Ok(0) => Err(InvalidValue::new(
            format!("timeout `{s}` is zero"),
            "write at least `1s`; Cloud Run's default is `300s`",
        )),
        Ok(secs @ 1..=3600) => Ok(secs),
        _ => Err(InvalidValue::new(
            format!("timeout `{s}` is above Cloud Run's maximum of 60 minutes"),
            "write at most `3600s` (`60m`)",
        )),
    }
}

/// Reserved by the Cloud Run container runtime contract, which sets them itself
/// (<https://cloud.google.com/run/docs/container-contract#env-vars>).
const RESERVED_ENV: &[&str] = &["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

/// Env var names. Cloud Run rejects empty names, names containing `=` and names starting with
/// `X_GOOGLE_` (<https://cloud.google.com/run/docs/configuring/services/overview-environment-variables>,
/// "Reserved environment variables"), and the container contract's variables. We also require
/// `[A-Za-z_][A-Za-z0-9_]*`: Cloud Run would accept `my-var` or `1X`, but shells and most
/// language runtimes cannot read them, so a deploy would "work" and the agent would not see it.
pub(super) fn env_name(s: &str) -> Check {
    if s.is_empty() {
        return Err(InvalidValue::new(
            "empty environment variable name",
            "give the variable a name such as `LOG_LEVEL`",
        ));
    }
    if RESERVED_ENV.contains(&s) {
        return Err(InvalidValue::new(
            format!("`{s}` is reserved: Cloud Run sets it in every container"),
            "remove it; read it at runtime instead of setting it",
        ));
    }
    if s.to_ascii_uppercase().starts_with("X_GOOGLE_") {
        return Err(InvalidValue::new(
            format!("`{s}` uses the prefix `X_GOOGLE_`, which Cloud Run reserves"),
            "rename the variable",
        ));
    }
    let valid = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(());
    }
    let fixed: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let hint = if fixed.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        format!("use letters, digits and `_`, not starting with a digit: `{fixed}`")
    } else {
        "use letters, digits and `_`, not starting with a digit".to_owned()
    };
    Err(InvalidValue::new(
        format!("invalid environment variable name `{s}`"),
        hint,
    ))
}

/// Secret Manager secret ids: `[A-Za-z0-9_-]{1,255}`.
pub(super) fn secret_id(s: &str) -> Check {
    let ok = (1..=255).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            format!("invalid secret id `{s}`"),
            "secret ids have 1-255 letters, digits, `_` or `-`",
        ))
    }
}

/// `latest` or a positive integer without leading zeros.
pub(super) fn secret_version(s: &str) -> Check {
    let ok = s == "latest"
        || (s.starts_with(|c: char| ('1'..='9').contains(&c))
            && s.len() <= 19
            && s.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            format!("invalid secret version `{s}`"),
            "a version is `latest` or a positive number such as `3`",
        ))
    }
}

/// IAM roles: predefined `roles/service.name` (and basic `roles/viewer`), or custom roles
/// `projects/P/roles/NAME` and `organizations/N/roles/NAME`.
pub(super) fn role(s: &str) -> Check {
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
pub(super) const PROJECT_NUMBER_PLACEHOLDER: &str = "{project_number}";

/// IAM members that may be granted `roles/iam.serviceAccountUser`.
pub(super) fn member(s: &str) -> Check {
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
    if matches!(s, "allUsers" | "allAuthenticatedUsers") {
        return Err(InvalidValue::new(
            format!("`{s}` would let anyone act as the agent's service account"),
            "name the people, groups or service accounts that deploy the agent",
        ));
    }
    let ok = match concrete.split_once(':') {
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

fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

pub(super) fn is_email(s: &str) -> bool {
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
pub(super) fn service_account(s: &str, project: &str) -> Check {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids() {
        for ok in [
            "acme-sre-staging",
            "abcdef",
            "a23456789012345678901234567890",
        ] {
            assert!(project_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "short",
            "Acme-sre-prod",
            "1acme-prod",
            "acme-prod-",
            "acme_prod",
            "",
        ] {
            assert!(project_id(bad).is_err(), "{bad}");
        }
        assert!(
            project_id("123456789012")
                .unwrap_err()
                .hint()
                .contains("project number")
        );
    }

    #[test]
    fn regions() {
        for ok in [
            "us-central1",
            "europe-west4",
            "northamerica-northeast1",
            "me-central2",
        ] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "us-central",
            "central1",
            "US-CENTRAL1",
            "us-central1-a",
            "global",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
        assert!(
            region("us-central1-a")
                .unwrap_err()
                .hint()
                .contains("`us-central1`")
        );
    }

    #[test]
    fn service_names() {
        assert!(service_name("autosre").is_ok());
        assert!(service_name(&format!("a{}", "b".repeat(48))).is_ok());
        assert!(service_name(&format!("a{}", "b".repeat(49))).is_err());
        for bad in ["Autosre", "1sre", "sre-", "auto_sre", ""] {
            assert!(service_name(bad).is_err(), "{bad}");
        }
        assert!(
            service_name("Auto_SRE")
                .unwrap_err()
                .hint()
                .contains("`auto-sre`")
        );
    }

    #[test]
    fn cpu_limits() {
        for ok in [
            "1", "2", "4", "6", "8", "0.5", "0.08", ".25", "1000m", "500m", "1.0", "2000m",
        ] {
            assert!(cpu(ok).is_ok(), "{ok}");
        }
        for bad in [
            "four", "3", "1.5", "16", "0.05", "0.0001", "", "1,5", "2 cpu", "-1",
        ] {
            assert!(cpu(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_quantities() {
        for ok in [
            "512Mi",
            "16Gi",
            "1G",
            "128Mi",
            "32Gi",
            "0.5Gi",
            "536870912",
            "2048Mi",
        ] {
            assert!(memory(ok).is_ok(), "{ok}");
        }
        for bad in ["16GB", "16gi", "lots", "", "Gi", "64Mi", "33Gi", "1.2.3Gi"] {
            assert!(memory(bad).is_err(), "{bad}");
        }
        assert!(memory("16GB").unwrap_err().hint().contains("`16Gi`"));
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout("300s"), Ok(300));
        assert_eq!(timeout("5m"), Ok(300));
        assert_eq!(timeout("1h"), Ok(3600));
        assert_eq!(timeout("1m30s"), Ok(90));
        assert!(timeout("300").unwrap_err().hint().contains("`300s`"));
        assert!(timeout("90m").unwrap_err().message().contains("maximum"));
        for bad in ["0s", "s", "5x", "30s1m", "5 m", "", "1h1h", "-5s"] {
            assert!(timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        for ok in ["LOG_LEVEL", "_X", "a1"] {
            assert!(env_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A=B",
            "X_GOOGLE_FOO",
            "PORT",
            "K_SERVICE",
            "K_REVISION",
            "K_CONFIGURATION",
            "1A",
            "MY-VAR",
            "MY VAR",
        ] {
            assert!(env_name(bad).is_err(), "{bad}");
        }
        assert!(env_name("MY-VAR").unwrap_err().hint().contains("`MY_VAR`"));
    }

    #[test]
    fn roles() {
        for ok in [
            "roles/cloudtrace.agent",
            "roles/logging.logWriter",
            "roles/viewer",
            "projects/acme-sre-prod/roles/autosreDeployer",
            "organizations/123456/roles/custom.role_1",
        ] {
            assert!(role(ok).is_ok(), "{ok}");
        }
        for bad in [
            "cloudtrace.agent",
            "roles/",
            "roles/a..b",
            "projects/P/roles/x",
            "organizations/abc/roles/name",
            "roles/a/b",
        ] {
            assert!(role(bad).is_err(), "{bad}");
        }
        assert!(
            role("cloudtrace.agent")
                .unwrap_err()
                .hint()
                .contains("`roles/cloudtrace.agent`")
        );
    }

    #[test]
    fn members() {
        for ok in [
            "user:alice@example.com",
            "group:sre@example.com",
            "domain:example.com",
            "serviceAccount:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
            "principal://iam.googleapis.com/projects/1/locations/global/workforcePools/p/subject/s",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
        ] {
            assert!(member(ok).is_ok(), "{ok}");
        }
        for bad in [
            "alice@example.com",
            "user:alice",
            "allUsers",
            "serviceAccount:{project}@x.com",
            "robot:x@y.com",
            "principal://",
        ] {
            assert!(member(bad).is_err(), "{bad}");
        }
        assert!(
            member("alice@example.com")
                .unwrap_err()
                .hint()
                .contains("`user:alice@example.com`")
        );
    }

    #[test]
    fn service_accounts() {
        assert!(service_account("run@p-123456.iam.gserviceaccount.com", "p-123456").is_ok());
        let e = service_account("autosre-run", "acme-sre-prod").unwrap_err();
        assert!(
            e.hint()
                .contains("`autosre-run@acme-sre-prod.iam.gserviceaccount.com`")
        );
    }
}
