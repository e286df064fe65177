//! `plan`: what `deploy` would change, from live state, read-only.

use super::shared::{note_set_env, preflight_result, print_plan, with_context};
use crate::ExitStatus;
use crate::error::Error;
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Target};
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
    let target = Target::deploy(image.clone());
    let changes = with_context(globals, printer, vars, &env, async |ctx| {
        let (mut plan, live) = plan::plan(&ctx.google, &env, &target).await?;
        note_set_env(&mut plan, &set_env, &env);
        plan.source = source.clone().map(|s| s.builds_as(&live));
        print_plan(ctx, &plan);
        preflight_result(&plan)?;
        if let Some(out) = &settings.out {
            let saved = SavedPlan::new(plan.clone(), &image, &settings.set_env, config_sha256);
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
