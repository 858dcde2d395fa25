//! The catalogue of hostile values the mutator puts into requests: wrong types, numbers past
//! every range, odd text, pathological JSON schemas, header values, paths and methods. Sizes are
//! capped so that a run stays quick: no single value is over 4 MB.

use super::rng::Rng;
use serde_json::{Map, Value, json};

/// Values of each JSON type, to put where another type belongs.
pub fn wrong_type(rng: &mut Rng) -> Value {
    let values = [
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("text"),
        json!([]),
        json!({}),
        json!([null]),
        json!({"": null}),
        json!([[]]),
        json!({"type": null}),
    ];
    rng.pick(&values).clone()
}

/// Number texts past the ranges of u32, u64, i64 and f64, and texts that are not JSON numbers.
pub fn number(rng: &mut Rng) -> String {
    let texts = [
        "1e308",
        "-1e308",
        "1e999",
        "-1e999",
        "18446744073709551616",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "4294967296",
        "2147483648",
        "-2147483649",
        "-0",
        "-1",
        "0",
        "1e-400",
        "0.000000000000000000000000001",
        "123456789012345678901234567890.5",
        "1E+2",
        "NaN",
        "-Infinity",
        "\"NaN\"",
        "0x10",
        "01",
        "1.",
        "+1",
    ];
    if rng.chance(1, 12) {
        // A number of 100,000 digits.
        return "9".repeat(100_000);
    }
    (*rng.pick(&texts)).to_owned()
}

/// Nesting past serde_json's recursion limit (128) and far past it.
pub fn deep(rng: &mut Rng) -> (String, String) {
    let depth = *rng.pick(&[100usize, 126, 127, 128, 129, 500, 10_000, 100_000]);
    let text = match rng.below(3) {
        0 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
        _ => format!("{}null{}", "[{\"a\":".repeat(depth), "}]".repeat(depth)),
    };
    (format!("nesting {depth}"), text)
}

/// A long string: mostly tens of kilobytes, now and then a megabyte or more (4 MB is past the
/// test's 2 MiB body limit).
pub fn long_string(rng: &mut Rng) -> String {
    let size = match rng.below(50) {
        0 => 4_000_000,
        1..=4 => 1_500_000,
        5..=14 => 400_000,
        _ => 10_000 + rng.below(90_000),
    };
    let units = [
        "a", " ", "é", "😀", "word ", "\u{0}", "sk-live-", "\u{200b}", "\\", "\"", "<", "\n",
    ];
    let unit = rng.pick(&units);
    unit.repeat(size / unit.len().max(1))
}

/// Text a client can send that is valid UTF-8 but hostile to whoever reads or prints it.
/// Raw JSON string texts (with their quotes), since some are lone surrogate escapes.
pub fn odd_text(rng: &mut Rng) -> String {
    let texts: [&str; 26] = [
        "",
        "\u{0}",
        "\u{202e}evil",
        "\u{feff}",
        "a\u{0}b",
        "\u{1b}]0;PWNED\u{7}",
        "\r\n\r\nHTTP/1.1 200 OK",
        "{{template}}",
        "%s%n%x",
        "' OR 1=1 --",
        "</script><script>",
        "mock/../../admin",
        "mock/",
        "/",
        "mock/fast/extra",
        "MOCK/FAST",
        " fast",
        "fast\n",
        "mock/%2e%2e",
        "up/fast",
        "embed",
        "fast",
        "smart",
        "assistant",
        "tool",
        "function",
    ];
    match rng.below(8) {
        0 => ["\"\\ud800\"", "\"\\udfff\\ud800\"", "\"a\\u0000b\""][rng.below(3)].to_owned(),
        1 => serde_json::to_string(&"😀".repeat(1000)).unwrap_or_default(),
        2 => serde_json::to_string(&"e\u{301}".repeat(5000)).unwrap_or_default(),
        _ => serde_json::to_string(rng.pick(&texts)).unwrap_or_default(),
    }
}

/// Bytes that are not UTF-8: a lone continuation, an overlong NUL, a surrogate, a code point
/// past U+10FFFF, a truncated sequence, bytes no encoding uses.
pub fn invalid_utf8(rng: &mut Rng) -> Vec<u8> {
    let bytes: [&[u8]; 7] = [
        b"\xff",
        b"\xfe\xff",
        b"\xc3",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\x80",
    ];
    rng.pick(&bytes).to_vec()
}

