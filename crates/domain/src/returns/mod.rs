//! The return case aggregate (one stream per return): commands, events, state, and the rules that
//! take a return from request to closing.
//!
//! Entry points: [`decide`] (command + state + context → events for the return and its order),
//! [`evolve`] / [`ReturnCase::apply`] (event → state), and [`allowed_actions`] (what a caller may
//! do now, for the view).
//!
//! The life of a return (statuses as in docs/api.md):
//!
//! ```text
//! requested ─accept──────────────► authorized ─ship/carrier─► in_transit ─carrier/receive─► delivered
//!    │ ├─accept (returnless)─────► refund_pending ◄──────────────────────inspect (refund > 0)─┘ │
//!    │ ├─offer─► offer_pending ─accept-offer─► refund_pending | authorized (exchange)           │
//!    │ │              └─decline-offer / expiry─► requested                                       │
//!    │ └─decline─► declined ◄────────────────────────────────────────inspect (refund 0)──────────┘
//!    │               └─escalate (within escalate_by) ─► escalated ─decide─► refund_pending | authorized | closed
//!    └─ (auto-approval, returnless refund at opening)
//! refund_pending ─refund─► closed (refunded | partially_refunded)
//! delivered ─inspect (exchange, good grade)─► exchange_pending ─ship-replacement─► replacement_shipped
//!    exchange_pending ─out-of-stock / replacement_ship_by─► refund_pending
//!    replacement_shipped ─carrier delivered─► closed (exchanged)
//! ```
//!
//! Deadlines and what missing them does (applied by the scheduler through `ApplyDeadline`, always
//! recorded as `return.deadline_missed` first):
//! - `seller_response_due` (requested; the policy's business days): escalated, or authorised when
//!   the policy says `auto_accept` and the return is eligible and not a `not_received` claim.
//! - `offer_expires` (offer_pending; 3 days): the offer expires, the request stands again with a
//!   fresh seller response deadline.
//! - `ship_by` (authorized, by mail; the policy's days): closed as `lapsed`; none when waived.
//! - `drop_off_by` (authorized, to a relay point or a store; the policy's days): closed as `lapsed`.
//! - `pickup_by` (authorized, a carrier pickup; the slot's end): the method falls back to mail
//!   with a fresh `ship_by` (the carrier missed it, not the buyer).
//! - `inspect_by` (delivered; the policy's business days from arrival): the requested amount falls
//!   due (an exchange goes ahead: closed as `exchanged`).
//! - `refund_due` (refund_pending): escalated to an operator.
//! - `replacement_ship_by` (exchange_pending; 3 business days): the exchange falls back to a
//!   refund of the requested amount.
//! - `escalate_by` (declined; 7 days): closed as `denied`.
//! - `decision_due` (escalated; 2 business days): reported only; the dispute is marked overdue.

mod commands;
mod decide;
mod events;
mod rules;
mod state;
mod vocab;
mod words;

pub use commands::*;
pub use decide::{
    decide, intake_for, Context, Decision, APPEAL_WINDOW_DAYS, DECISION_BUSINESS_DAYS,
    ESCALATION_WINDOW_DAYS, MAX_EVIDENCE_PER_RETURN, MAX_MESSAGES_PER_RETURN, OFFER_VALID_DAYS,
    RATING_WINDOW_DAYS, REFUND_PROCESSING_DAYS, REPLACEMENT_SHIP_BUSINESS_DAYS,
};
pub use events::*;
pub use rules::{
    actor_for_parties, allowed_actions, can_see, dispute_for_parties, evidence_for_parties,
    exceptions_for_parties, not_now, party_blocked, role_may, roles_for, sees_operator_data,
    OPERATOR_SHOWN_TO_PARTIES,
};
pub use state::*;
pub use vocab::*;
pub use words::{amount, next_step, next_step_in, Language};
