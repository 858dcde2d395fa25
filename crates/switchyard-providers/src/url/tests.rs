//! Unit tests of the URL builder, and one property test per family: whatever the model id
//! (`..`, `/`, `?`, `#`, `%`, unicode, control characters), the family's URL is either refused
//! as a 400 or keeps the base's scheme, host and port, every fixed segment in its place, the
//! model in its own segment(s) and no query but the configured one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::{Call, Credentials, Family, Quirks};
use proptest::prelude::*;
use std::time::Duration;

fn endpoint(family: Family, base_url: &str, quirks: Quirks) -> Endpoint {
    Endpoint {
        name: "p".into(),
        family,
        base_url: base_url.into(),
        credentials: Credentials::None,
        region: Some("us-east-1".into()),
        quirks,
    }
}

fn azure() -> Quirks {
    Quirks {
        azure_api_version: Some("2024-10-21".into()),
        ..Quirks::default()
    }
}

fn workers(openai_compatible: bool) -> Quirks {
    Quirks {
        account_id: Some("acc".into()),
        openai_compatible,
        ..Quirks::default()
    }
}

fn with_call<T>(endpoint: &Endpoint, model: &str, f: impl FnOnce(Call<'_>) -> T) -> T {
    static HTTP: LazyLock<reqwest::Client> = LazyLock::new(|| crate::http::client().unwrap());
    f(Call {
        http: &HTTP,
        endpoint,
        model,
        timeout: Duration::from_secs(1),
    })
}

fn text(url: Result<Url, ProviderError>) -> String {
    match url {
        Ok(url) => url.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn kept_urls_are_per_base_and_operation() {
    let a = endpoint(Family::Openai, "http://127.0.0.1:9/v1", Quirks::default());
    let b = endpoint(
        Family::Openai,
        "http://10.0.0.1:8000/openai/v1",
        Quirks::default(),
    );
    for _ in 0..2 {
        assert_eq!(
            text(fixed(&a, "chat/completions")),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        assert_eq!(
            text(fixed(&a, "embeddings")),
            "http://127.0.0.1:9/v1/embeddings"
        );
        assert_eq!(
            text(fixed(&b, "chat/completions")),
            "http://10.0.0.1:8000/openai/v1/chat/completions"
        );
    }
}

#[test]
fn unusable_base_urls_are_refused_without_echoing_them() {
    for (base, problem) in [
        ("not a url", "is not a URL"),
        ("ftp://h.example/v1", "must start with http:// or https://"),
        ("http://h.example/v1?key=sk-1", "must not have a query"),
        ("http://h.example/v1#sk-1", "must not have a query"),
    ] {
        let ep = endpoint(Family::Openai, base, Quirks::default());
        for _ in 0..2 {
            let err = fixed(&ep, "chat/completions").unwrap_err();
            assert_eq!(err.kind, ErrorKind::Transport, "{base}");
            assert!(err.message.contains(problem), "{base}: {err}");
            assert!(!err.message.contains("sk-1"), "{base}: {err}");
        }
    }
}

#[test]
fn values_are_encoded_as_the_aws_sdks_encode_a_label() {
    let base = Base::parse("https://bedrock-runtime.us-east-1.amazonaws.com").unwrap();
    let path = |value| {
        build(&base, [Piece::Value(value)], &[])
            .unwrap()
            .path()
            .to_owned()
    };
    assert_eq!(
        path("anthropic.claude-3-haiku-20240307-v1:0"),
        "/anthropic.claude-3-haiku-20240307-v1%3A0"
    );
    assert_eq!(
        path("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x"),
        "/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x"
    );
    assert_eq!(path("a b~%?#"), "/a%20b~%25%3F%23");
    assert_eq!(path("@cf"), "/@cf");
    assert_eq!(path("d\u{e9}"), "/d%C3%A9");
}

#[test]
fn empty_and_dot_segments_and_odd_verbs_are_refused() {
    let base = Base::parse("http://h.example/v1/").unwrap();
    for value in ["", ".", ".."] {
        let err = build(&base, [Piece::Value(value)], &[]).unwrap_err();
        assert_eq!((err.kind, err.status), (ErrorKind::BadRequest, Some(400)));
    }
    assert!(build(&base, [Piece::Fixed("a//b")], &[]).is_err());
    assert!(build(&base, [Piece::Value("a"), Piece::Verb("x/y")], &[]).is_err());
    assert_eq!(
        text(build(&base, [Piece::Value("..."), Piece::Verb("run")], &[])),
        "http://h.example/v1/...:run"
    );
}

#[test]
fn query_pairs_are_encoded_and_are_the_whole_query() {
    let base = Base::parse("https://h.example").unwrap();
    let url = build(
        &base,
        [Piece::Fixed("x")],
        &[("api-version", "2024 10&x=1#"), ("alt", "sse")],
    )
    .unwrap();
    assert_eq!(
        url.query(),
        Some("api-version=2024%2010%26x%3D1%23&alt=sse")
    );
    assert_eq!(url.fragment(), None);
}

#[test]
fn the_two_exploit_ids_of_the_finding_are_refused_for_azure() {
    let ep = endpoint(Family::Openai, "https://org.openai.azure.com", azure());
    for model in [
        "../../../admin/secret?x=",
        "x/../../../openai/deployments/other-deploy",
    ] {
        let err = with_call(&ep, model, |c| {
            crate::openai::operation_url(c, "chat/completions")
        })
        .unwrap_err();
        assert_eq!((err.kind, err.status), (ErrorKind::BadRequest, Some(400)));
    }
}

/// A URL's path segments, still encoded (none for a host's root).
fn segments(url: &Url) -> Vec<&str> {
    match url.path().trim_end_matches('/') {
        "" => Vec::new(),
        path => path.trim_start_matches('/').split('/').collect(),
    }
}

/// Percent-decodes one segment; `None` when the bytes are not UTF-8.
fn decoded(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Checks that `url` is `base` with `before`, then the model's segments, then `after` as its
/// path and `query` as its query; returns the model's segments (still encoded).
fn model_segments<'u>(
    base: &str,
    url: &'u Url,
    before: &[&str],
    after: &[&str],
    query: Option<&str>,
) -> Result<Vec<&'u str>, TestCaseError> {
    let base = Url::parse(base.trim_end_matches('/')).unwrap();
    prop_assert_eq!(url.scheme(), base.scheme());
    prop_assert_eq!(url.host_str(), base.host_str());
    prop_assert_eq!(url.port_or_known_default(), base.port_or_known_default());
    prop_assert_eq!((url.username(), url.password()), ("", None));
    prop_assert_eq!(url.query(), query);
    prop_assert_eq!(url.fragment(), None);
    // What goes on the wire parses back to the same URL (the signature covers that text).
    prop_assert_eq!(&Url::parse(url.as_str()).unwrap(), url);
    let fixed: Vec<&str> = segments(&base)
        .into_iter()
        .chain(before.iter().copied())
        .collect();
    let all = segments(url);
    prop_assert!(all.len() > fixed.len() + after.len(), "{url}");
    prop_assert_eq!(&all[..fixed.len()], &fixed[..], "{}", url);
    prop_assert_eq!(&all[all.len() - after.len()..], after, "{}", url);
    Ok(all[fixed.len()..all.len() - after.len()].to_vec())
}

fn refused(err: &ProviderError) -> Result<(), TestCaseError> {
    prop_assert_eq!((err.kind, err.status), (ErrorKind::BadRequest, Some(400)));
    Ok(())
}

/// Model ids meant to break out: arbitrary text, URL syntax, and `/`-joined pieces mixing dot
/// segments, encodings and plausible id parts.
fn model_ids() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("%2F".to_owned()),
        Just("?x=1".to_owned()),
        Just("#f".to_owned()),
        Just("@cf".to_owned()),
        Just("@hf".to_owned()),
        Just("models".to_owned()),
        Just("tunedModels".to_owned()),
        Just("arn:aws:bedrock:us-east-1:123456789012:inference-profile".to_owned()),
        Just("a\u{0}\r\n".to_owned()),
        Just("d\u{e9}ploy\u{202e}".to_owned()),
        "[a-z0-9][a-zA-Z0-9._:@-]{0,12}",
        any::<String>(),
    ];
    // Plausible ids too, so that every family's accepting branch is well exercised.
    let plausible = prop_oneof![
        "[a-zA-Z0-9][a-zA-Z0-9._:@-]{0,30}",
        "(@cf|@hf|models|tunedModels|arn:aws:bedrock:us-east-1:123456789012:inference-profile)\
         (/[a-z0-9][a-z0-9._:-]{0,12}){1,3}",
    ];
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9./?#%:@ \\\\_~-]{0,40}",
        proptest::collection::vec(piece, 1..6).prop_map(|p| p.join("/")),
        plausible,
    ]
}

