//! Appending: atomicity, optimistic concurrency, idempotency, immutability, payloads, upcasting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures_util::future::join_all;
use returns_event_store::{
    EventStore, ExpectedVersion, FeedPosition, NewEvent, StoreError, Upcasters,
};
use returns_testkit::TestDb;
use serde_json::json;
use support::{event, events, meta, read_until};

#[tokio::test]
async fn appends_and_reads_back_a_stream_with_its_metadata() {
    let db = TestDb::new().await;
    let store = db.store();
    let m = meta();
    let written = store
        .append("s-1", ExpectedVersion::NoStream, &events(0..3), &m)
        .await
        .unwrap();
    assert_eq!(written.stream_version, 3);
    assert_eq!(written.positions.len(), 3);
    assert!(written.positions.windows(2).all(|w| w[0] < w[1]));
    assert!(!written.duplicate);

    let more = store
        .append("s-1", ExpectedVersion::Exact(3), &events(3..5), &m)
        .await
        .unwrap();
    assert_eq!(more.stream_version, 5);

    let read = store.read_stream("s-1", 1, 100).await.unwrap();
    assert_eq!(read.len(), 5);
    for (i, e) in read.iter().enumerate() {
        assert_eq!(e.version, i as u64 + 1);
        assert_eq!(e.json().unwrap(), json!({ "n": i }));
        assert_eq!(e.event_type, "test.happened");
        assert_eq!(e.schema_version, 1);
        assert_eq!(e.stream_id, "s-1");
        assert_eq!(e.metadata.actor, m.actor);
        assert_eq!(e.metadata.correlation_id, m.correlation_id);
        assert_eq!(e.metadata.causation_id, m.causation_id);
        // Stored with microsecond precision.
        let drift = (e.metadata.occurred_at - m.occurred_at)
            .num_microseconds()
            .unwrap();
        assert!(drift.abs() <= 1, "{drift}");
    }
    assert_eq!(read[4].feed_position(), more.last);

    let tail = store.read_stream("s-1", 4, 100).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert_eq!(store.stream_version("s-1").await.unwrap(), 5);
    assert_eq!(store.stream_version("nothing").await.unwrap(), 0);
    assert!(store
        .read_stream("nothing", 1, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_wrong_expected_version_writes_nothing_and_says_where_the_stream_is() {
    let db = TestDb::new().await;
    let store = db.store();
    store
        .append("s", ExpectedVersion::NoStream, &events(0..2), &meta())
        .await
        .unwrap();

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(1),
        ExpectedVersion::Exact(3),
        ExpectedVersion::Exact(40),
    ] {
        let err = store
            .append("s", expected, &events(10..13), &meta())
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict { actual, .. } => assert_eq!(actual, 2, "{expected:?}"),
            other => panic!("{expected:?}: expected a conflict, got {other:?}"),
        }
    }
    let err = store
        .append("new", ExpectedVersion::Exact(1), &events(0..1), &meta())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 0, .. }),
        "{err:?}"
    );
    assert_eq!(store.stream_version("s").await.unwrap(), 2);
    assert_eq!(store.stream_version("new").await.unwrap(), 0);
}

#[tokio::test]
async fn of_many_appenders_expecting_the_same_version_exactly_one_wins() {
    let db = TestDb::new().await;
    let store = db.store();
    store
        .append(
            "contested",
            ExpectedVersion::NoStream,
            &events(0..1),
            &meta(),
        )
        .await
        .unwrap();

    let mut version = 1;
    for round in 0..3u64 {
        let attempts = (0..24).map(|i| {
            let store = store.clone();
            async move {
                store
                    .append(
                        "contested",
                        ExpectedVersion::Exact(version),
                        &events(i * 10..i * 10 + 2),
                        &meta(),
                    )
                    .await
            }
        });
        let results = join_all(attempts).await;
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
            .count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert_eq!(conflicts, 23, "round {round}");
        // The winner wrote two events; the stream moves on by two, no more.
        version += 2;
        assert_eq!(store.stream_version("contested").await.unwrap(), version);
    }
}

