//! Events of the return stream: what happened to a return, in the past tense, each with a stable
//! stored type name `return.*` and schema version 1.
//!
//! Every payload is self-contained (it carries the deadlines and amounts `decide` computed, and
//! `at`, the service time of the command), so `evolve` needs nothing but the events and a history
//! replays to the same state forever, whatever the policy or the calendar later become.
//!
//! One command may yield several events: the act, then its consequence (e.g. `return.inspected`
//! then `return.refund_approved`). Every closing ends with `return.closed` carrying the outcome.
//!
//! Personal data: free text written by people (descriptions, messages, reason texts, notes,
//! rationales, evidence notes and URLs) is in the payloads; `free_text_fields` names those fields so
//! the store can keep them out of the immutable log (e.g. in an erasable side table).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::evaluation::PolicyEvaluation;
use crate::ids::{BuyerId, LineId, OrderId, ReturnId, SellerId, Sku};
use crate::law::Jurisdiction;
use crate::macros::stored_events;
use crate::methods::ReturnMethod;
use crate::money::{Currency, MinorUnits};
use crate::rma::Rma;
use crate::taxonomy::{Category, Evidence, Grade, Reason, Resolution};

use super::commands::{ReplacementItem, ReturnLabel};
use super::vocab::{
    ApprovalSource, ArrivalSource, CarrierStatus, DeadlineKind, DecisionOutcome, DeclineStage,
    EscalationTrigger, ExceptionRule, ExchangeFailure, FundedBy, OfferKind, OnArrival, Outcome,
    PayoutMethod, RefundBasis,
};

/// An item of a return, with the order line's facts copied in so the return stands on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItem {
    pub line_id: LineId,
    pub sku: Sku,
    pub title: String,
    pub category: Category,
    pub quantity: u32,
    pub unit_price_minor: MinorUnits,
}

/// The buyer opened a return. `seller_response_due` is set when the request waits for the seller
/// (not when it was approved automatically: then `return.authorized` or `return.refund_approved`
/// follows at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequested {
    pub return_id: ReturnId,
    pub rma: Rma,
    pub order_id: OrderId,
    pub buyer_id: BuyerId,
    pub seller_id: SellerId,
    pub currency: Currency,
    pub jurisdiction: Jurisdiction,
    pub items: Vec<ReturnItem>,
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub resolution: Resolution,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    pub evaluation: PolicyEvaluation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_response_due: Option<DateTime<Utc>>,
    /// How the item is to go back (absent in requests recorded before methods: mail).
    #[serde(default)]
    pub return_method: ReturnMethod,
    pub at: DateTime<Utc>,
}

/// The buyer chose how the item goes back. `evaluation` is the return judged again with the
/// method's terms (absent when unchanged); `deadline` is the shipping deadline it starts when the
/// return is authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnMethodChosen {
    pub method: ReturnMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<PolicyEvaluation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<MethodDeadline>,
    pub at: DateTime<Utc>,
}

/// The deadline by which the item is to be sent, dropped off or picked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDeadline {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
}

/// The item is to come back to the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAuthorized {
    pub source: ApprovalSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ReturnLabel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// The due time of the shipping deadline; absent when waived by a `ship_by` exception or
    /// when the item is already on its way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by: Option<DateTime<Utc>>,
    /// Which deadline `ship_by` is, by the return method: `ship_by` (mail, and when absent),
    /// `drop_off_by` (relay point, store) or `pickup_by` (the pickup slot's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_deadline: Option<DeadlineKind>,
    pub on_arrival: OnArrival,
    pub at: DateTime<Utc>,
}

/// The seller said no, when answering the request or at inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnDeclined {
    pub stage: DeclineStage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    pub escalate_by: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// `amount_minor` is the amount offered (absent for an exchange); for store credit, `credit_minor`
/// is what the buyer would receive with the policy's bonus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferMade {
    pub kind: OfferKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<MinorUnits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_minor: Option<MinorUnits>,
    pub expires_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferAccepted {
    pub kind: OfferKind,
    pub at: DateTime<Utc>,
}

