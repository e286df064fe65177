//! autosre-deploy: deploy the Auto SRE agent to Cloud Run, safely.
//!
//! Thin on purpose: build the runtime, call [`autosre_deploy::run`], exit
//! with its status (0 done, 1 failed, 2 invalid usage or config; see the
//! README's "Exit codes").

use std::process::ExitCode;

#[expect(
    clippy::print_stderr,
    reason = "before the runtime exists there is no printer to report through"
)]
fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    autosre_deploy::preload(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let status = runtime.block_on(autosre_deploy::run_process(
        args,
        autosre_deploy::Env::from_process(),
    ));
    // A blocking task still running (a read a signal interrupted) does not
    // hold the exit.
    runtime.shutdown_background();
    ExitCode::from(status.code())
}
