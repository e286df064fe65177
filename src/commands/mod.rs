//! One file per subcommand, wiring config, plan, apply and report together.

mod check;
mod deploy;
mod grant;
mod plan;
mod validate;

use crate::apply;
use crate::cli::Output;
use crate::cli::{Cli, Command};
use crate::config::Environment;
use crate::error::CliError;
use crate::gcp::{Endpoints, Google, credentials};
use crate::plan::{Plan, SCHEMA_VERSION};
use crate::printer::{Printer, PrinterConfig, Streams};
use crate::report;
use crate::sandbox;
use crate::settings::Globals;

/// Everything a command that talks to Google needs.
pub(crate) struct Context {
    pub(crate) globals: Globals,
    pub(crate) printer: Printer,
    pub(crate) google: Google,
    sandbox: Option<sandbox::Running>,
}

impl Context {
    /// Connect to Google, or to a fresh sandbox when `--sandbox` is given.
    pub(crate) async fn connect(
        globals: &Globals,
        printer: &Printer,
        env: &Environment,
    ) -> Result<Context, CliError> {
        let (endpoints, creds, source, sandbox) = match &globals.sandbox {
            Some(how) => {
                let running = sandbox::start(env, how).await?;
                let creds = credentials::bearer(sandbox::TOKEN)
                    .map_err(|e| CliError::failed(e.to_string(), None))?;
                printer.info(&format!(
                    "sandbox: in-process emulator at {}",
                    running.url()
                ));
                (
                    Endpoints::all_at(&running.url()),
                    creds,
                    credentials::Source::Sandbox,
                    Some(running),
                )
            }
            None => {
                let endpoints = Endpoints::from_lookup(|k| std::env::var(k).ok());
                let (creds, source) = credentials::from_env(|k| std::env::var(k).ok()).map_err(|e| {
                    CliError::failed(
                        e.to_string(),
                        Some("run `gcloud auth application-default login`, or set GOOGLE_OAUTH_ACCESS_TOKEN or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE".into()),
                    )
                })?;
                (endpoints, creds, source, None)
            }
        };
        tracing::debug!(credentials = %source, overridden = endpoints.overridden(), "connecting");
        // One token up front: missing or broken credentials are one clear
        // error before any API call, not one per concurrent read.
        // google-cloud-auth caches the token for the clients afterwards.
        if let Err(e) = creds.headers(http::Extensions::new()).await {
            return Err(CliError::failed(
                format!("cannot get Google credentials from {source}: {e}"),
                Some(
                    "run `gcloud auth application-default login`, or set GOOGLE_OAUTH_ACCESS_TOKEN or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"
                        .into(),
                ),
            ));
        }
        let google = Google::connect(&endpoints, &creds)
            .await
            .map_err(|e| CliError::failed(e.to_string(), None))?;
        Ok(Context {
            globals: globals.clone(),
            printer: printer.clone(),
            google,
            sandbox,
        })
    }

    /// Print the sandbox's request count and stop it.
    pub(crate) async fn finish(self) {
        if let Some(s) = self.sandbox {
            self.printer.info(&s.summary());
            s.stop().await;
        }
    }
}

/// Run the parsed command.
pub(crate) async fn run(cli: Cli) -> Result<(), CliError> {
    let globals = Globals::resolve(cli.global);
    let printer = Printer::new(
        PrinterConfig::new(globals.quiet, globals.log_format, &|k| {
            std::env::var(k).ok()
        }),
        Streams::std(),
    );
    crate::logging::init(
        globals.verbose,
        globals.quiet,
        globals.log_format,
        printer.log_writer(),
    );
    match cli.command {
        Command::Validate(args) => validate::run(&globals, &printer, args),
        Command::Deploy(args) => deploy::run(&globals, &printer, args).await,
        Command::Plan(args) => plan::run(&globals, &printer, args).await,
        Command::Grant(args) => grant::run(&globals, &printer, args).await,
        Command::Check(args) => check::run(&globals, &printer, args).await,
    }
}

/// Run `f` with a connected context, always finishing the context (so the
/// sandbox summary is printed on failures too).
pub(crate) async fn with_context(
    globals: &Globals,
    printer: &Printer,
    env: &Environment,
    f: impl AsyncFnOnce(&Context) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let ctx = Context::connect(globals, printer, env).await?;
    let result = f(&ctx).await;
    ctx.finish().await;
    result
}

/// What `deploy` and `grant` did: text for people, or the plan and the
/// outcome together as versioned JSON.
pub(crate) fn report_outcome(ctx: &Context, plan: &Plan, outcome: &apply::Outcome) {
    #[derive(serde::Serialize)]
    struct Report<'a> {
        schema_version: u32,
        plan: &'a Plan,
        outcome: &'a apply::Outcome,
    }
    match ctx.globals.output {
        Output::Json => ctx.printer.data(&report::json(&Report {
            schema_version: SCHEMA_VERSION,
            plan,
            outcome,
        })),
        Output::Human | Output::Markdown => {
            let text = report::outcome_human(outcome);
            if !text.is_empty() {
                ctx.printer.data(&text);
            }
        }
    }
}
