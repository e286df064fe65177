//! `validate`: offline config validation. Sends nothing.

use crate::cli::ValidateArgs;
use crate::config::{self, KeyWiring};
use crate::error::{Category, CliError};
use crate::printer::Printer;
use crate::settings::Globals;

pub(crate) fn run(
    globals: &Globals,
    printer: &Printer,
    args: ValidateArgs,
) -> Result<(), CliError> {
    let loaded = match args.env {
        Some(e) => config::Loaded {
            environments: vec![globals.load(&e)?],
            errors: Vec::new(),
        },
        None => config::load_all(&globals.config_dir),
    };
    if loaded.environments.is_empty() && loaded.errors.is_empty() {
        return Err(CliError::user(
            format!("no environments in `{}`", globals.config_dir.display()),
            Some("add a `<env>.yaml` file, or point --config-dir at the right directory".into()),
        ));
    }
    // Every good file is reported, also when another file is bad.
    for env in &loaded.environments {
        if !matches!(env.encryption_key_wiring(), KeyWiring::Wired) {
            printer.warn(&format!(
                "{}: `{}` is not wired to secret `{}`; `deploy` will refuse to run",
                env.source.display(),
                env.encryption_key.env,
                env.encryption_key.secret
            ));
        }
        printer.data(&format!("ok: {} ({})", env.name, env.source.display()));
    }
    let n = loaded.errors.len();
    for e in &loaded.errors {
        printer.error(&e.to_string(), e.hint());
    }
    match n {
        0 => Ok(()),
        _ => Err(CliError::silent(Category::User)),
    }
}
