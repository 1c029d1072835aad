//! `kill -9` of the real binary under write load, three times (docs/reliability.md): every
//! command the service acknowledged is in the database exactly once afterwards, and the service
//! starts again on the same database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use returns_api::auth::Role;
use returns_testkit::TestDb;
use serde_json::{json, Value};

mod common;

use common::{start, token};

const WRITERS: usize = 8;
/// Acknowledged commands of a round before the service is killed.
const ACKNOWLEDGED_BEFORE_KILL: usize = 60;

/// What the writers were told was done.
#[derive(Default)]
struct Acknowledged {
    orders: Mutex<BTreeSet<String>>,
    returns: Mutex<BTreeSet<String>>,
    count: AtomicUsize,
}

/// POSTs `body` to `url`; the answer's body when it is 201, `None` otherwise (the service may
/// have been killed meanwhile).
async fn created(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> Option<Value> {
    let res = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .ok()?;
    if res.status() != 201 {
        return None;
    }
    res.json::<Value>().await.ok()
}

/// Registers an order and opens a return on it, again and again, until `stop`; records every
/// 201 it gets. A failure (the service being killed) ends the writer.
async fn writer(
    url: String,
    round: usize,
    writer: usize,
    acks: Arc<Acknowledged>,
    stop: Arc<AtomicBool>,
) {
    let client = reqwest::Client::new();
    let platform = token(Role::Platform, "marketplace");
    let buyer = token(Role::Buyer, "buyer-1");
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let order_id = format!("o-{round}-{writer}-{n}");
        let order = json!({
            "order_id": order_id, "buyer_id": "buyer-1", "seller_id": "seller-1",
            "currency": "EUR", "jurisdiction": "DE", "placed_at": "2026-11-01T10:00:00Z",
            "delivered_at": "2026-11-03T10:00:00Z",
            "lines": [{"line_id": "L1", "sku": "S-1", "title": "Lamp", "category": "home",
                       "quantity": 1, "unit_price_minor": 2500}]
        });
        if created(&client, format!("{url}/v1/orders"), &platform, &order)
            .await
            .is_none()
        {
            return;
        }
        acks.orders.lock().unwrap().insert(order_id.clone());
        acks.count.fetch_add(1, Ordering::Relaxed);
        let request = json!({
            "order_id": order_id, "items": [{"line_id": "L1", "quantity": 1}],
            "reason": "defective", "resolution": "refund"
        });
        let Some(view) = created(&client, format!("{url}/v1/returns"), &buyer, &request).await
        else {
            return;
        };
        let id = view["id"].as_str().unwrap().to_owned();
        acks.returns.lock().unwrap().insert(id);
        acks.count.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_commands_survive_kill_minus_nine_three_times() {
    let db = TestDb::empty().await;
    let acks = Arc::new(Acknowledged::default());
    for round in 0..3 {
        let (mut child, url, _) = start(db.url(), &[]).await;
        let stop = Arc::new(AtomicBool::new(false));
        let before = acks.count.load(Ordering::Relaxed);
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(url.clone(), round, w, acks.clone(), stop.clone())))
            .collect();
        // Kill once enough commands of this round were acknowledged, while the writers go on.
        while acks.count.load(Ordering::Relaxed) < before + ACKNOWLEDGED_BEFORE_KILL {
            tokio::task::yield_now().await;
            assert!(
                child.try_wait().unwrap().is_none(),
                "the service exited by itself"
            );
        }
        child.kill().await.expect("SIGKILL");
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await.unwrap();
        }
    }
    // The service starts again on what the crashes left.
    let (mut child, url, _) = start(db.url(), &[]).await;
    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    child.kill().await.unwrap();

    let client = db.pool().get().await.unwrap();
    let orders = acks.orders.lock().unwrap().clone();
    let returns = acks.returns.lock().unwrap().clone();
    assert!(
        orders.len() >= 3 * ACKNOWLEDGED_BEFORE_KILL / 2,
        "{}",
        orders.len()
    );
    for order in &orders {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM events WHERE stream_id = $1 \
                           AND event_type = 'order.registered'), \
                        (SELECT count(*) FROM snapshots WHERE stream_id = $1)",
                &[&format!("order-{order}")],
            )
            .await
            .unwrap();
        let (events, snapshots): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!((events, snapshots), (1, 1), "acknowledged order {order}");
    }
    for id in &returns {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM events WHERE stream_id = 'return-' || $1 \
                           AND event_type = 'return.requested'), \
                        (SELECT count(*) FROM return_index WHERE return_id = $1::text::uuid)",
                &[id],
            )
            .await
            .unwrap();
        let (events, index): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!((events, index), (1, 1), "acknowledged return {id}");
    }
    println!(
        "{} orders and {} returns acknowledged over 3 kills, all found exactly once",
        orders.len(),
        returns.len()
    );
}
