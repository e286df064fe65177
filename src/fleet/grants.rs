//! The IAM wave of a run over several targets: every target's grants
//! before its rollout, merged per policy, each policy written once.

use std::collections::BTreeMap;

use google_cloud_iam_v1::model::Policy;

use super::run::Planned;
use crate::apply::{self, IamResult};
use crate::gcp::iam::{Grant, PolicyResource};
use crate::plan::IamChange;
use crate::printer::Printer;

/// Every target's grants before its rollout, merged per policy and written
/// at once: one read-modify-write per policy however many targets need a
/// binding in it (the policy as the plans read it, so a policy that changes
/// costs one write and no read; a stale etag re-reads, as for one target).
/// Returns, per target, the results of its own changes in its plan's order.
pub(super) async fn grant_all(
    google: &crate::gcp::Google,
    printer: &Printer,
    planned: &[Planned],
) -> Vec<Vec<IamResult>> {
    let mut merged: BTreeMap<PolicyResource, (IamChange, Option<Policy>)> = BTreeMap::new();
    for p in planned {
        for c in apply::grant_order(&p.plan).0 {
            let (m, _) = merged.entry(c.resource.clone()).or_insert_with(|| {
                (
                    IamChange {
                        resource: c.resource.clone(),
                        etag: c.etag.clone(),
                        add: Vec::new(),
                        remove: Vec::new(),
                        required: false,
                    },
                    p.live.policy(&c.resource).cloned(),
                )
            });
            extend(&mut m.add, &c.add);
            extend(&mut m.remove, &c.remove);
            m.required |= c.required;
        }
    }
    // A binding one target adds is never removed for another.
    for (m, _) in merged.values_mut() {
        let add = m.add.clone();
        m.remove.retain(|g| !add.contains(g));
    }
    if !merged.is_empty() {
        printer.step(&format!(
            "Granting IAM roles on {} resource(s) for {} targets",
            merged.len(),
            planned.len()
        ));
    }
    let results = futures::future::join_all(
        merged
            .values()
            .map(|(c, planned)| apply::iam::apply_change(google, c, planned.clone())),
    )
    .await;
    let by_resource: BTreeMap<&PolicyResource, IamResult> = merged.keys().zip(results).collect();
    planned
        .iter()
        .map(|p| {
            apply::grant_order(&p.plan)
                .0
                .iter()
                .map(|c| by_resource[&c.resource].clone())
                .collect()
        })
        .collect()
}

fn extend(into: &mut Vec<Grant>, from: &[Grant]) {
    for g in from {
        if !into.contains(g) {
            into.push(g.clone());
        }
    }
}
