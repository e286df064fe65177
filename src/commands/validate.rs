//! `validate`: offline config validation. Sends nothing.

use serde::Serialize;

use crate::ExitStatus;
use crate::cli::Output;
use crate::config::{self, KeyWiring};
use crate::error::{Category, Error};
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
    env: Option<String>,
) -> Result<ExitStatus, Error> {
    let loaded = match env {
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
        return Err(Error::NoEnvironments {
            dir: globals.config_dir.clone(),
        });
    }
    // Every good file is reported, also when another file is bad. A file
    // `deploy` would refuse (the encryption key not wired) is not good:
    // validate holds it to the same rule, offline.
    let mut valid = Vec::new();
    for e in &loaded.errors {
        globals.ci.config_error(e);
    }
    let mut errors: Vec<Invalid> = loaded
        .errors
        .iter()
        .map(|e| Invalid {
            message: e.to_string(),
            hint: e.hint().map(str::to_string),
        })
        .collect();
    for env in &loaded.environments {
        let key = &env.encryption_key;
        let unwired = match env.encryption_key_wiring() {
            KeyWiring::Wired => None,
            KeyWiring::WiredToOtherSecret(other) => Some(format!(
                "`{}` reads secret `{other}`, not the encryption key secret `{}`",
                key.env, key.secret
            )),
            _ => Some(format!(
                "`{}` is not wired to the encryption key secret `{}`; without it the agent makes a throw-away key at start-up",
                key.env, key.secret
            )),
        };
        if let Some(why) = unwired {
            globals.ci.file_error(&env.source, "service.secrets", &why);
            errors.push(Invalid {
                message: format!("{}: service.secrets: {why}", env.source.display()),
                hint: Some(format!(
                    "add `{}: {}:latest` under `service.secrets`",
                    key.env, key.secret
                )),
            });
            continue;
        }
        if globals.output != Output::Json {
            printer.data(&format!("ok: {} ({})", env.name, env.source.display()));
        }
        valid.push(Valid {
            name: env.name.clone(),
            source: env.source.display().to_string(),
        });
    }
    for e in &errors {
        printer.error(&e.message, e.hint.as_deref());
    }
    let failed = !errors.is_empty();
    if globals.output == Output::Json {
        printer.data(&report::json(&Report {
            schema_version: crate::plan::SCHEMA_VERSION,
            environments: valid,
            errors,
        }));
    }
    match failed {
        false => Ok(ExitStatus::Success),
        true => Err(Error::Reported(Category::User)),
    }
}
