//! What is checked offline for every target before any request: the key's
//! wiring, `--set-env`, the image, `--tag`, and one service per target.

use std::collections::BTreeMap;

use super::run::{Mode, Prepared};
use super::target_id;
use crate::config::Environment;
use crate::error::Error;
use crate::plan;
use crate::settings::ReleaseTraffic;

/// Everything checked offline, for every target, before any request: the
/// key's wiring, `--set-env`, the image, `--tag`.
pub(super) fn prepare(
    targets: Vec<Environment>,
    mode: &Mode,
    image: Option<String>,
    set_env: &[(String, String)],
) -> Result<Vec<Prepared>, Error> {
    let saved = match mode {
        Mode::Deploy { saved: Some(s), .. } => Some(s),
        _ => None,
    };
    if !matches!(mode, Mode::Grant { .. }) {
        one_service_each(&targets)?;
    }
    let mut out = Vec::new();
    for mut env in targets {
        let id = target_id(&env);
        if let Mode::Deploy { .. } = mode
            && let Some(e) = crate::config::key_wiring_error(&env)
        {
            return Err(e.into());
        }
        let saved_one = saved.and_then(|s| s.get(&id));
        let names = match (mode, saved_one) {
            (Mode::Grant { .. }, _) => Vec::new(),
            (_, Some(s)) => crate::settings::apply_set_env(&mut env, &s.set_env_pairs())?,
            (_, None) => crate::settings::apply_set_env(&mut env, set_env)?,
        };
        if let (Some(s), Some(one)) = (saved, saved_one) {
            s.check_config(&env, one)?;
        }
        let image = match (mode, saved_one) {
            (Mode::Grant { .. }, _) => None,
            (_, Some(s)) => Some(s.image.clone()),
            (_, None) => Some(image_of(&mut env, image.clone())?),
        };
        if let Mode::Deploy {
            traffic: ReleaseTraffic { tag: Some(tag), .. },
            ..
        } = mode
        {
            crate::plan::traffic::check_tag(tag, &env.service.name).map_err(|message| {
                Error::ReleaseArgument {
                    message: format!("--tag ({id}): {message}"),
                    hint: "Cloud Run refuses a tag whose length plus the service name's exceeds 46 characters; choose a shorter tag".into(),
                }
            })?;
        }
        out.push(Prepared {
            id,
            env,
            image,
            set_env: names,
        });
    }
    Ok(out)
}

/// Two targets that deploy the same Cloud Run service (a file copied
/// without changing its project, region or `service.name`) would each
/// overwrite the other's revision: refused before anything is read.
fn one_service_each(targets: &[Environment]) -> Result<(), Error> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for t in targets {
        let service = plan::names::service_resource(t).name();
        if let Some(other) = seen.insert(service.clone(), target_id(t)) {
            return Err(Error::Targets {
                message: format!(
                    "`{other}` and `{}` both deploy `{service}`",
                    target_id(t)
                ),
                hint: "give each environment its own `service.name`, project or region, or deploy them in separate runs".into(),
            });
        }
    }
    Ok(())
}

/// `--image`, else `service.image`. A build from source is one target's
/// (the image is built where that target deploys); several targets deploy
/// an image.
fn image_of(env: &mut Environment, flag: Option<String>) -> Result<String, Error> {
    if flag.is_none() && env.service.source.is_some() {
        return Err(Error::Targets {
            message: format!(
                "`service.source` in {} builds an image, and a run over several targets deploys one image",
                env.source.display()
            ),
            hint: format!(
                "build once (`autosre-deploy deploy --target {}`), then deploy every target with `--image IMAGE@sha256:DIGEST`",
                target_id(env)
            ),
        });
    }
    env.service.source = None;
    let flag = match flag {
        Some(f) => f,
        None => match env.service.image.as_ref().map(ToString::to_string) {
            Some(i) if !i.trim().is_empty() => i,
            _ => {
                return Err(Error::NoImage {
                    env: env.name.clone(),
                    file: env.source.clone(),
                });
            }
        },
    };
    crate::config::parse_image(&flag)
        .map(|i| i.to_string())
        .map_err(|cause| Error::InvalidImage { value: flag, cause })
}
