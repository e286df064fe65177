//! One file per subcommand, wiring config, plan, apply and report together.
//! What several commands share lives in `shared.rs`; commands never import
//! each other.

mod check;
mod deploy;
mod grant;
pub(crate) mod key;
mod permissions;
mod plan;
mod release;
pub(crate) mod secrets;
pub(crate) mod shared;
mod targets;
mod validate;
pub(crate) mod view;

use crate::Env;
use crate::ExitStatus;
use crate::cli::{Cli, Command, KeyCommand};
use crate::error::{Category, Error};
use crate::interrupt::Interrupt;
use crate::printer::Printer;
use crate::settings::{DeploySettings, Globals, GrantSettings, PlanSettings};

/// Run the parsed command.
pub(crate) async fn run(
    cli: Cli,
    env: &Env,
    printer: &Printer,
    interrupt: &Interrupt,
    ci: &crate::ci::Ci,
) -> Result<ExitStatus, Error> {
    // Every other command builds API clients, which need the CA certificates.
    if !matches!(
        cli.command,
        Command::Validate(_) | Command::Targets(_) | Command::Key(KeyCommand::Generate)
    ) {
        crate::gcp::preload_roots();
    }
    let mut globals = Globals::resolve(
        cli.global,
        env,
        interrupt.clone(),
        cli.command.name(),
        ci.clone(),
    )?;
    // The one region of a `regions:` file a single-target command acts on.
    globals.region = match &cli.command {
        Command::Promote(a) => a.env.region.clone(),
        Command::Rollback(a) => a.env.region.clone(),
        Command::History(a) => a.env.region.clone(),
        Command::Secrets(crate::cli::SecretsCommand::Disable(a)) => a.env.region.clone(),
        Command::Key(KeyCommand::Init(a)) => a.env.region.clone(),
        Command::Key(KeyCommand::Rotate(a)) => a.env.region.clone(),
        _ => None,
    };
    let printer = printer.clone();
    // Each command's future is boxed: together they would make one state
    // machine as large as the largest, on the caller's stack.
    match cli.command {
        Command::Validate(args) => validate::run(&globals, &printer, args.env),
        Command::Targets(args) => targets::run(&globals, &printer, args),
        Command::Deploy(args) => {
            let settings = DeploySettings::resolve(args, &globals);
            Box::pin(deploy_targets(globals, &printer, env, settings)).await
        }
        Command::Plan(args) => {
            let settings = PlanSettings::resolve(args);
            Box::pin(plan_targets(globals, &printer, env, settings)).await
        }
        Command::Grant(args) => {
            let settings = GrantSettings::resolve(args, &globals);
            Box::pin(grant_targets(globals, &printer, env, settings)).await
        }
        Command::Check(args) => {
            each_target(&globals, &printer, args, async |g, p, name| {
                check::run(g, p, env, name).await
            })
            .await
        }
        Command::Secrets(crate::cli::SecretsCommand::Status(args)) => {
            each_target(&globals, &printer, args, async |g, p, name| {
                secrets::status(g, p, env, name).await
            })
            .await
        }
        Command::Secrets(crate::cli::SecretsCommand::Disable(args)) => {
            secrets::disable(&globals, &printer, env, args).await
        }
        Command::Promote(args) => Box::pin(release::promote(&globals, &printer, env, args)).await,
        Command::Rollback(args) => Box::pin(release::rollback(&globals, &printer, env, args)).await,
        Command::History(args) => Box::pin(release::history(&globals, &printer, env, args)).await,
        Command::Key(KeyCommand::Generate) => key::generate(&globals, &printer),
        Command::Key(KeyCommand::Init(args)) => {
            key::init(&globals, &printer, env, &args.env.env, args.dry_run).await
        }
        Command::Key(KeyCommand::Check(args)) => {
            each_target(&globals, &printer, args, async |g, p, name| {
                key::check(g, p, env, &name).await
            })
            .await
        }
        Command::Key(KeyCommand::Rotate(args)) => {
            // The rotation's deploy is `deploy --env E`, with its defaults;
            // its plan is judged before the new version is added.
            let settings = DeploySettings::for_rotation(&args, &globals);
            let (env_name, no_deploy, dry_run) = (args.env.env, args.no_deploy, args.dry_run);
            let deploy = key::Deploy {
                plan: async |ctx: &shared::Context, config: &crate::config::Environment| {
                    let mut config = config.clone();
                    let release = deploy::release(&ctx.printer, &mut config, &settings)?;
                    Box::pin(deploy::plan_in(ctx, &config, &release)).await
                },
                run: async |ctx: &shared::Context, config: &crate::config::Environment| {
                    let mut config = config.clone();
                    let release = deploy::release(&ctx.printer, &mut config, &settings)?;
                    Box::pin(deploy::deploy_in(
                        ctx,
                        &config,
                        &settings,
                        None,
                        release,
                        &[],
                    ))
                    .await
                },
            };
            key::rotate(
                &globals, &printer, env, &env_name, no_deploy, dry_run, deploy,
            )
            .await
        }
    }
}