fn bases() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("http://127.0.0.1:9"),
        Just("https://org.openai.azure.com/"),
        Just("http://10.0.0.1:8000/openai/v1"),
        Just("https://h.example/a%20b/v1beta"),
    ]
}

proptest! {
    #[test]
    fn an_azure_deployment_fills_only_its_segment(
        base in bases(),
        model in model_ids(),
        operation in prop_oneof![Just("chat/completions"), Just("embeddings")],
    ) {
        let ep = endpoint(Family::Openai, base, azure());
        match with_call(&ep, &model, |c| crate::openai::operation_url(c, operation)) {
            Err(e) => refused(&e)?,
            Ok(url) => {
                let after: Vec<&str> = operation.split('/').collect();
                let query = Some("api-version=2024-10-21");
                let seg = model_segments(base, &url, &["openai", "deployments"], &after, query)?;
                prop_assert_eq!(seg.len(), 1);
                prop_assert_eq!(decoded(seg[0]), Some(model));
            }
        }
    }

    #[test]
    fn a_plain_openai_model_never_reaches_the_url(base in bases(), model in model_ids()) {
        let ep = endpoint(Family::Openai, base, Quirks::default());
        match with_call(&ep, &model, |c| crate::openai::operation_url(c, "chat/completions")) {
            Err(e) => refused(&e)?,
            Ok(url) => prop_assert_eq!(
                url.as_str(),
                format!("{}/chat/completions", base.trim_end_matches('/'))
            ),
        }
    }

    #[test]
    fn a_gemini_model_fills_only_its_resource_segments(
        base in bases(),
        model in model_ids(),
        verb in prop_oneof![Just("generateContent"), Just("batchEmbedContents")],
    ) {
        let ep = endpoint(Family::Gemini, base, Quirks::default());
        match with_call(&ep, &model, |c| crate::gemini::method_url(c, verb, &[])) {
            Err(e) => refused(&e)?,
            Ok(url) => {
                let before: &[&str] = if base.ends_with("/v1beta") { &[] } else { &["v1beta"] };
                let seg = model_segments(base, &url, before, &[], None)?;
                prop_assert_eq!(seg.len(), 2, "{}", url);
                prop_assert!(matches!(seg[0], "models" | "tunedModels"), "{}", url);
                let id = seg[1].strip_suffix(&format!(":{verb}"));
                prop_assert!(id.is_some(), "{}", url);
                let id = decoded(id.unwrap_or_default()).unwrap_or_default();
                prop_assert!(model == id || model == format!("{}/{id}", seg[0]), "{}", url);
            }
        }
    }

    #[test]
    fn a_bedrock_model_fills_one_segment(
        base in bases(),
        model in model_ids(),
        action in prop_oneof![Just("converse"), Just("converse-stream"), Just("invoke")],
    ) {
        let ep = endpoint(Family::Bedrock, base, Quirks::default());
        match with_call(&ep, &model, |c| crate::bedrock::action_url(c, action)) {
            Err(e) => refused(&e)?,
            Ok(url) => {
                let seg = model_segments(base, &url, &["model"], &[action], None)?;
                prop_assert_eq!(seg.len(), 1);
                prop_assert_eq!(decoded(seg[0]), Some(model));
            }
        }
    }

    #[test]
    fn a_workers_ai_model_fills_only_its_run_segments(base in bases(), model in model_ids()) {
        let ep = endpoint(Family::WorkersAi, base, workers(false));
        match with_call(&ep, &model, crate::workers_ai::run_url) {
            Err(e) => refused(&e)?,
            Ok(url) => {
                let before = ["accounts", "acc", "ai", "run"];
                let seg = model_segments(base, &url, &before, &[], None)?;
                prop_assert!(seg.len() >= 2 && matches!(seg[0], "@cf" | "@hf"), "{}", url);
                prop_assert_eq!(decoded(&seg.join("/")), Some(model.clone()));
            }
        }
        let ep = endpoint(Family::WorkersAi, base, workers(true));
        match with_call(&ep, &model, |c| crate::workers_ai::compat_url(c, "embeddings")) {
            Err(e) => refused(&e)?,
            Ok(url) => prop_assert_eq!(
                url.as_str(),
                format!("{}/accounts/acc/ai/v1/embeddings", base.trim_end_matches('/'))
            ),
        }
    }
}
