//! `validate`: offline config validation. Sends nothing.

use serde::Serialize;

use super::view::{self, View};
use crate::ExitStatus;
use crate::config;
use crate::error::{Category, Error};
use crate::printer::Printer;
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
    /// The file, as given (`config/staging.yaml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    /// Where in it, for a problem inside the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u64>,
    /// The dotted key (`service.memory`), for a problem with a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

impl Invalid {
    fn of(e: &config::ConfigError) -> Invalid {
        let (file, at, key) = e.location();
        Invalid {
            file: file.map(|f| f.display().to_string()),
            line: at.map(|(l, _)| l),
            column: at.map(|(_, c)| c),
            key: key.map(str::to_string),
            message: e.to_string(),
            hint: e.hint().map(str::to_string),
        }
    }
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
    let mut errors: Vec<Invalid> = loaded.errors.iter().map(Invalid::of).collect();
    for env in &loaded.environments {
        if let Some(e) = config::key_wiring_error(env) {
            globals.ci.config_error(&e);
            errors.push(Invalid::of(&e));
            continue;
        }
        valid.push(Valid {
            name: env.name.clone(),
            source: env.source.display().to_string(),
        });
    }
    let report = Report {
        schema_version: crate::plan::SCHEMA_VERSION,
        environments: valid,
        errors,
    };
    view::show(globals.output, printer, &report);
    for e in &report.errors {
        printer.error(&e.message, e.hint.as_deref());
    }
    match !report.errors.is_empty() {
        false => Ok(ExitStatus::Success),
        true => Err(Error::Reported(Category::User)),
    }
}

/// An `ok:` line per good file for people; every file, good or bad, in JSON.
impl View for Report {
    fn json(&self) -> impl Serialize + '_ {
        self
    }

    fn human(&self, _: &Printer) -> String {
        self.environments
            .iter()
            .map(|v| format!("ok: {} ({})", v.name, v.source))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