/// The buyer declined the offer: the request stands and the seller must answer again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferDeclined {
    pub seller_response_due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The offer lapsed unanswered: as if declined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferExpired {
    pub seller_response_due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnShipped {
    pub carrier: String,
    pub tracking_number: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentInTransit {
    /// When the carrier saw the parcel moving.
    pub in_transit_at: DateTime<Utc>,
    /// What the carrier saw: `in_transit` (also when absent), `dropped_off` or `picked_up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<CarrierStatus>,
    pub at: DateTime<Utc>,
}

/// The carrier reported a problem on the way (`at_carrier`: when it saw it); recorded only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentException {
    pub at_carrier: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The carrier lost the return parcel (`lost_at`: when it said so). An escalation follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLost {
    pub lost_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The carrier brought the parcel back to the buyer, who is to send it again by `deadline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentReturnedToSender {
    pub returned_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<MethodDeadline>,
    pub at: DateTime<Utc>,
}

/// The item reached the seller, by the carrier's report or the seller's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemArrived {
    pub source: ArrivalSource,
    pub arrived_at: DateTime<Utc>,
    /// Absent when no inspection is due (an operator already decided the refund).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect_by: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInspected {
    pub grade: Grade,
    pub refund_amount_minor: MinorUnits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    pub at: DateTime<Utc>,
}

/// A refund fell due: the platform must pay `amount_minor` by `refund_due`. `principal_minor` pays
/// back the goods; `bonus_minor` is a store-credit bonus on top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundApproved {
    pub amount_minor: MinorUnits,
    pub principal_minor: MinorUnits,
    pub bonus_minor: MinorUnits,
    pub method: PayoutMethod,
    /// The buyer keeps the item (returnless refund or an accepted offer).
    pub keep_item: bool,
    pub basis: RefundBasis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funded_by: Option<FundedBy>,
    pub refund_due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundIssued {
    pub amount_minor: MinorUnits,
    pub principal_minor: MinorUnits,
    pub bonus_minor: MinorUnits,
    pub method: PayoutMethod,
    pub reference: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnEscalated {
    pub trigger: EscalationTrigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
    pub decision_due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnWithdrawn {
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    pub author: Actor,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAdded {
    pub added_by: Actor,
    pub evidence: Evidence,
    pub at: DateTime<Utc>,
}

/// A goodwill exception waived a policy rule. `evaluation` is the return re-evaluated with it;
/// `reopened_seller_response_due` is set when it reopened a declined request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionGranted {
    pub rule: ExceptionRule,
    pub note: String,
    pub granted_by: Actor,
    pub evaluation: PolicyEvaluation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_seller_response_due: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeAssigned {
    pub assignee: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeDecided {
    pub outcome: DecisionOutcome,
    pub refund_amount_minor: MinorUnits,
    pub return_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funded_by: Option<FundedBy>,
    pub rationale: String,
    pub decided_by: String,
    pub at: DateTime<Utc>,
    /// Absent in decisions recorded before recommendations were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<RecommendationShown>,
    /// On an appeal: whether this decision reverses the first one's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overturns: Option<bool>,
}

/// The recommendation an operator was shown when deciding a dispute, and whether the decision
/// followed it: recorded with the decision so that arbitration can be audited from the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationShown {
    pub outcome: DecisionOutcome,
    pub refund_amount_minor: MinorUnits,
    pub return_required: bool,
    pub funded_by: FundedBy,
    /// The rules the recommendation rested on, in order.
    pub rules: Vec<String>,
    pub followed: bool,
}

/// The buyer rated the closed return (the comment is personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRated {
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// The exchange goes ahead (the returned item passed inspection, or was not inspected in time):
/// the seller is to ship the replacement by `replacement_ship_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeApproved {
    pub replacement_ship_by: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The seller shipped the replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementShipped {
    pub items: Vec<ReplacementItem>,
    pub carrier: String,
    pub tracking_number: String,
    pub at: DateTime<Utc>,
}

/// The carrier delivered the replacement to the buyer (`return.closed` as `exchanged` follows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementDelivered {
    pub delivered_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The carrier lost the replacement on its way to the buyer (`lost_at`: when it said so). An
/// escalation follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementLost {
    pub lost_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The exchange could not go ahead; the refund of the requested amount follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeFailed {
    pub cause: ExchangeFailure,
    pub at: DateTime<Utc>,
}

/// A party appealed the operator's decision: the case is back with the operators, for one other
/// than the first to decide by `decision_due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAppealed {
    pub appealed_by: Actor,
    pub reason_text: String,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    pub decision_due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A deadline passed unmet; its consequence follows as further events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMissed {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnClosed {
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
}

stored_events! {
    /// Events of the return stream (one stream per return).
    pub enum ReturnEvent {
        ReturnRequested(ReturnRequested) = "return.requested",
        ReturnAuthorized(ReturnAuthorized) = "return.authorized",
        ReturnDeclined(ReturnDeclined) = "return.declined",
        OfferMade(OfferMade) = "return.offer_made",
        OfferAccepted(OfferAccepted) = "return.offer_accepted",
        OfferDeclined(OfferDeclined) = "return.offer_declined",
        OfferExpired(OfferExpired) = "return.offer_expired",
        ReturnShipped(ReturnShipped) = "return.shipped",
        ShipmentInTransit(ShipmentInTransit) = "return.shipment_in_transit",
        ItemArrived(ItemArrived) = "return.item_arrived",
        ItemInspected(ItemInspected) = "return.inspected",
        RefundApproved(RefundApproved) = "return.refund_approved",
        RefundIssued(RefundIssued) = "return.refunded",
        ReturnEscalated(ReturnEscalated) = "return.escalated",
        ReturnWithdrawn(ReturnWithdrawn) = "return.withdrawn",
        MessagePosted(MessagePosted) = "return.message_posted",
        EvidenceAdded(EvidenceAdded) = "return.evidence_added",
        ExceptionGranted(ExceptionGranted) = "return.exception_granted",
        DisputeAssigned(DisputeAssigned) = "return.dispute_assigned",
        DisputeDecided(DisputeDecided) = "return.dispute_decided",
        DeadlineMissed(DeadlineMissed) = "return.deadline_missed",
        ReturnClosed(ReturnClosed) = "return.closed",
        ReturnRated(ReturnRated) = "return.rated",
        ReturnMethodChosen(ReturnMethodChosen) = "return.method_chosen",
        ExchangeApproved(ExchangeApproved) = "return.exchange_approved",
        ReplacementShipped(ReplacementShipped) = "return.replacement_shipped",
        ReplacementDelivered(ReplacementDelivered) = "return.replacement_delivered",
        ExchangeFailed(ExchangeFailed) = "return.exchange_failed",
        ShipmentException(ShipmentException) = "return.shipment_exception",
        ShipmentLost(ShipmentLost) = "return.shipment_lost",
        ShipmentReturnedToSender(ShipmentReturnedToSender) = "return.shipment_returned_to_sender",
        ReturnAppealed(ReturnAppealed) = "return.appealed",
        ReplacementLost(ReplacementLost) = "return.replacement_lost",
    }
}

impl ReturnEvent {
    /// The service time at which the event happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            ReturnEvent::ReturnRequested(e) => e.at,
            ReturnEvent::ReturnAuthorized(e) => e.at,
            ReturnEvent::ReturnDeclined(e) => e.at,
            ReturnEvent::OfferMade(e) => e.at,
            ReturnEvent::OfferAccepted(e) => e.at,
            ReturnEvent::OfferDeclined(e) => e.at,
            ReturnEvent::OfferExpired(e) => e.at,
            ReturnEvent::ReturnShipped(e) => e.at,
            ReturnEvent::ShipmentInTransit(e) => e.at,
            ReturnEvent::ItemArrived(e) => e.at,
            ReturnEvent::ItemInspected(e) => e.at,
            ReturnEvent::RefundApproved(e) => e.at,
            ReturnEvent::RefundIssued(e) => e.at,
            ReturnEvent::ReturnEscalated(e) => e.at,
            ReturnEvent::ReturnWithdrawn(e) => e.at,
            ReturnEvent::MessagePosted(e) => e.at,
            ReturnEvent::EvidenceAdded(e) => e.at,
            ReturnEvent::ExceptionGranted(e) => e.at,
            ReturnEvent::DisputeAssigned(e) => e.at,
            ReturnEvent::DisputeDecided(e) => e.at,
            ReturnEvent::DeadlineMissed(e) => e.at,
            ReturnEvent::ReturnClosed(e) => e.at,
            ReturnEvent::ReturnRated(e) => e.at,
            ReturnEvent::ReturnMethodChosen(e) => e.at,
            ReturnEvent::ExchangeApproved(e) => e.at,
            ReturnEvent::ReplacementShipped(e) => e.at,
            ReturnEvent::ReplacementDelivered(e) => e.at,
            ReturnEvent::ExchangeFailed(e) => e.at,
            ReturnEvent::ShipmentException(e) => e.at,
            ReturnEvent::ShipmentLost(e) => e.at,
            ReturnEvent::ShipmentReturnedToSender(e) => e.at,
            ReturnEvent::ReturnAppealed(e) => e.at,
            ReturnEvent::ReplacementLost(e) => e.at,
        }
    }

    /// Decodes an event as the log holds it, with its free text taken out (`null` in each place
    /// of [`ReturnEvent::free_text_fields`]), for readers that never show that text (projections):
    /// a missing evidence list reads as empty, a missing piece of evidence as an empty text note
    /// and a missing required text as empty; optional texts stay absent.
    pub fn from_log(
        event_type: &str,
        schema_version: u32,
        mut data: serde_json::Value,
    ) -> Result<Self, crate::error::DecodeError> {
        if let serde_json::Value::Object(map) = &mut data {
            for (key, value) in map.iter_mut() {
                if !value.is_null() {
                    continue;
                }
                match key.as_str() {
                    "evidence" if event_type == "return.evidence_added" => {
                        *value = serde_json::json!({"kind": "text"});
                    }
                    "evidence" => *value = serde_json::Value::Array(Vec::new()),
                    "body" | "note" | "rationale" | "carrier" | "tracking_number" | "reference" => {
                        *value = serde_json::Value::String(String::new());
                    }
                    // Required only in an appeal (optional elsewhere, where it stays absent).
                    "reason_text" if event_type == "return.appealed" => {
                        *value = serde_json::Value::String(String::new());
                    }
                    _ => {}
                }
            }
        }
        Self::from_stored(event_type, schema_version, data)
    }

    /// Top-level payload fields that may hold personal data: free text written by a person, and
    /// what identifies a parcel or a payment.
    pub fn free_text_fields(&self) -> &'static [&'static str] {
        match self {
            ReturnEvent::ReturnRequested(_) => &["description", "evidence"],
            ReturnEvent::ReturnAuthorized(_) => &["instructions", "label"],
            ReturnEvent::ReturnDeclined(_) => &["reason_text", "evidence"],
            ReturnEvent::ItemInspected(_) => &["notes", "evidence"],
            ReturnEvent::ReturnEscalated(_) => &["reason_text"],
            ReturnEvent::MessagePosted(_) => &["body"],
            ReturnEvent::EvidenceAdded(_) => &["evidence"],
            ReturnEvent::ExceptionGranted(_) => &["note"],
            ReturnEvent::DisputeDecided(_) => &["rationale"],
            ReturnEvent::ReturnRated(_) => &["comment"],
            ReturnEvent::ReturnAppealed(_) => &["reason_text", "evidence"],
            // Where a parcel went and how it is found, and the payment's reference, point at a
            // person as surely as their words do.
            ReturnEvent::ReturnShipped(_) | ReturnEvent::ReplacementShipped(_) => {
                &["carrier", "tracking_number"]
            }
            ReturnEvent::RefundIssued(_) => &["reference"],
            ReturnEvent::OfferMade(_)
            | ReturnEvent::OfferAccepted(_)
            | ReturnEvent::OfferDeclined(_)
            | ReturnEvent::OfferExpired(_)
            | ReturnEvent::ShipmentInTransit(_)
            | ReturnEvent::ItemArrived(_)
            | ReturnEvent::RefundApproved(_)
            | ReturnEvent::ReturnWithdrawn(_)
            | ReturnEvent::DisputeAssigned(_)
            | ReturnEvent::DeadlineMissed(_)
            | ReturnEvent::ReturnClosed(_)
            | ReturnEvent::ReturnMethodChosen(_)
            | ReturnEvent::ExchangeApproved(_)
            | ReturnEvent::ReplacementDelivered(_)
            | ReturnEvent::ExchangeFailed(_)
            | ReturnEvent::ShipmentException(_)
            | ReturnEvent::ShipmentLost(_)
            | ReturnEvent::ShipmentReturnedToSender(_)
            | ReturnEvent::ReplacementLost(_) => &[],
        }
    }
}
