//! Failures of a command or query, by kind; `returns-api` maps each to one problem+json answer.

use returns_domain::Rejection;
use returns_event_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    /// The domain refused the command (403, 404, 409 or 422 by the rejection's kind).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// No such thing, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// `If-Match` named another version, or a concurrent command got there first.
    #[error("the resource is at version {current}")]
    VersionConflict { current: u64 },
    /// The same idempotency key came with a different request.
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    /// A freshly drawn RMA number was already taken; the service draws another (this surfaces
    /// only if several draws in a row collide).
    #[error("could not draw an unused RMA number")]
    RmaTaken,
    /// Concurrent commands kept aborting each other (deadlock or serialization failure) after the
    /// executor ran the command again: nothing was written; retry.
    #[error("concurrent commands on the same resources kept colliding")]
    Contended,
    /// The database cannot be reached: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bug or a broken invariant; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A short, stable name of the failure, for metrics and records (never personal data).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Rejected(r) => r.code(),
            AppError::NotFound => "not_found",
            AppError::VersionConflict { .. } => "version_conflict",
            AppError::IdempotencyKeyReused => "idempotency_key_reused",
            AppError::Contended => "contended",
            AppError::Unavailable(_) => "unavailable",
            AppError::RmaTaken | AppError::Internal(_) => "error",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { actual, .. } => AppError::VersionConflict { current: actual },
            e if e.is_contention() => AppError::Contended,
            e if e.is_transient() => AppError::Unavailable(e.to_string()),
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl From<tokio_postgres::Error> for AppError {
    fn from(e: tokio_postgres::Error) -> Self {
        AppError::from(StoreError::from(e))
    }
}

impl From<returns_event_store::PoolError> for AppError {
    fn from(e: returns_event_store::PoolError) -> Self {
        AppError::from(StoreError::from(e))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("stored state does not decode: {e}"))
    }
}
