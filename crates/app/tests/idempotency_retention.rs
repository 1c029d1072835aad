//! Stored idempotent answers are kept 24 hours, then swept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use returns_app::{Service, SystemClock};
use returns_testkit::TestDb;

#[tokio::test]
async fn answers_older_than_a_day_are_purged_and_newer_ones_kept() {
    let db = TestDb::new().await;
    let service = Service::new(db.store(), Arc::new(SystemClock));
    let client = db.pool().get().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO idempotency_keys (caller_role, caller_id, key, request_hash, status, body, created_at) VALUES \
             ('buyer', 'b1', 'old', 'h', 200, '\\x7b7d', now() - interval '25 hours'), \
             ('buyer', 'b1', 'new', 'h', 200, '\\x7b7d', now() - interval '23 hours')",
        )
        .await
        .unwrap();
    assert_eq!(service.purge_idempotency_keys(100).await.unwrap(), 1);
    assert_eq!(service.purge_idempotency_keys(100).await.unwrap(), 0);
    let left: Vec<String> = client
        .query("SELECT key FROM idempotency_keys", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["new"]);
}
