//! Embedding vectors read from JSON text as f32s: each number rounded once, by std's parser,
//! from its decimal text to the nearest f32 (read through f64 it is rounded twice, and of all
//! 4.28 billion finite f32s one, ±7.038531e-26, lands on the next f32; serde_json's own f32 is
//! exact only under its `float_roundtrip` feature), a number past f32's range refused (it would
//! become infinity, written out as `null`), and no error quoting the upstream's text. Written
//! back, serde_json prints each f32 shortest. Never route a vector through f64 or `Value`.

use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::value::RawValue;

/// A JSON array of numbers, read as exact f32s; from JSON text only (serde_json's
/// `from_slice`/`from_str`/`from_reader`), never from a `Value`.
#[derive(Debug, Clone, PartialEq)]
pub struct F32s(pub Vec<f32>);

impl<'de> Deserialize<'de> for F32s {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        parse(raw.get()).map(Self).map_err(D::Error::custom)
    }
}

/// `#[serde(deserialize_with = "switchyard_protocol::vector::f32s")]` for a `Vec<f32>` field.
pub fn f32s<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    F32s::deserialize(d).map(|v| v.0)
}

/// The same for a `Vec<Vec<f32>>` field (several vectors in one array).
pub fn f32_arrays<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f32>>, D::Error> {
    Vec::<F32s>::deserialize(d).map(|v| v.into_iter().map(|v| v.0).collect())
}

const NOT_NUMBERS: &str = "an embedding must be an array of numbers";
const JSON_SPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// The f32s of `text`, a JSON value already checked as JSON (a `RawValue`'s): refused unless
/// it is an array of numbers each within f32's range. The messages never quote the text.
pub(crate) fn parse(text: &str) -> Result<Vec<f32>, &'static str> {
    let inner = text
        .trim_matches(JSON_SPACE)
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or(NOT_NUMBERS)?;
    if inner.trim_matches(JSON_SPACE).is_empty() {
        return Ok(Vec::new());
    }
    // Valid JSON splits at its commas into its items unless an item is a string, an array or
    // an object, and none of those starts like a number.
    inner
        .split(',')
        .map(|item| {
            let item = item.trim_matches(JSON_SPACE);
            if !item.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                return Err(NOT_NUMBERS);
            }
            match item.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                Ok(_) => Err("an embedding value is past f32's range"),
                Err(_) => Err(NOT_NUMBERS),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn each_number_is_rounded_once_to_the_nearest_f32() {
        let text = "[ 0.1 ,1e-8,\n-0, 7.038531e-26, 0.10000000149011612, 1E0, 1e-50 ]";
        let read = parse(text).unwrap();
        let want = [0.1, 1e-8, -0.0, f32::from_bits(0x15ae_43fd), 0.1, 1.0, 0.0];
        assert_eq!(bits(&read), bits(&want));
        // Read through f64 and rounded again, 7.038531e-26 misses by one ulp.
        let twice = serde_json::from_str::<f64>("7.038531e-26").unwrap() as f32;
        assert_eq!(twice.to_bits(), 0x15ae_43fe);
    }

    #[test]
    fn anything_but_an_array_of_f32_numbers_is_refused_without_quoting_it() {
        for text in [
            "[\"sk-MARKER\"]",
            "[\"1,2\"]",
            "[1,\"MARKER\"]",
            "[null]",
            "[[1.0]]",
            "[{\"a\":1,\"b\":2}]",
            "[true]",
            "{}",
            "\"MARKER\"",
            "3",
        ] {
            assert_eq!(parse(text), Err(NOT_NUMBERS), "{text}");
        }
        for text in ["[1e39]", "[-3.5e38]", "[1,2,1e400]"] {
            assert_eq!(
                parse(text),
                Err("an embedding value is past f32's range"),
                "{text}"
            );
        }
        assert_eq!(parse("[]"), Ok(Vec::new()));
        assert_eq!(parse("[ \n ]"), Ok(Vec::new()));
    }

    #[test]
    fn fields_read_through_the_helpers_and_only_from_text() {
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(deserialize_with = "f32s")]
            one: Vec<f32>,
            #[serde(deserialize_with = "f32_arrays")]
            many: Vec<Vec<f32>>,
        }
        let text = r#"{"one": [7.038531e-26], "many": [[0.1], [], [-0.0, 2]]}"#;
        let answer: Answer = serde_json::from_str(text).unwrap();
        assert_eq!(bits(&answer.one), vec![0x15ae_43fd]);
        assert_eq!(
            answer.many.iter().map(|v| bits(v)).collect::<Vec<_>>(),
            vec![bits(&[0.1]), vec![], bits(&[-0.0, 2.0])]
        );
        let reader: Answer = serde_json::from_reader(text.as_bytes()).unwrap();
        assert_eq!(reader.many.len(), 3);
        let bad = serde_json::from_str::<Answer>(r#"{"one": ["MARKER"], "many": []}"#);
        assert!(!bad.err().unwrap().to_string().contains("MARKER"));
    }
}
