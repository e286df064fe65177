//! Building the state from a [`World`]: projects, accounts, secrets, services and their
//! policies, with every failure named after the world entry it comes from.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::{Project, State};
use crate::behaviour::Behaviour;
use crate::clock::SharedClock;
use crate::error::ApiError;
use crate::util::now_rfc3339;
use crate::world::{World, WorldError};

impl State {
    /// Checks `world` and builds the state from it. [`World::check`] runs the same build, so
    /// a world it accepts never fails here.
    pub(crate) fn from_world(
        world: World,
        operation_polls: u32,
        iam_propagation: Duration,
        clock: SharedClock,
    ) -> Result<State, WorldError> {
        world.check_shape()?;
        State::build(&world, operation_polls, iam_propagation, clock)
    }

    /// Seeds the state from a world whose shape has been checked; every failure names the
    /// world entry it comes from.
    pub(crate) fn build(
        world: &World,
        operation_polls: u32,
        iam_propagation: Duration,
        clock: SharedClock,
    ) -> Result<State, WorldError> {
        let operation_polls = match &world.operation_polls {
            Some(p) => p.count()?,
            None => operation_polls,
        };
        let caller = world
            .caller
            .clone()
            .unwrap_or_else(|| "deployer@example.com".to_string());
        let mut behaviour = Behaviour {
            validate_only: world.validate_only.clone(),
            revision_failure: world.revision_failure.clone(),
            fail_revisions: world.fail_revisions.clone(),
            disabled_apis: world
                .disabled_apis
                .iter()
                .filter_map(|a| crate::routes::api_named(a))
                .collect(),
            ..Behaviour::default()
        };
        for p in &world.projects {
            if p.org_policy.domain_restricted_sharing {
                behaviour.restricted_projects.insert(p.id.clone());
            }
            if p.iap_agent_pending > 0 {
                behaviour
                    .iap_agent_pending
                    .insert(p.number, p.iap_agent_pending);
            }
            for r in &p.custom_roles {
                behaviour.custom_roles.insert(
                    format!("projects/{}/roles/{}", p.id, r.id),
                    r.permissions.clone(),
                );
            }
        }
        let mut st = State {
            caller_member: if world.enforce_caller_permissions {
                crate::authz::caller_member(&caller)
            } else {
                None
            },
            behaviour,
            clock,
            caller: caller
                .split_once(':')
                .map_or(caller.as_str(), |(_, e)| e)
                .to_string(),
            projects: Vec::new(),
            service_accounts: BTreeMap::new(),
            secrets: BTreeMap::new(),
            services: BTreeMap::new(),
            operations: BTreeMap::new(),
            policies: HashMap::new(),
            issued_tokens: HashMap::new(),
            operation_polls,
            iam_propagation,
            build_duration: Duration::ZERO,
            storage: Default::default(),
            registry: Default::default(),
            builds: crate::build::Builds {
                behaviour: crate::build::BuildBehaviour {
                    fail: world.fail_builds.clone(),
                    submit: world.submit_build,
                    default_account: world.default_build_account,
                },
                ..Default::default()
            },
            counter: 0,
        };
        let invalid = |at: &str| {
            let at = at.to_string();
            move |e: ApiError| WorldError::Invalid(format!("{at}: {}", e.message))
        };
        for p in &world.projects {
            st.projects.push(Project {
                id: p.id.clone(),
                number: p.number,
                display_name: p.display_name.clone().unwrap_or_else(|| p.id.clone()),
                create_time: now_rfc3339(),
            });
            if p.compute_default_service_account {
                let email = format!("{}-compute@developer.gserviceaccount.com", p.number);
                st.insert_service_account(
                    &p.id,
                    &email,
                    Some("Compute Engine default service account".into()),
                    None,
                    false,
                );
            }
        }
        for p in &world.projects {
            let at = format!("project `{}`", p.id);
            st.seed_bindings(&format!("projects/{}", p.id), &p.iam)
                .map_err(invalid(&format!("{at}, iam")))?;
            for sa in &p.service_accounts {
                st.insert_service_account(
                    &p.id,
                    &sa.email,
                    sa.display_name.clone(),
                    sa.description.clone(),
                    sa.disabled,
                );
                let res = format!("projects/{}/serviceAccounts/{}", p.id, sa.email);
                st.seed_bindings(&res, &sa.iam)
                    .map_err(invalid(&format!("{at}, service account `{}`", sa.email)))?;
            }
            for s in &p.secrets {
                let at = format!("{at}, secret `{}`", s.id);
                let mut fields = serde_json::Map::new();
                fields.insert("replication".into(), serde_json::json!({"automatic": {}}));
                if let Some(l) = &s.labels {
                    fields.insert("labels".into(), l.clone());
                }
                st.insert_secret(&p.id, &s.id, fields);
                for v in &s.versions {
                    let n = st
                        .push_secret_version(&p.id, &s.id, &v.payload()?)
                        .map_err(invalid(&at))?;
                    st.set_version_state(&p.id, &s.id, n, v.state)
                        .map_err(invalid(&at))?;
                }
                let res = format!("projects/{}/secrets/{}", p.id, s.id);
                st.seed_bindings(&res, &s.iam).map_err(invalid(&at))?;
            }
        }
        for p in &world.projects {
            for (i, s) in p.services.iter().enumerate() {
                let at = format!("project `{}`, service {}", p.id, i + 1);
                let name = crate::run::seed_service(&mut st, &p.id, &s.region, s.service.clone())
                    .map_err(invalid(&at))?;
                st.seed_bindings(&name, &s.iam).map_err(invalid(&at))?;
            }
        }
        for i in &world.images {
            let digest = i
                .digest
                .clone()
                .unwrap_or_else(|| crate::registry::digest_for(&i.image));
            if !digest.starts_with("sha256:")
                || !crate::registry::seed_image(&mut st, &i.image, &digest)
            {
                return Err(WorldError::Invalid(format!(
                    "images: `{}` is no `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG` with a `sha256:` digest",
                    i.image
                )));
            }
        }
        for b in &world.extra_bindings {
            st.seed_binding(&b.resource, &b.role, &b.member, b.condition.clone())
                .map_err(invalid(&format!("binding on `{}`", b.resource)))?;
        }
        Ok(st)
    }

    fn seed_bindings(
        &mut self,
        resource: &str,
        bindings: &[crate::world::BindingSpec],
    ) -> Result<(), ApiError> {
        for b in bindings {
            if b.role.is_empty() {
                return Err(ApiError::invalid("a binding has an empty role"));
            }
            for m in &b.members {
                self.seed_binding(resource, &b.role, m, b.condition.clone())?;
            }
        }
        Ok(())
    }
}
