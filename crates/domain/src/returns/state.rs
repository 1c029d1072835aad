//! The state of a return case, folded from its events by `evolve`.
//!
//! The state holds everything the return view of docs/api.md shows (the caller adds `allowed_actions`
//! for its caller), plus what `decide` needs. `evolve` is total and pure: it trusts the events
//! (they were decided against this very state) and never fails, so replaying a stored history
//! always yields the same state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::evaluation::PolicyEvaluation;
use crate::ids::{BuyerId, OrderId, ReturnId, SellerId};
use crate::law::Jurisdiction;
use crate::methods::ReturnMethod;
use crate::money::{Currency, MinorUnits};
use crate::order::ItemRequest;
use crate::rma::Rma;
use crate::taxonomy::{Evidence, Grade, Reason, Resolution};

use super::commands::{ReplacementItem, ReturnLabel};
use super::events::{ReturnEvent, ReturnItem, ReturnRequested};
use super::vocab::{
    ApprovalSource, ArrivalSource, DeadlineKind, DecisionOutcome, DeclineStage, EscalationTrigger,
    ExceptionRule, ExchangeFailure, FundedBy, OfferKind, OfferStatus, OnArrival, Outcome,
    PayoutMethod, RefundBasis, Status,
};

/// The deadlines running now. Each status has at most one: `seller_response_due` (requested),
/// `offer_expires` (offer_pending), `ship_by`, `drop_off_by` or `pickup_by` by the return method
/// (authorized), `inspect_by` (delivered), `refund_due`
/// (refund_pending), `escalate_by` (declined), `decision_due` (escalated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_response_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_expires: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_off_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_ship_by: Option<DateTime<Utc>>,
}

impl Deadlines {
    /// Only the deadline `kind`, due at `at` (none when `at` is `None`).
    pub fn only(kind: DeadlineKind, at: Option<DateTime<Utc>>) -> Deadlines {
        let mut deadlines = Deadlines::default();
        *deadlines.slot(kind) = at;
        deadlines
    }

    fn slot(&mut self, kind: DeadlineKind) -> &mut Option<DateTime<Utc>> {
        match kind {
            DeadlineKind::SellerResponseDue => &mut self.seller_response_due,
            DeadlineKind::ShipBy => &mut self.ship_by,
            DeadlineKind::InspectBy => &mut self.inspect_by,
            DeadlineKind::RefundDue => &mut self.refund_due,
            DeadlineKind::DecisionDue => &mut self.decision_due,
            DeadlineKind::OfferExpires => &mut self.offer_expires,
            DeadlineKind::EscalateBy => &mut self.escalate_by,
            DeadlineKind::DropOffBy => &mut self.drop_off_by,
            DeadlineKind::PickupBy => &mut self.pickup_by,
            DeadlineKind::ReplacementShipBy => &mut self.replacement_ship_by,
        }
    }

    pub fn get(&self, kind: DeadlineKind) -> Option<DateTime<Utc>> {
        match kind {
            DeadlineKind::SellerResponseDue => self.seller_response_due,
            DeadlineKind::ShipBy => self.ship_by,
            DeadlineKind::InspectBy => self.inspect_by,
            DeadlineKind::RefundDue => self.refund_due,
            DeadlineKind::DecisionDue => self.decision_due,
            DeadlineKind::OfferExpires => self.offer_expires,
            DeadlineKind::EscalateBy => self.escalate_by,
            DeadlineKind::DropOffBy => self.drop_off_by,
            DeadlineKind::PickupBy => self.pickup_by,
            DeadlineKind::ReplacementShipBy => self.replacement_ship_by,
        }
    }

    pub fn clear(&mut self, kind: DeadlineKind) {
        *self.slot(kind) = None;
    }

    /// Every running deadline, for the scheduler.
    pub fn running(&self) -> Vec<(DeadlineKind, DateTime<Utc>)> {
        DeadlineKind::ALL
            .iter()
            .filter_map(|&kind| self.get(kind).map(|at| (kind, at)))
            .collect()
    }
}

/// A deadline that passed unmet (SLA breaches, for analytics and arbitration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedDeadline {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    pub applied_at: DateTime<Utc>,
}

