//! The conformance suite every provider family passes against the mock upstream serving that
//! family's wire format. A family's test file builds a [`Fixture`] and invokes
//! `conformance_suite!(fixture)`, which expands to one `#[tokio::test]` per case.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use switchyard_mock::{Mock, MockConfig, Scenario};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedEncoding, EmbedRequest, ErrorKind, FinishReason, Message,
    ProviderError, ResponseFormat, Role, StreamAccumulator, StreamEvent, Tool, ToolCall,
    ToolChoice,
};
use switchyard_providers::{Call, Endpoint, Family, Provider};

pub const KEY: &str = "test-key";
pub const AWS_SECRET: &str = "test-secret-access-key";

/// How one family is set up against the mock.
pub struct Fixture {
    pub family: Family,
    /// The endpoint for a mock at `root` (`http://127.0.0.1:PORT`), authenticating with `key`.
    pub endpoint: fn(root: &str, key: &str) -> Endpoint,
    /// The upstream model id for a scenario name (families prefix or shape ids).
    pub model: fn(name: &str) -> String,
    /// Whether the family has embeddings.
    pub embeddings: bool,
}

/// A running mock with the suite's scenarios, and the adapter under test.
pub struct Harness {
    pub root: String,
    pub mock: Arc<Mock>,
    pub fixture: Fixture,
    pub adapter: Arc<dyn Provider>,
    pub http: reqwest::Client,
    endpoint: Endpoint,
}

fn scenario(spec: &str) -> Scenario {
    let mut s = Scenario::default();
    s.apply(spec).unwrap();
    s
}

impl Harness {
    pub async fn start(fixture: Fixture) -> Harness {
        let mut config = MockConfig {
            api_key: Some(KEY.into()),
            aws_secret_access_key: Some(AWS_SECRET.into()),
            ..MockConfig::default()
        };
        for (name, spec) in [
            ("bad-request", "status=400"),
            ("rate-limited", "status=429,retry_after=3"),
            ("server-error", "status=500"),
            ("overloaded", "status=503"),
            ("slow", "latency_ms=3000"),
            ("malformed", "malformed=true"),
            ("cut", "cut_after=3"),
            ("reset", "reset=true"),
            ("paced", "chunks=5,ttft_ms=20,tokens_per_sec=200"),
        ] {
            config.models.insert((fixture.model)(name), scenario(spec));
        }
        let mock = Mock::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(switchyard_mock::serve(listener, mock.clone()));
        let endpoint = (fixture.endpoint)(&root, KEY);
        let adapter = fixture.family.adapter().expect("an HTTP family");
        Harness {
            root,
            mock,
            fixture,
            adapter,
            http: switchyard_providers::http::client().unwrap(),
            endpoint,
        }
    }

    pub fn call<'a>(&'a self, endpoint: &'a Endpoint, model: &'a str) -> Call<'a> {
        Call {
            http: &self.http,
            endpoint,
            model,
            // Well under the `slow` fixture's 3 s, well over what a loaded 2-core machine
            // needs for a loopback answer (800 ms timed out while a release build ran).
            timeout: Duration::from_millis(2000),
        }
    }

    pub async fn chat(&self, name: &str, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let model = (self.fixture.model)(name);
        self.adapter
            .chat(self.call(&self.endpoint, &model), req)
            .await
    }

    /// Streams, folding events; returns the folded answer, the events, and the error the
    /// stream ended with, if any.
    pub async fn stream(
        &self,
        name: &str,
        req: &ChatRequest,
    ) -> Result<(ChatResponse, Vec<StreamEvent>, Option<ProviderError>), ProviderError> {
        let model = (self.fixture.model)(name);
        let mut stream = self
            .adapter
            .chat_stream(self.call(&self.endpoint, &model), req)
            .await?;
        let mut acc = StreamAccumulator::default();
        let mut events = Vec::new();
        let mut failure = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(e) => {
                    acc.push(&e);
                    events.push(e);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        Ok((acc.finish(), events, failure))
    }
}

pub fn hello() -> ChatRequest {
    ChatRequest {
        model: "ignored".into(),
        messages: vec![
            Message::text(Role::System, "You are terse."),
            Message::text(Role::User, "Say hello."),
        ],
        n: 1,
        max_tokens: Some(200),
        ..ChatRequest::default()
    }
}

pub fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Current weather for a city".into()),
        parameters: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"]
        }),
        strict: None,
    }
}

pub fn forced_tool() -> ChatRequest {
    let mut req = hello();
    req.tools = vec![weather_tool()];
    req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    req
}

