//! Every projection rebuilds from the log to the rows the live one folded: `returns rebuild
//! --projection NAME` runs [`rebuild_named`] for analytics, abuse and webhooks (the webhooks
//! outbox, which also records what was sent, is tested in crates/projections/tests/rebuild.rs).

use std::time::Duration;

use returns_arbitration::abuse::Thresholds;
use returns_projections::abuse::Abuse;
use returns_projections::rebuild::{rebuild_named, PROJECTIONS};
use returns_testkit::TestApp;
use serde_json::json;

use crate::abuse::{empty_box_buyer, flag_of_kind, reviewed};
use crate::support::{eu_order, return_request, Api, SHIRT};

/// Waits until the live projection `name` has applied every event of the log (it follows the log
/// a moment behind).
async fn caught_up(app: &TestApp, name: &str) {
    let client = app.db.pool().get().await.unwrap();
    for _ in 0..800 {
        // Both as (tx_id, position), the order in which the projection reads the log: the event
        // with the highest position is not always the last one read.
        let row = client
            .query_one(
                "SELECT coalesce((SELECT tx_id FROM events ORDER BY tx_id DESC, position DESC LIMIT 1), 0), \
                        coalesce((SELECT position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1), 0), \
                        coalesce((SELECT tx_id FROM projection_checkpoints WHERE name = $1), 0), \
                        coalesce((SELECT position FROM projection_checkpoints WHERE name = $1), 0)",
                &[&name],
            )
            .await
            .unwrap();
        let head: (i64, i64) = (row.get(0), row.get(1));
        let at: (i64, i64) = (row.get(2), row.get(3));
        if at >= head {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the {name} projection never caught up with the log");
}

/// Every row of `tables`, as JSON (`json` columns normalised), in a stable order.
async fn rows(app: &TestApp, tables: &[&str]) -> Vec<String> {
    let client = app.db.pool().get().await.unwrap();
    let mut all = Vec::new();
    for table in tables {
        let sql = format!("SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1");
        for row in client.query(&sql, &[]).await.unwrap() {
            all.push(format!("{table}: {}", row.get::<_, String>(0)));
        }
    }
    all
}

const ABUSE_TABLES: [&str; 4] = [
    "abuse_returns",
    "abuse_parties",
    "abuse_baseline",
    "abuse_flags",
];
const ANALYTICS_TABLES: [&str; 2] = ["analytics_orders", "analytics_returns"];

#[tokio::test]
async fn each_projection_rebuilt_from_the_log_equals_the_live_one() {
    let app = TestApp::spawn().await;
    // A buyer flagged for empty boxes, the flag confirmed by an operator, and then a claim of that
    // buyer's that no longer counts against the seller.
    empty_box_buyer(&app).await;
    let flag = flag_of_kind(&app, "empty_box_returns").await;
    reviewed(
        &app,
        &flag,
        &json!({"verdict": "confirmed", "note": "Same pattern"}),
    )
    .await;
    app.given_order(&eu_order("o-late")).await;
    let claim = app
        .given_return(
            &app.buyer(),
            &return_request("o-late", &[(SHIRT, 1)], "not_as_described"),
        )
        .await;
    assert!(claim["id"].is_string(), "{claim}");

    let cases: [(&str, &[&str]); 2] = [("abuse", &ABUSE_TABLES), ("analytics", &ANALYTICS_TABLES)];
    for (name, tables) in cases {
        caught_up(&app, name).await;
        let live = rows(&app, tables).await;
        assert!(!live.is_empty());
        let applied = rebuild_named(
            &app.db.store(),
            name,
            Abuse::new(Thresholds::default()),
            &|_: u64| {},
        )
        .await
        .unwrap()
        .unwrap();
        assert!(applied > 0);
        let rebuilt = rows(&app, tables).await;
        assert_eq!(
            rebuilt, live,
            "the rebuilt {name} differs from the live one"
        );
    }
    assert!(flag["id"].is_string());
    // The flag, as rebuilt, is confirmed and counts as folded.
    let folded = rows(&app, &["abuse_flags"]).await;
    assert!(
        folded.iter().any(|r| r.contains("\"confirmed\"")),
        "{folded:?}"
    );
    assert!(!folded
        .iter()
        .any(|r| r.contains("\"raised_position\": null")));
    // An unknown name rebuilds nothing.
    let unknown = rebuild_named(
        &app.db.store(),
        "nope",
        Abuse::new(Thresholds::default()),
        &|_: u64| {},
    )
    .await
    .unwrap();
    assert_eq!(unknown, None);
    assert_eq!(PROJECTIONS, ["analytics", "abuse", "webhooks"]);
}