/// The view's `policy` block, and the full evaluation behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub eligible: bool,
    pub auto_approved: bool,
    pub rules: Vec<String>,
    pub evaluation: PolicyEvaluation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub kind: OfferKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<MinorUnits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_minor: Option<MinorUnits>,
    pub expires_at: DateTime<Utc>,
    pub status: OfferStatus,
    pub made_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub source: ApprovalSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    pub authorized_at: DateTime<Utc>,
}

/// The refund the platform owes while the return is `refund_pending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRefund {
    pub amount_minor: MinorUnits,
    pub principal_minor: MinorUnits,
    pub bonus_minor: MinorUnits,
    pub method: PayoutMethod,
    pub keep_item: bool,
    pub basis: RefundBasis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funded_by: Option<FundedBy>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedRefund {
    pub amount_minor: MinorUnits,
    pub principal_minor: MinorUnits,
    pub bonus_minor: MinorUnits,
    pub method: PayoutMethod,
    pub reference: String,
    pub refunded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ReturnLabel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_transit_at: Option<DateTime<Utc>>,
    /// The carrier's first scan of the parcel: proof that the buyer sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// The carrier's latest report of a problem on the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_at: Option<DateTime<Utc>>,
    /// The carrier lost the parcel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<DateTime<Utc>>,
    /// The carrier brought the parcel back to the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_to_sender_at: Option<DateTime<Utc>>,
    /// When the item reached the seller, and who said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_reported_by: Option<ArrivalSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub grade: Grade,
    pub refund_amount_minor: MinorUnits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub evidence: Vec<Evidence>,
    pub inspected_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    pub stage: DeclineStage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
    pub evidence: Vec<Evidence>,
    pub declined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeDecision {
    pub outcome: DecisionOutcome,
    pub refund_amount_minor: MinorUnits,
    pub return_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funded_by: Option<FundedBy>,
    pub rationale: String,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<super::events::RecommendationShown>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// What escalated it most recently.
    pub escalated_by: EscalationTrigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
    pub escalated_at: DateTime<Utc>,
    /// The operator's SLA for the latest escalation; kept after it passes (the queue orders by it).
    pub decision_due: DateTime<Utc>,
    /// The decision is late (`decision_due` passed undecided).
    pub overdue: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DisputeDecision>,
    pub escalations: u32,
    /// The appeal of the first decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<Appeal>,
}

/// An appeal of an operator's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub appealed_by: Actor,
    pub reason_text: String,
    pub evidence: Vec<Evidence>,
    pub appealed_at: DateTime<Utc>,
    /// The decision appealed against.
    pub first_decision: DisputeDecision,
    /// Once decided: whether the outcome was reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overturned: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedException {
    pub rule: ExceptionRule,
    pub note: String,
    pub granted_by: Actor,
    pub granted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub added_by: Actor,
    pub evidence: Evidence,
    pub added_at: DateTime<Utc>,
}

/// The buyer's rating of a closed return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// The replacement of an exchange, once shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub items: Vec<ReplacementItem>,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The carrier lost it on the way to the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<DateTime<Utc>>,
}

