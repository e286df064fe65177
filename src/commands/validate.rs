//! `validate`: offline config validation. Sends nothing.

use serde::Serialize;

use crate::cli::{Output, ValidateArgs};
use crate::config::{self, KeyWiring};
use crate::error::{Category, CliError};
use crate::printer::Printer;
use crate::report;
use crate::settings::Globals;

/// `validate --output json`.
#[derive(Serialize)]
struct Report {
    schema_version: u32,
    environments: Vec<Valid>,
    errors: Vec<Invalid>,
}

#[derive(Serialize)]
struct Valid {
    name: String,
    source: String,
    /// False when `deploy` would refuse to run: the encryption key is not
    /// wired to its env var.
    encryption_key_wired: bool,
}

#[derive(Serialize)]
struct Invalid {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

pub(crate) fn run(
    globals: &Globals,
    printer: &Printer,
    args: ValidateArgs,
) -> Result<(), CliError> {
    let loaded = match args.env {
        Some(e) => match config::load(&globals.config_dir, &e) {
            Ok(env) => config::Loaded {
                environments: vec![env],
                errors: Vec::new(),
            },
            Err(err) => config::Loaded {
                environments: Vec::new(),
                errors: vec![err],
            },
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
    let mut valid = Vec::new();
    for env in &loaded.environments {
        let wired = matches!(env.encryption_key_wiring(), KeyWiring::Wired);
        if !wired {
            printer.warn(&format!(
                "{}: `{}` is not wired to secret `{}`; `deploy` will refuse to run",
                env.source.display(),
                env.encryption_key.env,
                env.encryption_key.secret
            ));
        }
        if globals.output != Output::Json {
            printer.data(&format!("ok: {} ({})", env.name, env.source.display()));
        }
        valid.push(Valid {
            name: env.name.clone(),
            source: env.source.display().to_string(),
            encryption_key_wired: wired,
        });
    }
    for e in &loaded.errors {
        printer.error(&e.to_string(), e.hint());
    }
    if globals.output == Output::Json {
        printer.data(&report::json(&Report {
            schema_version: crate::plan::SCHEMA_VERSION,
            environments: valid,
            errors: loaded
                .errors
                .iter()
                .map(|e| Invalid {
                    message: e.to_string(),
                    hint: e.hint().map(str::to_string),
                })
                .collect(),
        }));
    }
    match loaded.errors.len() {
        0 => Ok(()),
        _ => Err(CliError::silent(Category::User)),
    }
}
