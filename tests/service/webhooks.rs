//! Webhooks (docs/api.md, "Webhooks") against a receiver listening on 127.0.0.1 inside the test:
//! registration and its checks, signed deliveries in per-return order, retries after the receiver
//! fails, exactly one arrival per event after dropping duplicates by `id`, and parked deliveries
//! as operators see them.
//!
//! `TestApp` allows 127.0.0.1 as a webhook target and retries after milliseconds; the loops below
//! wait (bounded) for the service's background dispatcher, never for a clock to move.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use returns_api::auth::Role;
use returns_testkit::TestApp;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{
    assert_names_field, eu_order, expect_json, expect_problem, headphones_return, id_of, items_of,
    unix_now, Api, PLATFORM,
};

const SECRET: &str = "whsec-test-0123456789abcdef";

// ----- a local receiver -----

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    signature: Option<String>,
    content_type: Option<String>,
    raw: Vec<u8>,
    body: Value,
    /// What the receiver answered.
    status: u16,
}

/// An HTTP receiver on 127.0.0.1 that records every request and answers 500 while `failing` is
/// above 0 (counting down; `usize::MAX` fails for ever), 200 afterwards.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
    pub(crate) failing: Arc<AtomicUsize>,
}

impl Receiver {
    pub(crate) async fn start(fail_first: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/returns"),
            got: Arc::default(),
            failing: Arc::new(AtomicUsize::new(fail_first)),
        };
        let shared = receiver.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(shared.clone().serve(socket));
            }
        });
        receiver
    }

    async fn serve(self, mut socket: tokio::net::TcpStream) {
        let Some((headers, raw)) = read_request(&mut socket).await else {
            return;
        };
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let fail = self
            .failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                0 => None,
                usize::MAX => Some(usize::MAX),
                n => Some(n - 1),
            })
            .is_ok();
        let status = if fail { 500 } else { 200 };
        self.got.lock().unwrap().push(Received {
            signature: header("returns-signature"),
            content_type: header("content-type"),
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
            raw,
            status,
        });
        let reason = if fail { "Internal Server Error" } else { "OK" };
        let answer =
            format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = socket.write_all(answer.as_bytes()).await;
        let _ = socket.shutdown().await;
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (bounded) until every id of `ids` was answered 200 at least once.
    async fn wait_for_delivered(&self, ids: &[String]) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.got();
            let delivered: HashSet<&str> = got
                .iter()
                .filter(|r| r.status == 200)
                .filter_map(|r| r.body["id"].as_str())
                .collect();
            if ids.iter().all(|id| delivered.contains(id.as_str())) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "not every event was delivered: {} requests so far",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn read_request(
    socket: &mut tokio::net::TcpStream,
) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

// ----- checking signatures as a receiver would (an implementation of its own) -----

