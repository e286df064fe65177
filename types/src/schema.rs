//! `JsonSchema` for the quantities (feature `schemars`): what an editor can check before the
//! parser runs. The patterns are the syntax only; the parser's range and table checks, with
//! their hints, stay the authority.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::{Cpu, Memory, Timeout};

impl JsonSchema for Cpu {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Cpu".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // A number is accepted as well (`cpu: 4`, `cpu: 0.5`), see `serde_via_text!`.
        json_schema!({
            "type": ["string", "number"],
            "pattern": r"^([0-9]+\.?[0-9]{0,3}|\.[0-9]{1,3}|[0-9]+m)$",
        })
    }
}

impl JsonSchema for Memory {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Memory".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$",
        })
    }
}

impl JsonSchema for Timeout {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timeout".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
        })
    }
}