fn assert_weather_args(arguments: &str) {
    let args: serde_json::Value = serde_json::from_str(arguments)
        .unwrap_or_else(|e| panic!("arguments {arguments:?} are not JSON: {e}"));
    assert!(args["city"].is_string(), "city missing in {args}");
    assert!(
        ["c", "f"].contains(&args["unit"].as_str().unwrap_or("")),
        "unit in {args}"
    );
}

pub async fn plain_chat(h: &Harness) {
    let resp = h.chat("chat-model", &hello()).await.unwrap();
    assert_eq!(resp.choices.len(), 1);
    let text = resp.choices[0].message.joined_text();
    assert!(text.split_whitespace().count() >= 5, "answer: {text:?}");
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Stop);
    assert!(
        resp.usage.input_tokens > 0 && resp.usage.output_tokens > 0,
        "{:?}",
        resp.usage
    );
    assert_eq!(h.mock.hits(&(h.fixture.model)("chat-model")), 1);
}

pub async fn streaming_matches_plain(h: &Harness) {
    let plain = h.chat("chat-model", &hello()).await.unwrap();
    let mut req = hello();
    req.stream = true;
    req.include_usage = true;
    let (streamed, events, failure) = h.stream("chat-model", &req).await.unwrap();
    assert!(failure.is_none(), "stream failed: {failure:?}");
    assert!(
        matches!(events.first(), Some(StreamEvent::Start { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Text { .. }))
            .count()
            > 1
    );
    assert_eq!(
        streamed.choices[0].message.joined_text(),
        plain.choices[0].message.joined_text()
    );
    assert_eq!(streamed.choices[0].finish_reason, FinishReason::Stop);
    assert_eq!(streamed.usage.output_tokens, plain.usage.output_tokens);
    assert_eq!(streamed.usage.input_tokens, plain.usage.input_tokens);
}

pub async fn paced_stream_arrives_in_pieces(h: &Harness) {
    let mut req = hello();
    req.stream = true;
    let (streamed, events, failure) = h.stream("paced", &req).await.unwrap();
    assert!(failure.is_none(), "{failure:?}");
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Text { .. }))
            .count()
            >= 5
    );
    assert!(!streamed.choices[0].message.joined_text().is_empty());
}

pub async fn tool_call_forced(h: &Harness) {
    let resp = h.chat("chat-model", &forced_tool()).await.unwrap();
    let call = &resp.choices[0].message.tool_calls[0];
    assert_eq!(call.name, "get_weather");
    assert!(!call.id.is_empty());
    assert_weather_args(&call.arguments);
    assert_eq!(resp.choices[0].finish_reason, FinishReason::ToolCalls);
}

pub async fn tool_call_streamed(h: &Harness) {
    let plain = h.chat("chat-model", &forced_tool()).await.unwrap();
    let mut req = forced_tool();
    req.stream = true;
    let (streamed, _, failure) = h.stream("chat-model", &req).await.unwrap();
    assert!(failure.is_none(), "{failure:?}");
    let call = &streamed.choices[0].message.tool_calls[0];
    assert_eq!(call.name, "get_weather");
    assert_weather_args(&call.arguments);
    let a: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
    let b: serde_json::Value =
        serde_json::from_str(&plain.choices[0].message.tool_calls[0].arguments).unwrap();
    assert_eq!(a, b);
    assert_eq!(streamed.choices[0].finish_reason, FinishReason::ToolCalls);
}

pub async fn tool_result_round_trip(h: &Harness) {
    let mut req = hello();
    req.tools = vec![weather_tool()];
    req.messages.push(Message {
        role: Role::Assistant,
        content: Vec::new(),
        tool_calls: vec![ToolCall {
            id: "call_abc123".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Oslo","unit":"c"}"#.into(),
        }],
        tool_call_id: None,
        name: None,
    });
    req.messages.push(Message {
        role: Role::Tool,
        content: vec![switchyard_protocol::Part::Text {
            text: r#"{"temp": 4}"#.into(),
        }],
        tool_calls: Vec::new(),
        tool_call_id: Some("call_abc123".into()),
        name: None,
    });
    let resp = h.chat("chat-model", &req).await.unwrap();
    assert!(resp.choices[0].message.tool_calls.is_empty());
    assert!(!resp.choices[0].message.joined_text().is_empty());
}

pub async fn json_mode(h: &Harness) {
    let mut req = hello();
    req.response_format = Some(ResponseFormat::JsonObject);
    let resp = h.chat("chat-model", &req).await.unwrap();
    let text = resp.choices[0].message.joined_text();
    let value: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("JSON mode answer {text:?} is not JSON: {e}"));
    assert!(value.is_object());
}

