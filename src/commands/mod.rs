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
mod shared;
mod validate;
mod view;

use crate::Env;
use crate::ExitStatus;
use crate::cli::{Cli, Command, KeyCommand};
use crate::error::Error;
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
    let globals = Globals::resolve(
        cli.global,
        env,
        interrupt.clone(),
        cli.command.name(),
        ci.clone(),
    )?;
    let printer = printer.clone();
    // Each command's future is boxed: together they would make one state
    // machine as large as the largest, on the caller's stack.
    match cli.command {
        Command::Validate(args) => validate::run(&globals, &printer, args.env),
        Command::Deploy(args) => {
            let settings = DeploySettings::resolve(args, &globals);
            Box::pin(deploy::run(&globals, &printer, env, settings)).await
        }
        Command::Plan(args) => {
            Box::pin(plan::run(
                &globals,
                &printer,
                env,
                PlanSettings::resolve(args),
            ))
            .await
        }
        Command::Grant(args) => {
            let settings = GrantSettings::resolve(args, &globals);
            Box::pin(grant::run(&globals, &printer, env, settings)).await
        }
        Command::Check(args) => check::run(&globals, &printer, env, args.env).await,
        Command::Secrets(crate::cli::SecretsCommand::Status(args)) => {
            secrets::status(&globals, &printer, env, args.env).await
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
            key::check(&globals, &printer, env, &args.env).await
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
