//! `history`: the service's revisions, newest first, with what each runs
//! (image, pinned secret versions, the tool version and commit that deployed
//! it), whether it is ready, its traffic and tags now, and which one a plain
//! `rollback` would go to. Pure: computed from [`Live`].

use serde::Serialize;

use super::{Live, PREVIOUS_ANNOTATION, SCHEMA_VERSION, SecretUse, is_ready, secret_uses};
use crate::config::Environment;
use crate::plan::traffic::{self, short};

/// The label another part of the tool writes with the commit a revision was
/// built from (as deploy-cloudrun's `commit-sha`); shown when present.
const COMMIT_LABEL: &str = "commit-sha";

#[derive(Clone, Debug, Serialize)]
pub(crate) struct History {
    pub(crate) schema_version: u32,
    pub(crate) environment: String,
    pub(crate) service: String,
    /// Where a plain `rollback` goes: the revision recorded as serving
    /// before the last deploy or move by this tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rollback_target: Option<String>,
    /// Newest first.
    pub(crate) revisions: Vec<RevisionEntry>,
    /// Revisions not listed (beyond `--limit`).
    pub(crate) more: usize,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct RevisionEntry {
    pub(crate) name: String,
    pub(crate) created: String,
    pub(crate) image: String,
    pub(crate) ready: bool,
    /// Percent of traffic now.
    pub(crate) traffic: i32,
    /// Tags on this revision, with their URLs when Cloud Run reports them.
    pub(crate) tags: Vec<TagUrl>,
    pub(crate) secrets: Vec<SecretUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) commit: Option<String>,
    pub(crate) service_account: String,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct TagUrl {
    pub(crate) tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
}

/// The history of `live`, its `limit` newest revisions.
pub(crate) fn history(env: &Environment, live: &Live, limit: usize) -> History {
    let shares = traffic::serving(&live.service);
    let requested = traffic::requested(&live.service);
    let latest_ready = short(&live.service.latest_ready_revision).to_string();
    let revisions: Vec<RevisionEntry> = live
        .revisions
        .iter()
        .take(limit)
        .map(|r| {
            let name = short(&r.name).to_string();
            let percent = shares
                .iter()
                .filter(|s| s.revision == name)
                .map(|s| s.percent)
                .sum();
            // Tags: from what serves (with URLs), else from the request.
            let mut tags: Vec<TagUrl> = shares
                .iter()
                .filter(|s| s.revision == name)
                .filter_map(|s| {
                    Some(TagUrl {
                        tag: s.tag.clone()?,
                        url: s.url.clone(),
                    })
                })
                .collect();
            for t in &requested {
                let on = t.revision.clone().unwrap_or_else(|| latest_ready.clone());
                if let (Some(tag), true) = (&t.tag, on == name)
                    && !tags.iter().any(|x| &x.tag == tag)
                {
                    tags.push(TagUrl {
                        tag: tag.clone(),
                        url: None,
                    });
                }
            }
            RevisionEntry {
                created: r.create_time.map(String::from).unwrap_or_default(),
                image: r
                    .containers
                    .first()
                    .map(|c| c.image.clone())
                    .unwrap_or_default(),
                ready: is_ready(r),
                traffic: percent,
                tags,
                secrets: secret_uses(r, &env.project),
                tool_version: super::tool_version(r),
                commit: r.labels.get(COMMIT_LABEL).cloned(),
                service_account: r.service_account.clone(),
                name,
            }
        })
        .collect();
    History {
        schema_version: SCHEMA_VERSION,
        environment: env.name.clone(),
        service: env.service.name.to_string(),
        rollback_target: live.service.annotations.get(PREVIOUS_ANNOTATION).cloned(),
        more: live.revisions.len().saturating_sub(limit),
        revisions,
    }
}
