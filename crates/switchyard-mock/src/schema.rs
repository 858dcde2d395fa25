//! Makes a JSON value that satisfies a JSON Schema (the subset tool definitions and structured
//! outputs use: type, properties, required, items, enum, const, min/max bounds, anyOf/oneOf,
//! allOf, $ref to `#/$defs`), deterministically from a seed.

use serde_json::{Map, Value, json};

/// A small deterministic generator (SplitMix64); the mock needs repeatable output, not
/// unpredictability.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "iris", "juniper",
    "kestrel", "lumen", "meadow", "nectar", "orbit", "pylon", "quartz", "river", "summit",
    "tundra", "umber", "vertex", "willow", "xenon", "yarrow", "zephyr",
];

pub fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.below(WORDS.len() as u64) as usize]
}

/// A value valid for `schema`. `root` resolves `$ref`s; `depth` stops runaway recursion.
pub fn instance(schema: &Value, root: &Value, rng: &mut Rng, depth: u32) -> Value {
    let Some(obj) = schema.as_object() else {
        return Value::Null;
    };
    if depth > 8 {
        return Value::Null;
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .unwrap_or(&Value::Null);
        return instance(target, root, rng, depth + 1);
    }
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(options) = obj.get("enum").and_then(Value::as_array)
        && !options.is_empty()
    {
        return options[rng.below(options.len() as u64) as usize].clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = obj.get(key).and_then(Value::as_array)
            && let Some(first) = options
                .iter()
                .find(|o| o.get("type") != Some(&json!("null")))
        {
            return instance(first, root, rng, depth + 1);
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = instance(part, root, rng, depth + 1) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "string",
    };
    match ty {
        "object" => object(obj, root, rng, depth),
        "array" => {
            let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(1);
            let max = obj
                .get("maxItems")
                .and_then(Value::as_u64)
                .unwrap_or(min.max(2));
            let len = min + rng.below(max.saturating_sub(min) + 1);
            let items = obj
                .get("items")
                .cloned()
                .unwrap_or(json!({"type": "string"}));
            Value::Array(
                (0..len)
                    .map(|_| instance(&items, root, rng, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let min = obj.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            let max = obj
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(min + 100);
            let span = u64::try_from(max.saturating_sub(min)).unwrap_or(0);
            json!(min.saturating_add(i64::try_from(rng.below(span + 1)).unwrap_or(0)))
        }
        "number" => {
            let min = obj.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let max = obj
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(min + 100.0);
            let x = min + (max - min) * rng.unit();
            json!((x * 100.0).round() / 100.0)
        }
        "boolean" => json!(rng.below(2) == 1),
        "null" => Value::Null,
        _ => string(obj, rng),
    }
}

fn object(obj: &Map<String, Value>, root: &Value, rng: &mut Rng, depth: u32) -> Value {
    let mut out = Map::new();
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            out.insert(name.clone(), instance(sub, root, rng, depth + 1));
        }
    }
    Value::Object(out)
}

fn string(obj: &Map<String, Value>, rng: &mut Rng) -> Value {
    let format = obj.get("format").and_then(Value::as_str);
    let s = match format {
        Some("date") => "2026-01-15".to_owned(),
        Some("date-time") => "2026-01-15T10:30:00Z".to_owned(),
        Some("email") => format!("{}@example.com", word(rng)),
        Some("uri") => format!("https://example.com/{}", word(rng)),
        Some("uuid") => "123e4567-e89b-42d3-a456-426614174000".to_owned(),
        _ => format!("{} {}", word(rng), word(rng)),
    };
    let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = obj
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let mut s = s;
    while s.chars().count() < min {
        s.push('x');
    }
    if let Some(max) = max {
        s = s.chars().take(max).collect();
    }
    Value::String(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_types_enums_and_bounds() {
        let schema = json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 3},
                "unit": {"enum": ["c", "f"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "tags": {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 2},
                "loc": {"$ref": "#/$defs/loc"}
            },
            "required": ["city"],
            "$defs": {"loc": {"type": "object", "properties": {"lat": {"type": "number"}}}}
        });
        let v = instance(&schema, &schema, &mut Rng::new(1), 0);
        assert!(v["city"].as_str().is_some_and(|s| s.len() >= 3));
        assert!(["c", "f"].contains(&v["unit"].as_str().unwrap_or("")));
        assert!((1..=7).contains(&v["days"].as_i64().unwrap_or(0)));
        assert_eq!(v["tags"].as_array().map(Vec::len), Some(2));
        assert!(v["loc"]["lat"].is_number());
        assert_eq!(v, instance(&schema, &schema, &mut Rng::new(1), 0));
    }
}
