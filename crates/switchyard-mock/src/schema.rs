//! Makes a JSON value that satisfies a JSON Schema (the subset tool definitions and structured
//! outputs use: type, properties, required, items, enum, const, min/max bounds, anyOf/oneOf,
//! allOf, $ref to `#/$defs`), deterministically from a seed, within the [`Limits`]: every value
//! is paid for from the answer's [`Budget`] before it is built, so `$ref` fan-out, huge
//! `minItems` or `minLength` are refused by name instead of filling memory. Never build a value
//! the budget has not paid for.

use crate::budget::Budget;
use crate::limits::{Exceeded, Limit, Limits, Stop};
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

/// A value valid for `schema`, whose `$ref`s resolve against `root`, paid for from `budget`.
/// A refusal says where in the schema (`#/properties/tags`) it arose.
pub fn instance(
    schema: &Value,
    root: &Value,
    rng: &mut Rng,
    budget: &mut Budget<'_>,
) -> Result<Value, Stop> {
    let limits = *budget.limits();
    let mut generator = Generator {
        root,
        rng,
        budget,
        limits,
        refs: 0,
        arrays: 0,
    };
    generator.value(schema, 0).map_err(|e| anchor(e, "#"))
}

fn below(mut stop: Stop, segment: &str) -> Stop {
    if let Stop::Refused(e) = &mut stop {
        e.below(segment);
    }
    stop
}

fn anchor(mut stop: Stop, base: &str) -> Stop {
    if let Stop::Refused(e) = &mut stop {
        e.anchor(base);
    }
    stop
}

/// One answer's generation: the schema document, the seed stream and the budget, and how many
/// `$ref` hops and arrays enclose the value being built (to name what multiplied an answer).
struct Generator<'a, 'b> {
    root: &'a Value,
    rng: &'a mut Rng,
    budget: &'a mut Budget<'b>,
    limits: Limits,
    refs: u32,
    arrays: u32,
}

/// The bytes a leaf costs, roughly as JSON text with its separator.
fn leaf_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 3,
        Value::Number(n) => n
            .as_u64()
            .map(|u| u.checked_ilog10().unwrap_or(0) as usize + 2)
            .or_else(|| {
                n.as_i64()
                    .map(|i| i.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 3)
            })
            .unwrap_or(25),
        Value::Bool(_) => 6,
        _ => 5,
    }
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

