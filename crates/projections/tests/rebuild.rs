//! A rebuild fills shadow tables from the log and switches them in: the same rows as the live
//! projection, and the live runner carries on afterwards. The webhooks outbox is rebuilt without
//! sending anything twice. (The abuse projection's rebuild is tested over HTTP, where real
//! returns raise and review flags: tests/service/rebuild.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use returns_event_store::{ActorRef, EventStore, ExpectedVersion, Metadata, NewEvent};
use returns_projections::analytics::Analytics;
use returns_projections::rebuild::rebuild;
use returns_projections::webhooks::{self, Webhooks};
use returns_projections::{ProjectionError, Runner, RunnerSettings, Status};
use returns_testkit::TestDb;
use serde_json::json;
use uuid::Uuid;

fn meta() -> Metadata {
    Metadata {
        actor: ActorRef {
            role: "system".into(),
            id: "test".into(),
        },
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        occurred_at: chrono::Utc::now(),
    }
}

/// One order and its return (with an RMA, as webhooks need), with `extra` of: escalation, missed deadline, refund, closing.
async fn history(store: &EventStore, k: usize, extra: usize) {
    let at = "2026-11-20T10:00:00Z";
    store
        .append(
            &format!("order-o{k}"),
            ExpectedVersion::NoStream,
            &[NewEvent::new(
                "order.registered",
                1,
                json!({"order": {"order_id": format!("o{k}"), "buyer_id": "b1",
                    "seller_id": format!("s{}", k % 3), "placed_at": "2026-11-18T10:00:00Z"}}),
            )],
            &meta(),
        )
        .await
        .unwrap();
    let id = Uuid::now_v7();
    let reason = ["defective", "size_fit"][k % 2];
    let category = ["home", "toys", "apparel"][k % 3];
    let mut events = vec![NewEvent::new(
        "return.requested",
        1,
        json!({"return_id": id, "rma": format!("RMA-{k}"), "order_id": format!("o{k}"), "buyer_id": "b1",
               "seller_id": format!("s{}", k % 3), "currency": "EUR", "reason": reason,
               "items": [{"category": category}],
               "evaluation": {"requested_amount_minor": 1000 + k}, "at": at}),
    )];
    let tail = [
        ("return.escalated", json!({"at": at})),
        ("return.deadline_missed", json!({"at": at})),
        (
            "return.refunded",
            json!({"amount_minor": 1000 + k, "at": "2026-11-21T10:00:00Z"}),
        ),
        (
            "return.closed",
            json!({"outcome": "refunded", "at": "2026-11-21T10:00:00Z"}),
        ),
    ];
    for (t, data) in tail.into_iter().take(extra) {
        events.push(NewEvent::new(t, 1, data));
    }
    store
        .append(
            &format!("return-{id}"),
            ExpectedVersion::NoStream,
            &events,
            &meta(),
        )
        .await
        .unwrap();
}

async fn rows(db: &TestDb) -> (Vec<String>, Vec<String>) {
    let client = db.pool().get().await.unwrap();
    let dump = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    (
        dump("SELECT t::text FROM analytics_orders t ORDER BY order_id").await,
        dump("SELECT t::text FROM analytics_returns t ORDER BY return_id").await,
    )
}

