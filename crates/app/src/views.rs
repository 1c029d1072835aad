//! The SQL of the command-side views (`migrations/V2__command_side_views.sql`): stream names, the
//! unlocked snapshot read of queries, and the return's list row and deadlines.

use chrono::{DateTime, Utc};
use returns_domain::ReturnCase;
use returns_event_store::GenericClient;
use serde::de::DeserializeOwned;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::error::AppError;
use crate::executor::Sql;

pub(crate) fn return_stream(id: Uuid) -> String {
    format!("return-{id}")
}

pub(crate) fn order_stream(order_id: &str) -> String {
    format!("order-{order_id}")
}

pub(crate) fn policy_stream(seller_id: &str) -> String {
    format!("policy-{seller_id}")
}

/// A buyer's store-credit ledger.
pub(crate) fn credit_stream(buyer_id: &str) -> String {
    format!("credit-{buyer_id}")
}

/// An aggregate's current state and version, for a query (commands load theirs through the
/// executor), optionally locking the row until the transaction ends.
pub(crate) async fn load<T: DeserializeOwned, C: GenericClient + Sync>(
    client: &C,
    stream_id: &str,
    lock: bool,
) -> Result<Option<(T, u64)>, AppError> {
    let sql = if lock {
        "SELECT state, version FROM snapshots WHERE stream_id = $1 FOR UPDATE"
    } else {
        "SELECT state, version FROM snapshots WHERE stream_id = $1"
    };
    let stmt = client.prepare_cached(sql).await?;
    let Some(row) = client.query_opt(&stmt, &[&stream_id]).await? else {
        return Ok(None);
    };
    let Json(state): Json<T> = row
        .try_get(0)
        .map_err(|e| AppError::Internal(format!("snapshot of {stream_id}: {e}")))?;
    let version: i64 = row.try_get(1)?;
    Ok(Some((state, u64::try_from(version).unwrap_or(0))))
}

/// The list row and the running deadlines of a return, brought in step with its state.
pub(crate) fn index_return(case: &ReturnCase) -> Vec<Sql> {
    let id: Uuid = *case.id.as_uuid();
    let running = case.deadlines.running();
    let kinds: Vec<String> = running.iter().map(|(k, _)| k.as_str().to_owned()).collect();
    let due: Vec<DateTime<Utc>> = running.iter().map(|(_, at)| *at).collect();
    vec![
        Sql::new(
            "INSERT INTO return_index (return_id, rma, order_id, buyer_id, seller_id, status, \
                                       created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (return_id) DO UPDATE SET status = EXCLUDED.status, \
                                                   updated_at = EXCLUDED.updated_at",
            vec![
                Box::new(id),
                Box::new(case.rma.as_str().to_owned()),
                Box::new(case.order_id.as_str().to_owned()),
                Box::new(case.buyer_id.as_str().to_owned()),
                Box::new(case.seller_id.as_str().to_owned()),
                Box::new(case.status.as_str().to_owned()),
                Box::new(case.created_at),
                Box::new(case.updated_at),
            ],
        ),
        Sql::new(
            "WITH gone AS (DELETE FROM deadlines WHERE return_id = $1 AND kind <> ALL($2::text[])) \
             INSERT INTO deadlines (return_id, kind, due_at) \
             SELECT $1, k, d FROM unnest($2::text[], $3::timestamptz[]) AS t(k, d) \
             ON CONFLICT (return_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at, \
                 attempts = CASE WHEN deadlines.due_at = EXCLUDED.due_at \
                                 THEN deadlines.attempts ELSE 0 END, \
                 retry_at = CASE WHEN deadlines.due_at = EXCLUDED.due_at \
                                 THEN deadlines.retry_at END",
            vec![Box::new(id), Box::new(kinds), Box::new(due)],
        ),
    ]
}
