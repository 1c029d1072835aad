//! The pure core of the returns service.
//!
//! This crate owns the business model: return cases, orders and seller return policies expressed as
//! commands, events and state (`decide` and `evolve`), the policy and legal-floor rules, and the
//! computation of deadlines. It performs no I/O, holds no clock and spawns nothing: every outside
//! fact (the current time, the order, the policy in force, abuse flags) is passed in by the caller,
//! so that a history always replays to the same state.
