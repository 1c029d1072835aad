//! The database's connections cut under running workers (docs/operations.md, "Workers"): every
//! projection, the webhook sender and the scheduler wait the outage out and go on by themselves,
//! without a restart, and `/readyz` shows each worker's state.

use std::time::{Duration, Instant};

use returns_testkit::{admin_url, TestApp};
use serde_json::Value;
use tokio_postgres::NoTls;

use crate::support::{eu_order, headphones_return, Api};

/// Terminates every connection to the test's database but the admin's own: the service's pool
/// and its workers lose theirs mid-work. Returns how many were cut.
async fn cut_connections(admin: &tokio_postgres::Client, database: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .unwrap()
        .get(0)
}

/// Each projection's checkpoint and the last event of the log, both as `(tx_id, position)`: the
/// order in which followers read the log. A flag the abuse projection raises in a transaction that
/// began before a command's may commit after it: its event then has the highest position but
/// comes first in that order, so the highest position is not always the last event read.
async fn positions(app: &TestApp) -> (Vec<(String, (i64, i64))>, (i64, i64)) {
    let client = app.db.pool().get().await.unwrap();
    let rows = client
        .query(
            "SELECT name, tx_id, position FROM projection_checkpoints ORDER BY name",
            &[],
        )
        .await
        .unwrap();
    let head = client
        .query_opt(
            "SELECT tx_id, position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .map_or((0, 0), |row| (row.get(0), row.get(1)));
    (
        rows.iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect(),
        head,
    )
}

#[tokio::test]
async fn workers_catch_up_by_themselves_after_their_connections_are_cut() {
    let app = TestApp::spawn().await;
    let (admin, connection) = tokio_postgres::connect(&admin_url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    let buyer = app.buyer();

    let mut cut = 0;
    for round in 0..5 {
        let order = format!("o-outage-{round}");
        app.given_order(&eu_order(&order)).await;
        app.given_return(&buyer, &headphones_return(&order)).await;
        // Cut while the workers are applying what the commands just appended.
        cut += cut_connections(&admin, app.db.name()).await;
    }
    assert!(cut > 0, "no connection was cut");

    // Commands work again: a client that meets 503 retries, as `Retry-After` tells it to.
    let mut answers = Vec::new();
    for _ in 0..20 {
        let res = app
            .register_order(&app.platform(), &eu_order("o-after"))
            .await;
        answers.push(res.status().as_u16());
        if res.status() != 503 {
            break;
        }
    }
    assert_eq!(answers.last(), Some(&201), "answers: {answers:?}");
    app.given_return(&buyer, &headphones_return("o-after"))
        .await;

    // Every projection reaches the head of the log, and every worker reports running.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (checkpoints, head) = positions(&app).await;
        let ready: Value = app.get("/readyz").await.json().await.unwrap();
        let workers = &ready["workers"];
        let names = ["abuse", "analytics", "webhooks"];
        let caught_up = names.iter().all(|name| {
            checkpoints
                .iter()
                .any(|(n, position)| n == name && *position == head)
        });
        let running = ["abuse", "analytics", "webhooks", "webhook-dispatch"]
            .iter()
            .all(|name| workers[name]["state"] == "running");
        if caught_up && running && ready["status"] == "ready" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "workers never caught up: checkpoints {checkpoints:?}, head {head:?}, readyz {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // What the projections built is whole: six returns in the analytics.
    let summary: Value = app
        .request(
            reqwest::Method::GET,
            "/v1/analytics/summary",
            Some(&app.operator()),
        )
        .query(&[
            ("from", "2000-01-01T00:00:00Z"),
            ("to", "2100-01-01T00:00:00Z"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["returns"], 6, "{summary}");
}