#[tokio::test]
async fn only_one_of_many_creators_of_a_new_stream_wins() {
    let db = TestDb::new().await;
    let store = db.store();
    let attempts = (0..16).map(|i| {
        let store = store.clone();
        async move {
            store
                .append(
                    "fresh",
                    ExpectedVersion::NoStream,
                    &events(i..i + 1),
                    &meta(),
                )
                .await
        }
    });
    let results = join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(store.read_stream("fresh", 1, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn appends_without_a_check_from_many_tasks_all_land_in_order() {
    let db = TestDb::new().await;
    let store = db.store();
    let tasks = (0..8u64).map(|t| {
        let store = store.clone();
        async move {
            for k in 0..10u64 {
                store
                    .append(
                        "busy",
                        ExpectedVersion::Any,
                        &events(t * 100 + k..t * 100 + k + 1),
                        &meta(),
                    )
                    .await
                    .unwrap();
            }
        }
    });
    join_all(tasks).await;
    let read = store.read_stream("busy", 1, 1000).await.unwrap();
    assert_eq!(read.len(), 80);
    assert!(read
        .iter()
        .enumerate()
        .all(|(i, e)| e.version == i as u64 + 1));
}

#[tokio::test]
async fn re_appending_the_same_events_is_a_no_op_that_reports_the_first_result() {
    let db = TestDb::new().await;
    let store = db.store();
    let batch = events(0..3);
    let first = store
        .append("idem", ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap();
    // A retry of the same request: same ids, same expectation.
    let again = store
        .append("idem", ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.positions, first.positions);
    assert_eq!(again.stream_version, first.stream_version);
    assert_eq!(again.last, first.last);

    // The stream moved on in between; the retry is still recognised.
    store
        .append("idem", ExpectedVersion::Exact(3), &events(3..4), &meta())
        .await
        .unwrap();
    let late = store
        .append("idem", ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap();
    assert!(late.duplicate);
    assert_eq!(late.positions, first.positions);
    let any = store
        .append("idem", ExpectedVersion::Any, &batch, &meta())
        .await
        .unwrap();
    assert!(any.duplicate);
    assert_eq!(store.read_stream("idem", 1, 100).await.unwrap().len(), 4);

    // The same ids elsewhere, or mixed with new ones, are refused rather than half-written.
    let err = store
        .append("other", ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EventIdReused), "{err:?}");
    let mut mixed = batch.clone();
    mixed.push(event(9));
    let err = store
        .append("idem", ExpectedVersion::Exact(4), &mixed, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EventIdReused), "{err:?}");
    assert_eq!(store.read_stream("idem", 1, 100).await.unwrap().len(), 4);
    assert!(store.read_stream("other", 1, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_retries_of_one_append_store_it_once() {
    let db = TestDb::new().await;
    let store = db.store();
    let batch = events(0..2);
    let retries = (0..12).map(|_| {
        let store = store.clone();
        let batch = batch.clone();
        async move {
            store
                .append("retried", ExpectedVersion::NoStream, &batch, &meta())
                .await
        }
    });
    let results = join_all(retries).await;
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert!(results.iter().all(|r| r.positions == results[0].positions));
    assert_eq!(store.read_stream("retried", 1, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_append_writes_none_of_its_events() {
    let db = TestDb::new().await;
    let store = db.store();
    store
        .append("atomic", ExpectedVersion::NoStream, &events(0..1), &meta())
        .await
        .unwrap();
    // The second of these ids is already stored: the whole append must fail.
    let existing = store.read_stream("atomic", 1, 1).await.unwrap()[0].event_id;
    let mut batch = events(5..8);
    batch[1].event_id = existing;
    assert!(store
        .append("atomic", ExpectedVersion::Exact(1), &batch, &meta())
        .await
        .is_err());
    assert_eq!(store.stream_version("atomic").await.unwrap(), 1);
    let client = db.pool().get().await.unwrap();
    let rows: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn empty_and_malformed_appends_are_refused() {
    let db = TestDb::new().await;
    let store = db.store();
    let empty: Vec<NewEvent> = Vec::new();
    assert!(matches!(
        store
            .append("s", ExpectedVersion::NoStream, &empty, &meta())
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .append("s", ExpectedVersion::Exact(0), &events(0..1), &meta())
            .await,
        Err(StoreError::Invalid(_))
    ));
    let nameless = vec![NewEvent::new("", 1, json!({}))];
    assert!(matches!(
        store
            .append("s", ExpectedVersion::NoStream, &nameless, &meta())
            .await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn stored_events_cannot_be_changed_or_removed() {
    let db = TestDb::new().await;
    let store = db.store();
    store
        .append("fixed", ExpectedVersion::NoStream, &events(0..2), &meta())
        .await
        .unwrap();
    let client = db.pool().get().await.unwrap();
    for sql in [
        "UPDATE events SET data = '{}'::jsonb",
        "UPDATE events SET version = version + 10",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = client.batch_execute(sql).await.unwrap_err();
        assert!(
            err.to_string().contains("immutable") || format!("{err:?}").contains("immutable"),
            "{sql}: {err:?}"
        );
    }
    assert_eq!(store.read_stream("fixed", 1, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn large_and_unicode_payloads_round_trip_exactly() {
    let db = TestDb::new().await;
    let store = db.store();
    let text = "Zurücksendung – 退货 – возврат – إرجاع – 🙂📦 – \u{0301}e\u{200d} \\ \" '";
    let big = "x".repeat(2 * 1024 * 1024);
    let batch = vec![
        NewEvent::new(
            "test.unicode",
            1,
            json!({ "text": text, "keys": { "ключ": "值" } }),
        ),
        NewEvent::new(
            "test.large",
            1,
            json!({ "blob": big, "nested": [[[1, 2.5, null, true]]] }),
        ),
        NewEvent::new(
            "test.numbers",
            1,
            json!({ "max": i64::MAX, "min": i64::MIN, "f": 0.1 }),
        ),
    ];
    let stream = "ström-流-🙂";
    store
        .append(stream, ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap();
    let read = store.read_stream(stream, 1, 10).await.unwrap();
    assert_eq!(read.len(), 3);
    for (stored, sent) in read.iter().zip(&batch) {
        assert_eq!(stored.json().unwrap(), sent.data);
        assert_eq!(stored.event_type, sent.event_type);
        assert_eq!(stored.event_id, sent.event_id);
        assert_eq!(stored.stream_id, stream);
    }
}

#[tokio::test]
async fn older_schema_versions_are_upcast_on_every_read() {
    let db = TestDb::new().await;
    // Written by an older release: v1 had `amount` in major units.
    let old = EventStore::new(db.pool().clone());
    old.append(
        "order-1",
        ExpectedVersion::NoStream,
        &[
            NewEvent::new("refund.issued", 1, json!({ "amount": 12 })),
            NewEvent::new("refund.issued", 2, json!({ "amount_minor": 500 })),
            NewEvent::new("note.added", 1, json!({ "text": "unchanged" })),
        ],
        &meta(),
    )
    .await
    .unwrap();

    let upcasters = Upcasters::new()
        .register("refund.issued", 1, |v| {
            let major = v["amount"].as_i64().ok_or("amount missing")?;
            Ok(json!({ "amount_minor": major * 100 }))
        })
        .register("refund.issued", 2, |mut v| {
            v["currency"] = json!("EUR");
            Ok(v)
        });
    let store = EventStore::new(db.pool().clone()).with_upcasters(upcasters);
    let expect = [
        (3, json!({ "amount_minor": 1200, "currency": "EUR" })),
        (3, json!({ "amount_minor": 500, "currency": "EUR" })),
        (1, json!({ "text": "unchanged" })),
    ];
    let from_stream = store.read_stream("order-1", 1, 10).await.unwrap();
    let from_feed = read_until(&mut store.feed(FeedPosition::START, 10), 3).await;
    for read in [from_stream, from_feed] {
        let got: Vec<_> = read
            .iter()
            .map(|e| (e.schema_version, e.json().unwrap()))
            .collect();
        assert_eq!(got, expect);
    }
    // The log itself still holds what was written.
    let raw = old.read_stream("order-1", 1, 1).await.unwrap();
    assert_eq!(
        (raw[0].schema_version, raw[0].json().unwrap()),
        (1, json!({ "amount": 12 }))
    );
}

#[tokio::test]
async fn appends_inside_a_caller_transaction_commit_or_roll_back_with_it() {
    let db = TestDb::new().await;
    let store = db.store();
    let mut client = db.pool().get().await.unwrap();

    let tx = client.transaction().await.unwrap();
    store
        .append_in(
            &tx,
            "tx-stream",
            ExpectedVersion::NoStream,
            &events(0..2),
            &meta(),
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.stream_version("tx-stream").await.unwrap(), 0);

    let tx = client.transaction().await.unwrap();
    let batch = events(0..2);
    store
        .append_in(&tx, "tx-stream", ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.stream_version("tx-stream").await.unwrap(), 2);

    // A conflict inside a transaction is reported; the caller rolls back and can ask whether the
    // append had been made already.
    let tx = client.transaction().await.unwrap();
    let err = store
        .append_in(&tx, "tx-stream", ExpectedVersion::NoStream, &batch, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    tx.rollback().await.unwrap();
    let explained = store
        .explain_collision("tx-stream", ExpectedVersion::NoStream, &batch)
        .await
        .unwrap();
    assert!(explained.duplicate);
    assert_eq!(explained.stream_version, 2);
}