/// A return case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnCase {
    pub id: ReturnId,
    pub rma: Rma,
    pub order_id: OrderId,
    pub buyer_id: BuyerId,
    pub seller_id: SellerId,
    pub currency: Currency,
    pub jurisdiction: Jurisdiction,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub reason: Reason,
    pub description: Option<String>,
    pub resolution: Resolution,
    pub items: Vec<ReturnItem>,
    /// What the buyer paid for the items: the cap of every refund of this return.
    pub items_total_minor: MinorUnits,
    /// What the buyer asks back: the items total minus any restocking fee.
    pub requested_amount_minor: MinorUnits,
    pub offer: Option<Offer>,
    pub pending_refund: Option<PendingRefund>,
    pub refunded_amount_minor: MinorUnits,
    pub refund: Option<IssuedRefund>,
    pub policy: PolicyView,
    pub deadlines: Deadlines,
    pub missed_deadlines: Vec<MissedDeadline>,
    pub authorization: Option<Authorization>,
    pub on_arrival: OnArrival,
    pub shipment: Shipment,
    pub inspection: Option<Inspection>,
    pub decline: Option<Decline>,
    pub dispute: Option<Dispute>,
    pub exceptions: Vec<GrantedException>,
    pub evidence: Vec<EvidenceRecord>,
    pub message_count: u32,
    /// When the return closed (absent in snapshots taken before it was kept: then the time of
    /// the last event stands in).
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub rating: Option<Rating>,
    /// How the item goes back.
    #[serde(default)]
    pub return_method: ReturnMethod,
    /// The replacement of an exchange, once shipped.
    #[serde(default)]
    pub replacement: Option<Replacement>,
    /// Why an exchange fell back to a refund.
    #[serde(default)]
    pub exchange_failure: Option<ExchangeFailure>,
    /// The number of events in the stream (the `version` of the view and the ETag).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ReturnCase {
    pub(crate) fn from_requested(e: &ReturnRequested) -> ReturnCase {
        let mut evidence = Vec::new();
        let buyer = Actor::buyer(e.buyer_id.as_str());
        for piece in &e.evidence {
            evidence.push(EvidenceRecord {
                added_by: buyer.clone(),
                evidence: piece.clone(),
                added_at: e.at,
            });
        }
        ReturnCase {
            id: e.return_id,
            rma: e.rma.clone(),
            order_id: e.order_id.clone(),
            buyer_id: e.buyer_id.clone(),
            seller_id: e.seller_id.clone(),
            currency: e.currency,
            jurisdiction: e.jurisdiction,
            status: Status::Requested,
            outcome: None,
            reason: e.reason,
            description: e.description.clone(),
            resolution: e.resolution,
            items: e.items.clone(),
            items_total_minor: e.evaluation.items_total_minor,
            requested_amount_minor: e.evaluation.requested_amount_minor,
            offer: None,
            pending_refund: None,
            refunded_amount_minor: MinorUnits::ZERO,
            refund: None,
            policy: PolicyView {
                eligible: e.evaluation.eligible,
                auto_approved: false,
                rules: e.evaluation.rules.clone(),
                evaluation: e.evaluation.clone(),
            },
            deadlines: Deadlines::only(DeadlineKind::SellerResponseDue, e.seller_response_due),
            missed_deadlines: Vec::new(),
            authorization: None,
            on_arrival: OnArrival::Inspect,
            shipment: Shipment::default(),
            inspection: None,
            decline: None,
            dispute: None,
            exceptions: Vec::new(),
            evidence,
            message_count: 0,
            closed_at: None,
            rating: None,
            return_method: e.return_method.clone(),
            replacement: None,
            exchange_failure: None,
            version: 1,
            created_at: e.at,
            updated_at: e.at,
        }
    }

    /// Replays a whole stream; `None` if it does not start with `return.requested`.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a ReturnEvent>) -> Option<ReturnCase> {
        events.into_iter().fold(None, evolve)
    }

    /// The refund owed while `refund_pending` (the view's `refund_due_minor`).
    pub fn refund_due_minor(&self) -> Option<MinorUnits> {
        if self.status == Status::RefundPending {
            self.pending_refund
                .as_ref()
                .map(|refund| refund.amount_minor)
        } else {
            None
        }
    }

    /// The amount of the latest offer (the view's `offered_amount_minor`).
    pub fn offered_amount_minor(&self) -> Option<MinorUnits> {
        self.offer.as_ref().and_then(|offer| offer.amount_minor)
    }

    /// The items as line/quantity pairs, e.g. to re-evaluate the policy.
    pub fn item_requests(&self) -> Vec<ItemRequest> {
        self.items
            .iter()
            .map(|item| ItemRequest {
                line_id: item.line_id.clone(),
                quantity: item.quantity,
            })
            .collect()
    }

    /// Whether the item is back with the seller.
    pub fn item_is_back(&self) -> bool {
        self.shipment.delivered_at.is_some()
    }

    /// Whether the buyer has sent the item (it may still be on its way).
    pub fn item_was_shipped(&self) -> bool {
        self.shipment.shipped_at.is_some() || self.shipment.in_transit_at.is_some()
    }

    pub fn is_waived(&self, rule: ExceptionRule) -> bool {
        self.exceptions
            .iter()
            .any(|exception| exception.rule == rule)
    }

    /// Moves to `status` with exactly `deadlines` running. A pending refund only lives in
    /// `refund_pending`.
    fn enter(&mut self, status: Status, deadlines: Deadlines) {
        self.status = status;
        self.deadlines = deadlines;
        if status != Status::RefundPending {
            self.pending_refund = None;
        }
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &ReturnEvent) {
        self.version = self.version.saturating_add(1);
        self.updated_at = event.at();
        match event {
            // A second opening never gets past `decide`; ignoring it keeps `apply` total.
            ReturnEvent::ReturnRequested(_) => {}
            ReturnEvent::ReturnAuthorized(e) => {
                let status = if self.item_was_shipped() && !self.item_is_back() {
                    Status::InTransit
                } else {
                    Status::Authorized
                };
                let kind = e.ship_deadline.unwrap_or(DeadlineKind::ShipBy);
                self.enter(status, Deadlines::only(kind, e.ship_by));
                self.on_arrival = e.on_arrival;
                if e.label.is_some() {
                    self.shipment.label = e.label.clone();
                }
                self.authorization = Some(Authorization {
                    source: e.source,
                    instructions: e.instructions.clone(),
                    authorized_at: e.at,
                });
                if e.source == ApprovalSource::Auto {
                    self.policy.auto_approved = true;
                }
            }
            ReturnEvent::ReturnDeclined(e) => {
                self.enter(
                    Status::Declined,
                    Deadlines::only(DeadlineKind::EscalateBy, Some(e.escalate_by)),
                );
                self.decline = Some(Decline {
                    stage: e.stage,
                    reason_text: e.reason_text.clone(),
                    evidence: e.evidence.clone(),
                    declined_at: e.at,
                });
            }
            ReturnEvent::OfferMade(e) => {
                self.enter(
                    Status::OfferPending,
                    Deadlines::only(DeadlineKind::OfferExpires, Some(e.expires_at)),
                );
                self.offer = Some(Offer {
                    kind: e.kind,
                    amount_minor: e.amount_minor,
                    credit_minor: e.credit_minor,
                    expires_at: e.expires_at,
                    status: OfferStatus::Pending,
                    made_at: e.at,
                });
            }
            ReturnEvent::OfferAccepted(_) => {
                self.set_offer_status(OfferStatus::Accepted);
                self.deadlines.clear(DeadlineKind::OfferExpires);
            }
            ReturnEvent::OfferDeclined(e) => {
                self.set_offer_status(OfferStatus::Declined);
                self.enter(
                    Status::Requested,
                    Deadlines::only(DeadlineKind::SellerResponseDue, Some(e.seller_response_due)),
                );
            }
            ReturnEvent::OfferExpired(e) => {
                self.set_offer_status(OfferStatus::Expired);
                self.enter(
                    Status::Requested,
                    Deadlines::only(DeadlineKind::SellerResponseDue, Some(e.seller_response_due)),
                );
            }
            ReturnEvent::ReturnShipped(e) => {
                self.enter(Status::InTransit, Deadlines::default());
                self.shipment.carrier = Some(e.carrier.clone());
                self.shipment.tracking_number = Some(e.tracking_number.clone());
                self.shipment.shipped_at = Some(e.at);
            }
            ReturnEvent::ShipmentInTransit(e) => {
                self.enter(Status::InTransit, Deadlines::default());
                self.shipment.in_transit_at = Some(e.in_transit_at);
                if self.shipment.accepted_at.is_none() {
                    self.shipment.accepted_at = Some(e.in_transit_at);
                }
            }
            ReturnEvent::ItemArrived(e) => {
                self.enter(
                    Status::Delivered,
                    Deadlines::only(DeadlineKind::InspectBy, e.inspect_by),
                );
                self.shipment.delivered_at = Some(e.arrived_at);
                self.shipment.delivery_reported_by = Some(e.source);
            }
            ReturnEvent::ItemInspected(e) => {
                self.deadlines.clear(DeadlineKind::InspectBy);
                self.inspection = Some(Inspection {
                    grade: e.grade,
                    refund_amount_minor: e.refund_amount_minor,
                    notes: e.notes.clone(),
                    evidence: e.evidence.clone(),
                    inspected_at: e.at,
                });
            }
            ReturnEvent::RefundApproved(e) => {
                self.enter(
                    Status::RefundPending,
                    Deadlines::only(DeadlineKind::RefundDue, Some(e.refund_due)),
                );
                self.pending_refund = Some(PendingRefund {
                    amount_minor: e.amount_minor,
                    principal_minor: e.principal_minor,
                    bonus_minor: e.bonus_minor,
                    method: e.method,
                    keep_item: e.keep_item,
                    basis: e.basis,
                    funded_by: e.funded_by,
                    due_at: e.refund_due,
                });
                if e.basis == RefundBasis::AutoReturnless {
                    self.policy.auto_approved = true;
                }
            }
            ReturnEvent::RefundIssued(e) => {
                self.refunded_amount_minor = self
                    .refunded_amount_minor
                    .checked_add(e.amount_minor)
                    .unwrap_or(self.refunded_amount_minor);
                self.refund = Some(IssuedRefund {
                    amount_minor: e.amount_minor,
                    principal_minor: e.principal_minor,
                    bonus_minor: e.bonus_minor,
                    method: e.method,
                    reference: e.reference.clone(),
                    refunded_at: e.at,
                });
                self.pending_refund = None;
                self.deadlines = Deadlines::default();
            }
            ReturnEvent::ReturnEscalated(e) => {
                self.enter(
                    Status::Escalated,
                    Deadlines::only(DeadlineKind::DecisionDue, Some(e.decision_due)),
                );
                let previous = self.dispute.take();
                self.dispute = Some(Dispute {
                    escalated_by: e.trigger,
                    reason_text: e.reason_text.clone(),
                    escalated_at: e.at,
                    decision_due: e.decision_due,
                    overdue: false,
                    assignee: None,
                    decision: previous.as_ref().and_then(|d| d.decision.clone()),
                    escalations: previous
                        .as_ref()
                        .map_or(1, |d| d.escalations.saturating_add(1)),
                    appeal: previous.and_then(|d| d.appeal),
                });
            }
            ReturnEvent::ReturnWithdrawn(_) => {}
            ReturnEvent::MessagePosted(_) => {
                self.message_count = self.message_count.saturating_add(1);
            }
            ReturnEvent::EvidenceAdded(e) => self.evidence.push(EvidenceRecord {
                added_by: e.added_by.clone(),
                evidence: e.evidence.clone(),
                added_at: e.at,
            }),
            ReturnEvent::ExceptionGranted(e) => {
                self.exceptions.push(GrantedException {
                    rule: e.rule,
                    note: e.note.clone(),
                    granted_by: e.granted_by.clone(),
                    granted_at: e.at,
                });
                self.set_evaluation(&e.evaluation);
                if let Some(due) = e.reopened_seller_response_due {
                    self.enter(
                        Status::Requested,
                        Deadlines::only(DeadlineKind::SellerResponseDue, Some(due)),
                    );
                }
            }
            ReturnEvent::DisputeAssigned(e) => {
                if let Some(dispute) = &mut self.dispute {
                    dispute.assignee = Some(e.assignee.clone());
                }
            }
            ReturnEvent::ReturnAppealed(e) => {
                self.enter(
                    Status::Escalated,
                    Deadlines::only(DeadlineKind::DecisionDue, Some(e.decision_due)),
                );
                self.outcome = None;
                self.closed_at = None;
                if let Some(dispute) = &mut self.dispute {
                    if let Some(first) = dispute.decision.take() {
                        dispute.appeal = Some(Appeal {
                            appealed_by: e.appealed_by.clone(),
                            reason_text: e.reason_text.clone(),
                            evidence: e.evidence.clone(),
                            appealed_at: e.at,
                            first_decision: first,
                            overturned: None,
                        });
                    }
                    dispute.decision_due = e.decision_due;
                    dispute.overdue = false;
                    dispute.assignee = None;
                    dispute.escalations = dispute.escalations.saturating_add(1);
                }
                for piece in &e.evidence {
                    self.evidence.push(EvidenceRecord {
                        added_by: e.appealed_by.clone(),
                        evidence: piece.clone(),
                        added_at: e.at,
                    });
                }
            }
            ReturnEvent::DisputeDecided(e) => {
                self.deadlines.clear(DeadlineKind::DecisionDue);
                if let Some(dispute) = &mut self.dispute {
                    if let Some(appeal) = &mut dispute.appeal {
                        if appeal.overturned.is_none() {
                            appeal.overturned = e.overturns;
                        }
                    }
                    dispute.decision = Some(DisputeDecision {
                        outcome: e.outcome,
                        refund_amount_minor: e.refund_amount_minor,
                        return_required: e.return_required,
                        funded_by: e.funded_by,
                        rationale: e.rationale.clone(),
                        decided_by: e.decided_by.clone(),
                        decided_at: e.at,
                        recommendation: e.recommendation.clone(),
                    });
                }
            }
            ReturnEvent::DeadlineMissed(e) => {
                self.deadlines.clear(e.kind);
                self.missed_deadlines.push(MissedDeadline {
                    kind: e.kind,
                    due_at: e.due_at,
                    applied_at: e.at,
                });
                if e.kind == DeadlineKind::DecisionDue {
                    if let Some(dispute) = &mut self.dispute {
                        dispute.overdue = true;
                    }
                }
            }
            ReturnEvent::ReturnMethodChosen(e) => {
                self.return_method = e.method.clone();
                if let Some(evaluation) = &e.evaluation {
                    self.set_evaluation(evaluation);
                }
                if let Some(deadline) = e.deadline {
                    self.deadlines = Deadlines::only(deadline.kind, Some(deadline.due_at));
                }
            }
            ReturnEvent::ShipmentException(e) => {
                self.shipment.exception_at = Some(e.at_carrier);
            }
            ReturnEvent::ShipmentLost(e) => {
                self.shipment.lost_at = Some(e.lost_at);
            }
            ReturnEvent::ShipmentReturnedToSender(e) => {
                // The item is back with the buyer: it is to be sent again.
                self.shipment.returned_to_sender_at = Some(e.returned_at);
                self.shipment.shipped_at = None;
                self.shipment.in_transit_at = None;
                self.shipment.accepted_at = None;
                let deadlines = e.deadline.map_or_else(Deadlines::default, |d| {
                    Deadlines::only(d.kind, Some(d.due_at))
                });
                self.enter(Status::Authorized, deadlines);
            }
            ReturnEvent::ExchangeApproved(e) => {
                self.enter(
                    Status::ExchangePending,
                    Deadlines::only(DeadlineKind::ReplacementShipBy, Some(e.replacement_ship_by)),
                );
            }
            ReturnEvent::ReplacementShipped(e) => {
                self.enter(Status::ReplacementShipped, Deadlines::default());
                self.replacement = Some(Replacement {
                    items: e.items.clone(),
                    carrier: e.carrier.clone(),
                    tracking_number: e.tracking_number.clone(),
                    shipped_at: e.at,
                    delivered_at: None,
                    lost_at: None,
                });
            }
            ReturnEvent::ReplacementDelivered(e) => {
                if let Some(replacement) = &mut self.replacement {
                    replacement.delivered_at = Some(e.delivered_at);
                }
            }
            ReturnEvent::ReplacementLost(e) => {
                if let Some(replacement) = &mut self.replacement {
                    replacement.lost_at = Some(e.lost_at);
                }
            }
            ReturnEvent::ExchangeFailed(e) => {
                self.deadlines.clear(DeadlineKind::ReplacementShipBy);
                self.exchange_failure = Some(e.cause);
            }
            ReturnEvent::ReturnRated(e) => {
                self.rating = Some(Rating {
                    score: e.score,
                    comment: e.comment.clone(),
                    rated_at: e.at,
                });
            }
            ReturnEvent::ReturnClosed(e) => {
                self.enter(Status::Closed, Deadlines::default());
                self.outcome = Some(e.outcome);
                self.closed_at = Some(e.at);
            }
        }
    }

    /// The return judged again (an exception granted, a method chosen).
    fn set_evaluation(&mut self, evaluation: &PolicyEvaluation) {
        self.policy.eligible = evaluation.eligible;
        self.policy.rules = evaluation.rules.clone();
        self.policy.evaluation = evaluation.clone();
        self.requested_amount_minor = evaluation.requested_amount_minor;
    }

    fn set_offer_status(&mut self, status: OfferStatus) {
        if let Some(offer) = &mut self.offer {
            offer.status = status;
        }
    }
}

/// Folds one event into the state: `return.requested` creates the case; any other event before it
/// is ignored (a stream that does not start with it is not a return).
pub fn evolve(state: Option<ReturnCase>, event: &ReturnEvent) -> Option<ReturnCase> {
    match (state, event) {
        (Some(mut case), event) => {
            case.apply(event);
            Some(case)
        }
        (None, ReturnEvent::ReturnRequested(requested)) => {
            Some(ReturnCase::from_requested(requested))
        }
        (None, _) => None,
    }
}
