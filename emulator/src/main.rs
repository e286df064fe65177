//! `autosre-emulator`: serves a world file until killed, for out-of-process users
//! (`autosre-deploy --sandbox`, manual `gcloud` sessions). Prints exactly one line,
//! `autosre-emulator listening on http://127.0.0.1:PORT`, on stdout once ready; the journal
//! is at `GET /_emulator/journal`.

use autosre_emulator::{Emulator, Options, World};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: autosre-emulator --world FILE [--port N] [--token T] \
                     [--latency-ms N] [--operation-polls N|never] [--iam-propagation-ms N]";

struct Args {
    world: String,
    port: u16,
    options: Options,
    /// `--operation-polls` given: it overrides the world file's `operationPolls`.
    operation_polls: Option<u32>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut world = None;
    let mut port = 0;
    let mut options = Options::default();
    let mut operation_polls = None;
    while let Some(flag) = argv.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = argv
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value\n{USAGE}"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("`{flag}` needs a number, got `{v}`"))
        };
        match flag.as_str() {
            "--world" => world = Some(value),
            "--port" => port = number(&value)? as u16,
            "--token" => options.token = Some(value),
            "--latency-ms" => options.latency = Duration::from_millis(number(&value)?),
            "--operation-polls" if value == "never" => operation_polls = Some(u32::MAX),
            "--operation-polls" => operation_polls = Some(number(&value)? as u32),
            "--iam-propagation-ms" => {
                options.iam_propagation = Duration::from_millis(number(&value)?)
            }
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let world = world.ok_or_else(|| format!("`--world` is required\n{USAGE}"))?;
    Ok(Args {
        world,
        port,
        options,
        operation_polls,
    })
}

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the emulator binary reports on its own standard streams"
)]
#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(&args.world) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read world file `{}`: {e}", args.world);
            return ExitCode::from(2);
        }
    };
    let world = match World::from_yaml(&text) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("world file `{}`: {e}", args.world);
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::try_new(world, args.options) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("world file `{}`: {e}", args.world);
            return ExitCode::from(2);
        }
    };
    if let Some(polls) = args.operation_polls {
        emulator.set_operation_polls(polls);
    }
    let server = match emulator.serve_on(args.port).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::from(1);
        }
    };
    println!("autosre-emulator listening on {}", server.url());
    server.wait().await;
    ExitCode::SUCCESS
}