/// A JSON schema built to make a generator or validator do unbounded work, or none at all.
pub fn schema(rng: &mut Rng) -> (&'static str, Value) {
    let chain = |n: usize, leaf: Value| {
        let mut defs = Map::new();
        for i in 0..n {
            let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
            defs.insert(
                format!("d{i}"),
                json!({"type": "object", "properties": {"a": next, "b": next},
                    "required": ["a", "b"]}),
            );
        }
        defs.insert(format!("d{n}"), leaf);
        json!({"$defs": defs, "$ref": "#/$defs/d0"})
    };
    match rng.below(22) {
        0 => (
            "minItems 1e9",
            json!({"type": "array", "minItems": 1_000_000_000u64,
            "items": {"type": "string"}}),
        ),
        1 => (
            "minLength 1.4M",
            json!({"type": "string", "minLength": 1_400_000}),
        ),
        2 => (
            "minLength 1.5e9 as a float",
            json!({"type": "string", "minLength": 1.5e9}),
        ),
        3 => (
            "$ref fan-out 2^40",
            chain(40, json!({"type": "string", "minLength": 1000})),
        ),
        4 => (
            "$ref to itself",
            json!({"type": "object",
            "properties": {"next": {"$ref": "#"}}, "required": ["next"]}),
        ),
        5 => (
            "$ref cycle",
            json!({"$ref": "#/$defs/a",
            "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}),
        ),
        6 => (
            "$ref to a URL",
            json!({"$ref": "http://169.254.169.254/latest/meta-data"}),
        ),
        7 => (
            "$ref to nothing",
            json!({"$ref": "#/$defs/nope", "$defs": {}}),
        ),
        8 => {
            let mut schema = json!({"type": "string"});
            for _ in 0..(10 + rng.below(50)) {
                schema = json!({"type": "object", "properties": {"a": schema},
                    "required": ["a"]});
            }
            ("properties nested 10-60 deep", schema)
        }
        9 => {
            let names: Vec<String> = (0..10_000).map(|i| format!("p{i}")).collect();
            let properties: Map<String, Value> = names
                .iter()
                .map(|n| (n.clone(), json!({"type": "string", "minLength": 100})))
                .collect();
            (
                "10,000 required properties",
                json!({"type": "object",
                "properties": properties, "required": names}),
            )
        }
        10 => {
            let mut schema = json!({"type": "string", "minLength": 10});
            for _ in 0..30 {
                schema = json!({"type": "array", "items": schema, "minItems": 10});
            }
            ("arrays nested 30 deep, 10 items each", schema)
        }
        11 => {
            let any: Vec<Value> = (0..1000)
                .map(|i| json!({"type": "string", "minLength": i}))
                .collect();
            ("anyOf of 1,000", json!({"anyOf": any}))
        }
        12 => {
            let values: Vec<Value> = (0..20_000).map(|i| json!(format!("v{i}"))).collect();
            ("enum of 20,000", json!({"enum": values}))
        }
        13 => (
            "contradiction",
            json!({"type": "integer", "minimum": 10, "maximum": -10,
            "multipleOf": 0}),
        ),
        14 => (
            "bounds of 1e308",
            json!({"type": "number", "minimum": -1e308,
            "maximum": 1e308, "exclusiveMinimum": 1e308}),
        ),
        15 => (
            "backtracking pattern",
            json!({"type": "string", "pattern": "(a+)+$",
            "minLength": 64}),
        ),
        16 => (
            "minProperties 1e9",
            json!({"type": "object",
            "additionalProperties": {"type": "string"}, "minProperties": 1_000_000_000u64}),
        ),
        17 => (
            "unique booleans, 3 of them",
            json!({"type": "array",
            "items": {"type": "boolean"}, "minItems": 3, "uniqueItems": true}),
        ),
        18 => (
            "negative bounds",
            json!({"type": "array", "minItems": -1, "maxItems": -5,
            "items": {"type": "string", "maxLength": -1}}),
        ),
        19 => (
            "allOf of itself",
            json!({"allOf": [{"$ref": "#"}, {"$ref": "#"}]}),
        ),
        20 => {
            let prefix: Vec<Value> = (0..1000)
                .map(|_| json!({"type": "string", "minLength": 1000}))
                .collect();
            (
                "prefixItems 1,000 x 1,000 characters",
                json!({"type": "array",
                "prefixItems": prefix, "minItems": 1000}),
            )
        }
        _ => {
            let not = [
                json!(true),
                json!(false),
                json!("string"),
                json!([]),
                json!(12),
                Value::Null,
            ];
            ("not a schema", rng.pick(&not).clone())
        }
    }
}

/// A request header a client controls, with a hostile value.
pub fn header(rng: &mut Rng) -> (String, Vec<u8>) {
    let names = [
        "x-switchyard-class",
        "x-switchyard-region",
        "x-switchyard-data-class",
        "x-switchyard-metadata",
        "x-switchyard-session",
        "idempotency-key",
        "authorization",
        "x-api-key",
        "anthropic-version",
        "anthropic-beta",
        "content-type",
        "traceparent",
        "tracestate",
        "accept",
        "accept-encoding",
        "expect",
        "x-forwarded-for",
        "transfer-encoding",
    ];
    let metadata_17: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    let values: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"compliance-constrained".to_vec(),
        b"latency-critical".to_vec(),
        b"reasoning-heavy".to_vec(),
        b"fastest".to_vec(),
        b"eu".to_vec(),
        b"us-east-1".to_vec(),
        b"../../etc/passwd".to_vec(),
        vec![b'a'; 7000],
        vec![b'a'; 9000],
        b"\xff\xfe\x80".to_vec(),
        b"caf\xc3\xa9".to_vec(),
        b"x\x00y".to_vec(),
        b"x\ry".to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        br#"{"team":"x","user":1,"flag":true}"#.to_vec(),
        br#"{"a":{"b":[1,2]}}"#.to_vec(),
        br#"{"k":1e999}"#.to_vec(),
        Value::Object(metadata_17).to_string().into_bytes(),
        "[".repeat(3000).into_bytes(),
        b"Bearer ".to_vec(),
        format!("Bearer sk-{}", "x".repeat(4000)).into_bytes(),
        b"Basic Zm9vOmJhcg==".to_vec(),
        b"pii,secret,unknown-class".to_vec(),
        b"pii".to_vec(),
        b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_vec(),
        b"00-zz-zz-zz".to_vec(),
        b"100-continue".to_vec(),
        b"text/plain".to_vec(),
        b"application/json; charset=utf-16".to_vec(),
        b"gzip, br".to_vec(),
        b"\t padded \t".to_vec(),
    ];
    ((*rng.pick(&names)).to_owned(), rng.pick(&values).clone())
}

/// A request target that is the door's path with a trick, or another route.
pub fn path(rng: &mut Rng, door: &str) -> String {
    let (head, last) = door.rsplit_once('/').unwrap_or(("", door));
    let tricks = [
        format!("{door}/"),
        format!("/{door}"),
        format!("{door}?x=%00&stream=true"),
        door.replacen("/v1/", "/v1/./", 1),
        format!("{door}/../{last}"),
        "/v1/%2e%2e/admin/keys".to_owned(),
        door.to_ascii_uppercase(),
        format!("{door}%00"),
        format!("{door};x=1"),
        format!("{head}%2F{last}"),
        "*".to_owned(),
        format!("http://example.com{door}"),
        format!("{door}#frag"),
        format!("/{}", "a".repeat(4000)),
        format!("{door}?{}", "q=1&".repeat(1000)),
        "/v1/\u{e9}".to_owned(),
        "/v1/models".to_owned(),
        "/healthz".to_owned(),
        "/metrics".to_owned(),
        "/admin/keys".to_owned(),
        "/admin/reload".to_owned(),
        "/v1/messages/count_tokens".to_owned(),
        "/v1/chat/completions/../../v1/messages".to_owned(),
        String::new(),
    ];
    rng.pick(&tricks).clone()
}

/// Methods other than the doors' POST, some that no one defines.
const METHODS: [&str; 11] = [
    "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "post", "BREW",
    "M-SEARCH",
];

pub fn method(rng: &mut Rng) -> &'static str {
    METHODS[rng.below(METHODS.len())]
}
