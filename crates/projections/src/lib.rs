//! Read models of the returns service, built by folding the event log.
//!
//! This crate owns the machinery that feeds projections from the global feed of
//! `returns-event-store` ([`runner`]) and, as they arrive, the projections themselves (analytics,
//! webhooks, abuse detection). A projection's tables hold no source of truth: any of them can be
//! dropped and rebuilt from the log. Webhooks are the exception in part: their subscriptions are
//! settings made over the API, and their outbox records what was sent ([`webhooks`] queues,
//! [`dispatch`] sends).
//!
//! Invariants: a projection's writes and its new checkpoint commit in one transaction, so an event
//! is applied exactly once to tables in PostgreSQL; only the current lease holder (checked by its
//! fencing generation in that same transaction) can commit; a projection that fails on an event
//! stops there and records it, it never skips it.

pub mod abuse;
pub mod analytics;
pub mod dispatch;
pub mod rebuild;
pub mod runner;
pub mod summary;
pub mod webhooks;
pub mod workers;

pub use returns_event_store::{FeedPosition, RecordedEvent};
pub use runner::{ApplyError, Projection, ProjectionError, Runner, RunnerSettings, Status};
pub use summary::{
    summary, Appeals, ConfirmedSellerFlag, Satisfaction, Scores, SellerScores, Summary,
};
pub use workers::{Backoff, WorkerBoard, WorkerReport, WorkerState};

/// The return a `return-<uuid>` stream belongs to.
pub(crate) fn return_id_of(stream_id: &str) -> Option<uuid::Uuid> {
    stream_id
        .strip_prefix("return-")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
}
