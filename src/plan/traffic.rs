//! Traffic: where requests go, what a deploy, `promote` and `rollback` ask
//! of it, and what serves. Pure: every rule is a unit test (`traffic/tests.rs`).
//!
//! Cloud Run's model (googleapis `google/cloud/run/v2/traffic_target.proto`,
//! `service.proto`; cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration):
//! `Service.traffic` is the request, a list of targets each LATEST (the
//! latest *ready* revision, so it follows every new revision) or a revision
//! by name (it stays), with a percent (default 0) and an optional tag; an
//! empty list is 100% to LATEST. Once traffic is pinned to named revisions,
//! "all subsequent deployments use that traffic split pattern going forward":
//! a new revision gets 0%. `trafficStatuses` (output only) say what serves,
//! with each tagged target's URL in `uri`; the tool reads tagged URLs there
//! and never builds them.
//!
//! The moves follow gcloud (`command_lib/run/config_changes.py`,
//! `api_lib/run/traffic.py`): `--no-traffic` moves LATEST's percent onto the
//! latest ready revision by name, keeping a tag bound to LATEST; a tag given
//! to a new revision is a 0% target by revision name, and a tag lives on one
//! target only; a target given N% leaves 100 - N to the others, rescaled in
//! proportion; untagged 0% targets are dropped.

use google_cloud_run_v2::model::{
    Service, TrafficTarget, TrafficTargetAllocationType as T, TrafficTargetStatus,
};
use serde::{Deserialize, Serialize};

/// One target of the requested split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Target {
    /// The revision by name; `None` is LATEST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
    pub(crate) percent: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<String>,
}

impl Target {
    fn latest(percent: i32) -> Target {
        Target {
            revision: None,
            percent,
            tag: None,
        }
    }

    fn named(revision: &str, percent: i32) -> Target {
        Target {
            revision: Some(revision.to_string()),
            percent,
            tag: None,
        }
    }

    fn is_latest(&self) -> bool {
        self.revision.is_none()
    }
}

/// One share of what serves now, from `trafficStatuses`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Share {
    /// The revision serving it (LATEST resolved to the latest ready revision).
    pub(crate) revision: String,
    pub(crate) percent: i32,
    /// Whether it is LATEST's share (it follows new revisions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) latest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<String>,
    /// The tagged URL, as Cloud Run reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
}

/// `projects/p/locations/r/services/s/revisions/x` -> `x`.
pub(crate) fn short(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or_default()
}

/// The split `service` requests; an empty `traffic` is 100% to LATEST.
pub(crate) fn requested(service: &Service) -> Vec<Target> {
    let out: Vec<Target> = service
        .traffic
        .iter()
        .map(|t| Target {
            revision: match (&t.r#type, t.revision.is_empty()) {
                (T::Revision, false) => Some(short(&t.revision).to_string()),
                _ => None,
            },
            percent: t.percent,
            tag: Some(t.tag.clone()).filter(|t| !t.is_empty()),
        })
        .collect();
    match out.is_empty() {
        true => vec![Target::latest(100)],
        false => out,
    }
}

/// What serves `service` now, from its `trafficStatuses` (a LATEST status
/// without a revision name is the latest ready revision).
pub(crate) fn serving(service: &Service) -> Vec<Share> {
    let latest_ready = short(&service.latest_ready_revision);
    service
        .traffic_statuses
        .iter()
        .map(|s: &TrafficTargetStatus| {
            let latest = s.r#type == T::Latest || s.revision.is_empty();
            Share {
                revision: match latest && s.revision.is_empty() {
                    true => latest_ready.to_string(),
                    false => short(&s.revision).to_string(),
                },
                percent: s.percent,
                latest,
                tag: Some(s.tag.clone()).filter(|t| !t.is_empty()),
                url: Some(s.uri.clone()).filter(|u| !u.is_empty()),
            }
        })
        .collect()
}

/// The revisions that serve some traffic, the largest share first.
pub(crate) fn serving_revisions(shares: &[Share]) -> Vec<String> {
    let mut by: Vec<(String, i32)> = Vec::new();
    for s in shares.iter().filter(|s| s.percent > 0) {
        match by.iter_mut().find(|(r, _)| *r == s.revision) {
            Some((_, p)) => *p += s.percent,
            None => by.push((s.revision.clone(), s.percent)),
        }
    }
    by.sort_by_key(|b| std::cmp::Reverse(b.1));
    by.into_iter().map(|(r, _)| r).collect()
}

