use super::*;
use proptest::prelude::*;

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn read(text: &str) -> Result<EmbeddingVector, serde_json::Error> {
    serde_json::from_str(text)
}

fn floats(text: &str) -> Vec<f32> {
    match read(text) {
        Ok(EmbeddingVector::Floats(values)) => values,
        other => panic!("{text}: {other:?}"),
    }
}

/// Values and their shortest f32 text, as the upstream and the client both see them.
const WRITTEN: &[(f32, &str)] = &[
    (0.1, "0.1"),
    (1e-8, "1e-8"),
    (-0.0, "-0.0"),
    (0.0, "0.0"),
    (f32::MAX, "3.4028235e+38"),
    (f32::MIN, "-3.4028235e+38"),
    (f32::MIN_POSITIVE, "1.1754944e-38"),
    (1e-45, "1e-45"),
    (1.0, "1.0"),
    (-1.5, "-1.5"),
    (0.002_306_425_5, "0.0023064255"),
    (-0.009_327_292, "-0.009327292"),
    // The one f32 whose shortest text, read through f64 and rounded again, is the next f32.
    (f32::from_bits(0x15ae_43fd), "7.038531e-26"),
    (f32::from_bits(0x95ae_43fd), "-7.038531e-26"),
];

#[test]
fn numbers_are_written_as_f32_shortest_and_read_back_as_the_same_bits() {
    let values: Vec<f32> = WRITTEN.iter().map(|(v, _)| *v).collect();
    let text = format!(
        "[{}]",
        WRITTEN
            .iter()
            .map(|(_, t)| *t)
            .collect::<Vec<_>>()
            .join(",")
    );
    let vector = EmbeddingVector::Floats(values.clone());
    assert_eq!(crate::json::to_string(&vector).unwrap(), text);
    assert_eq!(serde_json::to_string(&vector).unwrap(), text);
    assert_eq!(bits(&floats(&text)), bits(&values));
}

#[test]
fn numbers_an_upstream_writes_wider_read_as_the_f32_they_stand_for() {
    let wide = "[0.10000000149011612, 9.99999993922529e-9, 3.4028234663852886e+38, 1, -0, 1E0]";
    assert_eq!(
        bits(&floats(wide)),
        bits(&[0.1, 1e-8, f32::MAX, 1.0, -0.0, 1.0])
    );
    let written = crate::json::to_string(&EmbeddingVector::Floats(floats(wide))).unwrap();
    assert_eq!(written, "[0.1,1e-8,3.4028235e+38,1.0,-0.0,1.0]");
}

#[test]
fn a_sample_of_all_f32s_read_back_from_their_shortest_text() {
    let values: Vec<f32> = (0..u32::MAX / 7919)
        .map(|i| f32::from_bits(i * 7919))
        .filter(|v| v.is_finite())
        .collect();
    let text = crate::json::to_string(&EmbeddingVector::Floats(values.clone())).unwrap();
    assert_eq!(bits(&floats(&text)), bits(&values));
}

#[test]
fn a_vector_holding_anything_but_f32_numbers_is_refused_without_quoting_it() {
    for text in [
        "[1e39]",
        "[-3.5e38]",
        "[\"sk-MARKER\"]",
        "[null]",
        "[[1.0]]",
        "[true]",
        "{\"a\":1}",
        "3",
        "null",
    ] {
        let err = read(text).unwrap_err().to_string();
        assert!(!err.contains("MARKER"), "{text}: {err}");
    }
    assert!(
        read("[1e39]")
            .unwrap_err()
            .to_string()
            .contains("past f32's range")
    );
}

/// `[0.1, 1e-8, -0.0, f32::MAX, -1.5, 0.0023064255, -0.009327292]` as Python's
/// `base64.b64encode(struct.pack("<7f", ...))` writes it.
const BASE64: &str = "zczMPXfMKzIAAACA//9/fwAAwL9mJxc7gNEYvA==";
const BASE64_VALUES: [f32; 7] = [
    0.1,
    1e-8,
    -0.0,
    f32::MAX,
    -1.5,
    0.002_306_425_5,
    -0.009_327_292,
];

