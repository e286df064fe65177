//! JSON Schema (draft 2020-12) of the `config/<env>.yaml` file format.
//!
//! Hand-written rather than derived: deriving would need a new dependency (schemars), and the
//! partial types carry `Spanned<T>` wrappers that are not part of the format. Drift is caught
//! by tests instead: defaults come from `defaults.rs`, the `schema_lists_exactly_the_keys_*`
//! test checks every section's properties against what the parser accepts, and
//! `schema_is_pinned` keeps the checked-in `schema.json` (for editors: point the YAML language
//! server at it) equal to this function. Regenerate with `UPDATE_SCHEMA=1 cargo test`
//! (cargo-dist's `emit()` test does the same for its schema).

use serde_json::{Value, json};

use super::defaults;

/// The schema of the file format, with descriptions and defaults.
pub fn json_schema() -> Value {
    let string_map = |description: &str, value_description: &str| {
        json!({
            "description": description,
            "type": "object",
            "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
            "additionalProperties": { "type": "string", "description": value_description },
            "default": {}
        })
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "autosre-deploy environment",
        "description": "One deploy target of the Auto SRE agent on Cloud Run: config/<env>.yaml.",
        "type": "object",
        "additionalProperties": false,
        "required": ["project"],
        "properties": {
            "project": {
                "description": "Google Cloud project id: 6-30 lowercase letters, digits or hyphens, starting with a letter.",
                "type": "string",
                "pattern": "^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
            },
            "region": {
                "description": "Cloud Run region.",
                "type": "string",
                "default": defaults::REGION,
                "examples": ["us-central1", "europe-west1"]
            },
            "production": {
                "description": "A production environment: service.env must set STRICT_EUC_ENFORCEMENT to \"true\", and allow_unauthenticated: true needs service.public_ack.",
                "type": "boolean",
                "default": defaults::PRODUCTION
            },
            "service": {
                "description": "The Cloud Run service.",
                "type": "object",
                "additionalProperties": false,
                "default": {},
                "properties": {
                    "name": {
                        "description": "Service name: lowercase letters, digits, hyphens; starts with a letter; at most 49 characters.",
                        "type": "string",
                        "pattern": "^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$",
                        "default": defaults::SERVICE_NAME
                    },
                    "image": {
                        "description": "Container image. Optional here: the --image flag may supply it.",
                        "type": "string"
                    },
                    "service_account": {
                        "description": "Runtime service account email. Default: Cloud Run's default (the Compute Engine default service account).",
                        "type": "string",
                        "format": "email"
                    },
                    "cpu": {
                        "description": "CPU limit: 1, 2, 4, 6 or 8, or a fraction from 0.08 to 1 (\"0.5\", \"500m\").",
                        "type": ["string", "number"],
                        "default": defaults::CPU
                    },
                    "memory": {
                        "description": "Memory limit as a Kubernetes quantity, 128Mi to 32Gi (\"512Mi\", \"16Gi\", \"1G\", \"0.5Gi\"); within Cloud Run's CPU/memory table (more than 4Gi needs 2 CPU, more than 8Gi 4, more than 16Gi 6, more than 24Gi 8).",
                        "type": "string",
                        "pattern": "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$",
                        "default": defaults::MEMORY
                    },
                    "timeout": {
                        "description": "Request timeout with a unit, at most 60 minutes (\"300s\", \"5m\", \"1h\", \"1m30s\").",
                        "type": "string",
                        "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
                        "default": defaults::TIMEOUT
                    },
                    "concurrency": {
                        "description": "Maximum concurrent requests per instance.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 1000,
                        "default": defaults::CONCURRENCY
                    },
                    "min_instances": {
                        "description": "Minimum instances kept warm (0 scales to zero).",
                        "type": "integer",
                        "minimum": 0,
                        "default": defaults::MIN_INSTANCES
                    },
                    "max_instances": {
                        "description": "Maximum instances; at least min_instances.",
                        "type": "integer",
                        "minimum": 1,
                        "default": defaults::MAX_INSTANCES
                    },
                    "allow_unauthenticated": {
                        "description": "Grant roles/run.invoker to allUsers (a public endpoint).",
                        "type": "boolean",
                        "default": defaults::ALLOW_UNAUTHENTICATED
                    },
                    "public_ack": {
                        "description": "Why this production service is public; required with production: true and allow_unauthenticated: true.",
                        "type": "string"
                    },
                    "env": string_map(
                        "Plain environment variables. Values must be strings: quote numbers and booleans. Never the encryption key.",
                        "The value, as text."
                    ),
                    "plain_env_allow": {
                        "description": "Names in env that look like credentials (*_KEY, *_TOKEN, *_SECRET, *PASSWORD*, *CREDENTIALS*) but are deliberately plain values.",
                        "type": "array",
                        "items": { "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                        "default": []
                    },
                    "secrets": string_map(
                        "Environment variables filled from Secret Manager: ENV_NAME: secret[:version] or projects/P/secrets/S[:version]; version defaults to latest.",
                        "Secret reference: name, name:3, name:latest, projects/P/secrets/S:2."
                    ),
                    "pin_secret_versions": {
                        "description": "Pin each secret read at latest to the version number it resolves to at deploy time.",
                        "type": "boolean",
                        "default": defaults::PIN_SECRET_VERSIONS
                    }
                }
            },
            "encryption_key": {
                "description": "The agent's encryption key. service.secrets must map `env` to `secret`, or the deploy refuses to run.",
                "type": "object",
                "additionalProperties": false,
                "default": {
                    "secret": defaults::ENCRYPTION_KEY_SECRET,
                    "env": defaults::ENCRYPTION_KEY_ENV
                },
                "properties": {
                    "secret": {
                        "description": "Secret Manager secret id holding the key.",
                        "type": "string",
                        "pattern": "^[A-Za-z0-9_-]{1,255}$",
                        "default": defaults::ENCRYPTION_KEY_SECRET
                    },
                    "env": {
                        "description": "Environment variable the agent reads the key from.",
                        "type": "string",
                        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                        "default": defaults::ENCRYPTION_KEY_ENV
                    }
                }
            },
            "iam": {
                "description": "IAM grants made by the deploy.",
                "type": "object",
                "additionalProperties": false,
                "default": {},
                "properties": {
                    "project_roles": {
                        "description": "Roles granted to the runtime service account on the project (roles/x.y, projects/P/roles/N, organizations/N/roles/N).",
                        "type": "array",
                        "items": { "type": "string" },
                        "default": []
                    },
                    "secret_access": {
                        "description": "Scope of roles/secretmanager.secretAccessor: per-secret (least privilege) or project.",
                        "enum": ["per-secret", "project"],
                        "default": "per-secret"
                    },
                    "service_account_users": {
                        "description": "Members granted roles/iam.serviceAccountUser on the runtime account; `{project_number}` is replaced with the project's number.",
                        "type": "array",
                        "items": { "type": "string" },
                        "default": []
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Pins `schema.json` to `json_schema()`; `UPDATE_SCHEMA=1` rewrites the file instead.
    #[test]
    fn schema_is_pinned() {
        let rendered = format!(
            "{}\n",
            serde_json::to_string_pretty(&json_schema()).expect("schema serializes")
        );
        // `file!()` is relative to the workspace root (which is this package's root), or
        // absolute when the module is mounted with `#[path]`.
        let here = Path::new(file!());
        let path = if here.is_absolute() {
            here.to_path_buf()
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(here)
        }
        .with_file_name("schema.json");
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &rendered).expect("write schema.json");
            return;
        }
        let pinned = include_str!("schema.json");
        assert!(
            pinned == rendered,
            "src/config/schema.json is out of date; run `UPDATE_SCHEMA=1 cargo test` and \
             commit the result"
        );
    }

    #[test]
    fn secret_access_values_match_the_enum() {
        use super::super::environment::SecretAccess;
        let values: Vec<String> = [SecretAccess::PerSecret, SecretAccess::Project]
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let schema = json_schema();
        let listed = &schema["properties"]["iam"]["properties"]["secret_access"]["enum"];
        assert_eq!(listed, &json!(values));
    }
}
