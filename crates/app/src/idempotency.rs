//! `Idempotency-Key`: the first answer to a request is stored with the command's own transaction,
//! and a retry by the same caller with the same key and body gets it back without running again.

use returns_domain::Actor;
use tokio_postgres::Row;

use crate::error::AppError;
use crate::executor::Sql;

/// How long an answer is kept (docs/api.md: 24 hours).
pub const RETENTION_HOURS: i64 = 24;

/// A key as sent by a caller, with a digest of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// Any stable digest of method, path and body.
    pub request_hash: String,
}

/// A stored answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The version of the resource shown, sent as `ETag: "<version>"`.
    pub etag: Option<u64>,
}

/// Claims the key in the command's transaction; always answers one row, `request_hash, status,
/// body, etag`. A new key (or one whose answer is past its retention) is taken for this request:
/// the row comes back with this request's hash and no answer yet. Otherwise the row is the earlier
/// request's, unchanged: its hash, and its answer once it committed (a concurrent request with the
/// same key waits on this statement until the first one commits or rolls back).
const CLAIM_SQL: &str = "INSERT INTO idempotency_keys (caller_role, caller_id, key, request_hash) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (caller_role, caller_id, key) DO UPDATE SET \
         request_hash = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $5) \
             THEN EXCLUDED.request_hash ELSE idempotency_keys.request_hash END, \
         status = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $5) \
             THEN NULL ELSE idempotency_keys.status END, \
         body = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $5) \
             THEN NULL ELSE idempotency_keys.body END, \
         etag = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $5) \
             THEN NULL ELSE idempotency_keys.etag END, \
         created_at = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $5) \
             THEN now() ELSE idempotency_keys.created_at END \
     RETURNING request_hash, status, body, etag";

/// The claim of `key` for `caller`, sent with the command's loads.
pub(crate) fn claim_statement(caller: &Actor, key: &IdempotencyKey) -> Sql {
    Sql::new(
        CLAIM_SQL,
        vec![
            Box::new(caller.role.as_str()),
            Box::new(caller.id.clone()),
            Box::new(key.key.clone()),
            Box::new(key.request_hash.clone()),
            Box::new(RETENTION_HOURS as i32),
        ],
    )
}

/// What the claim's row means: `Ok(None)`, this request runs and its answer is stored with
/// [`store_statement`]; `Ok(Some(_))`, the answer of a finished earlier request with this key.
pub(crate) fn claimed(
    rows: &[Row],
    key: &IdempotencyKey,
) -> Result<Option<StoredResponse>, AppError> {
    let row = rows
        .first()
        .ok_or_else(|| AppError::Internal("the idempotency claim answered no row".into()))?;
    let hash: String = row.try_get(0)?;
    if hash != key.request_hash {
        return Err(AppError::IdempotencyKeyReused);
    }
    let status: Option<i32> = row.try_get(1)?;
    let body: Option<Vec<u8>> = row.try_get(2)?;
    let etag: Option<i64> = row.try_get(3)?;
    Ok(match (status, body) {
        (Some(status), Some(body)) => Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(200),
            body,
            etag: etag.and_then(|v| u64::try_from(v).ok()),
        }),
        // This request's own claim: an answer is stored before every commit, so a committed claim
        // always has one.
        _ => None,
    })
}

const STORE_SQL: &str = "UPDATE idempotency_keys SET status = $4, body = $5, etag = $6 \
     WHERE caller_role = $1 AND caller_id = $2 AND key = $3";

/// Stores the answer of the request that claimed `key`, in the batch before its commit.
pub(crate) fn store_statement(
    caller: &Actor,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Sql {
    Sql::new(
        STORE_SQL,
        vec![
            Box::new(caller.role.as_str()),
            Box::new(caller.id.clone()),
            Box::new(key.key.clone()),
            Box::new(i32::from(response.status)),
            Box::new(response.body.clone()),
            Box::new(response.etag.and_then(|v| i64::try_from(v).ok())),
        ],
    )
}
