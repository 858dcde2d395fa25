//! Reading a client's request body into a door's wire type. A body of the wrong shape is
//! refused with the JSON path of the field and the type it should have had. Never quotes a
//! value from the body: serde_json's own messages do (`invalid type: string "sk-…", expected
//! u32`), so a secret sent in the wrong field would come back in the error and its logs.

mod node;

use crate::openai::WireError;
use node::Node;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::error::Category;
use serde_json::value::RawValue;

pub use node::ShapeError;

/// How a door writes array positions in a JSON path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// OpenAI's `messages[0].content`.
    Brackets,
    /// Anthropic's `messages.0.content`.
    Dots,
}

/// A door's request body: its derived deserializer, kept apart so that `Deserialize` can run
/// it and explain its failures (`body_serde!` writes the impl).
pub trait Body: Sized {
    /// How the door's error messages write paths.
    const PATHS: PathStyle;

    /// The derived deserializer, with serde's own error messages.
    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Parses a request body. A body of the wrong shape gives a [`WireError`] whose `param` is the
/// JSON path of the field and whose message says what type it should have, not what it held.
/// A body that is not UTF-8 anywhere is not JSON (RFC 8259 8.1): serde_json checks only the
/// strings it decodes, so bytes in a field the door ignores passed.
pub fn parse<T: Body>(bytes: &[u8]) -> Result<T, WireError> {
    let text = std::str::from_utf8(bytes).map_err(|e| WireError {
        message: format!(
            "the request body is not valid JSON: it is not UTF-8 at byte {}",
            e.valid_up_to()
        ),
        param: None,
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = T::from_wire(&mut de).and_then(|t| de.end().map(|()| t));
    parsed.map_err(|e| explain::<T>(bytes, &e))
}

/// What `Deserialize` runs for a door's body (`serde_json::from_slice::<ChatCompletionRequest>`
/// included): the derived deserializer over a copy of the body's text, and on failure the
/// explanation from [`parse`] as the error's message.
pub fn deserialize<'de, T: Body, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    let mut de = serde_json::Deserializer::from_str(raw.get());
    T::from_wire(&mut de).map_err(|e| D::Error::custom(explain::<T>(raw.get().as_bytes(), &e)))
}

/// Why `bytes` did not parse as `T`, from a second reading that tracks paths. Runs only on
/// failure, so the served path reads a body once.
fn explain<T: Body>(bytes: &[u8], e: &serde_json::Error) -> WireError {
    if e.classify() != Category::Data {
        return not_json(e);
    }
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => return not_json(&e),
    };
    match T::from_wire(Node(&value)) {
        Err(shape) => {
            let path = shape.path(T::PATHS);
            if path.is_empty() {
                WireError {
                    message: format!("the request body: {}", shape.what()),
                    param: None,
                }
            } else {
                WireError::new(format!("{path}: {}", shape.what()), path)
            }
        }
        // serde_json refuses a key given twice; a parsed value keeps the last one.
        Ok(_) => WireError {
            message: "the request body does not have the expected shape (is a field given twice?)"
                .into(),
            param: None,
        },
    }
}

/// serde_json's syntax messages name a position, never the text ("expected value at line 1
/// column 9"), so they are passed on.
fn not_json(e: &serde_json::Error) -> WireError {
    WireError {
        message: format!("the request body is not valid JSON: {e}"),
        param: None,
    }
}

/// Gives a wire type declared `#[serde(remote = "Self")]` its `Serialize` (the derived one),
/// its `Deserialize` (through [`deserialize`]) and its [`Body`] impl.
macro_rules! body_serde {
    ($ty:ty, $paths:expr) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$ty>::serialize(self, s)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::body::deserialize(d)
            }
        }

        impl $crate::body::Body for $ty {
            const PATHS: $crate::body::PathStyle = $paths;

            fn from_wire<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$ty>::deserialize(d)
            }
        }
    };
}

pub(crate) use body_serde;
