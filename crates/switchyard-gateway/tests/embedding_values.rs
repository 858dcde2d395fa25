//! Embedding values reach the client as the upstream sent them: numbers as the same f32s
//! (written shortest, so an upstream's `0.1` stays `0.1`), base64 byte for byte, and each
//! encoding turned into the other exactly when the upstream answers in the one the client did
//! not ask for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Json;
use axum::extract::State;
use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The vector every answer holds, as numbers written f32-shortest.
const FLOATS: &str = "[0.1,1e-8,-0.0,3.4028235e+38,-1.5,0.0023064255,-0.009327292]";
const VALUES: [f32; 7] = [
    0.1,
    1e-8,
    -0.0,
    f32::MAX,
    -1.5,
    0.002_306_425_5,
    -0.009_327_292,
];

/// The same vector as OpenAI's base64 of little-endian f32s, as Python's `base64.b64encode`
/// writes it.
const BASE64: &str = "zczMPXfMKzIAAACA//9/fwAAwL9mJxc7gNEYvA==";

/// An OpenAI-format upstream serving [`FLOATS`] or [`BASE64`]: as the request asks for model
/// `as-asked`, always numbers for `floats`, always base64 for `base64`. Keeps the
/// `encoding_format` of every request.
async fn upstream() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v1/embeddings",
            axum::routing::post(
                |State(seen): State<Arc<Mutex<Vec<Value>>>>, Json(req): Json<Value>| async move {
                    let asked = req["encoding_format"].clone();
                    seen.lock().unwrap().push(asked.clone());
                    let base64 = match req["model"].as_str().unwrap() {
                        "floats" => false,
                        "base64" => true,
                        _ => asked == "base64",
                    };
                    let embedding = if base64 {
                        format!("\"{BASE64}\"")
                    } else {
                        FLOATS.to_owned()
                    };
                    let body = format!(
                        r#"{{"object":"list","data":[{{"object":"embedding","index":0,"embedding":{embedding}}}],"model":"m","usage":{{"prompt_tokens":1,"total_tokens":1}}}}"#
                    );
                    ([("content-type", "application/json")], body)
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (root, seen)
}

async fn gateway_to_upstream(root: &str) -> Gateway {
    gateway(&format!(
        "[providers.mock]\nfamily = \"mock\"\n\n[providers.up]\nfamily = \"openai\"\nbase_url = \"{root}/v1\"\napi_key = \"{KEY}\"\ntimeout_ms = 2000\n"
    ))
    .await
}

/// The text of the client's answer and its first embedding.
async fn embed(gw: &Gateway, body: Value) -> (String, Value) {
    let resp = client()
        .post(format!("{}/v1/embeddings", gw.root))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let parsed: Value = serde_json::from_str(&text).unwrap();
    (text, parsed["data"][0]["embedding"].clone())
}

#[test]
fn the_fixtures_hold_one_vector() {
    let bytes: Vec<u8> = VALUES.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        switchyard_protocol::openai::embedding_base64(&VALUES),
        BASE64
    );
    assert_eq!(bytes.len(), 28);
    let parsed: Vec<f32> = serde_json::from_str(FLOATS).unwrap();
    assert_eq!(
        parsed.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        VALUES.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_upstreams_numbers_reach_the_client_as_written() {
    let (root, seen) = upstream().await;
    let gw = gateway_to_upstream(&root).await;
    let (text, embedding) = embed(&gw, json!({"model": "up/as-asked", "input": "x"})).await;
    assert!(
        text.contains(&format!("\"embedding\":{FLOATS}")),
        "an upstream 0.1 must reach the client as 0.1: {text}"
    );
    assert!(!text.contains("0.10000000149011612"), "{text}");
    assert_eq!(embedding[0], json!(0.1));
    assert_eq!(*seen.lock().unwrap(), vec![json!("float")]);
}

#[tokio::test]
async fn an_upstreams_base64_reaches_a_base64_client_byte_for_byte() {
    let (root, seen) = upstream().await;
    let gw = gateway_to_upstream(&root).await;
    let body = json!({"model": "up/as-asked", "input": "x", "encoding_format": "base64"});
    let (_, embedding) = embed(&gw, body).await;
    assert_eq!(embedding, json!(BASE64));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![json!("base64")],
        "the upstream is asked for the encoding the client asked for"
    );
}

#[tokio::test]
async fn base64_from_the_upstream_reaches_a_float_client_as_the_same_f32s() {
    let (root, _) = upstream().await;
    let gw = gateway_to_upstream(&root).await;
    let (text, _) = embed(&gw, json!({"model": "up/base64", "input": "x"})).await;
    assert!(text.contains(&format!("\"embedding\":{FLOATS}")), "{text}");
}

#[tokio::test]
async fn numbers_from_the_upstream_reach_a_base64_client_as_little_endian_f32s() {
    let (root, _) = upstream().await;
    let gw = gateway_to_upstream(&root).await;
    let body = json!({"model": "up/floats", "input": "x", "encoding_format": "base64"});
    let (_, embedding) = embed(&gw, body).await;
    assert_eq!(embedding, json!(BASE64));
}

#[tokio::test]
async fn the_in_process_mock_and_the_mock_upstream_answer_the_same_vector() {
    let up = mock_upstream(&[]).await;
    let gw = gateway_to(&up, "").await;
    for format in ["float", "base64"] {
        let body = |model: &str| json!({"model": model, "input": ["alpha", "beta"], "encoding_format": format});
        let (_, in_process) = embed(&gw, body("mock/embed")).await;
        let (_, upstream) = embed(&gw, body("up/embed")).await;
        assert_eq!(in_process, upstream, "{format}");
    }
}
