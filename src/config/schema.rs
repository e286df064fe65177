//! JSON Schema (draft 2020-12) of the `config/<env>.yaml` file format, derived with schemars
//! from the file-format types in `raw.rs` (their doc comments are the descriptions, their
//! `#[schemars]` attributes the patterns and the defaults from `defaults.rs`) and from the
//! quantities of `autosre-types`.
//!
//! Published as `schema.json` next to this file, for editors (the
//! `# yaml-language-server: $schema=` line of `config/*.yaml`). `schema_is_pinned` fails when
//! the file differs from what the types generate; `UPDATE_SCHEMA=1 cargo test` rewrites it
//! (cargo-dist's `emit()` test does the same for its schema). The
//! `schema_lists_exactly_the_keys_*` test checks every section's properties against what the
//! parser accepts; with a derived schema that holds by construction, and the test keeps it so.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use super::raw::RawFile;

/// The schema of the file format, with descriptions and defaults.
pub(crate) fn json_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<RawFile>().to_value();
    unwrap_descriptions(&mut schema);
    // What the file is before what it holds, for a reader of schema.json.
    let Value::Object(mut root) = schema else {
        unreachable!("a struct's schema is an object")
    };
    let mut ordered = serde_json::Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(v) = root.shift_remove(key) {
            ordered.insert(key.to_owned(), v);
        }
    }
    ordered.append(&mut root);
    Value::Object(ordered)
}

/// Doc comments arrive with their line breaks; a description is one paragraph of text.
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" => {
                        *text = text.split('\n').collect::<Vec<_>>().join(" ");
                    }
                    _ => unwrap_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// An environment variable name, for the schema only.
pub(super) struct EnvName;

impl JsonSchema for EnvName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" })
    }
}

/// `NAME: value` with names checked: the schema of `service.env` and `service.secrets`.
fn name_map(generator: &mut SchemaGenerator, value_description: &str) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": generator.subschema_for::<EnvName>(),
        "additionalProperties": { "type": "string", "description": value_description },
    })
}

/// `service.env`, for the schema only.
pub(super) struct EnvMap;

impl JsonSchema for EnvMap {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvMap".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        name_map(generator, "The value, as text.")
    }
}

/// `service.secrets`, for the schema only.
pub(super) struct SecretsMap;

impl JsonSchema for SecretsMap {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretsMap".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        name_map(
            generator,
            "Secret reference: name, name:3, name:latest, name:ALIAS, projects/P/secrets/S:2.",
        )
    }
}

/// One entry of `regions:`, for the schema only: a region name, or one region name mapped to
/// what differs there.
pub(super) struct RegionEntry;

impl JsonSchema for RegionEntry {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RegionEntry".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "oneOf": [
                { "type": "string", "description": "A Cloud Run region." },
                {
                    "type": "object",
                    "description": "A Cloud Run region mapped to what differs there.",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": {
                        "type": ["object", "null"],
                        "additionalProperties": false,
                        "properties": {
                            "min_instances": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "service.min_instances in this region."
                            },
                            "env": name_map(generator, "The value in this region, as text; over service.env."),
                        },
                    },
                },
            ],
        })
    }
}

/// `service.labels`, for the schema only: a mapping of labels, or `false`.
pub(super) struct Labels;

impl JsonSchema for Labels {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Labels".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                {
                    "type": "object",
                    "propertyNames": { "type": "string", "pattern": "^[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}$" },
                    "additionalProperties": { "type": "string", "pattern": "^[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}$" },
                    "maxProperties": 64
                },
                { "const": false }
            ]
        })
    }
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
            "src/config/schema.json is out of date; run `UPDATE_SCHEMA=1 cargo test --lib \
             config::schema` and commit the result"
        );
    }

    #[test]
    fn defaults_and_descriptions_are_published() {
        let schema = json_schema();
        let service = &schema["properties"]["service"]["properties"];
        assert_eq!(service["memory"]["default"], "512Mi");
        assert_eq!(service["concurrency"]["default"], 80);
        assert!(
            service["cpu"]["description"]
                .as_str()
                .unwrap()
                .starts_with("CPU limit:")
        );
        assert_eq!(schema["required"], serde_json::json!(["project"]));
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["iam"]["properties"]["secret_access"]["default"],
            "per-secret"
        );
    }

    /// The schema's quantity patterns match every spelling the parser accepts, so an editor
    /// never flags a valid file, and none that is not a quantity at all.
    #[test]
    fn quantity_patterns_agree_with_the_parser() {
        use autosre_types::spellings::{
            CPU_ACCEPTED, CPU_NOT_A_QUANTITY, MEMORY_ACCEPTED, MEMORY_NOT_A_QUANTITY,
        };
        let schema = json_schema();
        let service = &schema["properties"]["service"]["properties"];
        let cases = [
            (
                "cpu",
                CPU_ACCEPTED.iter().map(|s| s.0).collect::<Vec<_>>(),
                CPU_NOT_A_QUANTITY,
            ),
            (
                "memory",
                MEMORY_ACCEPTED.iter().map(|s| s.0).collect(),
                MEMORY_NOT_A_QUANTITY,
            ),
        ];
        for (key, accepted, refused) in cases {
            let pattern = service[key]["pattern"].as_str().unwrap();
            let re = regex::Regex::new(pattern).unwrap();
            for written in accepted {
                assert!(re.is_match(written), "{key} `{written}` vs {pattern}");
            }
            for written in refused {
                assert!(!re.is_match(written), "{key} `{written}` vs {pattern}");
            }
        }
    }
}
