//! Helpers shared by the store's tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use chrono::Utc;
use returns_event_store::{ActorRef, FeedReader, Metadata, NewEvent, RecordedEvent};
use serde_json::json;
use uuid::Uuid;

pub fn meta() -> Metadata {
    Metadata {
        actor: ActorRef {
            role: "buyer".into(),
            id: "buyer-1".into(),
        },
        correlation_id: Uuid::now_v7(),
        causation_id: Some(Uuid::now_v7()),
        occurred_at: Utc::now(),
    }
}

pub fn event(n: u64) -> NewEvent {
    NewEvent::new("test.happened", 1, json!({ "n": n }))
}

pub fn events(range: std::ops::Range<u64>) -> Vec<NewEvent> {
    range.map(event).collect()
}

/// Reads until `want` events have arrived. Other tests' transactions on the same server hold the
/// horizon back for a moment, so an empty batch means "not yet", within a generous bound.
pub async fn read_until(reader: &mut FeedReader, want: usize) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = Vec::new();
    while got.len() < want {
        let batch = reader.next_batch().await.unwrap();
        if batch.is_empty() {
            assert!(
                Instant::now() < deadline,
                "feed stalled at {} of {want} events",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        got.extend(batch);
    }
    got
}
