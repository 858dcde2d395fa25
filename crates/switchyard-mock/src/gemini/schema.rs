//! Google's OpenAPI `Schema` subset checked and turned into the JSON Schema the synthesiser
//! fills, and the base64 check the API applies to `bytes` fields. Where a schema is (for error
//! messages) is written out only when it is wrong: never copy the path at every level, or a
//! long property name nested 128 deep costs 128 copies of it.

use super::wire::Schema;
use serde_json::{Map, Value, json};
use std::fmt;

/// Where a schema sits, as the API names it (`tools[0].parameters.properties[city]`): a chain of
/// segments up to the root, written out on demand.
struct At<'a> {
    parent: Option<&'a At<'a>>,
    segment: Segment<'a>,
}

enum Segment<'a> {
    Root(&'a str),
    Property(&'a str),
    Items,
    AnyOf(usize),
}

impl At<'_> {
    fn child<'a>(&'a self, segment: Segment<'a>) -> At<'a> {
        At {
            parent: Some(self),
            segment,
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.segment {
            Segment::Root(root) => f.write_str(root),
            Segment::Property(name) => write!(f, ".properties[{name}]"),
            Segment::Items => f.write_str(".items"),
            Segment::AnyOf(k) => write!(f, ".any_of[{k}]"),
        }
    }
}

const TYPES: &[&str] = &[
    "TYPE_UNSPECIFIED",
    "STRING",
    "NUMBER",
    "INTEGER",
    "BOOLEAN",
    "ARRAY",
    "OBJECT",
    "NULL",
];

/// Checks `schema` (found at `at`) and converts it. `function_parameters`: the stricter rules
/// for function declarations (an `OBJECT` must declare properties).
pub fn json_schema_from_gemini(
    schema: &Schema,
    at: &str,
    function_parameters: bool,
) -> Result<Value, String> {
    let root = At {
        parent: None,
        segment: Segment::Root(at),
    };
    convert(schema, &root, function_parameters)
}

fn convert(schema: &Schema, at: &At<'_>, function_parameters: bool) -> Result<Value, String> {
    let mut out = Map::new();
    let kind = match &schema.kind {
        None => None,
        Some(t) => {
            let upper = t.to_ascii_uppercase();
            if !TYPES.contains(&upper.as_str()) {
                return Err(format!(
                    "Invalid value at '{at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), \"{t}\""
                ));
            }
            Some(upper)
        }
    };
    if let Some(kind) = kind.as_deref().filter(|k| *k != "TYPE_UNSPECIFIED") {
        let lower = kind.to_ascii_lowercase();
        out.insert(
            "type".into(),
            if schema.nullable == Some(true) {
                json!([lower, "null"])
            } else {
                json!(lower)
            },
        );
    }
    let properties = schema.properties.as_ref().filter(|p| !p.is_empty());
    if kind.as_deref() == Some("OBJECT") && function_parameters && properties.is_none() {
        return Err(format!(
            "* GenerateContentRequest.{at}.properties: should be non-empty for OBJECT type"
        ));
    }
    if let Some(props) = properties {
        let mut converted = Map::new();
        for (name, sub) in props {
            let at = at.child(Segment::Property(name));
            converted.insert(name.clone(), convert(sub, &at, function_parameters)?);
        }
        out.insert("properties".into(), Value::Object(converted));
    }
    if let Some(required) = &schema.required {
        for (k, name) in required.iter().enumerate() {
            if !properties.is_some_and(|p| p.contains_key(name)) {
                return Err(format!(
                    "* GenerateContentRequest.{at}.required[{k}]: property is not defined"
                ));
            }
        }
        out.insert("required".into(), json!(required));
    }
    if let Some(items) = &schema.items {
        out.insert(
            "items".into(),
            convert(items, &at.child(Segment::Items), function_parameters)?,
        );
    } else if kind.as_deref() == Some("ARRAY") && function_parameters {
        return Err(format!(
            "* GenerateContentRequest.{at}.items: missing field."
        ));
    }
    if let Some(options) = &schema.any_of {
        let converted = options
            .iter()
            .enumerate()
            .map(|(k, o)| convert(o, &at.child(Segment::AnyOf(k)), function_parameters))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert("anyOf".into(), Value::Array(converted));
    }
    if let Some(values) = &schema.enum_values {
        out.insert("enum".into(), json!(values));
    }
    for (key, value) in [
        ("format", schema.format.as_ref().map(|v| json!(v))),
        ("description", schema.description.as_ref().map(|v| json!(v))),
        ("minimum", schema.minimum.map(|v| json!(v))),
        ("maximum", schema.maximum.map(|v| json!(v))),
        ("minItems", schema.min_items.map(|v| json!(v))),
        ("maxItems", schema.max_items.map(|v| json!(v))),
        ("minLength", schema.min_length.map(|v| json!(v))),
        ("maxLength", schema.max_length.map(|v| json!(v))),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), value);
        }
    }
    Ok(Value::Object(out))
}

/// Standard or URL-safe base64, padded or not, as proto JSON reads `bytes`.
pub fn valid_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let padding = s.len() - body.len();
    let alphabet_ok = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'));
    alphabet_ok
        && padding <= 2
        && if padding > 0 {
            s.len().is_multiple_of(4)
        } else {
            body.len() % 4 != 1
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(v: Value) -> Schema {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn converts_types_and_checks_required() {
        let s = schema(json!({"type": "OBJECT", "properties": {
            "city": {"type": "STRING", "nullable": true},
            "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}));
        let v = json_schema_from_gemini(&s, "p", true).unwrap_or_default();
        assert_eq!(v["properties"]["city"]["type"], json!(["string", "null"]));
        assert_eq!(v["properties"]["unit"]["enum"], json!(["c", "f"]));
        let bad = schema(
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["b"]}),
        );
        assert!(json_schema_from_gemini(&bad, "p", true).is_err());
        let empty = schema(json!({"type": "OBJECT"}));
        assert!(json_schema_from_gemini(&empty, "p", true).is_err());
        assert!(json_schema_from_gemini(&schema(json!({"type": "WORD"})), "p", false).is_err());
        assert!(
            serde_json::from_value::<Schema>(
                json!({"type": "OBJECT", "additionalProperties": false})
            )
            .is_err()
        );
    }

    #[test]
    fn errors_name_the_nested_place() {
        let s = schema(
            json!({"type": "OBJECT", "properties": {"a": {"type": "ARRAY",
            "items": {"anyOf": [{"type": "STRING"}, {"type": "WORD"}]}}}}),
        );
        let e = json_schema_from_gemini(&s, "tools[0].parameters", false).err();
        assert_eq!(
            e.as_deref().and_then(|e| e.split(" (").next()),
            Some("Invalid value at 'tools[0].parameters.properties[a].items.any_of[1].type'")
        );
    }

    #[test]
    fn base64_forms() {
        assert!(valid_base64("skip_thought_signature_validator"));
        assert!(valid_base64("aGVsbG8="));
        assert!(valid_base64("aGVsbG8"));
        assert!(!valid_base64("a"));
        assert!(!valid_base64("not base64!"));
    }
}
