//! Two scheduler instances on one database (docs/operations.md, "Running N instances"): each
//! deadline that falls due is applied exactly once, whichever instance takes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use returns_app::{
    Answered, CommandOptions, OpenReturnRequest, Service, StoredResponse, TestClock,
};
use returns_domain::order::{ItemRequest, OrderDetails};
use returns_domain::Actor;
use returns_testkit::TestDb;
use serde_json::json;

fn no_render<T>(_: &T) -> StoredResponse {
    StoredResponse {
        status: 200,
        body: Vec::new(),
        etag: None,
    }
}

const RETURNS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_apply_each_due_deadline_exactly_once() {
    let db = TestDb::new().await;
    let clock = Arc::new(TestClock::new());
    // Two instances: their own pools and executors, one database, one (test) time.
    let first = Service::new(db.store(), clock.clone());
    let second = Service::new(
        returns_event_store::EventStore::new(
            returns_event_store::pool(db.url(), &Default::default()).unwrap(),
        ),
        clock.clone(),
    );
    let opts = CommandOptions::default();
    let delivered = Utc::now() - Duration::days(3);
    for n in 0..RETURNS {
        let order: OrderDetails = serde_json::from_value(json!({
            "order_id": format!("o-{n}"), "buyer_id": "buyer-1", "seller_id": "seller-1",
            "currency": "EUR", "jurisdiction": "DE",
            "placed_at": delivered - Duration::days(2), "delivered_at": delivered,
            "lines": [{"line_id": "l1", "sku": "S1", "title": "Lamp", "category": "home",
                       "quantity": 1, "unit_price_minor": 2500}]
        }))
        .unwrap();
        first
            .register_order(&Actor::platform("marketplace"), order, &opts, no_render)
            .await
            .unwrap();
        let request = OpenReturnRequest {
            order_id: format!("o-{n}").parse().unwrap(),
            items: vec![ItemRequest {
                line_id: "l1".parse().unwrap(),
                quantity: 1,
            }],
            reason: "defective".parse().unwrap(),
            description: None,
            resolution: "refund".parse().unwrap(),
            evidence: Vec::new(),
            return_method: None,
        };
        let opened = first
            .open_return(&Actor::buyer("buyer-1"), request, &opts, no_render)
            .await
            .unwrap();
        assert!(matches!(opened, Answered::Fresh(..)));
    }
    // The seller never answers: every return's response deadline falls due.
    clock.advance(Duration::days(8));
    let (a, b) = tokio::join!(
        first.run_due_deadlines(10_000),
        second.run_due_deadlines(10_000)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a + b,
        RETURNS,
        "applied by the first: {a}, by the second: {b}"
    );

    let client = db.pool().get().await.unwrap();
    let missed: Vec<i64> = client
        .query(
            "SELECT count(*) FILTER (WHERE e.event_type = 'return.deadline_missed') \
             FROM return_index r \
             LEFT JOIN events e ON e.stream_id = 'return-' || r.return_id::text \
             GROUP BY r.return_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(missed.len(), RETURNS);
    assert!(missed.iter().all(|&n| n == 1), "{missed:?}");
    // Nothing is left due.
    assert_eq!(first.run_due_deadlines(10_000).await.unwrap(), 0);
}
