//! Offline syntax checks for single values, each returning what is wrong and how to fix it.
//!
//! These run before any call to Google so a typo costs milliseconds, not a failed revision.
//! Where a rule comes from Google's documentation the page is cited; where we are stricter
//! than Google (env var names) the comment says why. Checks that need cross-field context
//! (min vs max instances, env vs secrets) live in `resolve.rs`. The IAM values (roles,
//! members, the runtime service account) are in `validate/iam.rs`.

use std::fmt;

use autosre_types::{Cpu, Memory, Timeout};

mod iam;
mod regions;

#[cfg(test)]
pub(super) use iam::is_broad_member;
pub(super) use iam::{account_user, iap_member, member, role, service_account};
pub(super) use regions::cloud_run_region;

/// The most bytes Cloud Run takes in one env var's value: run.v2 `EnvVar.value`, "the maximum
/// length is 32768 bytes" (emulator/discovery/run.v2.json; also
/// https://cloud.google.com/run/docs/configuring/services/environment-variables).
pub(super) const ENV_VALUE_MAX_BYTES: usize = 32_768;

/// An env value Cloud Run would refuse for its size, found offline. The value is never
/// echoed: only its size.
pub(crate) fn env_value_size(name: &str, value: &str) -> Check {
    if value.len() <= ENV_VALUE_MAX_BYTES {
        return Ok(());
    }
    Err(InvalidValue::new(
        format!(
            "the value of `{name}` is {} bytes; Cloud Run takes at most {ENV_VALUE_MAX_BYTES} bytes per value",
            value.len()
        ),
        "shorten it, or store it in Secret Manager and wire it under `service.secrets`          (a secret version holds up to 64 KiB)",
    ))
}

/// A rejected value: the message names the value in backticks, the hint says what to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidValue {
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

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn hint(&self) -> &str {
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

/// `service.dockerfile`: a relative path inside the source directory.
pub(super) fn dockerfile(s: &str) -> Result<String, InvalidValue> {
    let path = std::path::Path::new(s);
    let inside = path.components().all(|c| {
        matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if s.trim().is_empty() || !inside {
        return Err(InvalidValue::new(
            format!("`{s}` is not a path inside the source directory"),
            "write the Dockerfile's path relative to the source directory, e.g.              `docker/Dockerfile`",
        ));
    }
    Ok(s.to_owned())
}

/// Container image references, `[REGISTRY[:PORT]/]PATH[:TAG][@DIGEST]` (the grammar of
/// `distribution/reference`, which Docker and Artifact Registry use): path components in
/// lowercase letters and digits joined by `.`, `_`, `__` or `-`; a tag of up to 128 letters,
/// digits, `_`, `.` and `-` not starting with `.` or `-`; a digest `ALGORITHM:HEX`. The
/// registry is the authority on whether the image exists.
pub(super) fn image(s: &str) -> Check {
    if is_image(s) {
        return Ok(());
    }
    let hint = if s.chars().any(|c| c.is_ascii_uppercase()) && is_image(&s.to_ascii_lowercase()) {
        format!("image paths are lowercase: `{}`", s.to_ascii_lowercase())
    } else {
        "write a full image reference such as `us-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG`, or \
         omit `image` and pass `--image`"
            .to_owned()
    };
    Err(InvalidValue::new(
        format!("invalid container image `{s}`"),
        hint,
    ))
}

fn is_image(s: &str) -> bool {
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    let digest_ok = digest.is_none_or(|d| match d.split_once(':') {
        Some((algo, hex)) => {
            !algo.is_empty()
                && algo.starts_with(|c: char| c.is_ascii_alphabetic())
                && algo
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    });
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let tag_ok = tag.is_none_or(|t| {
        (1..=128).contains(&t.len())
            && !t.starts_with(['.', '-'])
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    let mut parts: Vec<&str> = name.split('/').collect();
    let is_registry = |p: &str| p.contains(['.', ':']) || p == "localhost";
    if parts.len() > 1 && is_registry(parts[0]) {
        let registry = parts.remove(0);
        let (host, port) = registry.split_once(':').unwrap_or((registry, "1"));
        let registry_ok = is_domain(host) || host == "localhost";
        if !registry_ok || port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    let component_ok = |p: &str| {
        !p.is_empty()
            && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && !p.contains("..")
    };
    digest_ok && tag_ok && parts.iter().all(|p| component_ok(p))
}

/// `service.cpu`: see [`Cpu`] for the accepted spellings and Cloud Run's values.
pub(super) fn cpu(s: &str) -> Check<Cpu> {
    s.parse::<Cpu>()
        .map_err(|e| InvalidValue::new(e.to_string(), e.hint()))
}

/// `service.memory`: see [`Memory`] for the accepted spellings and Cloud Run's range.
pub(super) fn memory(s: &str) -> Check<Memory> {
    s.parse::<Memory>()
        .map_err(|e| InvalidValue::new(e.to_string(), e.hint()))
}

/// `service.timeout`: see [`Timeout`].
pub(super) fn timeout(s: &str) -> Check<Timeout> {
    s.parse::<Timeout>()
        .map_err(|e| InvalidValue::new(e.to_string(), e.hint()))
}

/// The CPU/memory pair against Cloud Run's table (the rule the emulator applies too).
pub(super) fn cpu_memory(cpu: Cpu, memory: Memory) -> Check {
    autosre_types::check_cpu_memory(cpu, memory)
        .map_err(|e| InvalidValue::new(e.to_string(), e.hint()))
}

/// Reserved by the Cloud Run container runtime contract, which sets them itself
/// (<https://cloud.google.com/run/docs/container-contract#env-vars>).
const RESERVED_ENV: &[&str] = &["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

/// Env var names. Cloud Run rejects empty names, names containing `=` and names starting with
/// `X_GOOGLE_` (<https://cloud.google.com/run/docs/configuring/services/overview-environment-variables>,
/// "Reserved environment variables"), and the container contract's variables. We also require
/// `[A-Za-z_][A-Za-z0-9_]*`: Cloud Run would accept `my-var` or `1X`, but shells and most
/// language runtimes cannot read them, so a deploy would "work" and the agent would not see it.
pub(crate) fn env_name(s: &str) -> Check {
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
    // `encryption_key.secret: projects/P/locations/L/secrets/S`: say why, not just "invalid".
    if s.starts_with("projects/") && s.contains("/locations/") {
        return Err(InvalidValue::new(
            format!("regional secrets are not supported yet: `{s}`"),
            "name a global secret by its id (in the environment's project)",
        ));
    }
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
    let number = s.starts_with(|c: char| ('1'..='9').contains(&c))
        && s.len() <= 19
        && s.chars().all(|c| c.is_ascii_digit());
    // A version alias: "a string with a maximum length of 63 characters and can contain
    // uppercase and lowercase letters, numerals, and the hyphen (`-`) and underscore ('_')
    // characters. An alias string must start with a letter and cannot be the string 'latest'
    // or 'NEW'" (secretmanager.v1 discovery, Secret.versionAliases). Cloud Run takes one
    // wherever it takes a version (run.v2 discovery, SecretKeySelector.version).
    let alias = s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s != "NEW";
    if s == "latest" || number || alias {
        Ok(())
    } else {
        Err(InvalidValue::new(
            format!("invalid secret version `{s}`"),
            "a version is `latest`, a positive number such as `3`, or a version alias such as `current`",
        ))
    }
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

#[cfg(test)]
mod tests;
