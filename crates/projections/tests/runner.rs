//! The runner against a real PostgreSQL: exactly-once application, fencing, resumption, and
//! stopping at a failing event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use returns_event_store::{
    ActorRef, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent, Transaction,
};
use returns_projections::{
    ApplyError, Projection, ProjectionError, Runner, RunnerSettings, Status,
};
use returns_testkit::TestDb;
use serde_json::json;
use uuid::Uuid;

/// Records every event it sees with the runner that wrote it; the primary key makes a second
/// application of any event fail loudly.
struct Seen {
    writer: &'static str,
}

impl Projection for Seen {
    fn name(&self) -> &str {
        "seen"
    }

    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), ApplyError>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(bad) = events.iter().find(|e| e.data.get().contains("poison")) {
                return Err(format!("cannot handle {}", bad.event_id).into());
            }
            let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            tx.execute(
                "INSERT INTO proj_seen (event_id, writer) SELECT unnest($1::uuid[]), $2",
                &[&ids, &self.writer],
            )
            .await
            .map(|_| ())
            .map_err(ApplyError::from)
        })
    }
}

fn meta() -> Metadata {
    Metadata {
        actor: ActorRef {
            role: "system".into(),
            id: "test".into(),
        },
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        occurred_at: chrono_now(),
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

async fn setup() -> (TestDb, EventStore) {
    let db = TestDb::new().await;
    let client = db.pool().get().await.unwrap();
    client
        .batch_execute("CREATE TABLE proj_seen (event_id uuid PRIMARY KEY, writer text NOT NULL)")
        .await
        .unwrap();
    let store = db.store();
    (db, store)
}

async fn append(store: &EventStore, n: usize, data: serde_json::Value) {
    for _ in 0..n {
        store
            .append(
                &format!("s-{}", Uuid::now_v7()),
                ExpectedVersion::NoStream,
                &[NewEvent::new("test.happened", 1, data.clone())],
                &meta(),
            )
            .await
            .unwrap();
    }
}

fn settings(owner: &str) -> RunnerSettings {
    RunnerSettings {
        owner: owner.into(),
        lease: Duration::from_secs(30),
        batch: 4,
        max_idle_poll: Duration::from_millis(50),
    }
}

/// Steps until `want` events are applied in total. Other tests' transactions on the same server
/// may hold the feed's horizon back for a moment, hence the bounded retry.
async fn step_until<P: Projection>(runner: &mut Runner<P>, want: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut applied = 0;
    while applied < want {
        match runner.step().await.unwrap() {
            Status::Applied(n) => applied += n,
            Status::CaughtUp => {
                assert!(Instant::now() < deadline, "stalled at {applied} of {want}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    applied
}

async fn seen(db: &TestDb) -> Vec<(Uuid, String)> {
    let client = db.pool().get().await.unwrap();
    client
        .query("SELECT event_id, writer FROM proj_seen", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn applies_every_event_once_and_keeps_the_checkpoint() {
    let (db, store) = setup().await;
    append(&store, 11, json!({"n": 1})).await;
    let mut runner = Runner::new(store.clone(), Arc::new(Seen { writer: "a" }), settings("a"));
    assert!(runner.acquire().await.unwrap());
    assert_eq!(step_until(&mut runner, 11).await, 11);
    assert_eq!(runner.step().await.unwrap(), Status::CaughtUp);
    assert_eq!(seen(&db).await.len(), 11);

    let client = db.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT events, tx_id, position FROM projection_checkpoints WHERE name = 'seen'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 11);
    assert_eq!(row.get::<_, i64>(1), runner.checkpoint().tx_id);
    assert_eq!(row.get::<_, i64>(2), runner.checkpoint().position);
}

#[tokio::test]
async fn an_owner_paused_past_its_lease_never_writes_after_the_takeover() {
    let (db, store) = setup().await;
    append(&store, 6, json!({"n": 1})).await;
    let mut first = Runner::new(
        store.clone(),
        Arc::new(Seen { writer: "first" }),
        settings("first"),
    );
    let mut second = Runner::new(
        store.clone(),
        Arc::new(Seen { writer: "second" }),
        settings("second"),
    );
    assert!(first.acquire().await.unwrap());
    assert!(!second.acquire().await.unwrap(), "the lease is held");
    step_until(&mut first, 6).await;
    let first_generation = first.generation().unwrap();

    // The first owner stalls (a long GC pause, a partition) until its lease runs out.
    let client = db.pool().get().await.unwrap();
    client
        .execute(
            "UPDATE projection_checkpoints SET lease_until = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    assert!(second.acquire().await.unwrap());
    assert_eq!(second.generation(), Some(first_generation + 1));
    append(&store, 5, json!({"n": 2})).await;

    // The stalled owner wakes up and tries to write the new events: fenced off. (Until the
    // events pass the feed's horizon it finds nothing to write; it must never apply any.)
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match first.step().await {
            Err(ProjectionError::LeaseLost(_)) => break,
            Ok(Status::CaughtUp) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => panic!("the old owner must be fenced off, got {other:?}"),
        }
    }
    step_until(&mut second, 5).await;
    let rows = seen(&db).await;
    assert_eq!(rows.len(), 11);
    assert_eq!(rows.iter().filter(|(_, w)| w == "first").count(), 6);
    assert_eq!(rows.iter().filter(|(_, w)| w == "second").count(), 5);
    // And it cannot take the lease back while the new owner holds it.
    assert!(!first.acquire().await.unwrap());
}

#[tokio::test]
async fn a_killed_runner_resumes_from_its_checkpoint_without_applying_twice() {
    let (db, store) = setup().await;
    append(&store, 10, json!({"n": 1})).await;
    let before_death = {
        let mut doomed = Runner::new(
            store.clone(),
            Arc::new(Seen { writer: "doomed" }),
            settings("node-1"),
        );
        assert!(doomed.acquire().await.unwrap());
        // A few batches (how many events each holds depends on what the feed's horizon lets
        // through at that moment), then the process dies without a word.
        step_until(&mut doomed, 8).await
    };
    append(&store, 3, json!({"n": 2})).await;
    // The same node restarts (same owner id): it takes its lease again under a new generation.
    let mut restarted = Runner::new(
        store.clone(),
        Arc::new(Seen {
            writer: "restarted",
        }),
        settings("node-1"),
    );
    assert!(restarted.acquire().await.unwrap());
    let rest = 13 - before_death;
    assert_eq!(step_until(&mut restarted, rest).await, rest);
    assert_eq!(restarted.step().await.unwrap(), Status::CaughtUp);
    let rows = seen(&db).await;
    assert_eq!(rows.len(), 13, "each event exactly once");
    assert_eq!(
        rows.iter().filter(|(_, w)| w == "doomed").count(),
        before_death
    );
    assert_eq!(rows.iter().filter(|(_, w)| w == "restarted").count(), rest);
}

#[tokio::test]
async fn a_failing_event_stops_the_projection_there_and_is_not_skipped() {
    let (db, store) = setup().await;
    append(&store, 2, json!({"n": 1})).await;
    append(&store, 1, json!({"poison": true})).await;
    append(&store, 2, json!({"n": 3})).await;
    let mut runner = Runner::new(store.clone(), Arc::new(Seen { writer: "a" }), settings("a"));
    assert!(runner.acquire().await.unwrap());

    let deadline = Instant::now() + Duration::from_secs(60);
    let failed = loop {
        match runner.step().await {
            Ok(_) => {
                assert!(Instant::now() < deadline, "never reached the poison event");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => break e,
        }
    };
    let ProjectionError::Failed { event_id, .. } = failed else {
        panic!("expected a failure, got {failed:?}");
    };
    assert_eq!(seen(&db).await.len(), 2, "the events before it are applied");
    let client = db.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT failed_event, events FROM projection_checkpoints WHERE name = 'seen'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<Uuid>>(0), Some(event_id));
    assert_eq!(row.get::<_, i64>(1), 2);
    // Trying again fails on the same event: it is never skipped.
    match runner.step().await {
        Err(ProjectionError::Failed {
            event_id: again, ..
        }) => assert_eq!(again, event_id),
        other => panic!("expected the same failure, got {other:?}"),
    }
    assert_eq!(seen(&db).await.len(), 2);
}

#[tokio::test]
async fn the_run_loop_follows_new_appends_and_stops_when_told() {
    let (db, store) = setup().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = Runner::new(
        store.clone(),
        Arc::new(Seen { writer: "loop" }),
        settings("loop"),
    );
    let running = tokio::spawn(runner.run(stopped, returns_projections::WorkerBoard::default()));
    append(&store, 7, json!({"n": 1})).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    while seen(&db).await.len() < 7 {
        assert!(Instant::now() < deadline, "the loop did not catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(seen(&db).await.len(), 7);
}