#[test]
fn base64_is_read_as_sent_and_written_back_byte_for_byte() {
    let text = format!("\"{BASE64}\"");
    let vector = read(&text).unwrap();
    assert_eq!(vector, EmbeddingVector::Base64(BASE64.into()));
    assert_eq!(crate::json::to_string(&vector).unwrap(), text);
    let values = vector.into_f32s().unwrap();
    assert_eq!(bits(&values), bits(&BASE64_VALUES));
    assert_eq!(embedding_base64(&values), BASE64);
    let unpadded = BASE64.trim_end_matches('=');
    assert_eq!(
        bits(&f32s_from_base64(unpadded).unwrap()),
        bits(&BASE64_VALUES)
    );
}

#[test]
fn base64_that_is_not_whole_f32s_in_the_standard_alphabet_is_refused() {
    for text in [
        "A",
        "AAAA",
        "AAA=",
        "AAAAAA=",
        "AA=A",
        "AAAA AAA=",
        "-_8AAA==",
        "AAAAAA===",
    ] {
        assert_eq!(f32s_from_base64(text), None, "{text}");
    }
    assert_eq!(bits(&f32s_from_base64("AAAAAA==").unwrap()), vec![0]);
    assert_eq!(f32s_from_base64(""), Some(Vec::new()));
}

proptest! {
    /// Any f32 bits, NaN payloads included, survive base64 both ways, and the text decoded
    /// encodes to itself.
    #[test]
    fn base64_round_trips_every_bit_pattern(raw in proptest::collection::vec(any::<u32>(), 0..64)) {
        let values: Vec<f32> = raw.iter().map(|b| f32::from_bits(*b)).collect();
        let text = embedding_base64(&values);
        let decoded = f32s_from_base64(&text).unwrap();
        prop_assert_eq!(bits(&decoded), raw);
        prop_assert_eq!(embedding_base64(&decoded), text);
    }

    /// Any finite f32 is written and read back as itself.
    #[test]
    fn numbers_round_trip_every_finite_f32(raw in proptest::collection::vec(any::<u32>(), 0..64)) {
        let values: Vec<f32> = raw.iter().map(|b| f32::from_bits(*b)).filter(|v| v.is_finite()).collect();
        let text = crate::json::to_string(&EmbeddingVector::Floats(values.clone())).unwrap();
        prop_assert_eq!(bits(&floats(&text)), bits(&values));
    }
}

#[test]
fn an_answer_writes_each_vector_as_the_client_asked() {
    let resp = EmbedResponse {
        model: "upstream-name".into(),
        data: vec![vec![0.1, -0.0], vec![1e-8]],
        usage: Usage {
            input_tokens: 3,
            ..Usage::default()
        },
    };
    let answer = |encoding| {
        crate::json::to_string(&embeddings_from_canonical(
            resp.clone(),
            "client-name".into(),
            encoding,
        ))
        .unwrap()
    };
    assert_eq!(
        answer(EmbedEncoding::Float),
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.0]},{"object":"embedding","index":1,"embedding":[1e-8]}],"model":"client-name","usage":{"prompt_tokens":3,"total_tokens":3}}"#
    );
    let packed = answer(EmbedEncoding::Base64);
    assert!(
        packed.contains(r#""index":0,"embedding":"zczMPQAAAIA=""#),
        "{packed}"
    );
}

#[test]
fn the_client_s_encoding_format_becomes_the_request_s_encoding() {
    let request = |format: Option<&str>| {
        let mut body = serde_json::json!({"model": "m", "input": "x"});
        if let Some(f) = format {
            body["encoding_format"] = f.into();
        }
        embedding_request_to_canonical(serde_json::from_value(body).unwrap())
            .unwrap()
            .encoding
    };
    assert_eq!(request(None), EmbedEncoding::Float);
    assert_eq!(request(Some("float")), EmbedEncoding::Float);
    assert_eq!(request(Some("base64")), EmbedEncoding::Base64);
    assert_eq!(encoding_format(EmbedEncoding::Base64), "base64");
    assert_eq!(encoding_format(EmbedEncoding::Float), "float");
}
