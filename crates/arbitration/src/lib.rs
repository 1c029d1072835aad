//! Arbitration of disputes and detection of abusive return patterns.
//!
//! This crate will own the recommendation rules for escalated returns (a pure, deterministic
//! function of a case's history, its policy evaluation and the parties' abuse state, each reason
//! naming the events it rests on) and the abuse signals per buyer and per seller with their
//! thresholds. Like `returns-domain` it performs no I/O; a thin runner in the service feeds it.
//!
//! Status: the crate has its place in the dependency graph; its rules arrive with the arbitration
//! work (see docs/architecture.md).

pub use returns_domain as domain;
