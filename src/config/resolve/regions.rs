//! `region:` or `regions:`: exactly one of the two. Each entry of `regions:` is a region name,
//! or one name mapped to what differs there (`min_instances`, `env` values), checked by the
//! rules the shared `service:` follows, so an expanded target is as valid as a one-region file.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::super::defaults;
use super::super::environment::{RegionTarget, ServiceSpec};
use super::super::problems::Problems;
use super::super::raw::{EnvValue, RawRegion, Text};
use super::super::redact;
use super::super::validate::{self, InvalidValue};
use super::super::values::Region;
use super::super::yaml::{Pos, join_path};

/// Each entry of `regions:` that parsed, with what it says.
pub(super) type Entries<'r> = Vec<(Region, &'r RawRegion)>;

/// The region every target shares when there is one (`region:` or its default), else the first
/// of `regions:`, and the targets of `regions:` (empty with `region:`).
pub(super) fn resolve_region<'r>(
    p: &mut Problems<'_>,
    region: Option<&Spanned<Text>>,
    regions: Option<&'r Spanned<Vec<Spanned<RawRegion>>>>,
) -> Option<(Region, Entries<'r>)> {
    let Some(list) = regions else {
        let parsed: Option<Region> = match region {
            Some(v) => p.check_text(v, "region", |s| s.parse()),
            None => Some(defaults::REGION.parse().expect("the default region parses")),
        };
        if let (Some(r), Some(written)) = (&parsed, region) {
            p.check(written, "region", |_| {
                validate::cloud_run_region(r.as_ref())
            });
        }
        return parsed.map(|r| (r, Vec::new()));
    };
    if region.is_some() {
        p.report(
            Pos::of(list),
            "regions",
            InvalidValue::new(
                "`region` and `regions` are both set",
                "keep `region: R` for one region, or list every region under `regions:` and \
                 delete `region`",
            ),
        );
        return None;
    }
    if list.value.is_empty() {
        p.report(
            Pos::of(list),
            "regions",
            InvalidValue::new(
                "`regions` lists no region",
                "list at least one, e.g. `regions: [us-central1, europe-west1]`",
            ),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, entry) in list.value.iter().enumerate() {
        let key = format!("regions[{i}]");
        if entry.value.keys != 1 {
            p.report(
                Pos::of(entry),
                key,
                InvalidValue::new(
                    format!(
                        "an entry of `regions` maps one region to its overrides, found {} keys",
                        entry.value.keys
                    ),
                    "write one region per entry: `- europe-west1: {min_instances: 1}`",
                ),
            );
            continue;
        }
        let region: Option<Region> = match &entry.value.name.0 {
            Ok(name) => match name.parse::<Region>() {
                Ok(r) => match validate::cloud_run_region(r.as_ref()) {
                    Ok(()) => Some(r),
                    Err(e) => {
                        p.report(Pos::of(entry), key.clone(), e);
                        None
                    }
                },
                Err(e) => {
                    p.report(Pos::of(entry), key.clone(), e);
                    None
                }
            },
            Err(kind) => {
                p.report(
                    Pos::of(entry),
                    key.clone(),
                    InvalidValue::new(
                        format!("expected a region name, found {kind}"),
                        "write the region's name, e.g. `europe-west1`",
                    ),
                );
                None
            }
        };
        let Some(region) = region else { continue };
        if seen.contains(&region.to_string()) {
            p.report(
                Pos::of(entry),
                key,
                InvalidValue::new(
                    format!("`{region}` is listed twice"),
                    "list each region once; put what differs there under that one entry",
                ),
            );
            continue;
        }
        seen.push(region.to_string());
        out.push((region, &entry.value));
    }
    let first = out.first().map(|(r, _)| r.clone())?;
    Some((first, out))
}

/// Each region's overrides, checked against the shared service: `min_instances` within
/// `max_instances`, env names and values by `service.env`'s rules (never the encryption key's
/// variable, never a name `service.secrets` sets, a credential-like name only when
/// `service.plain_env_allow` lists it).
pub(super) fn resolve_overrides(
    p: &mut Problems<'_>,
    entries: &[(Region, &RawRegion)],
    service: &ServiceSpec,
    key_env: &str,
) -> Vec<RegionTarget> {
    let mut out = Vec::new();
    for (i, (region, raw)) in entries.iter().enumerate() {
        let base = format!("regions[{i}].{region}");
        let mut target = RegionTarget {
            region: region.clone(),
            min_instances: None,
            env: BTreeMap::new(),
        };
        let Some(o) = &raw.overrides else {
            out.push(target);
            continue;
        };
        if let Some(min) = &o.min_instances {
            let key = format!("{base}.min_instances");
            p.check(min, &key, |n| match *n <= service.max_instances {
                true => Ok(()),
                false => Err(InvalidValue::new(
                    format!(
                        "min_instances ({n}) is greater than service.max_instances ({})",
                        service.max_instances
                    ),
                    format!("raise `service.max_instances` to at least {n}, or lower this one"),
                )),
            });
            target.min_instances = Some(min.value);
        }
        for (name, value) in o.env.as_ref().map(|m| m.0.as_slice()).unwrap_or_default() {
            let key = join_path(&format!("{base}.env"), &name.value);
            p.check(name, &key, |s| validate::env_name(s));
            let refusal = if name.value == key_env {
                Some(InvalidValue::new(
                    format!(
                        "`{}` is the encryption key's variable (`encryption_key.env`) and must not be a plain value",
                        name.value
                    ),
                    "delete it here; the key comes from Secret Manager under `service.secrets`",
                ))
            } else if service.secrets.contains_key(&name.value) {
                Some(InvalidValue::new(
                    format!(
                        "`{}` is set from Secret Manager by `service.secrets`",
                        name.value
                    ),
                    "delete it here, or remove it from `service.secrets`",
                ))
            } else if redact::is_sensitive_name(&name.value)
                && !service.plain_env_allow.contains(&name.value)
            {
                Some(InvalidValue::new(
                    format!(
                        "`{}` looks like a credential, which never goes in a plain env var",
                        name.value
                    ),
                    format!(
                        "put it in Secret Manager under `service.secrets`, or list `{}` in `service.plain_env_allow` if it is not secret",
                        name.value
                    ),
                ))
            } else {
                None
            };
            if let Some(problem) = refusal {
                p.report(Pos::of(name), key, problem);
                continue;
            }
            match &value.value {
                EnvValue::Text(text) => {
                    if let Err(e) = validate::env_value_size(&name.value, text) {
                        p.report(Pos::of(value), key, e);
                    }
                    target.env.insert(name.value.clone(), text.clone());
                }
                EnvValue::NotText(kind) => p.report(
                    Pos::of(value),
                    key,
                    InvalidValue::new(
                        format!(
                            "env values must be text; YAML reads `{}` as {kind}",
                            p.written(value)
                        ),
                        format!("quote it: `{}: \"{}\"`", name.value, p.written(value)),
                    ),
                ),
                EnvValue::Empty | EnvValue::Collection(_) => p.report(
                    Pos::of(value),
                    key,
                    InvalidValue::new(
                        format!("`{}` has no text value", name.value),
                        format!("write one quoted value: `{}: \"...\"`", name.value),
                    ),
                ),
            }
        }
        out.push(target);
    }
    out
}
