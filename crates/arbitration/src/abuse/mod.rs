//! Abuse signals per buyer and per seller, folded incrementally from the event feed.
//!
//! The pipeline has three pure steps, each small enough for a projection to run per event:
//!
//! 1. [`facts`]: what one event means for abuse. [`return_facts`] turns a return event (with the
//!    case before and after it) into [`Fact`]s such as "buyer B had a return graded empty_box" or
//!    "seller S missed a deadline"; [`order_facts`] counts an order for its buyer and seller.
//! 2. [`metrics`]: a [`PartyMetrics`] row per party and one marketplace [`Baseline`] row, each
//!    updated by recording facts. Counts are kept in day buckets and evidence (return ids) in short
//!    lists, both pruned to the rolling window, so a row stays small and nothing is rescanned.
//! 3. [`flags`]: [`evaluate_flags`] compares a party's metrics at `now` with the baseline and the
//!    configurable [`Thresholds`], and yields [`FlagCandidate`]s with their figures, threshold and
//!    evidence; [`should_raise`] keeps a flag from being raised again while one is open or
//!    confirmed, or after a dismissal for the same evidence.
//!
//! Invariants: no step reads a clock or does I/O; a party below the minimum sample sizes is never
//! flagged; every candidate names the returns it rests on.

pub mod facts;
pub mod flags;
pub mod metrics;
pub mod record;

pub use facts::{
    order_facts, return_facts, CaseFacts, Counter, Fact, Party, PartyRole, ReturnMemo,
};
pub use flags::{
    evaluate_flags, evaluate_flags_discounting, should_raise, ExistingFlag, FlagCandidate,
    FlagKind, FlagStatus, Samples, SignalThreshold, Thresholds, DISCOUNTABLE,
};
pub use metrics::{
    Baseline, EvidenceEntry, PartyMetrics, PeerGroup, RollingCounts, DEFAULT_WINDOW_DAYS,
    MAX_EVIDENCE_PER_COUNTER,
};
pub use record::{
    allowed_verdicts, flag_stream, review, FlagEvidence, FlagRaised, FlagReviewed, ReviewRefused,
    Verdict, FLAG_RAISED, FLAG_REVIEWED, FLAG_SCHEMA_VERSION,
};
