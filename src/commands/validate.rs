//! `validate`: offline config validation. Sends nothing.

use crate::cli::ValidateArgs;
use crate::config::{self, KeyWiring};
use crate::error::CliError;
use crate::printer::Printer;
use crate::settings::Globals;

pub(crate) fn run(
    globals: &Globals,
    printer: &Printer,
    args: ValidateArgs,
) -> Result<(), CliError> {
    let envs = match args.env {
        Some(e) => vec![globals.load(&e)?],
        None => config::load_all(&globals.config_dir).map_err(|errors| {
            let n = errors.len();
            for e in &errors[..n - 1] {
                printer.error(&e.to_string(), e.hint());
            }
            CliError::from(errors.into_iter().last().expect("at least one error"))
        })?,
    };
    if envs.is_empty() {
        return Err(CliError::user(
            format!("no environments in `{}`", globals.config_dir.display()),
            Some("add a `<env>.yaml` file, or point --config-dir at the right directory".into()),
        ));
    }
    for env in &envs {
        match env.encryption_key_wiring() {
            KeyWiring::Wired => {}
            _ => printer.warn(&format!(
                "{}: `{}` is not wired to secret `{}`; `deploy` will refuse to run",
                env.source.display(),
                env.encryption_key.env,
                env.encryption_key.secret
            )),
        }
        printer.data(&format!("ok: {} ({})", env.name, env.source.display()));
    }
    Ok(())
}