/// `globals` for one target of the selection: its region named, so that
/// `Globals::load` of its environment is that target.
fn for_one(globals: &Globals, target: &crate::config::Environment) -> Globals {
    let mut g = globals.clone();
    g.region = Some(target.region.to_string());
    g.selected = Some(std::sync::Arc::new(target.clone()));
    g
}

/// The targets `selection` names: one target is the run of one environment
/// as always, with the settings for it; several go through `fleet`.
enum Selected {
    One(Box<Globals>, String),
    Several(Vec<crate::config::Environment>),
}

fn selected(globals: &Globals, selection: &crate::fleet::Selection) -> Result<Selected, Error> {
    let mut targets = crate::fleet::select(&globals.config_dir, selection)?;
    Ok(match targets.len() {
        1 => {
            let target = targets.remove(0);
            Selected::One(Box::new(for_one(globals, &target)), target.name)
        }
        _ => Selected::Several(targets),
    })
}

/// `deploy`: one target as always, several through `fleet`, a saved plan of
/// several targets all or nothing.
async fn deploy_targets(
    globals: Globals,
    printer: &Printer,
    vars: &Env,
    mut settings: DeploySettings,
) -> Result<ExitStatus, Error> {
    if let Some(path) = settings.saved_plan.clone() {
        if let Some(saved) = crate::fleet::saved::SavedFleet::read(&path)? {
            if !settings.selection.envs.is_empty() {
                return Err(Error::Targets {
                    message: format!(
                        "`{}` is a plan of several targets ({}); --env does not apply to it",
                        path.display(),
                        saved.target_ids().join(", ")
                    ),
                    hint: format!(
                        "apply it whole: `autosre-deploy deploy --plan {}`",
                        path.display()
                    ),
                });
            }
            let targets = saved
                .target_ids()
                .into_iter()
                .map(|id| {
                    let selection = crate::fleet::Selection {
                        target: Some(id),
                        ..Default::default()
                    };
                    crate::fleet::select(&globals.config_dir, &selection)
                })
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            let set_env = saved.set_env();
            let mode = crate::fleet::Mode::Deploy {
                dry_run: false,
                saved: Some(saved),
                traffic: settings.traffic.clone(),
            };
            return crate::fleet::run(
                &globals,
                printer,
                vars,
                targets,
                mode,
                None,
                &set_env,
                settings.apply.clone(),
                settings.fleet,
            )
            .await;
        }
        settings.env = match settings.selection.envs.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            several => {
                return Err(Error::Targets {
                    message: format!(
                        "`{}` is the plan of one target; --env names {}",
                        path.display(),
                        several.join(", ")
                    ),
                    hint: format!(
                        "apply it alone: `autosre-deploy deploy --plan {}`",
                        path.display()
                    ),
                });
            }
        };
        return Box::pin(deploy::run(&globals, printer, vars, settings)).await;
    }
    let targets = match selected(&globals, &settings.selection)? {
        Selected::One(globals, env) => {
            settings.env = Some(env);
            return Box::pin(deploy::run(&globals, printer, vars, settings)).await;
        }
        Selected::Several(targets) => targets,
    };
    if settings.source.is_some() {
        return Err(several_builds());
    }
    let mode = crate::fleet::Mode::Deploy {
        dry_run: settings.dry_run,
        saved: None,
        traffic: settings.traffic.clone(),
    };
    crate::fleet::run(
        &globals,
        printer,
        vars,
        targets,
        mode,
        settings.image.clone(),
        &settings.set_env,
        settings.apply.clone(),
        settings.fleet,
    )
    .await
}

/// `--source` over several targets: each would build its own image.
fn several_builds() -> Error {
    Error::Targets {
        message: "--source builds one image, and this run has several targets".into(),
        hint: "build and deploy one target with `--target ENV/REGION --source DIR`, then deploy the others with `--image IMAGE@sha256:DIGEST`".into(),
    }
}

/// `plan`: one target as always, several through `fleet`.
async fn plan_targets(
    globals: Globals,
    printer: &Printer,
    vars: &Env,
    mut settings: PlanSettings,
) -> Result<ExitStatus, Error> {
    let targets = match selected(&globals, &settings.selection)? {
        Selected::One(globals, env) => {
            settings.env = env;
            return Box::pin(plan::run(&globals, printer, vars, settings)).await;
        }
        Selected::Several(targets) => targets,
    };
    if settings.source.is_some() {
        return Err(several_builds());
    }
    if let Some(out) = &settings.out {
        crate::settings::savable_set_env(&settings.set_env)?;
        crate::plan::saved::check_writable(out)?;
    }
    let mode = crate::fleet::Mode::Plan {
        out: settings.out.clone(),
        detailed_exitcode: settings.detailed_exitcode,
    };
    // A plan applies nothing: no write option matters.
    let apply = crate::settings::GrantSettings::plan_only(&globals);
    crate::fleet::run(
        &globals,
        printer,
        vars,
        targets,
        mode,
        settings.image.clone(),
        &settings.set_env,
        apply,
        settings.fleet,
    )
    .await
}