async fn catch_up<P: returns_projections::Projection>(runner: &mut Runner<P>, events: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut applied = 0;
    while applied < events {
        match runner.step().await.unwrap() {
            Status::Applied(n) => applied += n,
            Status::CaughtUp => {
                assert!(
                    Instant::now() < deadline,
                    "stalled at {applied} of {events}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// The live runner, fenced by a switch, has its next batch refused once the new events are in the
/// feed (a transaction's events enter the feed once no older transaction is still running).
async fn assert_fenced<P: returns_projections::Projection>(live: &mut Runner<P>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match live.step().await {
            Err(ProjectionError::LeaseLost(_)) => return,
            Ok(Status::CaughtUp) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            other => panic!("the fence did not hold: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_rebuild_yields_the_live_rows_and_the_live_runner_carries_on() {
    let db = TestDb::new().await;
    let store = db.store();
    for k in 0..12 {
        history(&store, k, k % 5).await;
    }
    let total = 12 * 2 + (0..12).map(|k| k % 5).sum::<usize>();
    let settings = RunnerSettings {
        owner: "live".into(),
        batch: 7,
        ..RunnerSettings::default()
    };
    let mut live = Runner::new(store.clone(), Arc::new(Analytics::default()), settings);
    assert!(live.acquire().await.unwrap());
    catch_up(&mut live, total).await;
    let before = rows(&db).await;
    assert_eq!(before.1.len(), 12);

    let seen = std::sync::Mutex::new(0u64);
    let rebuilt = rebuild(&store, &Analytics::default(), &|n: u64| {
        *seen.lock().unwrap() = n
    })
    .await
    .unwrap();
    assert!(rebuilt >= total as u64);
    assert_eq!(*seen.lock().unwrap(), rebuilt, "progress reached the end");
    assert_eq!(
        rows(&db).await,
        before,
        "the rebuilt rows equal the live ones"
    );

    // The live runner was fenced by the switch: with new events to apply, its next batch is
    // refused (its generation is no longer the checkpoint's). It takes its lease again, from the
    // rebuilt position, and carries on.
    history(&store, 100, 4).await;
    assert_fenced(&mut live).await;
    assert!(live.acquire().await.unwrap());
    catch_up(&mut live, 6).await;
    let after = rows(&db).await;
    assert_eq!(after.1.len(), 13);
    assert_eq!(after.0.len(), 13);
}

/// The outbox as the dispatcher reads it: (delivery id, event id, status, attempts), by event.
async fn outbox(db: &TestDb) -> Vec<(Uuid, Uuid, String, i32)> {
    let client = db.pool().get().await.unwrap();
    client
        .query(
            "SELECT id, event_id, status, attempts FROM webhook_deliveries ORDER BY event_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test]
async fn a_webhooks_rebuild_sends_nothing_twice_and_queues_what_the_outbox_lost() {
    let db = TestDb::new().await;
    let store = db.store();
    {
        let client = db.pool().get().await.unwrap();
        client
            .execute(
                webhooks::INSERT_SUBSCRIPTION_SQL,
                &[
                    &Uuid::now_v7(),
                    &"seller",
                    &"s0",
                    &"https://hooks.example/returns",
                    &"a-secret-of-the-receiver",
                    &vec!["return.*".to_owned()],
                    &(chrono::Utc::now() - chrono::Duration::hours(1)),
                ],
            )
            .await
            .unwrap();
    }
    for k in 0..4 {
        history(&store, k, 2).await;
    }
    let mut live = Runner::new(
        store.clone(),
        Arc::new(Webhooks::default()),
        RunnerSettings {
            owner: "live".into(),
            batch: 5,
            ..RunnerSettings::default()
        },
    );
    assert!(live.acquire().await.unwrap());
    catch_up(&mut live, 4 * 4).await;
    // One delivery per return event (3 each).
    let queued = outbox(&db).await;
    assert_eq!(queued.len(), 12);
    // Two were sent (one of them after a failed attempt); one was lost from the outbox.
    let (sent, retried, lost) = (queued[0].0, queued[1].0, queued[2].clone());
    {
        let client = db.pool().get().await.unwrap();
        client
            .execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = 1 WHERE id = $1",
                &[&sent],
            )
            .await
            .unwrap();
        client
            .execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = 2 WHERE id = $1",
                &[&retried],
            )
            .await
            .unwrap();
        client
            .execute("DELETE FROM webhook_deliveries WHERE id = $1", &[&lost.0])
            .await
            .unwrap();
    }
    let before = outbox(&db).await;

    rebuild(&store, &Webhooks::default(), &|_: u64| {})
        .await
        .unwrap();

    let after = outbox(&db).await;
    assert_eq!(after.len(), 12, "{after:?}");
    // Every delivery that was there is there as it was: nothing is sent again.
    for kept in &before {
        assert!(after.contains(kept), "{kept:?} changed: {after:?}");
    }
    // The lost one is queued again, once, as pending.
    let restored: Vec<_> = after.iter().filter(|d| d.1 == lost.1).collect();
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].2, "pending");
    assert_eq!(restored[0].3, 0);

    // The live runner carries on after the switch.
    history(&store, 50, 1).await;
    assert_fenced(&mut live).await;
    assert!(live.acquire().await.unwrap());
    catch_up(&mut live, 3).await;
    assert_eq!(outbox(&db).await.len(), 14);
}
