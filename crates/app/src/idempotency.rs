//! `Idempotency-Key`: the first answer to a request is stored with the command's own transaction,
//! and a retry by the same caller with the same key and body gets it back without running again.

use returns_domain::Actor;
use returns_event_store::GenericClient;

use crate::error::AppError;

/// How long an answer is kept (API.md: 24 hours).
pub const RETENTION_HOURS: i64 = 24;

/// A key as sent by a caller, with a digest of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// Any stable digest of method, path and body.
    pub request_hash: String,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Claims `key` for `caller` inside the command's transaction. `Ok(None)`: this request runs and
/// its answer is stored with [`store`]; `Ok(Some(_))`: a finished earlier request's answer. A
/// concurrent request with the same key waits here until the first one commits or rolls back.
pub(crate) async fn claim<C: GenericClient + Sync>(
    tx: &C,
    caller: &Actor,
    key: &IdempotencyKey,
) -> Result<Option<StoredResponse>, AppError> {
    let role = caller.role.as_str();
    let claimed = tx
        .query_opt(
            "INSERT INTO idempotency_keys (caller_role, caller_id, key, request_hash) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (caller_role, caller_id, key) DO UPDATE \
                 SET request_hash = EXCLUDED.request_hash, status = NULL, body = NULL, \
                     created_at = now() \
                 WHERE idempotency_keys.created_at < now() - make_interval(hours => $5) \
             RETURNING 1",
            &[
                &role,
                &caller.id,
                &key.key,
                &key.request_hash,
                &(RETENTION_HOURS as i32),
            ],
        )
        .await?;
    if claimed.is_some() {
        return Ok(None);
    }
    let row = tx
        .query_one(
            "SELECT request_hash, status, body FROM idempotency_keys \
             WHERE caller_role = $1 AND caller_id = $2 AND key = $3",
            &[&role, &caller.id, &key.key],
        )
        .await?;
    let hash: String = row.try_get(0)?;
    if hash != key.request_hash {
        return Err(AppError::IdempotencyKeyReused);
    }
    let status: Option<i32> = row.try_get(1)?;
    let body: Option<Vec<u8>> = row.try_get(2)?;
    match (status, body) {
        (Some(status), Some(body)) => Ok(Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(200),
            body,
        })),
        // Claimed by a request whose transaction committed without an answer: cannot happen,
        // since the answer is stored before commit.
        _ => Err(AppError::Internal(
            "idempotency record without an answer".into(),
        )),
    }
}

/// Stores the answer of the request that claimed `key`.
pub(crate) async fn store<C: GenericClient + Sync>(
    tx: &C,
    caller: &Actor,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<(), AppError> {
    tx.execute(
        "UPDATE idempotency_keys SET status = $4, body = $5 \
         WHERE caller_role = $1 AND caller_id = $2 AND key = $3",
        &[
            &caller.role.as_str(),
            &caller.id,
            &key.key,
            &i32::from(response.status),
            &response.body,
        ],
    )
    .await?;
    Ok(())
}
