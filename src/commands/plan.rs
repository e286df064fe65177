//! `plan`: what `deploy` would change, from live state, read-only.

use super::shared::{preflight_result, print_plan, with_context};
use crate::ExitStatus;
use crate::error::Error;
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Options, Target};
use crate::printer::Printer;
use crate::settings::{Artifact, Globals, PlanSettings};

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    settings: PlanSettings,
) -> Result<ExitStatus, Error> {
    let mut env = globals.load(&settings.env)?;
    let set_env = crate::settings::apply_set_env(&mut env, &settings.set_env)?;
    crate::settings::apply_labels(&mut env, &settings.labels, globals.github_sha.as_deref())?;
    // Judged before `--image` or a build can change it, as `deploy --plan`
    // judges it.
    let config_sha256 = crate::plan::saved::environment_sha256(&env);
    if let Some(out) = &settings.out {
        crate::settings::savable_set_env(&settings.set_env)?;
        crate::plan::saved::check_writable(out)?;
    }
    let (image, source) = match settings.artifact(&mut env)? {
        Artifact::Image(image) => (image, None),
        Artifact::Source(dir) => {
            if settings.out.is_some() {
                return Err(Error::SavedSourcePlan {
                    env: env.name.clone(),
                });
            }
            // What would be uploaded; nothing is.
            let (_, source) = crate::source::prepare(&env, &dir)?;
            (source.planned_image(), Some(source))
        }
    };
    let options = Options {
        target: Target::deploy(image.clone()),
        set_env,
        source,
        strict_iam: settings.strict_iam,
        iap_left_to_deploy: false,
    };
    let changes = with_context(globals, printer, vars, &env, async |ctx| {
        let planned = plan::plan(&ctx.google, &env, &options).await?;
        let plan = &planned.plan;
        print_plan(ctx, plan);
        preflight_result(plan)?;
        if let Some(out) = &settings.out {
            let saved = SavedPlan::new(&planned, &image, &settings.set_env, config_sha256);
            saved.write(out)?;
            globals.ci.plan_file(out);
            printer.success(&format!(
                "Saved the plan to {0}; apply exactly it with `autosre-deploy deploy --plan {0}`",
                out.display()
            ));
        }
        Ok(plan.changes.any())
    })
    .await?;
    Ok(match settings.detailed_exitcode && changes {
        // Terraform's convention: 2 means "succeeded, and there are changes".
        true => ExitStatus::Changes,
        false => ExitStatus::Success,
    })
}