pub async fn max_tokens_is_honoured(h: &Harness) {
    let mut req = hello();
    req.max_tokens = Some(4);
    let resp = h.chat("chat-model", &req).await.unwrap();
    assert_eq!(resp.choices[0].finish_reason, FinishReason::Length);
    assert!(resp.usage.output_tokens <= 4, "{:?}", resp.usage);
}

pub async fn upstream_4xx(h: &Harness) {
    let err = h.chat("bad-request", &hello()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert_eq!(err.status, Some(400));
}

pub async fn rate_limited_keeps_retry_after(h: &Harness) {
    let err = h.chat("rate-limited", &hello()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
    let mut req = hello();
    req.stream = true;
    let err = h
        .stream("rate-limited", &req)
        .await
        .expect_err("stream refused");
    assert_eq!(err.kind, ErrorKind::RateLimited);
}

pub async fn upstream_5xx(h: &Harness) {
    let err = h.chat("server-error", &hello()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Upstream5xx, "{err}");
    let err = h.chat("overloaded", &hello()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Overloaded, "{err}");
}

pub async fn bad_auth(h: &Harness) {
    let endpoint = (h.fixture.endpoint)(&h.root, "wrong-key");
    let model = (h.fixture.model)("chat-model");
    let err = h
        .adapter
        .chat(h.call(&endpoint, &model), &hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(
        !err.message.contains("wrong-key"),
        "error echoes the key: {err}"
    );
}

pub async fn timeout(h: &Harness) {
    let err = h.chat("slow", &hello()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
}

pub async fn malformed_reply(h: &Harness) {
    let err = h.chat("malformed", &hello()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::MalformedReply, "{err}");
    let mut req = hello();
    req.stream = true;
    let outcome = h.stream("malformed", &req).await;
    let failure = match outcome {
        Err(e) => Some(e),
        Ok((_, _, failure)) => failure,
    };
    assert!(
        failure.is_some(),
        "a garbage stream must not end as a success"
    );
}

pub async fn stream_cut_is_an_error(h: &Harness) {
    let mut req = hello();
    req.stream = true;
    let (_, _, failure) = h.stream("cut", &req).await.unwrap();
    let failure = failure.expect("a cut stream ends with an error");
    assert_eq!(failure.kind, ErrorKind::Transport, "{failure}");
}

pub async fn connection_reset(h: &Harness) {
    let err = h.chat("reset", &hello()).await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Transport | ErrorKind::MalformedReply),
        "{err}"
    );
}

pub async fn embeddings(h: &Harness) {
    let model = (h.fixture.model)("embed-model");
    let req = EmbedRequest {
        model: "ignored".into(),
        input: vec!["one".into(), "two".into()],
        dimensions: None,
        user: None,
        encoding: EmbedEncoding::Float,
    };
    let result = h.adapter.embed(h.call(&h.endpoint, &model), &req).await;
    if !h.fixture.embeddings {
        assert_eq!(result.unwrap_err().kind, ErrorKind::BadRequest);
        return;
    }
    let resp = result.unwrap();
    assert_eq!(resp.data.len(), 2);
    assert!(!resp.data[0].is_empty());
    assert_ne!(resp.data[0], resp.data[1]);
    let again = h
        .adapter
        .embed(h.call(&h.endpoint, &model), &req)
        .await
        .unwrap();
    assert_eq!(again.data, resp.data, "embeddings are deterministic");
    let base64 = EmbedRequest {
        encoding: EmbedEncoding::Base64,
        ..req
    };
    let packed = h
        .adapter
        .embed(h.call(&h.endpoint, &model), &base64)
        .await
        .unwrap();
    let bits = |data: &[Vec<f32>]| -> Vec<Vec<u32>> {
        data.iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    assert_eq!(
        bits(&packed.data),
        bits(&resp.data),
        "asked for base64 or numbers, the vectors are the same f32s"
    );
}

/// Expands to one test per conformance case for `$fixture`.
macro_rules! conformance_suite {
    ($fixture:expr) => {
        conformance_suite!(@cases $fixture;
            plain_chat, streaming_matches_plain, paced_stream_arrives_in_pieces,
            tool_call_forced, tool_call_streamed, tool_result_round_trip, json_mode,
            max_tokens_is_honoured, upstream_4xx, rate_limited_keeps_retry_after, upstream_5xx,
            bad_auth, timeout, malformed_reply, stream_cut_is_an_error, connection_reset,
            embeddings);
    };
    (@cases $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let harness = conformance::Harness::start($fixture).await;
                conformance::$case(&harness).await;
            }
        )*
    };
}
