//! Read models of the returns service, built by folding the event log.
//!
//! This crate will own every table that is derived from events (per-return views, lists per buyer
//! and seller, the operator queue, the deadline schedule, analytics) together with the runner that
//! feeds them from the global feed of `returns-event-store` with checkpoints, and their rebuilds.
//! It holds no source of truth: any of its tables can be dropped and rebuilt from the log.
//!
//! Status: the crate has its place in the dependency graph; the runner and the read models arrive
//! with the lifecycle and projection work (see docs/architecture.md).

pub use returns_event_store::{FeedPosition, RecordedEvent};
