//! autosre-deploy: deploy the Auto SRE agent to Cloud Run, safely.
//!
//! `main` only parses, runs, and maps the result to an exit code:
//! 0 done, 1 the operation failed, 2 invalid usage or config.

mod apply;
mod cli;
mod commands;
mod config;
mod error;
mod gcp;
mod logging;
mod plan;
mod printer;
mod report;
mod sandbox;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let quiet = cli.global.quiet;
    let log_format = cli.global.log_format;
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
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                let config =
                    printer::PrinterConfig::new(quiet, log_format, &|k| std::env::var(k).ok());
                printer::Printer::new(config, printer::Streams::std())
                    .error(&e.message, e.hint.as_deref());
            }
            ExitCode::from(e.exit_code())
        }
    }
}
