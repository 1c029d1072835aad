//! The demo marketplace on a fresh database: every state the console shows is there, disputes
//! wait for operators (some unassigned, some overdue), abuse flags were raised, and the personas
//! the report names own the returns it says they do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use returns_simulator::{demo, DemoConfig, SimError};
use returns_testkit::TestDb;

async fn count(
    db: &TestDb,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> i64 {
    let client = db.pool().get().await.unwrap();
    client.query_one(sql, params).await.unwrap().get(0)
}

/// The buyer, seller and status of the return with this RMA.
async fn by_rma(db: &TestDb, rma: &str) -> (String, String, String) {
    let client = db.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT buyer_id, seller_id, status FROM return_index WHERE rma = $1",
            &[&rma],
        )
        .await
        .unwrap_or_else(|e| panic!("no return {rma}: {e}"));
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn the_demo_leaves_every_state_the_console_shows_and_personas_that_own_their_cases() {
    let db = TestDb::new().await;
    let config = DemoConfig::default();
    let report = demo(db.pool().clone(), &config)
        .await
        .expect("the demo runs");

    // Every state of an open return, and closed ones of every outcome.
    for status in [
        "requested",
        "offer_pending",
        "authorized",
        "in_transit",
        "delivered",
        "refund_pending",
        "escalated",
        "closed",
    ] {
        let n = count(
            &db,
            "SELECT count(*) FROM return_index WHERE status = $1",
            &[&status],
        )
        .await;
        assert!(n > 0, "no return is {status}");
        assert_eq!(report.by_status.get(status), Some(&n), "{status}");
    }
    for outcome in [
        "refunded",
        "partially_refunded",
        "exchanged",
        "denied",
        "withdrawn",
        "lapsed",
    ] {
        let n = count(
            &db,
            "SELECT count(*) FROM return_index r \
             JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
             WHERE r.status = 'closed' AND s.state ->> 'outcome' = $1",
            &[&outcome],
        )
        .await;
        assert!(n > 0, "no return closed as {outcome}");
    }

    // Disputes wait for operators: some nobody has taken, at least one whose decision is late.
    let disputes = "FROM return_index r \
                    JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
                    WHERE r.status = 'escalated'";
    let unassigned = count(
        &db,
        &format!("SELECT count(*) {disputes} AND s.state -> 'dispute' ->> 'assignee' IS NULL"),
        &[],
    )
    .await;
    assert!(unassigned > 0);
    assert_eq!(report.unassigned_disputes, unassigned);
    let overdue = count(
        &db,
        &format!(
            "SELECT count(*) {disputes} AND ((s.state -> 'dispute' ->> 'overdue')::boolean \
             OR (s.state -> 'dispute' ->> 'decision_due')::timestamptz < now())"
        ),
        &[],
    )
    .await;
    assert!(overdue > 0);
    assert!(report.overdue_disputes > 0);
    let operator_has_one = count(
        &db,
        &format!("SELECT count(*) {disputes} AND s.state -> 'dispute' ->> 'assignee' = $1"),
        &[&report.operator],
    )
    .await;
    assert!(operator_has_one > 0, "{} has no dispute", report.operator);

    // Abuse detection ran over the log, analytics caught up, and both leases are free for a
    // service to take.
    let flags = count(&db, "SELECT count(*) FROM abuse_flags", &[]).await;
    assert!(flags > 0);
    assert_eq!(report.abuse_flags, flags);
    let events = count(&db, "SELECT count(*) FROM events", &[]).await;
    for projection in ["abuse", "analytics"] {
        let caught_up = count(
            &db,
            "SELECT count(*) FROM projection_checkpoints \
             WHERE name = $1 AND events = $2 AND owner IS NULL AND failure IS NULL",
            &[&projection, &events],
        )
        .await;
        assert_eq!(caught_up, 1, "{projection} is not caught up and free");
    }

    // Buyers rate and write.
    let ratings = count(
        &db,
        "SELECT count(*) FROM events WHERE event_type = 'return.rated'",
        &[],
    )
    .await;
    let messages = count(
        &db,
        "SELECT count(*) FROM events WHERE event_type = 'return.message_posted'",
        &[],
    )
    .await;
    assert!(
        ratings > 0 && messages > 0,
        "{ratings} ratings, {messages} messages"
    );

    // The service clock ended now: the demo's last events are minutes old at most.
    let stale = count(
        &db,
        "SELECT count(*) FROM (SELECT max(occurred_at) AS t FROM events) x \
         WHERE t < now() - interval '10 minutes' OR t > now() + interval '1 minute'",
        &[],
    )
    .await;
    assert_eq!(stale, 0, "the last event is not of the present");

    // The personas own the returns the report names, in the states it says.
    let seller = &report.seller;
    assert!(!seller.to_answer.is_empty() && !seller.to_inspect.is_empty());
    for rma in &seller.to_answer {
        let (_, of, status) = by_rma(&db, rma).await;
        assert_eq!(
            (of.as_str(), status.as_str()),
            (seller.id.as_str(), "requested")
        );
    }
    for rma in &seller.to_inspect {
        let (_, of, status) = by_rma(&db, rma).await;
        assert_eq!(
            (of.as_str(), status.as_str()),
            (seller.id.as_str(), "delivered")
        );
    }
    let buyer = &report.buyer;
    let (of, _, status) = by_rma(&db, &buyer.offer).await;
    assert_eq!(
        (of.as_str(), status.as_str()),
        (buyer.id.as_str(), "offer_pending")
    );
    let (of, _, status) = by_rma(&db, &buyer.in_transit).await;
    assert_eq!(
        (of.as_str(), status.as_str()),
        (buyer.id.as_str(), "in_transit")
    );

    // A second run adds nothing: the database is refused as it is.
    match demo(db.pool().clone(), &config).await {
        Err(SimError::NotEmpty(n)) => assert_eq!(n, events),
        other => panic!("a second demo into the same database: {other:?}"),
    }
    assert_eq!(count(&db, "SELECT count(*) FROM events", &[]).await, events);
}

#[tokio::test]
async fn the_same_seed_names_the_same_personas() {
    let (a, b) = (TestDb::new().await, TestDb::new().await);
    let config = DemoConfig {
        buyers: 60,
        sellers: 8,
        days: 30,
        ..DemoConfig::default()
    };
    let first = demo(a.pool().clone(), &config)
        .await
        .expect("the demo runs");
    let second = demo(b.pool().clone(), &config)
        .await
        .expect("the demo runs");
    assert_eq!(first.seller.id, second.seller.id);
    assert_eq!(first.buyer.id, second.buyer.id);
    assert_eq!(first.orders, second.orders);
}
