use super::*;
use crate::budget::Cancel;

fn generate(schema: &Value, seed: u64, limits: &Limits) -> Result<Value, Stop> {
    let cancel = Cancel::new();
    let mut budget = Budget::new(limits, &cancel);
    instance(schema, schema, &mut Rng::new(seed), &mut budget)
}

fn refusal(result: Result<Value, Stop>) -> Exceeded {
    match result {
        Err(Stop::Refused(e)) => *e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

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
    let v = generate(&schema, 1, &Limits::DEFAULT).unwrap_or_default();
    assert!(v["city"].as_str().is_some_and(|s| s.len() >= 3));
    assert!(["c", "f"].contains(&v["unit"].as_str().unwrap_or("")));
    assert!((1..=7).contains(&v["days"].as_i64().unwrap_or(0)));
    assert_eq!(v["tags"].as_array().map(Vec::len), Some(2));
    assert!(v["loc"]["lat"].is_number());
    assert_eq!(Ok(v), generate(&schema, 1, &Limits::DEFAULT));
}

#[test]
fn answers_stay_what_they_were_before_the_limits() {
    // Captured from the generator as it was before it had a budget.
    let schema = json!({"type": "object", "properties": {
        "name": {"type": "string", "minLength": 12, "maxLength": 14},
        "n": {"type": "integer"},
        "xs": {"type": "array", "maxItems": 3, "items": {"type": "number"}},
        "when": {"type": "string", "format": "email"},
        "ok": {"type": ["boolean", "null"]},
    }});
    let want = [
        (
            42,
            r#"{"n":23,"name":"bravo kestrel","ok":false,"when":"umber@example.com","xs":[21.84]}"#,
        ),
        (
            7,
            r#"{"n":27,"name":"willow willow","ok":true,"when":"kestrel@example.com","xs":[46.8]}"#,
        ),
    ];
    for (seed, text) in want {
        let got = generate(&schema, seed, &Limits::DEFAULT).map(|v| v.to_string());
        assert_eq!(got.as_deref(), Ok(text), "seed {seed}");
    }
}

#[test]
fn min_items_above_the_limit_is_refused_by_keyword_and_place() {
    let schema = json!({"type": "object", "properties": {
        "xs": {"type": "array", "minItems": 1_000_000_000u64}}});
    let e = refusal(generate(&schema, 1, &Limits::DEFAULT));
    assert_eq!((e.limit, e.keyword.as_str()), (Limit::Items, "minItems"));
    assert_eq!(e.at.as_deref(), Some("#/properties/xs"));
    let message = e.to_string();
    assert!(
        message.contains("max_items") && message.contains("10000"),
        "{message}"
    );
}

#[test]
fn max_items_above_the_limit_reads_as_the_limit() {
    let schema = json!({"type": "array", "maxItems": u64::MAX, "items": {"type": "boolean"}});
    for seed in 0..20 {
        let v = generate(&schema, seed, &Limits::DEFAULT).unwrap_or_default();
        assert!(
            v.as_array()
                .is_some_and(|a| !a.is_empty() && a.len() <= 10_000)
        );
    }
}

#[test]
fn min_length_above_the_limit_is_refused_and_below_it_is_linear() {
    let long = json!({"type": "string", "minLength": 1_400_000});
    let e = refusal(generate(&long, 1, &Limits::DEFAULT));
    assert_eq!(
        (e.limit, e.keyword.as_str()),
        (Limit::StringChars, "minLength")
    );
    assert!(e.to_string().contains("max_string_chars"), "{e}");
    // The padding loop used to count the string's chars once per char it added: 100,000 chars
    // took ~10^10 steps; now one pass.
    let at_limit = json!({"type": "string", "minLength": 100_000});
    let v = generate(&at_limit, 1, &Limits::DEFAULT).unwrap_or_default();
    assert_eq!(v.as_str().map(|s| s.chars().count()), Some(100_000));
}

#[test]
fn ref_fan_out_is_cut_by_the_budget_not_only_the_depth() {
    let props: Map<String, Value> = (0..40)
        .map(|i| (format!("p{i}"), json!({"$ref": "#"})))
        .collect();
    let schema = json!({"type": "object", "properties": props});
    let e = refusal(generate(&schema, 1, &Limits::DEFAULT));
    assert!(
        matches!(e.limit, Limit::OutputValues | Limit::OutputBytes),
        "{e}"
    );
    assert_eq!(e.keyword, "$ref");
    assert!(e.at.as_deref().is_some_and(|at| at.starts_with('#')), "{e}");
}

#[test]
fn const_and_enum_copies_are_paid_for() {
    let big = "y".repeat(100_000);
    let schema = json!({"type": "array", "minItems": 10_000, "items": {"const": big}});
    let e = refusal(generate(&schema, 1, &Limits::DEFAULT));
    assert_eq!((e.limit, e.keyword.as_str()), (Limit::OutputBytes, "items"));
    assert_eq!(e.at.as_deref(), Some("#/items/const"));
}

#[test]
fn required_self_reference_is_refused_at_the_depth_limit() {
    let schema =
        json!({"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]});
    let e = refusal(generate(&schema, 1, &Limits::DEFAULT));
    assert_eq!((e.limit, e.keyword.as_str()), (Limit::Depth, "$ref"));
    assert!(e.to_string().contains("max_depth"), "{e}");
}

#[test]
fn optional_recursion_ends_in_a_valid_answer() {
    // OpenAI's strict mode: every property required, optional recursion as a nullable union.
    let schema = json!({
        "$defs": {"node": {"type": "object", "required": ["name", "children", "next"], "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}}},
        "$ref": "#/$defs/node"
    });
    let v = generate(&schema, 3, &Limits::DEFAULT).unwrap_or_default();
    let mut node = &v;
    let mut depth = 0;
    while node["next"].is_object() {
        node = &node["next"];
        depth += 1;
    }
    assert!(node["next"].is_null() && node["name"].is_string(), "{node}");
    assert!((1..=32).contains(&depth), "{depth}");
}

#[test]
fn a_cancelled_generation_stops_at_once() {
    let schema = json!({"type": "array", "minItems": 10_000, "items": {"type": "string"}});
    let cancel = Cancel::new();
    cancel.cancel();
    let mut budget = Budget::new(&Limits::DEFAULT, &cancel);
    let out = instance(&schema, &schema, &mut Rng::new(1), &mut budget);
    assert_eq!(out, Err(Stop::Cancelled));
}

#[test]
fn hostile_numbers_do_not_overflow() {
    let schema = json!({"type": "object", "properties": {
        "i": {"type": "integer", "minimum": i64::MAX},
        "j": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}}});
    let v = generate(&schema, 5, &Limits::DEFAULT).unwrap_or_default();
    assert_eq!(v["i"], json!(i64::MAX));
    assert!(v["j"].is_i64());
}
