//! Unit tests of the URL builder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::{Credentials, Family, Quirks};

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
