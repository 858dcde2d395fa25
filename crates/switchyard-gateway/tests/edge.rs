//! The edge, below the router: slow clients are timed out, heads and declared bodies over the
//! limits are refused before they are read, framing tricks are refused, open connections are
//! bounded, and every one of those answers has a JSON body in the door's error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MOCK: &str = "[providers.mock]\nfamily = \"mock\"\n[aliases]\nfast = [\"mock/fast\"]\n";

/// A bound no correct answer comes near; the refusals under test come at once or after a
/// configured timeout of a few hundred milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// Reads one answer from a connection the server closes after it.
async fn read_answer(tcp: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut bytes))
        .await
        .expect("the server neither answered nor closed")
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn send(root: &str, bytes: &[u8]) -> TcpStream {
    let mut tcp = TcpStream::connect(root.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(bytes).await.unwrap();
    tcp
}

fn assert_openai(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert!(answer.head.contains("content-type: application/json"));
    assert!(
        answer.body["error"]["message"].is_string(),
        "{}",
        answer.body
    );
    assert!(answer.body["error"]["type"].is_string(), "{}", answer.body);
}

fn assert_anthropic(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["type"], "error", "{}", answer.body);
    assert!(
        answer.body["error"]["message"].is_string(),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_head_sent_slowly_is_answered_408_in_its_doors_shape() {
    let gw = gateway(&format!("{MOCK}[limits]\nheader_timeout_ms = 300\n")).await;
    // A head that never completes, sent in two writes. That later bytes do not extend the
    // bound is shown on paused time, in the guard's own tests.
    let mut tcp = send(&gw.root, b"POST /v1/messages HTTP/1.1\r\n").await;
    tcp.write_all(b"host: x\r\nx-a: 1").await.unwrap();
    let answer = read_answer(&mut tcp).await;
    assert_anthropic(&answer, 408);
    assert!(answer.head.contains("connection: close"));
}

#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let gw = gateway(&format!("{MOCK}[limits]\nbody_idle_timeout_ms = 300\n")).await;
    let mut short = send(
        &gw.root,
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\"",
    )
    .await;
    let mut chunked = send(
        &gw.root,
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"mod\r\n",
    )
    .await;
    assert_openai(&read_answer(&mut short).await, 408);
    assert_openai(&read_answer(&mut chunked).await, 408);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let gw = gateway(MOCK).await;
    // Nothing of the body is sent: the answer must not wait for it.
    let mut tcp = send(
        &gw.root,
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000\r\n\r\n",
    )
    .await;
    let answer = read_answer(&mut tcp).await;
    assert_anthropic(&answer, 413);
    assert_eq!(answer.body["error"]["type"], "request_too_large");
}

#[tokio::test]
async fn bad_heads_get_json_bodies() {
    let gw = gateway(MOCK).await;
    let mut big = b"GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 9000));
    big.extend(b"\r\n\r\n");
    let mut many = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n".to_vec();
    for i in 0..120 {
        many.extend(format!("x-h{i}: v\r\n").as_bytes());
    }
    many.extend(b"\r\n");
    let both = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n".to_vec();
    let both_reversed = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n".to_vec();
    let bad_line = b"POST /v1/chat/completions HTTP/1.1\r\nhost x\r\n\r\n".to_vec();
    let bad_version = b"GET / HTTP/7.0\r\n\r\n".to_vec();
    let cases: [(&str, Vec<u8>, u16, bool); 6] = [
        ("head over 8 KiB", big, 431, false),
        ("over 100 headers", many, 431, true),
        ("both length headers", both, 400, false),
        ("both, reversed", both_reversed, 400, false),
        ("malformed header", bad_line, 400, false),
        ("unknown version", bad_version, 400, false),
    ];
    for (name, bytes, status, anthropic) in cases {
        let mut tcp = send(&gw.root, &bytes).await;
        let answer = read_answer(&mut tcp).await;
        if anthropic {
            assert_anthropic(&answer, status);
        } else {
            assert_openai(&answer, status);
        }
        assert!(answer.head.contains("connection: close"), "{name}");
    }
    // The router's own refusals take the door's shape too.
    let resp = client()
        .get(format!("{}/v1/messages", gw.root))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
}

#[tokio::test]
async fn open_connections_are_bounded_and_counted() {
    let gw = gateway(&format!("{MOCK}[limits]\nmax_connections = 2\n")).await;
    let addr = gw.root.trim_start_matches("http://").to_owned();
    let first = TcpStream::connect(&addr).await.unwrap();
    let second = TcpStream::connect(&addr).await.unwrap();
    let mut third = TcpStream::connect(&addr).await.unwrap();
    let answer = read_answer(&mut third).await;
    assert_openai(&answer, 503);
    assert_eq!(answer.body["error"]["code"], "too_many_connections");
    assert!(answer.head.contains("retry-after: 1"));
    drop(first);
    drop(second);
    // The slots come back as the server notices the closes: wait for that, not for a time.
    let metrics = loop {
        let mut tcp = send(
            &gw.root,
            b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await;
        let mut bytes = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut bytes)).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if text.starts_with("HTTP/1.1 200") {
            break text;
        }
        tokio::task::yield_now().await;
    };
    assert!(
        metrics.contains("switchyard_http_refused_total{reason=\"connections\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("switchyard_http_connections_open"));
}

#[tokio::test]
async fn keep_alive_requests_pass_the_edge_unchanged() {
    let gw = gateway(MOCK).await;
    let body = chat_body("fast").to_string();
    // Two requests on one connection: one with a length, one chunked in pieces.
    let mut tcp = send(
        &gw.root,
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"usage\"") {
        let n = tokio::time::timeout(PATIENCE, tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
    let (a, b) = body.split_at(10);
    let chunked = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    for piece in chunked.as_bytes().chunks(7) {
        tcp.write_all(piece).await.unwrap();
    }
    let answer = read_answer(&mut tcp).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
