//! Model ids cannot rewrite upstream URLs: ids that would leave their path segment are refused
//! as a client's bad request before any I/O, and every adapter sends the ids it accepts to the
//! path its family documents. The upstream here records what reached it and answers 404.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_protocol::{ChatRequest, ErrorKind, Message, Role};
use switchyard_providers::{Call, Credentials, Endpoint, Family, Quirks, http};

/// A loopback upstream that records `path?query` of every request.
struct Recorder {
    root: String,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn recorder() -> Recorder {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(uri.to_string());
            (
                axum::http::StatusCode::NOT_FOUND,
                r#"{"error":{"message":"no such path"}}"#,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Recorder { root, seen }
}

impl Recorder {
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn endpoint(family: Family, base_url: String, quirks: Quirks) -> Endpoint {
    let credentials = match family {
        Family::Bedrock => Credentials::Aws {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        },
        _ => Credentials::ApiKey("org-key".into()),
    };
    Endpoint {
        name: "p".into(),
        family,
        base_url,
        credentials,
        region: Some("us-east-1".into()),
        quirks,
    }
}

fn azure(root: &str) -> Endpoint {
    endpoint(
        Family::Openai,
        root.to_owned(),
        Quirks {
            azure_api_version: Some("2024-10-21".into()),
            ..Quirks::default()
        },
    )
}

fn workers(root: &str) -> Endpoint {
    endpoint(
        Family::WorkersAi,
        format!("{root}/client/v4"),
        Quirks {
            account_id: Some("acc".into()),
            ..Quirks::default()
        },
    )
}

fn hello() -> ChatRequest {
    ChatRequest {
        model: "ignored".into(),
        messages: vec![Message::text(Role::User, "Hi")],
        n: 1,
        ..ChatRequest::default()
    }
}

/// Sends a chat through the family's adapter; the error it ends with.
async fn chat_error(endpoint: &Endpoint, model: &str) -> switchyard_protocol::ProviderError {
    let http = http::client().unwrap();
    let call = Call {
        http: &http,
        endpoint,
        model,
        timeout: Duration::from_secs(5),
    };
    let adapter = endpoint.family.adapter().unwrap();
    adapter.chat(call, &hello()).await.unwrap_err()
}

async fn assert_refused_unsent(up: &Recorder, endpoint: &Endpoint, model: &str) {
    let err = chat_error(endpoint, model).await;
    assert_eq!(err.kind, ErrorKind::BadRequest, "{model:?}: {err}");
    assert_eq!(err.status, Some(400), "{model:?}: {err}");
    assert_eq!(
        up.taken(),
        Vec::<String>::new(),
        "{model:?} reached the upstream"
    );
}

#[tokio::test]
async fn an_azure_model_id_cannot_climb_to_another_path_of_the_host() {
    let up = recorder().await;
    assert_refused_unsent(&up, &azure(&up.root), "../../../admin/secret?x=").await;
}

#[tokio::test]
async fn an_azure_model_id_cannot_reach_a_deployment_nobody_configured() {
    let up = recorder().await;
    assert_refused_unsent(
        &up,
        &azure(&up.root),
        "x/../../../openai/deployments/other-deploy",
    )
    .await;
}

#[tokio::test]
async fn ids_that_would_leave_their_segment_are_refused_in_every_family() {
    let up = recorder().await;
    let gemini = endpoint(Family::Gemini, up.root.clone(), Quirks::default());
    let bedrock = endpoint(Family::Bedrock, up.root.clone(), Quirks::default());
    let cases: [(&Endpoint, &[&str]); 4] = [
        (
            &azure(&up.root),
            &[
                "..",
                ".",
                "a/b",
                "a?b",
                "a#b",
                "a%2Fb",
                "d\u{e9}ploy",
                "a\nb",
            ],
        ),
        (
            &gemini,
            &["..", "models/..", "models/%2e%2e", "a?b", "a#b", "files/x"],
        ),
        (&bedrock, &["..", ".", "a?b", "a#b", "a%2F..", "a b"]),
        (
            &workers(&up.root),
            &["@cf/meta/.", "@cf/./x", "@cf/../x", "@cf/m?x=1", "@cf/m#x"],
        ),
    ];
    for (endpoint, models) in cases {
        for model in models {
            assert_refused_unsent(&up, endpoint, model).await;
        }
    }
}

#[tokio::test]
async fn accepted_ids_reach_the_documented_path() {
    let up = recorder().await;
    let gemini = endpoint(Family::Gemini, up.root.clone(), Quirks::default());
    let bedrock = endpoint(Family::Bedrock, up.root.clone(), Quirks::default());
    let cases = [
        (
            azure(&up.root),
            "gpt-4o-mini",
            "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
        ),
        (
            gemini.clone(),
            "gemini-2.5-flash",
            "/v1beta/models/gemini-2.5-flash:generateContent",
        ),
        (
            gemini,
            "tunedModels/my-1",
            "/v1beta/tunedModels/my-1:generateContent",
        ),
        (
            bedrock.clone(),
            "anthropic.claude-3-haiku-20240307-v1:0",
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        ),
        (
            bedrock,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x-v1:0",
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.x-v1%3A0/converse",
        ),
        (
            workers(&up.root),
            "@cf/meta/llama-3.1-8b-instruct",
            "/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct",
        ),
    ];
    for (endpoint, model, path) in cases {
        let err = chat_error(&endpoint, model).await;
        assert_eq!(err.status, Some(404), "{model}: {err}");
        assert_eq!(up.taken(), vec![path.to_owned()], "{model}");
    }
}
