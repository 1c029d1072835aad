//! The SQL of the command-side views (`migrations/V2__command_side_views.sql`).

use chrono::{DateTime, Utc};
use returns_domain::ReturnCase;
use returns_event_store::GenericClient;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::error::AppError;

pub(crate) fn return_stream(id: Uuid) -> String {
    format!("return-{id}")
}

pub(crate) fn order_stream(order_id: &str) -> String {
    format!("order-{order_id}")
}

pub(crate) fn policy_stream(seller_id: &str) -> String {
    format!("policy-{seller_id}")
}

/// The aggregate's current state and version, optionally locking the row until the transaction
/// ends so that concurrent commands on one aggregate queue instead of racing.
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

pub(crate) async fn save<T: Serialize + Sync + std::fmt::Debug, C: GenericClient + Sync>(
    client: &C,
    stream_id: &str,
    version: u64,
    state: &T,
) -> Result<(), AppError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO snapshots (stream_id, version, state) VALUES ($1, $2, $3) \
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state",
        )
        .await?;
    let version = i64::try_from(version).map_err(|_| AppError::Internal("version".into()))?;
    client
        .execute(&stmt, &[&stream_id, &version, &Json(state)])
        .await?;
    Ok(())
}

/// Keeps the list row and the running deadlines of a return in step with its state.
pub(crate) async fn index_return<C: GenericClient + Sync>(
    client: &C,
    case: &ReturnCase,
) -> Result<(), AppError> {
    let id: Uuid = *case.id.as_uuid();
    let stmt = client
        .prepare_cached(
            "INSERT INTO return_index (return_id, rma, order_id, buyer_id, seller_id, status, \
                                       created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (return_id) DO UPDATE SET status = EXCLUDED.status, \
                                                   updated_at = EXCLUDED.updated_at",
        )
        .await?;
    let indexed = client
        .execute(
            &stmt,
            &[
                &id,
                &case.rma.as_str(),
                &case.order_id.as_str(),
                &case.buyer_id.as_str(),
                &case.seller_id.as_str(),
                &case.status.as_str(),
                &case.created_at,
                &case.updated_at,
            ],
        )
        .await;
    if let Err(e) = indexed {
        let rma_taken = e
            .as_db_error()
            .is_some_and(|db| db.constraint() == Some("return_index_rma_key"));
        return Err(if rma_taken {
            AppError::RmaTaken
        } else {
            e.into()
        });
    }
    let running = case.deadlines.running();
    let kinds: Vec<&str> = running.iter().map(|(k, _)| k.as_str()).collect();
    let due: Vec<DateTime<Utc>> = running.iter().map(|(_, at)| *at).collect();
    let stmt = client
        .prepare_cached(
            "WITH gone AS (DELETE FROM deadlines WHERE return_id = $1 AND kind <> ALL($2::text[])) \
             INSERT INTO deadlines (return_id, kind, due_at) \
             SELECT $1, k, d FROM unnest($2::text[], $3::timestamptz[]) AS t(k, d) \
             ON CONFLICT (return_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at",
        )
        .await?;
    client.execute(&stmt, &[&id, &kinds, &due]).await?;
    Ok(())
}
