//! The pure core of the returns service.
//!
//! This crate owns the business model: return cases, orders and seller return policies expressed as
//! commands, events and state (`decide` and `evolve`), the policy and legal-floor rules, and the
//! computation of deadlines. It performs no I/O, holds no clock and spawns nothing: every outside
//! fact (the current time, the order, the policy in force, abuse flags) is passed in by the caller,
//! so that a history always replays to the same state.
//!
//! # Layout
//!
//! - [`ids`], [`money`], [`actor`], [`taxonomy`]: parsed value types (the only way in is `parse`).
//! - [`calendar`]: calendar and business-day arithmetic for deadlines.
//! - [`law`]: jurisdictions and the EU legal floor.
//! - [`methods`]: return methods (mail, relay point, pickup, store) and their terms.
//! - [`policy`]: seller return policies and the policy aggregate (stream per seller).
//! - [`evaluation`]: eligibility of a return under policy and law, and which rules applied.
//! - [`rma`]: human-readable RMA codes.
//! - [`order`]: the order aggregate (stream per order), which also caps quantities and refunds
//!   across the order's returns.
//! - [`returns`]: the return case aggregate (stream per return).
//! - [`credit`]: the store-credit ledger (stream per buyer), credited by refunds paid as store
//!   credit.
//! - [`whatif`]: a seller's past returns judged again under a proposed policy.
//! - [`error`]: rejections and decoding errors.
//!
//! # Invariants
//!
//! - `decide` never panics on any input and yields either events or a `Rejection`, never both.
//! - `evolve` is total: it never fails, so any stored history replays.
//! - Refunds never exceed what was paid for the items of a return, nor, over all returns, for an
//!   order line; quantities in open or refunded returns never exceed what was bought.

pub mod macros;

pub mod actor;
pub mod calendar;
pub mod credit;
pub mod error;
pub mod evaluation;
pub mod holidays;
pub mod ids;
pub mod law;
pub mod methods;
pub mod money;
pub mod order;
pub mod policy;
pub mod returns;
pub mod rma;
pub mod taxonomy;
pub mod whatif;

pub use actor::{Actor, Role};
pub use error::{DecodeError, FieldError, Rejection};
pub use evaluation::{evaluate, evaluate_with_exceptions, PolicyEvaluation};
pub use ids::{BuyerId, LineId, OrderId, ParseError, ReturnId, SellerId, Sku};
pub use law::Jurisdiction;
pub use macros::StoredEvent;
pub use money::{Currency, MinorUnits, Money, MoneyError};
pub use order::{Order, OrderCommand, OrderEvent};
pub use policy::{PolicyEvent, PolicyState, SellerPolicy};
pub use returns::{
    allowed_actions, decide, evolve, Context, Decision, ReturnCase, ReturnCommand, ReturnEvent,
};
pub use rma::Rma;
pub use taxonomy::{Category, Evidence, EvidenceKind, Grade, Reason, Resolution};
