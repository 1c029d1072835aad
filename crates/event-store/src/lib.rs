//! The PostgreSQL event log of the returns service.
//!
//! This crate owns the `events` table and everything that touches it: appending with optimistic
//! concurrency (all or nothing, enforced by the database), idempotent re-appends, reading one
//! stream, following the global feed without ever skipping a committed event, upcasting older
//! event schemas on read, and applying the schema migrations of `migrations/`.
//!
//! It knows nothing of returns: events are a type name, a schema version and JSON. See
//! `docs/event-store.md` for the schema, the append path and how gap-free catch-up works.
//!
//! Invariants: an event, once committed, is never changed or removed (the database refuses it);
//! an append writes all of its events or none; two appends that expect the same stream version
//! never both succeed.

mod db;
mod error;
mod migrate;
mod model;
mod store;
mod upcast;

pub use db::{pool, with_database, PoolSettings};
pub use deadpool_postgres::{Client, GenericClient, Pool, PoolError, Transaction};
pub use error::{Result, StoreError};
pub use migrate::{applied_version, latest_version, migrate};
pub use model::{
    ActorRef, AppendResult, ExpectedVersion, FeedPosition, Metadata, NewEvent, RecordedEvent,
};
pub use store::{
    append_on, append_statement, is_append_conflict, EventStore, FeedReader, MAX_EVENTS_PER_APPEND,
};
pub use upcast::{UpcastFn, Upcasters};
