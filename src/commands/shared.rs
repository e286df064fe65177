//! What the commands share: the connection to Google (or the sandbox), and
//! the ways a plan and an outcome are printed and judged.

use crate::Env;
use crate::apply;
use crate::cli::Output;
use crate::config::Environment;
use crate::error::{Category, Error};
use crate::gcp::{Endpoints, Google, credentials};
use crate::plan::{Plan, SCHEMA_VERSION};
use crate::printer::Printer;
use crate::report;
use crate::settings::Globals;

/// Everything a command that talks to Google needs.
pub(crate) struct Context {
    pub(crate) globals: Globals,
    pub(crate) printer: Printer,
    pub(crate) google: Google,
    /// Whose identity the run uses, as far as it is known.
    pub(crate) identity: credentials::Identity,
    #[cfg(feature = "sandbox")]
    sandbox: Option<crate::sandbox::Running>,
}

impl Context {
    /// Connect to Google, or to a fresh sandbox when `--sandbox` is given.
    async fn connect(
        globals: &Globals,
        printer: &Printer,
        vars: &Env,
        env: &Environment,
    ) -> Result<Context, Error> {
        #[cfg(feature = "sandbox")]
        let sandbox = match &globals.sandbox {
            Some(how) => {
                let running = crate::sandbox::start(env, how).await?;
                printer.info(&format!(
                    "sandbox: in-process emulator at {}",
                    running.url()
                ));
                Some(running)
            }
            None => None,
        };
        #[cfg(not(feature = "sandbox"))]
        let _ = env;
        let impersonate = globals.impersonate_service_account.as_deref();
        #[cfg(feature = "sandbox")]
        let sandboxed = sandbox.as_ref().map(|s| {
            let url = s.url();
            let resolved =
                credentials::sandbox(&url, crate::sandbox::TOKEN, s.caller(), impersonate, |k| {
                    vars.get(k)
                });
            (Endpoints::all_at(&url), resolved)
        });
        #[cfg(not(feature = "sandbox"))]
        let sandboxed: Option<(
            Endpoints,
            Result<credentials::Resolved, credentials::CredentialsError>,
        )> = None;
        let (endpoints, resolved) = match sandboxed {
            Some((endpoints, resolved)) => (endpoints, resolved?),
            None => {
                let endpoints = Endpoints::from_lookup(|k| vars.get(k));
                let resolved = credentials::resolve(|k| vars.get(k), impersonate, &endpoints)?;
                (endpoints, resolved)
            }
        };
        let credentials::Resolved {
            credentials: creds,
            source,
            identity,
            impersonating,
        } = resolved;
        tracing::debug!(credentials = %source, overridden = endpoints.overridden(), "connecting");
        tracing::debug!("{}", identity.line());
        // One token up front: missing or broken credentials (an impersonation
        // refused included) are one clear error before any API call, not one
        // per concurrent read. google-cloud-auth caches the token for the
        // clients afterwards.
        if let Err(cause) = creds.headers(http::Extensions::new()).await {
            return Err(match impersonating {
                Some(target) => Error::ImpersonationRefused {
                    target,
                    source: Box::new(source),
                    cause,
                },
                None => Error::Token { source, cause },
            });
        }
        let google = Google::connect(&endpoints, &creds, globals.retry).await?;
        Ok(Context {
            globals: globals.clone(),
            printer: printer.clone(),
            google,
            identity,
            #[cfg(feature = "sandbox")]
            sandbox,
        })
    }

    /// Print the sandbox's request count and stop it.
    async fn finish(self) {
        #[cfg(feature = "sandbox")]
        if let Some(s) = self.sandbox {
            self.printer.info(&s.summary());
            s.stop().await;
        }
    }
}

