//! SigV4 for Bedrock Runtime: the `bedrock` signing name and the region of the endpoint, over
//! the URL [`crate::url`] built (model ids encoded the way the AWS SDKs encode a URI label).
//! Signing is delegated to `aws-sigv4`; this module only decides what gets signed. It never
//! logs a key or a signature.

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::time::SystemTime;
use switchyard_protocol::{ErrorKind, ProviderError};

/// The SigV4 signing name of Bedrock Runtime (its endpoint prefix is `bedrock-runtime`).
pub const SIGNING_NAME: &str = "bedrock";

/// An AWS key pair, with the session token of temporary credentials.
#[derive(Clone, Copy)]
pub struct AwsKeys<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// One header the signature adds to the request. `sensitive` ones (the signature, the session
/// token) must be marked so that no log prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    pub name: &'static str,
    pub value: String,
    pub sensitive: bool,
}

/// What to sign: the request as it will go on the wire.
pub struct Unsigned<'a> {
    pub method: &'a str,
    /// The full URL, path already percent-encoded.
    pub url: &'a str,
    /// Headers to include in the signature besides `host` and `x-amz-date`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The headers (`x-amz-date`, `x-amz-security-token`, `authorization`) that sign `request`
/// for `region` at `time`.
pub fn signature_headers(
    request: &Unsigned<'_>,
    keys: AwsKeys<'_>,
    region: &str,
    time: SystemTime,
) -> Result<Vec<SignedHeader>, ProviderError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        ProviderError::new(
            ErrorKind::Auth,
            format!("cannot sign the Bedrock request ({what}): {e}"),
        )
    };
    let identity = aws_credential_types::Credentials::new(
        keys.access_key_id,
        keys.secret_access_key,
        keys.session_token.map(str::to_owned),
        None,
        "switchyard-config",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed("parameters", &e))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request.headers.iter().copied(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| failed("URL", &e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| failed("signature", &e))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| SignedHeader {
            name: h.name(),
            value: h.value().to_owned(),
            sensitive: h.sensitive() || h.name().eq_ignore_ascii_case("authorization"),
        })
        .collect())
}

/// The public Bedrock Runtime endpoint of an AWS region.
pub fn default_base_url(region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://bedrock-runtime.{region}.{domain}")
}

/// The region named in a Bedrock Runtime URL (`https://bedrock-runtime[-fips].REGION.…`).
pub fn region_from_url(base_url: &str) -> Option<&str> {
    let host = base_url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut labels = host.split('.');
    let service = labels.next()?;
    let region = labels.next()?;
    (service.starts_with("bedrock-runtime") && !region.is_empty()).then_some(region)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const URL: &str = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
    const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#;

    fn keys(token: Option<&'static str>) -> AwsKeys<'static> {
        AwsKeys {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: token,
        }
    }

    fn signed(token: Option<&'static str>) -> Vec<SignedHeader> {
        let request = Unsigned {
            method: "POST",
            url: URL,
            headers: &[("content-type", "application/json")],
            body: BODY,
        };
        // 2024-01-02T03:04:05Z
        let time = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        signature_headers(&request, keys(token), "us-east-1", time).unwrap()
    }

    fn header<'a>(headers: &'a [SignedHeader], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    // The expected signatures were computed by botocore's SigV4Auth for the same request, so
    // these tests pin our signing to what the official SDK produces.
    #[test]
    fn signature_matches_botocore() {
        let headers = signed(None);
        assert_eq!(header(&headers, "x-amz-date"), Some("20240102T030405Z"));
        assert_eq!(
            header(&headers, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=f12e73fd76c4dd0f5ecc70b016479d232792b96e3e588b16c49b20b11f46f495"
            )
        );
        assert!(header(&headers, "x-amz-security-token").is_none());
    }

    #[test]
    fn session_token_is_sent_and_signed() {
        let headers = signed(Some("session-token-123"));
        assert_eq!(
            header(&headers, "x-amz-security-token"),
            Some("session-token-123")
        );
        let auth = header(&headers, "authorization").unwrap();
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
        assert!(auth.ends_with(
            "Signature=248044a3c15edf4f2d3d17f7f48c4a96a83ddc0952dfb1a1e3c6f1e7327c481c"
        ));
        assert!(
            headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("authorization")
                    || h.name.eq_ignore_ascii_case("x-amz-security-token"))
                .all(|h| h.sensitive)
        );
    }

    #[test]
    fn endpoints_and_regions() {
        assert_eq!(
            default_base_url("eu-west-3"),
            "https://bedrock-runtime.eu-west-3.amazonaws.com"
        );
        assert_eq!(
            default_base_url("cn-north-1"),
            "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            region_from_url("https://bedrock-runtime-fips.us-west-2.amazonaws.com"),
            Some("us-west-2")
        );
        assert_eq!(region_from_url("http://127.0.0.1:8080"), None);
    }
}