/// The targets as the API takes them.
pub(crate) fn to_api(targets: &[Target]) -> Vec<TrafficTarget> {
    targets
        .iter()
        .map(|t| {
            let mut out = TrafficTarget::new().set_percent(t.percent);
            out = match &t.revision {
                Some(r) => out.set_type(T::Revision).set_revision(r),
                None => out.set_type(T::Latest),
            };
            match &t.tag {
                Some(tag) => out.set_tag(tag),
                None => out,
            }
        })
        .collect()
}

/// The split in words: `90% api-00001-abc, 10% LATEST, tag canary: api-00002-xyz`.
pub(crate) fn describe(targets: &[Target]) -> String {
    let mut parts: Vec<String> = targets
        .iter()
        .filter(|t| t.percent > 0)
        .map(|t| {
            let who = t.revision.as_deref().unwrap_or("LATEST");
            match &t.tag {
                Some(tag) => format!("{}% {who} (tag {tag})", t.percent),
                None => format!("{}% {who}", t.percent),
            }
        })
        .collect();
    parts.extend(targets.iter().filter(|t| t.percent == 0).filter_map(|t| {
        let tag = t.tag.as_ref()?;
        Some(format!(
            "tag {tag}: {}",
            t.revision.as_deref().unwrap_or("LATEST")
        ))
    }));
    parts.join(", ")
}

/// LATEST's percent: what a new revision will get.
pub(crate) fn latest_percent(targets: &[Target]) -> i32 {
    targets
        .iter()
        .filter(|t| t.is_latest())
        .map(|t| t.percent)
        .sum()
}

/// Cloud Run's limit on a tag: "Combined traffic tag and service name cannot
/// exceed 46 characters" (Cloud Run's error for `spec.traffic.tag`); a tag is
/// part of a host name, so lowercase letters, digits and dashes (Google does
/// not document the set; this is the DNS-label rule, the safe assumption).
pub(crate) fn check_tag(tag: &str, service: &str) -> Result<(), String> {
    /// Cloud Run's limit on tag + service name.
    const MAX: usize = 46;
    if tag.is_empty() {
        return Err("a tag cannot be empty".into());
    }
    let dns = tag
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !dns || tag.starts_with('-') || tag.ends_with('-') {
        return Err(format!(
            "tag `{tag}` may hold only lowercase letters, digits and dashes, and not begin or end with a dash"
        ));
    }
    if tag.len() + service.len() > MAX {
        return Err(format!(
            "tag `{tag}` is too long for service `{service}`: tag and service name together may have at most {MAX} characters (here {}); use a tag of at most {} characters",
            tag.len() + service.len(),
            MAX.saturating_sub(service.len())
        ));
    }
    Ok(())
}

/// What a deploy asks of traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum DeployTraffic {
    /// LATEST = 100 (`service.traffic: latest`, `--to-latest`).
    #[default]
    Latest,
    /// The live split as it is (`service.traffic: keep`).
    Keep,
    /// The new revision gets nothing; the live split stays by name (`--no-traffic`).
    None,
}

/// The split a deploy requests, from the live one (`None`: a first deploy).
/// `tag` goes to the new revision, named `new_revision`. Refused: no traffic
/// on a first deploy ("--no-traffic not supported when creating a new
/// service.", gcloud `command_lib/run/flags.py`).
pub(crate) fn for_deploy(
    live: Option<&Service>,
    mode: DeployTraffic,
    tag: Option<(&str, &str)>,
) -> Result<Vec<Target>, String> {
    let mut out = match (live, mode) {
        (None, DeployTraffic::None) => {
            return Err(
                "--no-traffic is refused on a first deploy: there is no revision to keep serving"
                    .into(),
            );
        }
        (None, _) => vec![Target::latest(100)],
        (Some(s), DeployTraffic::Keep) => requested(s),
        (Some(s), DeployTraffic::Latest) => {
            // Tags stay (as 0% targets), a tag on LATEST stays on LATEST.
            let live = requested(s);
            let mut out = vec![Target {
                tag: live
                    .iter()
                    .find(|t| t.is_latest() && t.tag.is_some())
                    .and_then(|t| t.tag.clone()),
                ..Target::latest(100)
            }];
            out.extend(
                live.into_iter()
                    .filter(|t| !t.is_latest() && t.tag.is_some())
                    .map(|t| Target { percent: 0, ..t }),
            );
            out
        }
        (Some(s), DeployTraffic::None) => no_traffic(requested(s), short(&s.latest_ready_revision)),
    };
    if let Some((tag, revision)) = tag {
        untag(&mut out, tag);
        out.push(Target {
            tag: Some(tag.to_string()),
            ..Target::named(revision, 0)
        });
    }
    Ok(out)
}

