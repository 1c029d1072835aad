//! Arbitration of disputes and detection of abusive return patterns: the pure core.
//!
//! This crate owns two things, both pure functions of their arguments (no I/O, no clock, no
//! randomness; a thin runner in the service feeds them from the log and stores what they return):
//!
//! - [`recommend()`]: the recommendation for a disputed return, from the case's history (with the
//!   global positions of its events), its state with the policy and law evaluation, and the
//!   parties' standing. Each reason names its rule and the events it rests on; the same history
//!   always gives the same answer, and [`recommend_at`] recomputes the answer of any past moment.
//! - [`abuse`]: abuse signals per buyer and per seller, folded incrementally from the event feed
//!   into one small row per party and a marketplace baseline, evaluated against configurable
//!   thresholds into flag candidates with their evidence.
//!
//! # Layout
//!
//! - [`recommend`](mod@recommend): rules, precedence and weights, amount, return and funding.
//! - [`abuse::facts`]: what one event means for a party's record.
//! - [`abuse::metrics`]: rolling per-party metrics and the marketplace baseline.
//! - [`abuse::flags`]: thresholds, flag candidates, and when to raise a flag again.
//!
//! # Invariants
//!
//! - A recommended refund never exceeds what was paid for the items of the return
//!   (`items_total_minor`), and a recommended refund is never 0.
//! - An operator's decision is never an input of the recommendation, so showing it again after the
//!   decision shows what the operator saw.
//! - A party below the minimum sample sizes is never flagged; a dismissed flag is not raised again
//!   for the same evidence.

pub mod abuse;
pub mod recommend;

pub use recommend::{
    recommend, recommend_at, seller_flag_weight, ConfirmedFlag, PartyStanding, Reason,
    Recommendation, Rule, ShownRecommendation, Side, USE_DEDUCTION_PERCENT,
};

pub use returns_domain as domain;
