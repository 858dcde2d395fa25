#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Both writers give the same text, or both refuse the value.
fn same<T: Serialize + ?Sized>(value: &T) {
    let theirs = serde_json::to_string(value);
    let ours = to_string(value);
    match (&theirs, &ours) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("serde_json: {theirs:?}\nours: {ours:?}"),
    }
}

#[test]
fn escapes_every_byte_serde_json_escapes_and_no_other() {
    for b in 0u8..=0x7f {
        let c = char::from(b);
        for s in [
            c.to_string(),
            format!("ab{c}"),
            format!("{c}abcdefghij"),
            format!("abcdefg{c}hijklmn{c}"),
            format!("0123456789abcde{c}"),
        ] {
            same(&s);
        }
    }
}

#[test]
fn text_with_many_escapes_and_non_ascii_at_every_offset() {
    let pieces = [
        "plain words ",
        "\"quoted\"",
        "back\\slash",
        "line\nbreak\r\n",
        "\u{1}\u{1f}\u{7f}",
        "é中𝄞",
        "\u{2028}\u{2029}",
        "\t",
    ];
    let mut text = String::new();
    for round in 0..40 {
        text.push_str(pieces[round % pieces.len()]);
        for cut in 0..text.len() {
            if let Some(s) = text.get(cut..) {
                same(s);
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Unit,
    Newtype(u32),
    Tuple(i8, String),
    EmptyTuple(),
    Struct { a: Option<u64>, b: Vec<bool> },
    EmptyStruct {},
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(String);

#[derive(Serialize)]
struct Pair(u8, char);

#[derive(Serialize)]
#[serde(tag = "kind")]
enum Tagged {
    One { x: i64 },
    Two(Inner),
}

#[derive(Serialize)]
struct Inner {
    y: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

#[derive(Serialize)]
struct Everything<'a> {
    shapes: Vec<Shape>,
    unit: Unit,
    unit_value: (),
    newtype: Newtype,
    pair: Pair,
    tagged: Vec<Tagged>,
    ints: (i8, i16, i32, i64, i128, u8, u16, u32, u64, u128),
    extremes: [i64; 2],
    floats: Vec<f64>,
    float32: Vec<f32>,
    chars: Vec<char>,
    #[serde(with = "serde_bytes_as_seq")]
    bytes: &'a [u8],
    borrowed: &'a str,
    raw: &'a RawValue,
    int_keys: BTreeMap<i32, u8>,
    bool_keys: BTreeMap<bool, u8>,
    char_keys: BTreeMap<char, u8>,
    u128_keys: BTreeMap<u128, u8>,
    newtype_keys: BTreeMap<Newtype, u8>,
    none: Option<String>,
}

impl PartialEq for Newtype {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Newtype {}
impl PartialOrd for Newtype {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Newtype {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

mod serde_bytes_as_seq {
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }
}

#[test]
fn every_serde_shape_is_written_as_serde_json_writes_it() {
    let raw = RawValue::from_string(r#"{"kept" : [1, 2 ,3]}"#.to_owned()).unwrap();
    let value = Everything {
        shapes: vec![
            Shape::Unit,
            Shape::Newtype(7),
            Shape::Tuple(-3, "t\"".to_owned()),
            Shape::EmptyTuple(),
            Shape::Struct {
                a: None,
                b: vec![true, false],
            },
            Shape::Struct {
                a: Some(u64::MAX),
                b: vec![],
            },
            Shape::EmptyStruct {},
        ],
        unit: Unit,
        unit_value: (),
        newtype: Newtype("n\u{0}".to_owned()),
        pair: Pair(255, '\n'),
        tagged: vec![
            Tagged::One { x: i64::MIN },
            Tagged::Two(Inner {
                y: 0.1,
                skipped: None,
                extra: [("z".to_owned(), Value::from(1.5))].into_iter().collect(),
            }),
        ],
        ints: (
            i8::MIN,
            i16::MIN,
            i32::MIN,
            -1,
            i128::MIN,
            u8::MAX,
            u16::MAX,
            u32::MAX,
            0,
            u128::MAX,
        ),
        extremes: [i64::MIN, i64::MAX],
        floats: vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            1e21,
            1e-7,
            123_456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ],
        float32: vec![0.1, 3.4e38, f32::NAN, 1.0],
        chars: vec!['a', '"', '\u{1f}', '中'],
        bytes: &[0, 1, 255],
        borrowed: "b",
        raw: &raw,
        int_keys: [(-1, 1), (2, 2)].into_iter().collect(),
        bool_keys: [(true, 1), (false, 0)].into_iter().collect(),
        char_keys: [('"', 1)].into_iter().collect(),
        u128_keys: [(u128::MAX, 1)].into_iter().collect(),
        newtype_keys: [(Newtype("k\\".to_owned()), 1)].into_iter().collect(),
        none: None,
    };
    same(&value);
    same(&Vec::<u8>::new());
    same(&BTreeMap::<String, u8>::new());
}

#[test]
fn keys_serde_json_refuses_are_refused() {
    same(&[(vec![1u8], 1u8)].into_iter().collect::<BTreeMap<_, _>>());
    same(&[((), 1u8)].into_iter().collect::<BTreeMap<_, _>>());
    same(
        &[(Some(1u8), 1u8), (None, 2)]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
    );
    let mut map = serde_json::Map::new();
    map.insert("ok".into(), Value::Null);
    same(&map);
    struct F64Key(f64);
    impl Serialize for F64Key {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(&self.0, &1)?;
            m.end()
        }
    }
    same(&F64Key(1.5));
    same(&F64Key(f64::NAN));
    same(&F64Key(f64::INFINITY));
}

#[test]
fn field_and_variant_names_are_escaped_however_often_they_are_written() {
    // Field and variant names are program-lifetime strings the writer remembers once checked:
    // one that needs escapes must be escaped every time, and a clean prefix sharing its address
    // (a shorter string at the same place) must not make it pass as clean.
    const NAME: &str = "ab\"c\u{1}d";
    const CLEAN: &str = "plain";
    struct Fields(&'static str, &'static str);
    impl Serialize for Fields {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Fields", 2)?;
            st.serialize_field(self.0, &1)?;
            st.serialize_field(self.1, self.1)?;
            st.end()
        }
    }
    #[derive(Serialize)]
    enum Named {
        #[serde(rename = "un\"it")]
        Unit,
        #[serde(rename = "new\ttype")]
        Newtype(u8),
        #[serde(rename = "tu\\ple")]
        Tuple(u8, u8),
        #[serde(rename = "st\nruct")]
        Struct {
            #[serde(rename = "fi\"eld")]
            field: u8,
        },
    }
    struct VariantKey;
    impl Serialize for VariantKey {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(&Named::Unit, &1)?;
            m.end()
        }
    }
    let prefix = &NAME[..2];
    for _ in 0..3 {
        same(&Fields(prefix, NAME));
        same(&Fields(NAME, prefix));
        same(&Fields(CLEAN, &CLEAN[1..]));
        same(&vec![
            Named::Unit,
            Named::Newtype(1),
            Named::Tuple(1, 2),
            Named::Struct { field: 3 },
        ]);
        same(&VariantKey);
    }
    assert_eq!(
        to_string(&Fields(prefix, NAME)).unwrap(),
        r#"{"ab":1,"ab\"c\u0001d":"ab\"c\u0001d"}"#
    );
}

#[test]
fn a_failed_value_leaves_the_buffer_as_it_was() {
    let mut out = String::from("kept");
    let bad: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
    assert!(append(&mut out, &bad).is_err());
    assert_eq!(out, "kept");
    append(&mut out, &[1, 2]).unwrap();
    assert_eq!(out, "kept[1,2]");
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x7f]{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_value_is_written_as_serde_json_writes_it(value in any_value()) {
        prop_assert_eq!(to_string(&value).unwrap(), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn any_text_is_escaped_as_serde_json_escapes_it(text in any::<String>()) {
        let mut out = String::new();
        push_str(&mut out, &text);
        let mut bytes = b"kept".to_vec();
        push_str_bytes(&mut bytes, &text);
        let theirs = serde_json::to_string(&text).unwrap();
        prop_assert_eq!(&bytes[4..], theirs.as_bytes());
        prop_assert_eq!(out, theirs);
    }
}