/// Run `f` with a connected context, always finishing the context (so the
/// sandbox summary is printed on failures too).
pub(crate) async fn with_context<T>(
    globals: &Globals,
    printer: &Printer,
    vars: &Env,
    env: &Environment,
    f: impl AsyncFnOnce(&Context) -> Result<T, Error>,
) -> Result<T, Error> {
    let ctx = Context::connect(globals, printer, vars, env).await?;
    let result = f(&ctx).await;
    ctx.finish().await;
    result
}

/// The plan on stdout, in the chosen format.
pub(crate) fn print_plan(ctx: &Context, plan: &Plan) {
    let text = match ctx.globals.output {
        Output::Human => report::plan_human(plan, &ctx.printer),
        Output::Json => report::json(&PlanReport {
            plan,
            identity: &ctx.identity,
        }),
        Output::Markdown => report::plan_markdown(plan),
    };
    ctx.printer.data(&text);
    ctx.globals.ci.plan(plan);
}

/// `plan --output json`: the plan, and whose identity read live state.
#[derive(serde::Serialize)]
struct PlanReport<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    identity: &'a credentials::Identity,
}

/// The Console page of the service's revisions, as `deploy_web.py` printed
/// it after a deploy; `None` when the plan has no service (`grant`).
pub(crate) fn console_url(plan: &Plan) -> Option<String> {
    let service = plan.service.as_ref()?;
    Some(format!(
        "https://console.cloud.google.com/run/detail/{}/{}/revisions?project={}",
        plan.region, service.name, plan.project
    ))
}

/// Say in the plan which env vars `--set-env` set: the deploy departs from
/// the config file there.
pub(crate) fn note_set_env(plan: &mut Plan, names: &[String], env: &Environment) {
    for name in names {
        plan.warnings.push(crate::plan::Warning {
            kind: crate::plan::WarningKind::SetEnv,
            message: format!(
                "env `{name}` comes from --set-env, not from {}",
                env.source.display()
            ),
        });
    }
}

/// An error listing every problem when the preflight failed.
pub(crate) fn preflight_result(plan: &Plan) -> Result<(), Error> {
    match plan.preflight.problems.is_empty() {
        true => Ok(()),
        false => Err(Error::Preflight {
            problems: plan.preflight.problems.clone(),
        }),
    }
}

/// What `deploy` and `grant` did: text for people, or the plan and the
/// outcome together as versioned JSON.
pub(crate) fn report_outcome(ctx: &Context, plan: &Plan, outcome: &apply::Outcome) {
    #[derive(serde::Serialize)]
    struct Report<'a> {
        schema_version: u32,
        plan: &'a Plan,
        outcome: &'a apply::Outcome,
        identity: &'a credentials::Identity,
        /// The Console page of the service's revisions, when the run had a service.
        #[serde(skip_serializing_if = "Option::is_none")]
        console_url: Option<String>,
    }
    ctx.globals.ci.outcome(plan, outcome);
    match ctx.globals.output {
        Output::Json => ctx.printer.data(&report::json(&Report {
            schema_version: SCHEMA_VERSION,
            plan,
            outcome,
            identity: &ctx.identity,
            console_url: console_url(plan),
        })),
        Output::Human | Output::Markdown => {
            let text = report::outcome_human(outcome);
            if !text.is_empty() {
                ctx.printer.data(&text);
            }
        }
    }
}

/// After an apply: the outcome on stdout, its warnings and failure on
/// stderr, and the run's result (a failure already printed in full, or the
/// signal that stopped it).
pub(crate) fn settle(ctx: &Context, plan: &Plan, outcome: &apply::Outcome) -> Result<(), Error> {
    report_outcome(ctx, plan, outcome);
    for w in &outcome.warnings {
        ctx.printer.warn(w);
    }
    let Some(f) = &outcome.failure else {
        return Ok(());
    };
    ctx.printer.error(&f.message, f.hint.as_deref());
    Err(Error::Reported(match outcome.interrupted {
        Some(signal) => Category::Interrupted(signal),
        None => Category::Failed,
    }))
}
