//! Commands on a return: one struct per action of docs/api.md's action table, plus opening the return
//! and the scheduler's `ApplyDeadline`. Values are already parsed into domain types; checks that
//! need the return's state (amounts against what was paid, evidence for a refusal...) happen in
//! `decide` and come back as field errors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{LineId, OrderId, ReturnId, Sku};
use crate::methods::MethodRequest;
use crate::money::MinorUnits;
use crate::order::ItemRequest;
use crate::rma::Rma;
use crate::taxonomy::{Evidence, Grade, Reason, Resolution};

use super::vocab::{
    Action, CarrierStatus, DeadlineKind, DecisionOutcome, ExceptionRule, FundedBy, OfferKind,
    PayoutMethod,
};

/// `POST /v1/returns`. The caller chooses the return id and draws the RMA (see `rma`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenReturn {
    pub return_id: ReturnId,
    pub rma: Rma,
    pub order_id: OrderId,
    pub items: Vec<ItemRequest>,
    pub reason: Reason,
    #[serde(default)]
    pub description: Option<String>,
    pub resolution: Resolution,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// How the item is to go back (the policy's default method when absent).
    #[serde(default)]
    pub return_method: Option<MethodRequest>,
    /// Drawn by the service, used when the method is a relay point.
    #[serde(default)]
    pub drop_off_code: String,
}

/// A prepaid label the seller provides when accepting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLabel {
    pub carrier: String,
    pub tracking_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptReturn {
    #[serde(default)]
    pub label: Option<ReturnLabel>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// The buyer keeps the item and the refund is due at once.
    #[serde(default)]
    pub returnless: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclineReturn {
    pub reason_text: String,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeOffer {
    pub kind: OfferKind,
    #[serde(default)]
    pub amount_minor: Option<MinorUnits>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptOffer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclineOffer;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipReturn {
    pub carrier: String,
    pub tracking_number: String,
}

/// Tracking news from the platform; `at` is when the carrier saw it happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierUpdate {
    pub status: CarrierStatus,
    pub at: DateTime<Utc>,
}

/// The seller confirms receipt; `received_at` defaults to now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveReturn {
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectReturn {
    pub grade: Grade,
    pub refund_amount_minor: MinorUnits,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The platform reports that a refund was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRefund {
    pub amount_minor: MinorUnits,
    pub method: PayoutMethod,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalateReturn {
    pub reason_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawReturn;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMessage {
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddEvidence {
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantException {
    pub rule: ExceptionRule,
    pub note: String,
}

/// An operator takes the dispute (assigns it to themself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignDispute;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideDispute {
    pub outcome: DecisionOutcome,
    pub refund_amount_minor: MinorUnits,
    #[serde(default)]
    pub return_required: bool,
    #[serde(default)]
    pub funded_by: Option<FundedBy>,
    pub rationale: String,
    /// The recommendation shown to the operator, attached by the service (never by the caller).
    #[serde(default)]
    pub recommendation: Option<super::events::RecommendationShown>,
}

/// The buyer rates how the return was handled, once, after it closed (docs/product.md,
/// "Satisfaction"): `score` from 1 (very unhappy) to 5 (very happy), and an optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateReturn {
    pub score: u8,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The buyer chooses (or changes) how the item goes back, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChooseMethod {
    pub method: MethodRequest,
    /// Drawn by the service, used when the method is a relay point.
    #[serde(default)]
    pub drop_off_code: String,
}

/// One line of a replacement: by default the returned line again, possibly another SKU (another
/// size or colour) of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementItem {
    pub line_id: LineId,
    pub sku: Sku,
    pub quantity: u32,
}

/// The seller ships the replacement of an exchange; `items` default to the returned items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipReplacement {
    #[serde(default)]
    pub items: Option<Vec<ReplacementItem>>,
    pub carrier: String,
    pub tracking_number: String,
}

/// The seller cannot send a replacement: the exchange falls back to a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutOfStock;

/// The party an operator's decision went against asks for it to be looked at again, once, with
/// new evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealDecision {
    pub reason_text: String,
    pub evidence: Vec<Evidence>,
}

/// The scheduler reports that a deadline it knows of fell due. Idempotent: a deadline that is no
/// longer running with this `due_at`, or not yet due, yields no events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyDeadline {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnCommand {
    Open(OpenReturn),
    Accept(AcceptReturn),
    Decline(DeclineReturn),
    Offer(MakeOffer),
    AcceptOffer(AcceptOffer),
    DeclineOffer(DeclineOffer),
    Ship(ShipReturn),
    CarrierUpdate(CarrierUpdate),
    Receive(ReceiveReturn),
    Inspect(InspectReturn),
    Refund(IssueRefund),
    Escalate(EscalateReturn),
    Withdraw(WithdrawReturn),
    PostMessage(PostMessage),
    AddEvidence(AddEvidence),
    GrantException(GrantException),
    Assign(AssignDispute),
    Decide(DecideDispute),
    Rate(RateReturn),
    ChooseMethod(ChooseMethod),
    ShipReplacement(ShipReplacement),
    OutOfStock(OutOfStock),
    Appeal(AppealDecision),
    ApplyDeadline(ApplyDeadline),
}

impl ReturnCommand {
    pub fn action(&self) -> Action {
        match self {
            ReturnCommand::Open(_) => Action::Open,
            ReturnCommand::Accept(_) => Action::Accept,
            ReturnCommand::Decline(_) => Action::Decline,
            ReturnCommand::Offer(_) => Action::Offer,
            ReturnCommand::AcceptOffer(_) => Action::AcceptOffer,
            ReturnCommand::DeclineOffer(_) => Action::DeclineOffer,
            ReturnCommand::Ship(_) => Action::Ship,
            ReturnCommand::CarrierUpdate(_) => Action::CarrierUpdate,
            ReturnCommand::Receive(_) => Action::Receive,
            ReturnCommand::Inspect(_) => Action::Inspect,
            ReturnCommand::Refund(_) => Action::Refund,
            ReturnCommand::Escalate(_) => Action::Escalate,
            ReturnCommand::Withdraw(_) => Action::Withdraw,
            ReturnCommand::PostMessage(_) => Action::Messages,
            ReturnCommand::AddEvidence(_) => Action::Evidence,
            ReturnCommand::GrantException(_) => Action::GrantException,
            ReturnCommand::Assign(_) => Action::Assign,
            ReturnCommand::Decide(_) => Action::Decide,
            ReturnCommand::Rate(_) => Action::Rate,
            ReturnCommand::ChooseMethod(_) => Action::ChooseMethod,
            ReturnCommand::ShipReplacement(_) => Action::ShipReplacement,
            ReturnCommand::OutOfStock(_) => Action::OutOfStock,
            ReturnCommand::Appeal(_) => Action::Appeal,
            ReturnCommand::ApplyDeadline(_) => Action::ApplyDeadline,
        }
    }
}
