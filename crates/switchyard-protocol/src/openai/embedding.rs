//! Embeddings on OpenAI's wire: the client's request into the canonical one, canonical vectors
//! into the answer, and the `embedding` field either way, a JSON array of numbers or base64 of
//! little-endian f32s. Numbers are read straight into f32 ([`crate::vector`]) and written as
//! f32, shortest; never through `serde_json::Value`, whose f64 turned an upstream's `0.1` into
//! `0.10000000149011612`.

use super::*;
use serde::de::{Deserializer, Error as _};
use serde::ser::Serializer;
use serde_json::value::RawValue;

/// Parses a client's embeddings request, after [`validate_embeddings`].
pub fn embedding_request_to_canonical(wire: EmbeddingRequest) -> Result<EmbedRequest, WireError> {
    validate_embeddings(&wire)?;
    let input = match wire.input {
        EmbeddingInput::One(s) => vec![s],
        EmbeddingInput::Many(v) => v,
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenLists(_) => {
            return Err(WireError::new(
                "token-id input is not supported; send strings",
                "input",
            ));
        }
    };
    let encoding = match wire.encoding_format.as_deref() {
        Some("base64") => EmbedEncoding::Base64,
        _ => EmbedEncoding::Float,
    };
    Ok(EmbedRequest {
        model: wire.model,
        input,
        dimensions: wire.dimensions,
        user: wire.user,
        encoding,
    })
}

/// `encoding_format` as OpenAI spells `encoding`.
pub fn encoding_format(encoding: EmbedEncoding) -> &'static str {
    match encoding {
        EmbedEncoding::Float => "float",
        EmbedEncoding::Base64 => "base64",
    }
}

/// The answer to an embeddings request: `resp`'s vectors in input order, written as `encoding`
/// asks, under the model name the client used.
pub fn embeddings_from_canonical(
    resp: EmbedResponse,
    model: String,
    encoding: EmbedEncoding,
) -> EmbeddingResponse {
    EmbeddingResponse {
        object: "list".into(),
        data: resp
            .data
            .into_iter()
            .enumerate()
            .map(|(i, values)| EmbeddingData {
                object: "embedding".into(),
                index: i as u32,
                embedding: EmbeddingVector::encode(values, encoding),
            })
            .collect(),
        model,
        usage: EmbeddingUsage {
            prompt_tokens: resp.usage.input_tokens,
            total_tokens: resp.usage.input_tokens,
        },
    }
}

/// One embedding as OpenAI's `embedding` field carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingVector {
    /// A JSON array of numbers, each read as the f32 nearest to it.
    Floats(Vec<f32>),
    /// Base64 of each f32's little-endian bytes, as sent.
    Base64(String),
}

impl EmbeddingVector {
    /// `values` written as `encoding` asks.
    pub fn encode(values: Vec<f32>, encoding: EmbedEncoding) -> Self {
        match encoding {
            EmbedEncoding::Float => Self::Floats(values),
            EmbedEncoding::Base64 => Self::Base64(embedding_base64(&values)),
        }
    }

    /// The f32s this vector holds; `None` for base64 that is not a whole number of f32s.
    pub fn into_f32s(self) -> Option<Vec<f32>> {
        match self {
            Self::Floats(values) => Some(values),
            Self::Base64(text) => f32s_from_base64(&text),
        }
    }
}

impl Serialize for EmbeddingVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Floats(values) => values.serialize(s),
            Self::Base64(text) => s.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for EmbeddingVector {
    /// From JSON text only (see [`crate::vector`]): a string is base64, anything else must be
    /// an array of numbers, each read as the nearest f32.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str(text)
                .map(Self::Base64)
                .map_err(D::Error::custom)
        } else {
            crate::vector::parse(text)
                .map(Self::Floats)
                .map_err(D::Error::custom)
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Little-endian f32s in standard base64, as OpenAI's `encoding_format: base64` returns them.
pub fn embedding_base64(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The f32s of standard base64 (padded or not) of little-endian f32s; `None` for a character
/// outside the alphabet or bytes that are not whole f32s. Every string [`embedding_base64`]
/// writes decodes to the f32s (bit for bit) that write it again.
pub fn f32s_from_base64(text: &str) -> Option<Vec<f32>> {
    let text = text.as_bytes();
    let digits = if text.len().is_multiple_of(4) {
        let pad = text
            .iter()
            .rev()
            .take(2)
            .take_while(|&&c| c == b'=')
            .count();
        &text[..text.len() - pad]
    } else {
        text
    };
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 4 * 3 + 2);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= sextet(c)? << (18 - 6 * i);
        }
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        bytes.extend_from_slice(&three[..chunk.len() - 1]);
    }
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

#[cfg(test)]
#[path = "embedding_tests.rs"]
mod tests;
