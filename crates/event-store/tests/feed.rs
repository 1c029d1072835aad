//! The global feed: every committed event exactly once, in a consistent order, never skipping an
//! event whose transaction commits after a later one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use returns_event_store::{EventStore, ExpectedVersion, FeedPosition, NewEvent, RecordedEvent};
use returns_testkit::TestDb;
use support::{events, meta, read_until};
use uuid::Uuid;

#[tokio::test]
async fn reads_the_whole_log_in_batches_in_append_order() {
    let db = TestDb::new().await;
    let store = db.store();
    for s in 0..7u64 {
        store
            .append(
                &format!("s{s}"),
                ExpectedVersion::NoStream,
                &events(0..s + 1),
                &meta(),
            )
            .await
            .unwrap();
    }
    let mut reader = store.feed(FeedPosition::START, 4);
    let all = read_until(&mut reader, 28).await;
    assert_eq!(all.len(), 28);
    let streams: Vec<_> = all
        .iter()
        .map(|e| (e.stream_id.as_str(), e.version))
        .collect();
    let mut expected = Vec::new();
    for s in 0..7u64 {
        for v in 1..=s + 1 {
            expected.push((format!("s{s}"), v));
        }
    }
    let expected: Vec<_> = expected.iter().map(|(s, v)| (s.as_str(), *v)).collect();
    assert_eq!(streams, expected);
    assert!(all
        .windows(2)
        .all(|w| w[0].feed_position() < w[1].feed_position()));
    assert_eq!(reader.position(), all[27].feed_position());
    assert!(reader.next_batch().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_event_that_commits_after_a_later_one_is_not_skipped() {
    let db = TestDb::new().await;
    let store = db.store();
    let mut first = db.pool().get().await.unwrap();
    let mut second = db.pool().get().await.unwrap();
    let mut reader = store.feed(FeedPosition::START, 100);

    // A takes the smaller position and stays open; B takes a larger one and commits first.
    let a = first.transaction().await.unwrap();
    let a_write = store
        .append_in(&a, "a", ExpectedVersion::NoStream, &events(0..1), &meta())
        .await
        .unwrap();
    let b = second.transaction().await.unwrap();
    let b_write = store
        .append_in(&b, "b", ExpectedVersion::NoStream, &events(0..1), &meta())
        .await
        .unwrap();
    assert!(a_write.positions[0] < b_write.positions[0]);
    b.commit().await.unwrap();

    // While A is open nothing past it may be handed out, or A would be skipped.
    assert!(reader.next_batch().await.unwrap().is_empty());
    a.commit().await.unwrap();
    let got = read_until(&mut reader, 2).await;
    let streams: Vec<_> = got.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["a", "b"]);
}

#[tokio::test]
async fn an_older_transaction_with_a_larger_position_is_not_skipped() {
    let db = TestDb::new().await;
    let store = db.store();
    let mut older = db.pool().get().await.unwrap();
    let mut newer = db.pool().get().await.unwrap();
    let mut reader = store.feed(FeedPosition::START, 100);

    // The older transaction gets its id first but appends last, so its position is the larger.
    let old = older.transaction().await.unwrap();
    old.query_one("SELECT pg_current_xact_id()", &[])
        .await
        .unwrap();
    let new = newer.transaction().await.unwrap();
    let new_write = store
        .append_in(
            &new,
            "new",
            ExpectedVersion::NoStream,
            &events(0..1),
            &meta(),
        )
        .await
        .unwrap();
    let old_write = store
        .append_in(
            &old,
            "old",
            ExpectedVersion::NoStream,
            &events(0..1),
            &meta(),
        )
        .await
        .unwrap();
    assert!(new_write.positions[0] < old_write.positions[0]);
    assert!(old_write.last.tx_id < new_write.last.tx_id);
    new.commit().await.unwrap();
    assert!(reader.next_batch().await.unwrap().is_empty());
    old.commit().await.unwrap();

    let got = read_until(&mut reader, 2).await;
    let streams: Vec<_> = got.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["old", "new"]);
}

#[tokio::test]
async fn rolled_back_appends_never_appear() {
    let db = TestDb::new().await;
    let store = db.store();
    let mut client = db.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    store
        .append_in(
            &tx,
            "gone",
            ExpectedVersion::NoStream,
            &events(0..3),
            &meta(),
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    store
        .append("kept", ExpectedVersion::NoStream, &events(0..1), &meta())
        .await
        .unwrap();
    let mut reader = store.feed(FeedPosition::START, 100);
    let got = read_until(&mut reader, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].stream_id, "kept");
    assert!(reader.next_batch().await.unwrap().is_empty());
}

