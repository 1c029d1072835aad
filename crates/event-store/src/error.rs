//! Failures of the store, kept apart by kind so that callers can answer each correctly.

use thiserror::Error;
use tokio_postgres::error::SqlState;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The stream is not at the expected version; nothing was written.
    #[error("stream {stream_id} is at version {actual}, not {expected}")]
    Conflict {
        stream_id: String,
        expected: String,
        actual: u64,
    },
    /// Some of the given event ids are already stored, but not as this same append.
    #[error("event ids already used by another append")]
    EventIdReused,
    /// The append was empty or malformed.
    #[error("invalid append: {0}")]
    Invalid(String),
    /// A stored event could not be brought to the current schema version.
    #[error("cannot upcast {event_type} v{schema_version}: {reason}")]
    Upcast {
        event_type: String,
        schema_version: u32,
        reason: String,
    },
    /// The database cannot be reached or the pool gave no connection in time: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {}", describe(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// A database error as logs show it: the SQLSTATE and the server's message (not its `detail`,
/// which may quote the values of a row), or the client's own description.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

impl StoreError {
    /// True for failures where retrying the same operation later may succeed: the database could
    /// not be reached or went away, is shutting down or starting, has no connection slot left, is
    /// read-only (a standby), or gave up on a statement or a lock after its timeout.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => {
                e.is_closed()
                    || e.code().is_none_or(|code| {
                        let code = code.code();
                        code.starts_with("08")
                            || matches!(
                                code,
                                "57P01" | "57P02" | "57P03" | "53300" | "57014" | "55P03" | "25006"
                            )
                    })
            }
            _ => false,
        }
    }

    /// True when the database broke a deadlock or a serialization conflict by aborting this
    /// transaction: nothing was kept, and running it again may succeed at once.
    pub fn is_contention(&self) -> bool {
        match self {
            StoreError::Database(e) => e.code().is_some_and(|c| {
                c == &SqlState::T_R_DEADLOCK_DETECTED || c == &SqlState::T_R_SERIALIZATION_FAILURE
            }),
            _ => false,
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::from(e),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