/// `grant`: one target as always, several through `fleet`.
async fn grant_targets(
    globals: Globals,
    printer: &Printer,
    vars: &Env,
    mut settings: GrantSettings,
) -> Result<ExitStatus, Error> {
    let targets = match selected(&globals, &settings.selection)? {
        Selected::One(globals, env) => {
            settings.env = env;
            return Box::pin(grant::run(&globals, printer, vars, settings)).await;
        }
        Selected::Several(targets) => targets,
    };
    let mode = crate::fleet::Mode::Grant {
        dry_run: settings.dry_run,
    };
    crate::fleet::run(
        &globals,
        printer,
        vars,
        targets,
        mode,
        None,
        &[],
        settings.apply.clone(),
        settings.fleet,
    )
    .await
}

/// A read-only command (`check`, `secrets status`, `key check`) over the
/// selected targets, `--jobs` at a time: each target's lines (on stderr,
/// prefixed with the target) and report are held until the targets before it
/// have printed theirs, so the output reads as if the targets were checked one
/// after the other, in order, while the requests of all of them wait on the
/// network together (with `--output json`, one document holding each
/// target's). The run fails when any target does, after every target was
/// checked.
async fn each_target(
    globals: &Globals,
    printer: &Printer,
    args: crate::cli::CheckArgs,
    f: impl AsyncFn(&Globals, &Printer, String) -> Result<ExitStatus, Error>,
) -> Result<ExitStatus, Error> {
    use futures::StreamExt as _;
    use std::sync::{Arc, Mutex};

    let selection = crate::fleet::Selection::of(args.env);
    let targets = crate::fleet::select(&globals.config_dir, &selection)?;
    if let [one] = targets.as_slice() {
        return f(&for_one(globals, one), printer, one.name.clone()).await;
    }
    // With `--output json`, one document: each target's, in order, under
    // `targets` (see docs/targets.md).
    let json = globals.output == crate::cli::Output::Json;
    let f = &f;
    let mut checked = futures::stream::iter(targets.iter().map(|t| {
        let id = crate::fleet::target_id(t);
        let (out, err) = (Arc::new(Mutex::new(String::new())), Arc::default());
        let p = printer
            .for_target(&id)
            .capturing(out.clone())
            .holding(Arc::clone(&err));
        async move {
            p.step(&format!("{id}: project {}, region {}", t.project, t.region));
            let result = Box::pin(f(&for_one(globals, t), &p, t.name.clone())).await;
            let take = |m: &Mutex<String>| std::mem::take(&mut *lock(m));
            (id, take(&out), take(&err), result)
        }
    }))
    .buffered(usize::from(args.jobs.jobs));
    let mut documents = Vec::new();
    let mut worst: Option<Category> = None;
    while let Some((id, out, err, result)) = checked.next().await {
        printer.release(&err);
        match json {
            true => documents.push(target_document(&id, &out, result.as_ref().err())),
            false if !out.is_empty() => printer.data(&out),
            false => {}
        }
        if let Err(e) = result {
            if !e.is_reported() {
                let lines = crate::error::chain(&e);
                printer
                    .for_target(&id)
                    .error(&lines.join("\n  caused by: "), e.hint().as_deref());
            }
            worst = Some(match (worst, e.category()) {
                (Some(Category::Interrupted(s)), _) | (_, Category::Interrupted(s)) => {
                    return Err(Error::Reported(Category::Interrupted(s)));
                }
                (Some(Category::Failed), _) | (_, Category::Failed) => Category::Failed,
                _ => Category::User,
            });
        }
    }
    if json {
        let doc = serde_json::json!({
            "schema_version": crate::plan::SCHEMA_VERSION,
            "targets": documents,
        });
        printer.data(&crate::report::json(&doc));
    }
    match worst {
        None => Ok(ExitStatus::Success),
        Some(c) => Err(Error::Reported(c)),
    }
}

fn lock(m: &std::sync::Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One target's entry in the document of a run over several: `target`, then
/// what the command printed for it alone (a JSON object), and on failure
/// `error` (the message, its causes and the hint, as on stderr).
fn target_document(id: &str, printed: &str, error: Option<&Error>) -> serde_json::Value {
    let mut entry = serde_json::Map::new();
    entry.insert("target".into(), id.into());
    if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str(printed) {
        entry.extend(doc);
    }
    if let Some(e) = error {
        entry.insert(
            "error".into(),
            serde_json::json!({
                "message": crate::error::chain(e).join("; "),
                "hint": e.hint(),
            }),
        );
    }
    serde_json::Value::Object(entry)
}