/// One writer's plan: a list of appends, each to one of the shared streams.
#[derive(Debug, Clone)]
struct Append {
    stream: u8,
    events: u8,
    rollback: bool,
    /// Read the version first and expect it exactly, or append without a check.
    exact: bool,
    /// Statements run inside the transaction before commit, to hold it open for a while.
    hold: u8,
}

fn append_strategy() -> impl Strategy<Value = Append> {
    (
        0u8..5,
        1u8..4,
        prop::bool::weighted(0.25),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(|(stream, events, rollback, exact, hold)| Append {
            stream,
            events,
            rollback,
            exact,
            hold,
        })
}

fn workload() -> impl Strategy<Value = Vec<Vec<Append>>> {
    prop::collection::vec(prop::collection::vec(append_strategy(), 1..10), 2..7)
}

/// Runs one writer; returns the ids of the events it committed.
async fn write(
    store: EventStore,
    db: returns_event_store::Pool,
    case: Uuid,
    plan: Vec<Append>,
) -> Vec<Uuid> {
    let mut client = db.get().await.unwrap();
    let mut committed = Vec::new();
    for step in plan {
        let stream = format!("{case}-{}", step.stream);
        let batch: Vec<NewEvent> = events(0..u64::from(step.events));
        let tx = client.transaction().await.unwrap();
        let expected = if step.exact {
            let row = tx
                .query_one(
                    "SELECT coalesce(max(version), 0)::bigint FROM events WHERE stream_id = $1",
                    &[&stream],
                )
                .await
                .unwrap();
            ExpectedVersion::from_version(row.get::<_, i64>(0) as u64)
        } else {
            ExpectedVersion::Any
        };
        let appended = store
            .append_in(&tx, &stream, expected, &batch, &meta())
            .await;
        for _ in 0..step.hold {
            tokio::task::yield_now().await;
            // A round trip inside the transaction keeps it open while others commit.
            let _ = tx.query_one("SELECT 1", &[]).await;
        }
        match appended {
            Ok(_) if !step.rollback => {
                if tx.commit().await.is_ok() {
                    committed.extend(batch.iter().map(|e| e.event_id));
                }
            }
            _ => {
                let _ = tx.rollback().await;
            }
        }
    }
    committed
}

#[test]
fn the_feed_sees_every_committed_event_exactly_once_under_concurrent_writers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(TestDb::new());
    let store = db.store();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&workload(), |plans| {
            rt.block_on(async {
                let case = Uuid::new_v4();
                // Start where the log ends now: earlier cases' events are not this case's.
                let start = {
                    let mut tail = store.feed(FeedPosition::START, 10_000);
                    loop {
                        if tail.next_batch().await.unwrap().is_empty() {
                            break tail.position();
                        }
                    }
                };
                let writers: Vec<_> = plans
                    .into_iter()
                    .map(|plan| tokio::spawn(write(store.clone(), db.pool().clone(), case, plan)))
                    .collect();

                // Follow the feed while the writers run.
                let mut reader = store.feed(start, 7);
                let mut seen: Vec<RecordedEvent> = Vec::new();
                while writers.iter().any(|w| !w.is_finished()) {
                    seen.extend(reader.next_batch().await.unwrap());
                    tokio::task::yield_now().await;
                }
                let mut committed = HashSet::new();
                for w in writers {
                    committed.extend(w.await.unwrap());
                }
                let remaining = committed.len().saturating_sub(seen.len());
                seen.extend(read_until(&mut reader, remaining).await);
                seen.extend(reader.next_batch().await.unwrap());

                // Exactly the committed events, each once.
                let ids: Vec<Uuid> = seen.iter().map(|e| e.event_id).collect();
                let unique: HashSet<Uuid> = ids.iter().copied().collect();
                prop_assert_eq!(unique.len(), ids.len(), "an event was delivered twice");
                prop_assert_eq!(&unique, &committed);

                // A consistent order: strictly increasing feed positions, the same as a fresh read.
                prop_assert!(seen
                    .windows(2)
                    .all(|w| w[0].feed_position() < w[1].feed_position()));
                let mut again = store.feed(start, 1000);
                let fresh = read_until(&mut again, seen.len()).await;
                let fresh_ids: Vec<Uuid> = fresh.iter().map(|e| e.event_id).collect();
                prop_assert_eq!(&fresh_ids, &ids);

                // Per stream: versions 1, 2, 3, ... in feed order, without gaps.
                let mut per_stream: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
                for e in &seen {
                    per_stream
                        .entry(e.stream_id.as_str())
                        .or_default()
                        .push(e.version);
                }
                for (stream, versions) in per_stream {
                    let expected: Vec<u64> = (1..=versions.len() as u64).collect();
                    prop_assert_eq!(versions, expected, "stream {}", stream);
                }
                Ok(())
            })
        })
        .unwrap();
}
