//! `GET /metrics`: Prometheus text with HTTP, command, append and projection figures.

use std::time::{Duration, Instant};

use crate::support::{eu_order, Api};
use returns_testkit::TestApp;

async fn scrape(app: &TestApp) -> String {
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_commands_appends_and_projection_progress() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.given_order(&eu_order("o-metrics")).await;

    // The projection applies the order's event in the background; wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape(&app).await;
        if text.contains("projection_events_total{projection=\"analytics\"}") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no projection progress in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for needle in [
        "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/orders\"",
        "commands_total{command=\"register-order\",outcome=\"ok\"}",
        "event_store_append_seconds_bucket",
        "event_store_events_appended_total",
        "projection_lag_seconds{projection=\"analytics\"}",
        "webhook_queue_depth",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

/// With `RETURNS_METRICS_LISTEN`, `/metrics` answers on its own address only: the public API
/// address no longer serves it.
#[tokio::test]
async fn metrics_can_live_on_their_own_address() {
    let app = TestApp::spawn_with(|settings| {
        settings.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let port = app.metrics_port.expect("a metrics port");
    assert_ne!(port, app.port);
    app.given_order(&eu_order("o-own-address")).await;
    let res = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("commands_total{command=\"register-order\",outcome=\"ok\"}"),
        "{text}"
    );
    let beside_api = app.get("/metrics").await;
    assert_eq!(beside_api.status(), 404);
}