/// gcloud's `ZeroLatestTraffic`: LATEST's percent moves onto the latest
/// ready revision by name; a tag bound to LATEST stays, at 0%.
fn no_traffic(live: Vec<Target>, latest_ready: &str) -> Vec<Target> {
    let moved = latest_percent(&live);
    let mut out: Vec<Target> = Vec::new();
    for t in live {
        match (t.is_latest(), &t.tag) {
            (true, Some(_)) => out.push(Target { percent: 0, ..t }),
            (true, None) => {}
            (false, _) => out.push(t),
        }
    }
    if moved > 0 {
        match out
            .iter_mut()
            .find(|t| t.revision.as_deref() == Some(latest_ready))
        {
            Some(t) => t.percent += moved,
            None => out.insert(0, Target::named(latest_ready, moved)),
        }
    }
    out
}

/// Take `tag` off every target; an untagged 0% target is dropped.
fn untag(targets: &mut Vec<Target>, tag: &str) {
    for t in targets.iter_mut() {
        if t.tag.as_deref() == Some(tag) {
            t.tag = None;
        }
    }
    targets.retain(|t| t.percent > 0 || t.tag.is_some());
}

/// The split after giving `percent` to `revision` (`promote`, `rollback`):
/// the others share the rest in proportion to what they had (largest
/// remainder, so the total stays 100); tags stay where they are. At 100%
/// to the latest ready revision the split is LATEST = 100 again, so that
/// later deploys serve (`latest_ready`).
pub(crate) fn give(
    live: &[Target],
    revision: &str,
    percent: i32,
    latest_ready: &str,
) -> Vec<Target> {
    let percent = percent.clamp(0, 100);
    // The other targets' shares; LATEST keeps its own (it follows new
    // revisions, as gcloud keeps targets not named), unless it is the
    // revision given traffic now, whose share it then is.
    let tags: Vec<(String, Option<String>)> = live
        .iter()
        .filter_map(|t| Some((t.tag.clone()?, t.revision.clone())))
        .collect();
    let mut others: Vec<(Option<String>, i32)> = Vec::new();
    for t in live.iter().filter(|t| t.percent > 0) {
        let key = match &t.revision {
            None if latest_ready == revision => continue,
            r => r.clone(),
        };
        if key.as_deref() == Some(revision) {
            continue;
        }
        match others.iter_mut().find(|(o, _)| *o == key) {
            Some((_, p)) => *p += t.percent,
            None => others.push((key, t.percent)),
        }
    }
    let rest = 100 - percent;
    let total: i32 = others.iter().map(|(_, p)| p).sum();
    let mut shares: Vec<(Option<String>, i32)> = Vec::new();
    if rest > 0 && total > 0 {
        let mut given: Vec<(Option<String>, i32, i32)> = others
            .iter()
            .map(|(r, p)| (r.clone(), p * rest / total, (p * rest) % total))
            .collect();
        let mut left = rest - given.iter().map(|g| g.1).sum::<i32>();
        let mut order: Vec<usize> = (0..given.len()).collect();
        order.sort_by(|a, b| given[*b].2.cmp(&given[*a].2));
        for i in order {
            if left == 0 {
                break;
            }
            given[i].1 += 1;
            left -= 1;
        }
        shares.extend(given.into_iter().map(|(r, p, _)| (r, p)));
    }
    let percent = match rest > 0 && total == 0 {
        // Nothing else serves: it takes all.
        true => 100,
        false => percent,
    };
    let mut out: Vec<Target> = Vec::new();
    if percent == 100 && revision == latest_ready {
        out.push(Target::latest(100));
    } else {
        out.push(Target::named(revision, percent));
        out.extend(
            shares
                .into_iter()
                .filter(|(_, p)| *p > 0)
                .map(|(revision, percent)| Target {
                    revision,
                    percent,
                    tag: None,
                }),
        );
    }
    for (tag, on) in tags {
        match out
            .iter_mut()
            .find(|t| t.revision == on && t.tag.is_none() && (on.is_some() || t.is_latest()))
        {
            Some(t) => t.tag = Some(tag),
            None => out.push(Target {
                revision: on,
                percent: 0,
                tag: Some(tag),
            }),
        }
    }
    out
}

/// Two splits mean the same: the same targets, whatever their order.
pub(crate) fn same(a: &[Target], b: &[Target]) -> bool {
    let key = |t: &Target| (t.revision.clone(), t.percent, t.tag.clone());
    let mut a: Vec<_> = a
        .iter()
        .filter(|t| t.percent > 0 || t.tag.is_some())
        .map(key)
        .collect();
    let mut b: Vec<_> = b
        .iter()
        .filter(|t| t.percent > 0 || t.tag.is_some())
        .map(key)
        .collect();
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests;