impl Generator<'_, '_> {
    /// The keyword that multiplies the value being built, for a refusal.
    fn multiplier(&self) -> &'static str {
        if self.refs > 0 {
            "$ref"
        } else if self.arrays > 0 {
            "items"
        } else {
            "properties"
        }
    }

    fn spend(&mut self, values: usize, bytes: usize) -> Result<(), Stop> {
        let keyword = self.multiplier();
        self.budget.spend(values, bytes, keyword)
    }

    fn leaf(&mut self, v: Value) -> Result<Value, Stop> {
        self.spend(1, leaf_bytes(&v))?;
        Ok(v)
    }

    /// A copy of a `const` or `enum` value from the schema, paid for whole before it is made.
    fn copy(&mut self, v: &Value) -> Result<Value, Stop> {
        self.pay_for(v)?;
        Ok(v.clone())
    }

    fn pay_for(&mut self, v: &Value) -> Result<(), Stop> {
        match v {
            Value::Array(items) => {
                self.spend(1, 3)?;
                items.iter().try_for_each(|item| self.pay_for(item))
            }
            Value::Object(members) => {
                self.spend(1, 3)?;
                members.iter().try_for_each(|(key, item)| {
                    self.spend(0, key.len() + 4)?;
                    self.pay_for(item)
                })
            }
            leaf => self.spend(1, leaf_bytes(leaf)),
        }
    }

    /// A value for `schema` at nesting `depth`. Past `expand_depth` only what the schema
    /// requires is built; past `max_depth` the request is refused.
    fn value(&mut self, schema: &Value, depth: u32) -> Result<Value, Stop> {
        if depth > self.limits.max_depth {
            let allowed = u64::from(self.limits.max_depth);
            return Err(Exceeded::new(Limit::Depth, self.multiplier(), None, allowed).into());
        }
        let minimal = depth > self.limits.expand_depth;
        let Some(obj) = schema.as_object() else {
            return self.leaf(Value::Null);
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            // Resolving reads the pointer: a byte of budget per byte of it.
            self.spend(0, r.len())?;
            let target = r
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
                .unwrap_or(&Value::Null);
            self.refs += 1;
            let v = self.value(target, depth + 1).map_err(|e| anchor(e, r));
            self.refs -= 1;
            return v;
        }
        if let Some(c) = obj.get("const") {
            return self.copy(c).map_err(|e| below(e, "const"));
        }
        if let Some(options) = obj.get("enum").and_then(Value::as_array)
            && !options.is_empty()
        {
            let pick = &options[self.rng.below(options.len() as u64) as usize];
            return self.copy(pick).map_err(|e| below(e, "enum"));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = obj.get(key).and_then(Value::as_array) {
                // Deep down, a union's `null` member ends a recursion; elsewhere the first
                // member that is not `null` is taken. Reading the list costs a byte per member.
                self.spend(0, options.len())?;
                let null = minimal
                    .then(|| options.iter().position(is_null_type))
                    .flatten();
                let chosen = null.or_else(|| options.iter().position(|o| !is_null_type(o)));
                if let Some(i) = chosen {
                    return self
                        .value(&options[i], depth + 1)
                        .map_err(|e| below(below(e, &i.to_string()), key));
                }
            }
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for (i, part) in all.iter().enumerate() {
                let v = self
                    .value(part, depth + 1)
                    .map_err(|e| below(below(e, &i.to_string()), "allOf"))?;
                if let Value::Object(m) = v {
                    merged.extend(m);
                }
            }
            return Ok(Value::Object(merged));
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => {
                // Reading the list costs a byte per entry.
                self.spend(0, types.len())?;
                let mut named = types.iter().filter_map(Value::as_str);
                if minimal && types.iter().any(|t| t == "null") {
                    "null"
                } else {
                    named.find(|t| *t != "null").unwrap_or("null")
                }
            }
            _ if obj.contains_key("properties") => "object",
            _ if obj.contains_key("items") => "array",
            _ => "string",
        };
        match ty {
            "object" => self.object(obj, depth, minimal),
            "array" => self.array(obj, depth, minimal),
            "integer" => {
                let min = obj.get("minimum").and_then(Value::as_i64).unwrap_or(0);
                let max = obj
                    .get("maximum")
                    .and_then(Value::as_i64)
                    .unwrap_or(min.saturating_add(100));
                let span = u64::try_from(max.saturating_sub(min)).unwrap_or(0);
                let offset = self.rng.below(span.saturating_add(1));
                self.leaf(json!(
                    min.saturating_add(i64::try_from(offset).unwrap_or(0))
                ))
            }
            "number" => {
                let min = obj.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
                let max = obj
                    .get("maximum")
                    .and_then(Value::as_f64)
                    .unwrap_or(min + 100.0);
                let x = min + (max - min) * self.rng.unit();
                self.leaf(json!((x * 100.0).round() / 100.0))
            }
            "boolean" => {
                let b = self.rng.below(2) == 1;
                self.leaf(json!(b))
            }
            "null" => self.leaf(Value::Null),
            _ => self.string(obj),
        }
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        depth: u32,
        minimal: bool,
    ) -> Result<Value, Stop> {
        self.spend(1, 3)?;
        let mut out = Map::new();
        let Some(props) = obj.get("properties").and_then(Value::as_object) else {
            return Ok(Value::Object(out));
        };
        if minimal {
            // Only the required properties, in the order `required` names them; each name read
            // costs its key's bytes, whether or not `properties` defines it.
            let required = obj.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                self.spend(0, name.len() + 4)?;
                if let Some(sub) = props.get(name) {
                    let v = self.property(name, sub, depth)?;
                    out.insert(name.to_owned(), v);
                }
            }
        } else {
            for (name, sub) in props {
                self.spend(0, name.len() + 4)?;
                let v = self.property(name, sub, depth)?;
                out.insert(name.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    fn property(&mut self, name: &str, sub: &Value, depth: u32) -> Result<Value, Stop> {
        self.value(sub, depth + 1)
            .map_err(|e| below(below(e, name), "properties"))
    }

    fn array(
        &mut self,
        obj: &Map<String, Value>,
        depth: u32,
        minimal: bool,
    ) -> Result<Value, Stop> {
        let limit = self.limits.max_items;
        let min_items = obj.get("minItems").and_then(Value::as_u64);
        if let Some(min) = min_items
            && min > limit
        {
            return Err(Exceeded::new(Limit::Items, "minItems", Some(min), limit).into());
        }
        let len = if minimal {
            min_items.unwrap_or(0)
        } else {
            // `maxItems` past the limit reads as the limit: fewer items still satisfy it.
            let min = min_items.unwrap_or(1);
            let max = obj
                .get("maxItems")
                .and_then(Value::as_u64)
                .unwrap_or(min.max(2))
                .min(limit);
            min + self.rng.below(max.saturating_sub(min) + 1)
        };
        self.spend(1, 3)?;
        let items = obj.get("items");
        let mut out = Vec::with_capacity(len as usize);
        self.arrays += 1;
        for _ in 0..len {
            let v = match items {
                Some(items) => self.value(items, depth + 1),
                None => self.string(&Map::new()),
            };
            out.push(v.map_err(|e| below(e, "items"))?);
        }
        self.arrays -= 1;
        Ok(Value::Array(out))
    }

    fn string(&mut self, obj: &Map<String, Value>) -> Result<Value, Stop> {
        let rng = &mut *self.rng;
        let format = obj.get("format").and_then(Value::as_str);
        let mut s = match format {
            Some("date") => "2026-01-15".to_owned(),
            Some("date-time") => "2026-01-15T10:30:00Z".to_owned(),
            Some("email") => format!("{}@example.com", word(rng)),
            Some("uri") => format!("https://example.com/{}", word(rng)),
            Some("uuid") => "123e4567-e89b-42d3-a456-426614174000".to_owned(),
            _ => format!("{} {}", word(rng), word(rng)),
        };
        let limit = self.limits.max_string_chars;
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0);
        if min > limit {
            return Err(Exceeded::new(Limit::StringChars, "minLength", Some(min), limit).into());
        }
        let padding = usize::try_from(min)
            .unwrap_or(usize::MAX)
            .saturating_sub(s.chars().count());
        self.spend(1, s.len() + padding + 3)?;
        s.extend(std::iter::repeat_n('x', padding));
        if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
            && let Ok(max) = usize::try_from(max)
            && s.chars().count() > max
        {
            s = s.chars().take(max).collect();
        }
        Ok(Value::String(s))
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
