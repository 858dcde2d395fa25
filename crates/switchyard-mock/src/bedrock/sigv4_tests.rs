//! Unit tests of the SigV4 verifier, on requests signed by botocore (the official Python SDK).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use axum::http::HeaderValue;

const PATH: &str = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#;
const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// botocore's SigV4Auth for the request above at 2024-01-02T03:04:05Z, without and with a
/// session token.
const PLAIN: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=f12e73fd76c4dd0f5ecc70b016479d232792b96e3e588b16c49b20b11f46f495";
const WITH_TOKEN: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=248044a3c15edf4f2d3d17f7f48c4a96a83ddc0952dfb1a1e3c6f1e7327c481c";

fn signed_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

fn headers(token: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "host",
        HeaderValue::from_static("bedrock-runtime.us-east-1.amazonaws.com"),
    );
    h.insert("x-amz-date", HeaderValue::from_static("20240102T030405Z"));
    h.insert("user-agent", HeaderValue::from_static("unsigned/1.0"));
    if token {
        h.insert(
            "x-amz-security-token",
            HeaderValue::from_static("session-token-123"),
        );
    }
    h
}

fn check(
    headers: &HeaderMap,
    body: &[u8],
    authorization: &str,
    secret: &str,
    now: SystemTime,
) -> Result<(), Rejection> {
    let req = Received {
        method: "POST",
        path: PATH,
        query: None,
        authority: None,
        headers,
        body,
    };
    verify(&req, authorization, Some(KEY), Some(secret), now)
}

#[test]
fn botocore_signatures_verify() {
    let now = signed_at() + Duration::from_secs(60);
    assert_eq!(check(&headers(false), BODY, PLAIN, SECRET, now), Ok(()));
    assert_eq!(check(&headers(true), BODY, WITH_TOKEN, SECRET, now), Ok(()));
}

#[test]
fn wrong_secret_body_or_header_fails() {
    let now = signed_at();
    assert!(matches!(
        check(&headers(false), BODY, PLAIN, "other-secret", now),
        Err(Rejection::Invalid(_))
    ));
    assert!(matches!(
        check(&headers(false), b"{}", PLAIN, SECRET, now),
        Err(Rejection::Invalid(_))
    ));
    let mut changed = headers(false);
    changed.insert("content-type", HeaderValue::from_static("text/plain"));
    assert!(matches!(
        check(&changed, BODY, PLAIN, SECRET, now),
        Err(Rejection::Invalid(_))
    ));
    // The token is signed: a request that drops it no longer verifies.
    assert!(matches!(
        check(&headers(false), BODY, WITH_TOKEN, SECRET, now),
        Err(Rejection::Invalid(_))
    ));
}

#[test]
fn unknown_key_stale_date_and_garbage() {
    let now = signed_at();
    let other = PLAIN.replace("AKIDEXAMPLE", "AKIDOTHER");
    assert_eq!(
        check(&headers(false), BODY, &other, SECRET, now),
        Err(Rejection::UnknownKey)
    );
    let late = signed_at() + Duration::from_secs(16 * 60);
    assert!(matches!(
        check(&headers(false), BODY, PLAIN, SECRET, late),
        Err(Rejection::Invalid(m)) if m.contains("expired")
    ));
    assert!(matches!(
        check(&headers(false), BODY, "Bearer abc", SECRET, now),
        Err(Rejection::Incomplete(_))
    ));
    let wrong_service = PLAIN.replace("/bedrock/", "/s3/");
    assert!(matches!(
        check(&headers(false), BODY, &wrong_service, SECRET, now),
        Err(Rejection::Invalid(_))
    ));
}

#[test]
fn canonical_pieces() {
    assert_eq!(
        canonical_uri(PATH),
        "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"
    );
    assert_eq!(canonical_query("b=2&a=%20x&a=1"), "a=%20x&a=1&b=2");
    assert_eq!(canonical_query(""), "");
    assert_eq!(parse_amz_date("20240102T030405Z"), Some(signed_at()));
    assert_eq!(parse_amz_date("2024-01-02"), None);
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