/// SHA-256 (FIPS 180-4), written out here so that the test does not check the service's
/// signatures with the service's own code.
fn sha256(message: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut data = message.to_vec();
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());
    for block in data.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (state, value) in h.iter_mut().zip(v) {
            *state = state.wrapping_add(value);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// HMAC-SHA256 (RFC 2104), in lower-case hex.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_test_hmac_matches_rfc_4231() {
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let key = [0xaau8; 131];
    assert_eq!(
        hmac_sha256_hex(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        ),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

/// Checks `Returns-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
/// secret, and that `t` is recent.
#[track_caller]
fn assert_signed(received: &Received, secret: &str) {
    let header = received
        .signature
        .as_deref()
        .unwrap_or_else(|| panic!("no Returns-Signature on {}", received.body));
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let t = t.unwrap_or_else(|| panic!("no t in {header}"));
    let v1 = v1.unwrap_or_else(|| panic!("no v1 in {header}"));
    let seconds: i64 = t
        .parse()
        .unwrap_or_else(|_| panic!("t is not a number: {header}"));
    assert!(
        (unix_now() - seconds).abs() < 300,
        "t={seconds} is not recent"
    );
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&received.raw);
    assert_eq!(
        v1,
        hmac_sha256_hex(secret.as_bytes(), &signed),
        "bad signature on {}",
        received.body
    );
}

// ----- requests -----

async fn register(app: &TestApp, token: &str, body: &Value) -> Response {
    app.request(Method::POST, "/v1/webhooks", Some(token))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Moves the first attempt of the delivery of event `event_id` 25 hours into the past, past the
/// 24 hours of retries it is given: its next failure parks it.
pub(crate) async fn first_attempt_a_day_ago(app: &TestApp, event_id: &str) {
    let (client, connection) = tokio_postgres::connect(app.db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let moved = client
        .execute(
            "UPDATE webhook_deliveries SET first_attempt_at = first_attempt_at - interval '25 hours' \
             WHERE event_id = $1::text::uuid AND first_attempt_at IS NOT NULL",
            &[&event_id],
        )
        .await
        .unwrap();
    assert_eq!(moved, 1);
}

pub(crate) async fn given_webhook(app: &TestApp, url: &str) -> Value {
    let body = json!({ "url": url, "secret": SECRET, "events": ["return.*"] });
    expect_json(register(app, &app.platform(), &body).await, 201).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    app.request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap()
}

/// The deliveries of `webhook` as the operator sees them, optionally of one status.
pub(crate) async fn deliveries(app: &TestApp, webhook: &str, status: Option<&str>) -> Vec<Value> {
    let mut request = app.request(
        Method::GET,
        &format!("/v1/webhooks/{webhook}/deliveries"),
        Some(&app.operator()),
    );
    if let Some(status) = status {
        request = request.query(&[("status", status)]);
    }
    items_of(&expect_json(request.send().await.unwrap(), 200).await)
}

/// The ids of a return's history, oldest first.
pub(crate) async fn history_ids(app: &TestApp, return_id: &str) -> Vec<String> {
    app.events_of(return_id).await.iter().map(id_of).collect()
}

// ----- tests -----

#[tokio::test]
async fn deliveries_arrive_signed_in_order_per_return_and_once_each_after_retries() {
    let app = TestApp::spawn().await;
    // The receiver is down for the first three requests.
    let receiver = Receiver::start(3).await;
    let webhook = given_webhook(&app, &receiver.url).await;
    assert!(
        webhook.get("secret").is_none(),
        "the secret is echoed: {webhook}"
    );

    let first = crate::support::a_refunded_return(&app, "o-1").await;
    let second = crate::support::a_refunded_return(&app, "o-2").await;
    let first_ids = history_ids(&app, &first).await;
    let second_ids = history_ids(&app, &second).await;
    assert!(first_ids.len() >= 6, "{first_ids:?}");
    let all: Vec<String> = first_ids.iter().chain(&second_ids).cloned().collect();

    let got = receiver.wait_for_delivered(&all).await;

    // Every request is signed with the secret and carries the fields of docs/api.md.
    for received in &got {
        assert_signed(received, SECRET);
        assert!(
            received
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            received.content_type
        );
        for field in ["id", "type", "occurred_at", "return_id", "rma", "data"] {
            assert!(
                received.body.get(field).is_some(),
                "{field} missing: {}",
                received.body
            );
        }
        assert!(received.body["rma"].is_string(), "{}", received.body);
    }
    // The receiver failed, and the failed events came again.
    let failed: Vec<&Received> = got.iter().filter(|r| r.status == 500).collect();
    assert_eq!(failed.len(), 3);
    for f in failed {
        let id = &f.body["id"];
        assert!(
            got.iter().any(|r| r.status == 200 && &r.body["id"] == id),
            "{id} was not retried"
        );
    }
    // After dropping duplicates by id: each event exactly once, and each return's events in the
    // order of its history.
    let mut seen = HashSet::new();
    let mut accepted: Vec<&Received> = Vec::new();
    for received in got.iter().filter(|r| r.status == 200) {
        if seen.insert(received.body["id"].as_str().unwrap().to_owned()) {
            accepted.push(received);
        }
    }
    assert_eq!(
        accepted.len(),
        all.len(),
        "{} events, {} unique arrivals",
        all.len(),
        accepted.len()
    );
    for (return_id, ids) in [(&first, &first_ids), (&second, &second_ids)] {
        let arrived: Vec<String> = accepted
            .iter()
            .filter(|r| r.body["return_id"] == json!(return_id))
            .map(|r| r.body["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(&arrived, ids, "return {return_id} out of order");
    }
    // Every request of a return, failed or not, followed the history's order: a later event is
    // never sent while an earlier one is still pending.
    for (return_id, ids) in [(&first, &first_ids), (&second, &second_ids)] {
        let sent: Vec<usize> = got
            .iter()
            .filter(|r| r.body["return_id"] == json!(return_id))
            .map(|r| ids.iter().position(|id| r.body["id"] == json!(id)).unwrap())
            .collect();
        assert!(
            sent.windows(2).all(|w| w[0] <= w[1]),
            "{return_id}: {sent:?}"
        );
    }
    // The payload is the stored event: type and data as in the case history, except free text
    // (personal data), which is kept out of the log and so out of webhooks.
    let events = app.events_of(&first).await;
    let requested = accepted
        .iter()
        .find(|r| r.body["id"] == events[0]["id"])
        .unwrap();
    assert_eq!(requested.body["type"], "return.requested");
    let mut without_free_text = events[0]["data"].clone();
    assert!(without_free_text["description"].is_string());
    without_free_text["description"] = Value::Null;
    assert_eq!(requested.body["data"], without_free_text);
    assert_eq!(requested.body["rma"], app.return_view(&first).await["rma"]);

    // Attempts and outcomes are recorded.
    let webhook_id = id_of(&webhook);
    let recorded = deliveries(&app, &webhook_id, None).await;
    assert_eq!(recorded.len(), all.len());
    let retried: Vec<&Value> = recorded
        .iter()
        .filter(|d| d["attempts"].as_i64().unwrap() > 1)
        .collect();
    assert!(!retried.is_empty());
    for d in retried {
        let history = d["history"].as_array().unwrap();
        assert_eq!(history.first().unwrap()["outcome"], "retry");
        assert_eq!(history.first().unwrap()["status_code"], 500);
    }
    assert!(recorded.iter().all(|d| d["status"] == "delivered"));
}

#[tokio::test]
async fn targets_must_be_public_http_urls_unless_allowed() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    for url in [
        "http://127.0.0.2:9000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.20.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9000/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        // Not global unicast: NAT64 and 6to4 carry private IPv4 addresses; benchmarking, IETF
        // protocol assignments and reserved ranges reach no public host.
        "http://[64:ff9b::a00:1]/hook",
        "http://[2002:a00:1::]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://198.18.0.1/hook",
        "http://192.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://224.0.0.1/hook",
        "ftp://hooks.example.com/returns",
        "not a url",
    ] {
        let body = json!({ "url": url, "secret": SECRET, "events": ["return.*"] });
        let problem = expect_problem(
            register(&app, &platform, &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_names_field(&problem, "url");
    }
    // 127.0.0.1 is on this service's allow-list (RETURNS_WEBHOOK_ALLOW_HOSTS).
    let receiver = Receiver::start(0).await;
    given_webhook(&app, &receiver.url).await;

    let bad_events =
        json!({ "url": receiver.url, "secret": SECRET, "events": ["return.teleported"] });
    let problem = expect_problem(
        register(&app, &platform, &bad_events).await,
        422,
        "validation_failed",
    )
    .await;
    assert_names_field(&problem, "events");
    // Secrets of fewer than 16 bytes could be guessed.
    for secret in ["", "x", "fifteen-bytes!!"] {
        let short = json!({ "url": receiver.url, "secret": secret, "events": ["return.*"] });
        let problem = expect_problem(
            register(&app, &platform, &short).await,
            422,
            "validation_failed",
        )
        .await;
        assert_names_field(&problem, "secret");
    }
    let sixteen =
        json!({ "url": receiver.url, "secret": "sixteen-bytes!!!", "events": ["return.*"] });
    expect_json(register(&app, &platform, &sixteen).await, 201).await;

    // Buyers and sellers may never register webhooks.
    let body = json!({ "url": receiver.url, "secret": SECRET, "events": ["return.*"] });
    expect_problem(register(&app, &app.buyer(), &body).await, 403, "forbidden").await;
    expect_problem(register(&app, &app.seller(), &body).await, 403, "forbidden").await;
}

#[tokio::test]
async fn webhooks_are_read_and_deleted_by_their_owner_or_an_operator() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    let platform = app.platform();
    let body = json!({ "url": receiver.url, "secret": SECRET, "events": ["return.refunded", "return.closed"] });
    // The same Idempotency-Key and body register one webhook, answered the same twice.
    let first = app
        .request(Method::POST, "/v1/webhooks", Some(&platform))
        .header("Idempotency-Key", "hook-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let created = expect_json(first, 201).await;
    let again = app
        .request(Method::POST, "/v1/webhooks", Some(&platform))
        .header("Idempotency-Key", "hook-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(again, 201).await, created);
    let id = id_of(&created);
    assert_eq!(created["url"], json!(receiver.url));
    assert_eq!(
        created["events"],
        json!(["return.refunded", "return.closed"])
    );
    assert!(created["created_at"].is_string());
    assert!(created.get("secret").is_none());

    let path = format!("/v1/webhooks/{id}");
    assert_eq!(
        expect_json(get(&app, &platform, &path).await, 200).await,
        created
    );
    assert_eq!(
        expect_json(get(&app, &app.operator(), &path).await, 200).await,
        created
    );
    let listed = items_of(&expect_json(get(&app, &platform, "/v1/webhooks").await, 200).await);
    assert_eq!(listed, vec![created.clone()]);
    // Another platform account neither sees nor deletes it; buyers may not ask.
    let other = app.token(Role::Platform, &format!("{PLATFORM}-2"));
    expect_problem(get(&app, &other, &path).await, 404, "not_found").await;
    let listed = items_of(&expect_json(get(&app, &other, "/v1/webhooks").await, 200).await);
    assert!(listed.is_empty());
    let delete = |token: String| {
        let request = app.request(Method::DELETE, &path, Some(&token));
        async move { request.send().await.unwrap() }
    };
    expect_problem(delete(other).await, 404, "not_found").await;
    expect_problem(get(&app, &app.buyer(), &path).await, 403, "forbidden").await;
    expect_problem(
        get(&app, &app.seller(), "/v1/webhooks").await,
        403,
        "forbidden",
    )
    .await;

    let res = delete(platform.clone()).await;
    assert_eq!(res.status(), 204);
    expect_problem(get(&app, &platform, &path).await, 404, "not_found").await;
    let listed = items_of(&expect_json(get(&app, &platform, "/v1/webhooks").await, 200).await);
    assert!(listed.is_empty());
    expect_problem(delete(platform).await, 404, "not_found").await;
}

#[tokio::test]
async fn a_parked_delivery_is_visible_to_operators_and_can_be_queued_again() {
    let app = TestApp::spawn().await;
    // The receiver fails until told otherwise.
    let receiver = Receiver::start(usize::MAX).await;
    let webhook = id_of(&given_webhook(&app, &receiver.url).await);
    app.given_order(&eu_order("o-1")).await;
    let return_id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    let requested = history_ids(&app, &return_id).await[0].clone();

    // Wait (bounded) until a failed attempt is recorded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !deliveries(&app, &webhook, None)
        .await
        .iter()
        .any(|d| d["attempts"].as_i64() > Some(0))
    {
        assert!(Instant::now() < deadline, "no delivery attempt recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The retry span (24 hours) is counted from the first attempt: move that attempt a day into
    // the past instead of waiting a day. The next failure parks the delivery.
    first_attempt_a_day_ago(&app, &requested).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let parked = loop {
        let parked = deliveries(&app, &webhook, Some("parked")).await;
        if !parked.is_empty() {
            break parked;
        }
        assert!(Instant::now() < deadline, "the delivery was never parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(parked.len(), 1);
    let delivery = &parked[0];
    assert_eq!(delivery["event_id"], json!(requested));
    assert_eq!(delivery["type"], "return.requested");
    assert_eq!(delivery["status"], "parked");
    assert_eq!(delivery["last_status"], 500);
    assert!(delivery["parked_at"].is_string());
    let history = delivery["history"].as_array().unwrap();
    assert!(history.len() >= 2, "{delivery}");
    assert_eq!(history.last().unwrap()["outcome"], "parked");
    assert!(history.iter().all(|a| a["status_code"] == 500));

    // Only operators queue it again; once the receiver is back, it arrives.
    let retry = format!("/v1/webhooks/deliveries/{}/retry", id_of(delivery));
    let as_platform = app
        .request(Method::POST, &retry, Some(&app.platform()))
        .send()
        .await
        .unwrap();
    expect_problem(as_platform, 403, "forbidden").await;
    receiver.failing.store(0, Ordering::SeqCst);
    let requeued = app
        .request(Method::POST, &retry, Some(&app.operator()))
        .send()
        .await
        .unwrap();
    let requeued = expect_json(requeued, 200).await;
    assert_eq!(requeued["status"], "pending");
    receiver
        .wait_for_delivered(std::slice::from_ref(&requested))
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = deliveries(&app, &webhook, Some("parked")).await;
        let delivered = deliveries(&app, &webhook, Some("delivered")).await;
        if all.is_empty() && delivered.iter().any(|d| d["event_id"] == json!(requested)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the re-queued delivery never completed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A delivery that is not parked cannot be queued again.
    let not_parked = app
        .request(Method::POST, &retry, Some(&app.operator()))
        .send()
        .await
        .unwrap();
    expect_problem(not_parked, 409, "invalid_transition").await;
}

/// Each rating is sent to the webhooks that listen for `return.rated`, with its score and without
/// the comment (personal data never leaves in a webhook).
#[tokio::test]
async fn each_rating_is_sent_to_its_subscribers_without_the_comment() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    let body = json!({ "url": receiver.url, "secret": SECRET, "events": ["return.rated"] });
    expect_json(register(&app, &app.platform(), &body).await, 201).await;
    let id = crate::support::a_refunded_return(&app, "o-1").await;
    let rating = json!({"score": 2, "comment": "The label never came"});
    app.act(&app.buyer(), &id, "rate", &rating).await;
    let rated = app.events_of(&id).await.last().cloned().unwrap();
    assert_eq!(rated["type"], "return.rated");

    let got = receiver.wait_for_delivered(&[id_of(&rated)]).await;
    assert_eq!(got.len(), 1, "only the rating was subscribed to");
    let sent = &got[0].body;
    assert_eq!(sent["type"], "return.rated");
    assert_eq!(sent["return_id"], id.as_str());
    assert_eq!(sent["data"]["score"], 2);
    assert!(
        !sent.to_string().contains("label never came"),
        "the comment left in a webhook: {sent}"
    );
}
