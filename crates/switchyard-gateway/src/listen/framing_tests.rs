use super::*;

fn framing() -> Framing {
    Framing::new(8192, 1024)
}

/// Feeds `bytes` in pieces of `step`, returning the first refusal.
fn feed_in(f: &mut Framing, bytes: &[u8], step: usize) -> Result<(), Refusal> {
    for piece in bytes.chunks(step.max(1)) {
        f.feed(piece)?;
    }
    Ok(())
}

const TWO: &[u8] =
    b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello\
GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

#[test]
fn follows_fixed_length_messages_in_any_pieces() {
    for step in [1, 2, 3, 7, 64, TWO.len()] {
        let mut f = framing();
        feed_in(&mut f, TWO, step).unwrap();
        assert_eq!(f.phase(), Phase::Idle, "step {step}");
        assert_eq!(f.heads(), 2, "step {step}");
    }
}

#[test]
fn follows_chunked_bodies_with_extensions_and_trailers() {
    let msg = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n\
5;name=v\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\n\r\n\
GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
    for step in [1, 5, 13, msg.len()] {
        let mut f = framing();
        feed_in(&mut f, msg, step).unwrap();
        assert_eq!(f.phase(), Phase::Idle, "step {step}");
        assert_eq!(f.heads(), 2, "step {step}");
    }
    let mut f = framing();
    f.feed(&msg[..80]).unwrap();
    assert_eq!(f.phase(), Phase::Body);
    assert_eq!(f.shape(), ErrorShape::Anthropic);
}

#[test]
fn refuses_both_length_headers_in_either_order() {
    for head in [
        "POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
    ] {
        let refusal = framing().feed(head.as_bytes()).unwrap_err();
        assert_eq!(refusal.status, 400);
        assert!(
            refusal
                .message
                .contains("both Content-Length and Transfer-Encoding")
        );
    }
}

#[test]
fn refuses_a_declared_body_over_the_limit_at_once() {
    let head = b"POST /v1/messages HTTP/1.1\r\ncontent-length: 1000000000\r\n\r\n";
    let refusal = framing().feed(head).unwrap_err();
    assert_eq!(refusal.status, 413);
    assert_eq!(refusal.shape, ErrorShape::Anthropic);
    let at_limit = b"POST / HTTP/1.1\r\ncontent-length: 1024\r\n\r\n";
    assert!(framing().feed(at_limit).is_ok());
}

#[test]
fn refuses_heads_over_the_size_or_header_count() {
    let mut big = b"GET / HTTP/1.1\r\nx: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 9000));
    for step in [1, 100, big.len()] {
        let refusal = feed_in(&mut framing(), &big, step).unwrap_err();
        assert_eq!(refusal.status, 431, "step {step}");
    }
    let mut long_line = b"GET /".to_vec();
    long_line.extend(std::iter::repeat_n(b'a', 9000));
    assert_eq!(framing().feed(&long_line).unwrap_err().status, 414);
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend(format!("h{i}: v\r\n").as_bytes());
    }
    many.extend(b"\r\n");
    assert_eq!(framing().feed(&many).unwrap_err().status, 431);
}

#[test]
fn refuses_malformed_heads_naming_the_door() {
    for (head, status) in [
        (
            &b"POST /v1/messages HTTP/1.1\r\nbad header\r\n\r\n"[..],
            400,
        ),
        (b"POST /v1/messages HTTP/9.9\r\n\r\n", 400),
        (
            b"POST /v1/messages HTTP/1.1\r\ncontent-length: 1x\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/messages HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/messages HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/messages HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n",
            400,
        ),
    ] {
        let refusal = framing().feed(head).unwrap_err();
        assert_eq!(refusal.status, status, "{}", String::from_utf8_lossy(head));
        assert_eq!(refusal.shape, ErrorShape::Anthropic);
    }
}

#[test]
fn steps_aside_for_http2_and_upgrades() {
    let mut f = framing();
    feed_in(&mut f, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00", 3).unwrap();
    assert_eq!(f.phase(), Phase::Transparent);
    let mut f = framing();
    f.feed(b"GET /ws HTTP/1.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n\x81\x00")
        .unwrap();
    assert_eq!(f.phase(), Phase::Transparent);
    // A request that only starts like the preface is an ordinary request.
    let mut f = framing();
    feed_in(&mut f, b"POST / HTTP/1.1\r\n\r\n", 1).unwrap();
    assert_eq!(f.phase(), Phase::Idle);
    assert_eq!(f.heads(), 1);
}

#[test]
fn a_broken_chunked_body_is_left_to_hyper() {
    let mut f = framing();
    f.feed(b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")
        .unwrap();
    assert_eq!(f.phase(), Phase::Transparent);
}

#[test]
fn ignores_empty_lines_between_messages() {
    let mut f = framing();
    f.feed(b"GET / HTTP/1.1\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(f.heads(), 2);
    assert_eq!(f.phase(), Phase::Idle);
}
