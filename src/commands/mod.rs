//! One file per subcommand, wiring config, plan, apply and report together.
//! What several commands share lives in `shared.rs`; commands never import
//! each other.

mod check;
mod deploy;
mod grant;
mod plan;
pub(crate) mod secrets;
mod shared;
mod validate;

use crate::Env;
use crate::ExitStatus;
use crate::cli::{Cli, Command};
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
) -> Result<ExitStatus, Error> {
    let globals = Globals::resolve(cli.global, env, interrupt.clone());
    let printer = printer.clone();
    match cli.command {
        Command::Validate(args) => validate::run(&globals, &printer, args.env),
        Command::Deploy(args) => {
            let settings = DeploySettings::resolve(args, &globals);
            deploy::run(&globals, &printer, env, settings).await
        }
        Command::Plan(args) => {
            plan::run(&globals, &printer, env, PlanSettings::resolve(args)).await
        }
        Command::Grant(args) => {
            let settings = GrantSettings::resolve(args, &globals);
            grant::run(&globals, &printer, env, settings).await
        }
        Command::Check(args) => check::run(&globals, &printer, env, args.env).await,
        Command::Secrets(crate::cli::SecretsCommand::Status(args)) => {
            secrets::status(&globals, &printer, env, args.env).await
        }
        Command::Secrets(crate::cli::SecretsCommand::Disable(args)) => {
            secrets::disable(&globals, &printer, env, args).await
        }
    }
}
