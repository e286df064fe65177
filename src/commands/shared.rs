//! What the commands share: the connection to Google (or the sandbox), and
//! the ways a plan and an outcome are printed and judged.

use super::view::View;
use crate::Env;
use crate::apply;
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
    /// Where the credentials came from: what a 401 is about.
    source: credentials::Source,
    /// Writes this run made before the step now running (a key version
    /// `key rotate` added before its deploy), in words: every report of a
    /// later failure says them.
    written: std::sync::Mutex<Vec<String>>,
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
                let endpoints = Endpoints::from_lookup(|k| vars.get(k))?;
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
                // The last source tried: none of the others was set up.
                None if source == credentials::Source::MetadataServer => Error::NoCredentials,
                None => Error::Token { source, cause },
            });
        }
        let google = Google::connect(&endpoints, &creds, globals.retry).await?;
        Ok(Context {
            globals: globals.clone(),
            printer: printer.clone(),
            google,
            identity,
            source,
            written: std::sync::Mutex::new(Vec::new()),
            #[cfg(feature = "sandbox")]
            sandbox,
        })
    }

    /// Record a write, for the reports of what follows (see `written`).
    pub(crate) fn wrote(&self, what: String) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(what);
    }

    /// Print `view` on stdout in the run's `--output` format.
    pub(crate) fn show(&self, view: &impl View) {
        super::view::show(self.globals.output, &self.printer, view);
    }

    /// `plan`, shown as this run shows plans.
    pub(crate) fn plan_view<'a>(&'a self, plan: &'a Plan) -> PlanView<'a> {
        PlanView {
            plan,
            identity: &self.identity,
            command: self.globals.command,
        }
    }

    /// The writes recorded so far.
    pub(crate) fn written(&self) -> Vec<String> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
    // Boxed: the command's future is large, and the run's lives on the
    // caller's stack.
    let ctx = tokio::select! {
        c = Box::pin(Context::connect(globals, printer, vars, env)) => c?,
        () = globals.interrupt.deadline_before_writes(globals.deadline) => {
            return Err(Error::Deadline {
                timeout: globals.timeout,
                waiting: Some(("credentials and clients for Google".into(), globals.timeout)),
            });
        }
    };
    let result = tokio::select! {
        r = Box::pin(f(&ctx)) => r,
        never = Box::pin(show_waits(&ctx)) => match never {},
        // What was awaited is read as the deadline passes, while the calls
        // still run (the select drops them before its arm runs).
        waiting = async {
            globals.interrupt.deadline_before_writes(globals.deadline).await;
            ctx.google.waits().longest()
        } => Err(Error::Deadline {
            timeout: globals.timeout,
            waiting,
        }),
    };
    let result = result.map_err(|e| match e {
        // A 401 is about the credentials: say which were refused.
        Error::Gcp(g) if g.is(crate::gcp::Kind::Unauthenticated) => Error::CredentialsRefused {
            from: ctx.source.clone(),
            operation: g.operation,
            resource: g.resource,
        },
        e => e,
    });
    ctx.finish().await;
    result
}

/// Show a wait for Google that lasts longer than `--slow-wait-ms` (5 s):
/// what is awaited and for how long, as a spinner on a terminal and a line
/// (with a heartbeat) elsewhere. Runs until the command ends.
async fn show_waits(ctx: &Context) -> std::convert::Infallible {
    let slow = ctx.globals.slow_wait;
    let tick = (slow / 2).clamp(
        std::time::Duration::from_millis(5),
        std::time::Duration::from_secs(1),
    );
    let mut shown: Option<(String, crate::printer::Progress)> = None;
    loop {
        tokio::time::sleep(tick).await;
        match ctx.google.waits().longest().filter(|(_, d)| *d >= slow) {
            Some((what, waited)) => {
                let since = std::time::Instant::now() - waited;
                match &mut shown {
                    Some((w, p)) if *w == what => p.update(&what),
                    _ => {
                        let mut p = ctx.printer.progress_since("Waiting for Google", since);
                        p.update(&what);
                        shown = Some((what, p));
                    }
                }
            }
            None => shown = None,
        }
    }
}

/// The plan on stdout, in the chosen format.
pub(crate) fn print_plan(ctx: &Context, plan: &Plan) {
    ctx.show(&ctx.plan_view(plan));
    ctx.globals.ci.plan(plan, ctx.globals.command);
}

/// A plan as the commands show it: `plan --output json` is the plan and whose identity read
/// live state.
#[derive(serde::Serialize)]
pub(crate) struct PlanView<'a> {
    #[serde(flatten)]
    pub(crate) plan: &'a Plan,
    pub(crate) identity: &'a credentials::Identity,
    #[serde(skip)]
    pub(crate) command: &'static str,
}

impl View for PlanView<'_> {
    fn json(&self) -> impl serde::Serialize + '_ {
        self
    }

    fn human(&self, printer: &Printer) -> String {
        report::plan_human(self.plan, printer)
    }

    fn markdown(&self, _: &Printer) -> String {
        report::plan_markdown_for(self.plan, self.command)
    }
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
    ctx.globals.ci.outcome(plan, outcome, ctx.globals.command);
    ctx.show(&OutcomeView {
        schema_version: SCHEMA_VERSION,
        plan,
        outcome,
        identity: &ctx.identity,
        console_url: console_url(plan),
        written_before: ctx.written(),
        command: ctx.globals.command,
    });
}

/// An apply's outcome as the commands show it.
#[derive(serde::Serialize)]
struct OutcomeView<'a> {
    schema_version: u32,
    plan: &'a Plan,
    outcome: &'a apply::Outcome,
    identity: &'a credentials::Identity,
    /// The Console page of the service's revisions, when the run had a service.
    #[serde(skip_serializing_if = "Option::is_none")]
    console_url: Option<String>,
    /// Writes the run made before this deploy (`key rotate`'s new version).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    written_before: Vec<String>,
    #[serde(skip)]
    command: &'static str,
}

impl View for OutcomeView<'_> {
    fn json(&self) -> impl serde::Serialize + '_ {
        self
    }

    fn human(&self, _: &Printer) -> String {
        report::outcome_human(self.outcome)
    }

    fn markdown(&self, _: &Printer) -> String {
        report::outcome_markdown(self.plan, self.outcome, self.command)
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
