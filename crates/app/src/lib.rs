//! Application services of the returns service: the command side.
//!
//! This crate owns the path of a command: load the aggregate's current state (from its snapshot
//! row), look up the outside facts (order, policy in force, the service clock), ask the pure
//! domain to `decide`, and append the resulting events to every stream they concern **in one
//! transaction** together with the views a caller reads back (snapshot, return index, running
//! deadlines, idempotency record). It also owns the service clock.
//!
//! It holds no HTTP and no business rules: rules are `returns-domain`'s, rendering is
//! `returns-api`'s.

mod aggregates;
pub mod clock;
mod credit;
mod error;
mod executor;
mod flags;
mod idempotency;
mod personal;
mod service;
mod views;
mod webhooks;
mod whatif;

pub use aggregates::returns::OpenReturnRequest;
pub use clock::{Clock, SystemClock, TestClock};
pub use credit::CreditPage;
pub use error::AppError;
pub use executor::{Answered, CommandOptions};
pub use flags::{
    operator_only, Flag, FlagEvidenceView, FlagPage, FlagReview, Risk, RiskParty, REVIEW_FLAGS,
};
pub use idempotency::{IdempotencyKey, StoredResponse};
pub use returns_event_store::{ActorRef, RecordedEvent};
pub use returns_projections::{Appeals, Satisfaction, Scores, SellerScores, Summary};
pub use service::{
    Assignee, DisputeFilter, Erasure, EventKinds, EventPage, ReturnFilter, ReturnPage, Service,
};
pub use webhooks::{
    AllowList, Delivery, DeliveryStatus, NewWebhook, Requeue, Subscription, TargetError,
    ALL_RETURN_EVENTS,
};
pub use whatif::{WhatIfPage, WHAT_IF_PAGE};
