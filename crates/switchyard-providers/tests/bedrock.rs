//! The AWS Bedrock family (Converse, ConverseStream, Titan embeddings; SigV4) against the
//! mock, plus a property test of event stream decoding across arbitrary chunk boundaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod conformance;

use conformance::Fixture;
use switchyard_providers::{Credentials, Endpoint, Family, Quirks};

/// `key` is the access key id; the secret is the one the suite gives the mock.
fn endpoint(root: &str, key: &str) -> Endpoint {
    Endpoint {
        name: "bedrock".into(),
        family: Family::Bedrock,
        base_url: root.to_owned(),
        credentials: Credentials::Aws {
            access_key_id: key.into(),
            secret_access_key: conformance::AWS_SECRET.into(),
            session_token: Some("test-session-token".into()),
        },
        region: Some("us-east-1".into()),
        quirks: Quirks::default(),
    }
}

fn fixture() -> Fixture {
    Fixture {
        family: Family::Bedrock,
        endpoint,
        // Real ids carry `:` (`anthropic.claude-3-haiku-20240307-v1:0`), which must be
        // percent-encoded in the path and double-encoded in the signature.
        model: |name| format!("mock.{name}-v1:0"),
        embeddings: true,
    }
}

conformance_suite!(fixture());

mod api_key {
    //! A Bedrock API key, sent as a bearer token instead of a signature.
    use super::*;

    fn endpoint(root: &str, key: &str) -> Endpoint {
        Endpoint {
            credentials: Credentials::ApiKey(key.into()),
            ..super::endpoint(root, key)
        }
    }

    #[tokio::test]
    async fn bearer_key_is_accepted_and_checked() {
        let fixture = Fixture {
            endpoint,
            ..fixture()
        };
        let h = conformance::Harness::start(fixture).await;
        conformance::plain_chat(&h).await;
        conformance::bad_auth(&h).await;
    }
}

mod signing {
    use super::*;
    use switchyard_protocol::ErrorKind;

    #[tokio::test]
    async fn wrong_secret_is_refused() {
        let h = conformance::Harness::start(fixture()).await;
        let mut endpoint = endpoint(&h.root, conformance::KEY);
        endpoint.credentials = Credentials::Aws {
            access_key_id: conformance::KEY.into(),
            secret_access_key: "not-the-secret".into(),
            session_token: None,
        };
        let model = (h.fixture.model)("chat-model");
        let err = h
            .adapter
            .chat(h.call(&endpoint, &model), &conformance::hello())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth, "{err}");
        assert!(err.message.contains("InvalidSignatureException"), "{err}");
        assert!(!err.message.contains("not-the-secret"));
    }

    #[tokio::test]
    async fn an_arn_model_id_is_one_signed_segment_the_mock_verifies() {
        let h = conformance::Harness::start(fixture()).await;
        let endpoint = endpoint(&h.root, conformance::KEY);
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.mock.chat-v1:0";
        let resp = h
            .adapter
            .chat(h.call(&endpoint, arn), &conformance::hello())
            .await
            .unwrap();
        assert!(!resp.choices.is_empty());
        assert_eq!(h.mock.hits(arn), 1);
    }

    #[tokio::test]
    async fn region_comes_from_the_url_or_config() {
        let h = conformance::Harness::start(fixture()).await;
        let mut endpoint = endpoint(&h.root, conformance::KEY);
        endpoint.region = None;
        let model = (h.fixture.model)("chat-model");
        let err = h
            .adapter
            .chat(h.call(&endpoint, &model), &conformance::hello())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth);
        assert!(err.message.contains("region"), "{err}");
    }
}

mod eventstream {
    //! Event stream bodies decode to the same events however the network splits them.
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    use proptest::prelude::*;
    use serde_json::json;
    use switchyard_providers::bedrock::stream::StreamDecoder;

    fn event(kind: &'static str, payload: serde_json::Value) -> Vec<u8> {
        let headers = vec![
            Header::new(":message-type", HeaderValue::String("event".into())),
            Header::new(":event-type", HeaderValue::String(kind.into())),
            Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ),
        ];
        let mut out = Vec::new();
        write_message_to(
            &Message::new_from_parts(headers, payload.to_string().into_bytes()),
            &mut out,
        )
        .unwrap();
        out
    }

    fn body(texts: &[String]) -> Vec<u8> {
        let mut frames = vec![event("messageStart", json!({"role": "assistant"}))];
        for t in texts {
            frames.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": t}}),
            ));
        }
        frames.push(event("contentBlockStop", json!({"contentBlockIndex": 0})));
        frames.push(event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t", "name": "f"}}}),
        ));
        frames.push(event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\":1}"}}}),
        ));
        frames.push(event("messageStop", json!({"stopReason": "tool_use"})));
        frames.push(event(
            "metadata",
            json!({"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}, "metrics": {"latencyMs": 1}}),
        ));
        frames.concat()
    }

    /// Decodes `body` split at `cuts`; returns the events and whether the answer completed.
    fn decode(body: &[u8], cuts: &[usize]) -> (Vec<switchyard_protocol::StreamEvent>, bool) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        points.push(0);
        points.push(body.len());
        points.sort_unstable();
        let mut decoder = StreamDecoder::new("id".into(), "m".into(), 0);
        let mut events = Vec::new();
        let mut done = false;
        for pair in points.windows(2) {
            let decoded = match decoder.push(&body[pair[0]..pair[1]]) {
                Ok(d) => d,
                Err(e) => panic!("decoding failed: {e}"),
            };
            events.extend(decoded.events);
            done |= decoded.done;
        }
        (events, done)
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(
            texts in proptest::collection::vec("[a-zé ]{0,12}", 1..6),
            cuts in proptest::collection::vec(any::<usize>(), 0..40),
        ) {
            let body = body(&texts);
            let (whole, whole_done) = decode(&body, &[]);
            let (split, split_done) = decode(&body, &cuts);
            prop_assert!(whole_done && split_done);
            prop_assert_eq!(whole, split);
        }
    }
}
