//! A deserializer over a parsed JSON value whose errors carry the JSON path of the failing
//! field and say what was expected and what kind of value came instead. It runs only to explain
//! a body that already failed to parse, never on the served path, and its messages never hold
//! a value from the body (object keys on the path are cut to an escaped excerpt).

use super::PathStyle;
use crate::excerpt::{excerpt, excerpt_to};
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeSeed, Expected, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;
use std::fmt::{self, Write};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// An object key, as an escaped excerpt.
    Key(String),
    Index(usize),
}

/// Why a JSON value does not have a wire type's shape, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeError {
    /// Innermost first: steps are added as the error travels out of the value.
    steps: Vec<Step>,
    what: String,
}

impl ShapeError {
    fn new(what: String) -> Self {
        Self {
            steps: Vec::new(),
            what,
        }
    }

    fn within(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// The JSON path of the failing field (`messages[0].content`); empty for the body itself.
    pub fn path(&self, style: PathStyle) -> String {
        let mut out = String::new();
        for step in self.steps.iter().rev() {
            match (step, style) {
                (Step::Index(i), PathStyle::Brackets) => {
                    let _ = write!(out, "[{i}]");
                }
                (Step::Index(i), PathStyle::Dots) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let _ = write!(out, "{i}");
                }
                (Step::Key(k), _) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
            }
        }
        out
    }

    /// What was wrong: the expected type and the kind of value found.
    pub fn what(&self) -> &str {
        &self.what
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path(PathStyle::Brackets), self.what)
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    /// Messages serde builds itself (an untagged enum's `expecting`); bounded all the same.
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(excerpt_to(&msg.to_string(), 200))
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::new(format!("expected {}, got {}", expected(exp), kind(&unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::new(format!(
            "expected {}, got {} outside it",
            expected(exp),
            kind(&unexp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Self::new(format!("expected {}, got {len} items", expected(exp)))
    }

    fn unknown_variant(_variant: &str, variants: &'static [&'static str]) -> Self {
        Self::new(format!("unknown value; expected {}", one_of(variants)))
    }

    fn unknown_field(_field: &str, fields: &'static [&'static str]) -> Self {
        Self::new(format!("unknown field; expected {}", one_of(fields)))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(format!("missing field `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(format!("field `{field}` is given twice"))
    }
}

/// The kind of a value, without the value.
fn kind(u: &Unexpected<'_>) -> &'static str {
    match u {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => "a number",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit => "null",
        Unexpected::Option => "an optional value",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        Unexpected::NewtypeStruct
        | Unexpected::Enum
        | Unexpected::UnitVariant
        | Unexpected::NewtypeVariant
        | Unexpected::TupleVariant
        | Unexpected::StructVariant
        | Unexpected::Other(_) => "a value of another kind",
    }
}

/// serde's names for what a visitor expects (`u32`, `a sequence`), in JSON's words.
fn expected(exp: &dyn Expected) -> String {
    fn integer<T: fmt::Display>(min: T, max: T) -> String {
        format!("an integer from {min} to {max}")
    }
    let text = exp.to_string();
    match text.as_str() {
        "u8" => integer(u8::MIN, u8::MAX),
        "u16" => integer(u16::MIN, u16::MAX),
        "u32" => integer(u32::MIN, u32::MAX),
        "u64" | "usize" => integer(u64::MIN, u64::MAX),
        "i8" => integer(i8::MIN, i8::MAX),
        "i16" => integer(i16::MIN, i16::MAX),
        "i32" => integer(i32::MIN, i32::MAX),
        "i64" | "isize" => integer(i64::MIN, i64::MAX),
        "f32" | "f64" => "a number".into(),
        "a sequence" => "an array".into(),
        "a map" => "an object".into(),
        "unit" => "null".into(),
        t if t.starts_with("struct ") => "an object".into(),
        t => excerpt_to(t, 120),
    }
}

fn one_of(names: &'static [&'static str]) -> String {
    match names {
        [] => "nothing".into(),
        [one] => format!("`{one}`"),
        _ => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// A JSON value read by serde, tracking where it is.
pub(super) struct Node<'a>(pub(super) &'a Value);

impl<'de> de::Deserializer<'de> for Node<'de> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (None, Some(i)) => visitor.visit_i64(i),
                (None, None) => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items(items.iter().enumerate())),
            Value::Object(fields) => visitor.visit_map(Fields {
                iter: fields.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::<ShapeError>::new(s)),
            Value::Object(fields) if fields.len() == 1 => {
                visitor.visit_enum(MapAccessDeserializer::new(Fields {
                    iter: fields.iter(),
                    value: None,
                }))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Items<'a>(std::iter::Enumerate<std::slice::Iter<'a, Value>>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        let Some((i, value)) = self.0.next() else {
            return Ok(None);
        };
        seed.deserialize(Node(value))
            .map(Some)
            .map_err(|e| e.within(Step::Index(i)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields<'a> {
    iter: serde_json::map::Iter<'a>,
    /// The entry whose key was just read.
    value: Option<(&'a str, &'a Value)>,
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::<ShapeError>::new(key))
            .map(Some)
            .map_err(|e| e.within(Step::Key(excerpt(key))))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ShapeError> {
        let Some((key, value)) = self.value.take() else {
            return Err(ShapeError::new("a value was read before its key".into()));
        };
        seed.deserialize(Node(value))
            .map_err(|e| e.within(Step::Key(excerpt(key))))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
