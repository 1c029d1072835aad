//! Recommendations for disputed returns: a pure function of a case's history (with the global
//! positions of its events), its state, the parties' standing and the service time.
//!
//! # How a recommendation is reached
//!
//! docs/arbitration.md lists every rule with its source and examples. Every rule that fires yields
//! a *finding*: a rule name, a sentence, the positions of the events it
//! rests on, and an effect. There are three kinds of effect, applied in this order:
//!
//! 1. **Procedural defaults decide.** A party failed a step that the service itself recorded:
//!
//!    | rule | favours | fires when |
//!    | --- | --- | --- |
//!    | `seller_silence` | buyer | a `seller_response_due` deadline was missed (recorded, or past at `now` and not yet applied) |
//!    | `seller_missed_deadline` | buyer | an `inspect_by` or `replacement_ship_by` deadline was missed (the same) |
//!    | `refusal_without_evidence` | buyer | the seller refused the item at inspection (refund 0) with no photo or video evidence |
//!    | `carrier_delivered_to_seller` | buyer | the carrier reported delivery to the seller, and the seller escalated without inspecting |
//!    | `refund_overdue` | buyer | an approved refund was not paid by its due date |
//!    | `replacement_lost` | buyer | the carrier lost the replacement of an exchange on its way to the buyer |
//!    | `return_parcel_lost` | buyer | the carrier lost the return parcel, sent on the seller's label or proven sent by a carrier scan |
//!    | `buyer_never_shipped` | seller | the `ship_by` (or `drop_off_by`) date passed without a shipment, also while the case sat escalated |
//!
//!    If several fired, the **latest** (by event position; a deadline past due but not yet applied
//!    counts as the latest of all) decides: the case moved on from the earlier ones. One exception:
//!    a missed response deadline after which the item went back anyway (auto-accepted on timeout)
//!    no longer decides, since the dispute is then about the item; it weighs +1 instead.
//! 2. **Otherwise the merits are weighed.** Each finding carries a weight (positive: toward the
//!    buyer); the sum decides, and a tie goes to the buyer, since a seller who refuses carries the
//!    burden of showing why.
//!
//!    | rule | weight | fires when |
//!    | --- | --- | --- |
//!    | `legal_guarantee` | +3 | the reason is a conformity reason and the EU 2-year guarantee applies |
//!    | `within_return_window` | +2 | eligible under the withdrawal right or the seller's window |
//!    | `goodwill_exception` | +2 | ineligible when requested, eligible after a goodwill exception |
//!    | `outside_every_window` | −3 | ineligible: every window had closed, no exception made it eligible |
//!    | `non_returnable_category` | −3 | ineligible: a category is excluded by the seller or the law |
//!    | `refusal_with_evidence` | −4 / −2 | refused at inspection with photo/video evidence: −4 for `empty_box` and `wrong_item` (not the item sold), −2 for `used`, `damaged`, `missing_parts` |
//!    | `refusal_contradicts_grade` | +2 | refused although the seller's own grade is `as_new` or `opened` |
//!    | `delivery_tracked_to_buyer` | −3 | a `not_received` claim on an order whose delivery is recorded |
//!    | `no_recorded_delivery` | +3 | a `not_received` claim on an order whose delivery is not recorded (tracking evidence alone proves nothing) |
//!    | `buyer_flagged` | −1 | the buyer has a confirmed abuse flag |
//!    | `seller_flagged` | +1 to +3 | the seller has a confirmed abuse flag: +3 for refusals overturned, +2 for items not as described on a conformity claim, +1 otherwise (the heaviest counts) |
//!
//!    Flags shift the balance but never override a procedural default or a clear case: they
//!    decide only where the facts are balanced.
//! 3. **Explanations** of the amount, the return and the funding (`partial_for_use`,
//!    `carrier_damage`, `returnless_refund`, `nothing_left_to_refund`) carry no weight.
//!
//! # Amount, return and funding (when the buyer is to be refunded)
//!
//! - The amount is the requested amount (the items total minus any restocking fee), never above
//!   `items_total_minor`, less what was already refunded. For `refund_overdue` it is the refund that
//!   was approved. When the inspection grade is `used`, `damaged` or `missing_parts`, backed by
//!   photo or video evidence, on a claim that does not allege a fault of the goods (not a
//!   conformity reason, not `damaged_in_transit`), [`USE_DEDUCTION_PERCENT`] is deducted, but never
//!   below what the seller itself offered at inspection (`partial_for_use`). Nothing left to refund:
//!   side with the seller (`nothing_left_to_refund`).
//! - The item must come back unless it is back already, the claim is `not_received`, the buyer
//!   keeps it under an earlier returnless approval, or the amount is within the seller's returnless
//!   threshold and the buyer is not flagged (`returnless_refund`: shipping it back is not worth it).
//! - The seller funds it, unless no finding puts the seller at fault and the reason is damage in
//!   transit (`carrier_damage`) or the return rests on a goodwill exception granted by an operator:
//!   then the platform funds it.
//!
//! Siding with the seller recommends 0, no return, and `funded_by: seller` (nothing is paid).
//!
//! # Determinism
//!
//! The answer depends only on the arguments; the history is read in position order whatever order
//! it is given in, and an operator's earlier decision is never a fact (recomputing after a decision
//! gives what was shown before it). `now` only matters for deadlines that are past due but not yet
//! applied by the scheduler, so that the answer does not flip when the scheduler catches up.
//! [`recommend_at`] recomputes the answer of any past moment from the log.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use returns_domain::returns::{
    ArrivalSource, DeadlineKind, DecisionOutcome, DeclineStage, DisputeDecision, EscalationTrigger,
    ExceptionGranted, FundedBy, ItemInspected, RefundApproved, ReturnCase, ReturnEvent,
    ReturnRequested, Status,
};
use returns_domain::{Evidence, EvidenceKind, Grade, MinorUnits, Reason as ReturnReason, Role};

/// The share of the refund withheld when the item came back used by the buyer (see the module
/// doc). A fixed, round figure on purpose: the operator adjusts it case by case.
pub const USE_DEDUCTION_PERCENT: u32 = 50;

// Weights of the merits; positive favours the buyer. See the table in the module doc.
const LEGAL_GUARANTEE: i32 = 3;
const WITHIN_RETURN_WINDOW: i32 = 2;
const GOODWILL_EXCEPTION: i32 = 2;
const NOT_RETURNABLE: i32 = -3;
const NOT_THE_ITEM_SOLD: i32 = -4;
const REFUSAL_WITH_EVIDENCE: i32 = -2;
const REFUSAL_CONTRADICTS_GRADE: i32 = 2;
const DELIVERY_TRACKED: i32 = -3;
const NO_RECORDED_DELIVERY: i32 = 3;
const BUYER_FLAGGED: i32 = -1;
/// A seller's confirmed flags weigh by what they show; the heaviest of them counts (see
/// [`seller_flag_weight`]).
const SELLER_FLAGGED: i32 = 1;
const SELLER_REFUSALS_OVERTURNED: i32 = 3;
const SELLER_NOT_AS_DESCRIBED: i32 = 2;
const EARLIER_MISSED_DEADLINE: i32 = 1;

/// The rules a recommendation can cite. The snake_case names are stable: they are shown to
/// operators and may be stored with decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    SellerSilence,
    SellerMissedDeadline,
    RefusalWithoutEvidence,
    CarrierDeliveredToSeller,
    RefundOverdue,
    BuyerNeverShipped,
    ReturnParcelLost,
    ReplacementLost,
    LegalGuarantee,
    WithinReturnWindow,
    GoodwillException,
    OutsideEveryWindow,
    NonReturnableCategory,
    RefusalWithEvidence,
    RefusalContradictsGrade,
    DeliveryTrackedToBuyer,
    NoRecordedDelivery,
    BuyerFlagged,
    SellerFlagged,
    PartialForUse,
    CarrierDamage,
    ReturnlessRefund,
    NothingLeftToRefund,
}

impl Rule {
    pub const ALL: &'static [Rule] = &[
        Rule::SellerSilence,
        Rule::SellerMissedDeadline,
        Rule::RefusalWithoutEvidence,
        Rule::CarrierDeliveredToSeller,
        Rule::RefundOverdue,
        Rule::BuyerNeverShipped,
        Rule::ReturnParcelLost,
        Rule::ReplacementLost,
        Rule::LegalGuarantee,
        Rule::WithinReturnWindow,
        Rule::GoodwillException,
        Rule::OutsideEveryWindow,
        Rule::NonReturnableCategory,
        Rule::RefusalWithEvidence,
        Rule::RefusalContradictsGrade,
        Rule::DeliveryTrackedToBuyer,
        Rule::NoRecordedDelivery,
        Rule::BuyerFlagged,
        Rule::SellerFlagged,
        Rule::PartialForUse,
        Rule::CarrierDamage,
        Rule::ReturnlessRefund,
        Rule::NothingLeftToRefund,
    ];

    /// The stable name (the same string serde writes).
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::SellerSilence => "seller_silence",
            Rule::SellerMissedDeadline => "seller_missed_deadline",
            Rule::RefusalWithoutEvidence => "refusal_without_evidence",
            Rule::CarrierDeliveredToSeller => "carrier_delivered_to_seller",
            Rule::RefundOverdue => "refund_overdue",
            Rule::BuyerNeverShipped => "buyer_never_shipped",
            Rule::ReturnParcelLost => "return_parcel_lost",
            Rule::ReplacementLost => "replacement_lost",
            Rule::LegalGuarantee => "legal_guarantee",
            Rule::WithinReturnWindow => "within_return_window",
            Rule::GoodwillException => "goodwill_exception",
            Rule::OutsideEveryWindow => "outside_every_window",
            Rule::NonReturnableCategory => "non_returnable_category",
            Rule::RefusalWithEvidence => "refusal_with_evidence",
            Rule::RefusalContradictsGrade => "refusal_contradicts_grade",
            Rule::DeliveryTrackedToBuyer => "delivery_tracked_to_buyer",
            Rule::NoRecordedDelivery => "no_recorded_delivery",
            Rule::BuyerFlagged => "buyer_flagged",
            Rule::SellerFlagged => "seller_flagged",
            Rule::PartialForUse => "partial_for_use",
            Rule::CarrierDamage => "carrier_damage",
            Rule::ReturnlessRefund => "returnless_refund",
            Rule::NothingLeftToRefund => "nothing_left_to_refund",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The party a finding favours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buyer,
    Seller,
}

/// One reason of a recommendation: the rule that fired, a sentence for the operator (no personal
/// data: dates, amounts, grades and rule names only), and the positions of the events it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: Rule,
    pub detail: String,
    pub event_positions: Vec<i64>,
    /// Whom the finding favours; absent for explanations of the amount, return or funding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favours: Option<Side>,
}

/// The answer of `GET /v1/returns/{id}/recommendation`. The first reason is the one that decided
/// the outcome (a procedural default), or the heaviest of the merits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub outcome: DecisionOutcome,
    pub refund_amount_minor: MinorUnits,
    pub return_required: bool,
    pub funded_by: FundedBy,
    pub reasons: Vec<Reason>,
}

impl Recommendation {
    /// The rules cited, in order.
    pub fn rules(&self) -> Vec<Rule> {
        self.reasons.iter().map(|reason| reason.rule).collect()
    }

    /// Whether a decision with these terms follows the recommendation: the same outcome and, for a
    /// refund, the same amount, return requirement and funder.
    pub fn is_followed_by(
        &self,
        outcome: DecisionOutcome,
        refund_amount_minor: MinorUnits,
        return_required: bool,
        funded_by: Option<FundedBy>,
    ) -> bool {
        match outcome {
            DecisionOutcome::SideWithSeller => self.outcome == DecisionOutcome::SideWithSeller,
            DecisionOutcome::RefundBuyer => {
                self.outcome == DecisionOutcome::RefundBuyer
                    && self.refund_amount_minor == refund_amount_minor
                    && self.return_required == return_required
                    && funded_by == Some(self.funded_by)
            }
        }
    }

    /// What the decision event should record about this recommendation, given the decision.
    pub fn shown(&self, decision: &DisputeDecision) -> ShownRecommendation {
        ShownRecommendation {
            outcome: self.outcome,
            refund_amount_minor: self.refund_amount_minor,
            return_required: self.return_required,
            funded_by: self.funded_by,
            rules: self.rules(),
            followed: self.is_followed_by(
                decision.outcome,
                decision.refund_amount_minor,
                decision.return_required,
                decision.funded_by,
            ),
        }
    }
}

/// The recommendation that was shown to the operator, as a decision records it, and whether the
/// decision followed it. The reasons' sentences are left out: the rules and the log recompute them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownRecommendation {
    pub outcome: DecisionOutcome,
    pub refund_amount_minor: MinorUnits,
    pub return_required: bool,
    pub funded_by: FundedBy,
    pub rules: Vec<Rule>,
    pub followed: bool,
}

/// A confirmed abuse flag of a party, and the position of the event that confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedFlag {
    pub kind: crate::abuse::FlagKind,
    pub position: i64,
}

/// What the recommendation needs to know about the parties beyond the case's own history: their
/// confirmed abuse flags (open or dismissed flags do not count) and the seller's returnless
/// threshold from the policy in force for the order (0: never returnless).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyStanding {
    #[serde(default)]
    pub buyer_flags: Vec<ConfirmedFlag>,
    #[serde(default)]
    pub seller_flags: Vec<ConfirmedFlag>,
    #[serde(default)]
    pub returnless_refund_max_minor: MinorUnits,
    /// When the order's delivery to the buyer was recorded (by the platform at registration or
    /// later), if it was: the only proof of delivery a `not_received` claim is judged against.
    #[serde(default)]
    pub order_delivered_at: Option<DateTime<Utc>>,
}

impl PartyStanding {
    pub fn buyer_flagged(&self) -> bool {
        !self.buyer_flags.is_empty()
    }

    pub fn seller_flagged(&self) -> bool {
        !self.seller_flags.is_empty()
    }
}

/// Recommends how to settle `case`, whose events (with their global positions) are `history`.
/// `case` must be the replay of `history`; see the module doc for the rules.
pub fn recommend(
    history: &[(i64, ReturnEvent)],
    case: &ReturnCase,
    parties: &PartyStanding,
    now: DateTime<Utc>,
) -> Recommendation {
    let log = Log::new(history);
    let mut findings = Vec::new();
    deadline_findings(&log, case, now, &mut findings);
    inspection_findings(&log, &mut findings);
    carrier_finding(&log, &mut findings);
    lost_parcel_finding(&log, case, &mut findings);
    replacement_lost_finding(&log, &mut findings);
    eligibility_finding(&log, case, &mut findings);
    delivery_finding(&log, case, parties, &mut findings);
    flag_findings(parties, case, &mut findings);

    let deciding = deciding_finding(&findings);
    let side = match deciding.and_then(|i| findings.get(i)).map(|f| f.effect) {
        Some(Effect::Decides(side)) => side,
        _ => {
            let balance: i32 = findings.iter().map(Finding::weight).sum();
            if balance >= 0 {
                Side::Buyer
            } else {
                Side::Seller
            }
        }
    };
    let lead = deciding.or_else(|| heaviest_for(&findings, side));
    let mut terms = match side {
        Side::Buyer => refund_terms(&log, case, parties, &findings, lead),
        Side::Seller => Terms::side_with_seller(),
    };
    findings.append(&mut terms.notes);
    Recommendation {
        outcome: terms.outcome,
        refund_amount_minor: terms.amount,
        return_required: terms.return_required,
        funded_by: terms.funded_by,
        reasons: order_reasons(findings, lead),
    }
}

/// The recommendation as it stood right after the event at `position`: the history up to it,
/// replayed, judged at that event's time. `None` if that prefix is not a return's history.
pub fn recommend_at(
    history: &[(i64, ReturnEvent)],
    position: i64,
    parties: &PartyStanding,
) -> Option<Recommendation> {
    let mut prefix: Vec<(i64, ReturnEvent)> = history
        .iter()
        .filter(|(p, _)| *p <= position)
        .cloned()
        .collect();
    prefix.sort_by_key(|(p, _)| *p);
    let case = ReturnCase::replay(prefix.iter().map(|(_, event)| event))?;
    let now = prefix.last().map(|(_, event)| event.at())?;
    Some(recommend(&prefix, &case, parties, now))
}

// --- findings -----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// A procedural default: settles the outcome for this side.
    Decides(Side),
    /// A weight on the merits: positive toward the buyer.
    Weighs(i32),
    /// Explains the amount, the return or the funding.
    Explains,
}

#[derive(Debug, Clone)]
struct Finding {
    rule: Rule,
    detail: String,
    positions: Vec<i64>,
    effect: Effect,
    /// When it happened, for "the latest default decides": its last position, or `i64::MAX` for a
    /// deadline past due that the scheduler has not applied yet (it is the current state).
    order: i64,
}

impl Finding {
    fn new(
        rule: Rule,
        effect: Effect,
        positions: impl IntoIterator<Item = i64>,
        detail: String,
    ) -> Finding {
        let mut positions: Vec<i64> = positions.into_iter().collect();
        positions.sort_unstable();
        positions.dedup();
        let order = positions.last().copied().unwrap_or(i64::MIN);
        Finding {
            rule,
            detail,
            positions,
            effect,
            order,
        }
    }

    fn pending(mut self) -> Finding {
        self.order = i64::MAX;
        self
    }

    fn weight(&self) -> i32 {
        match self.effect {
            Effect::Weighs(weight) => weight,
            Effect::Decides(_) | Effect::Explains => 0,
        }
    }

    fn favours(&self) -> Option<Side> {
        match self.effect {
            Effect::Decides(side) => Some(side),
            Effect::Weighs(weight) if weight > 0 => Some(Side::Buyer),
            Effect::Weighs(weight) if weight < 0 => Some(Side::Seller),
            Effect::Weighs(_) | Effect::Explains => None,
        }
    }

    fn tier(&self) -> u8 {
        match self.effect {
            Effect::Decides(_) => 0,
            Effect::Weighs(_) => 1,
            Effect::Explains => 2,
        }
    }
}

/// The history in position order, whatever order it was given in.
struct Log<'a> {
    events: Vec<(i64, &'a ReturnEvent)>,
}

impl<'a> Log<'a> {
    fn new(history: &'a [(i64, ReturnEvent)]) -> Log<'a> {
        let mut events: Vec<(i64, &ReturnEvent)> = history.iter().map(|(p, e)| (*p, e)).collect();
        events.sort_by_key(|(position, _)| *position);
        Log { events }
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = (i64, &'a ReturnEvent)> + '_ {
        self.events.iter().copied()
    }

    fn after(&self, position: i64) -> impl Iterator<Item = (i64, &'a ReturnEvent)> + '_ {
        self.iter().filter(move |(p, _)| *p > position)
    }

    fn requested(&self) -> Option<(i64, &'a ReturnRequested)> {
        self.iter().find_map(|(p, e)| match e {
            ReturnEvent::ReturnRequested(r) => Some((p, r)),
            _ => None,
        })
    }

    fn exceptions(&self) -> Vec<(i64, &'a ExceptionGranted)> {
        self.iter()
            .filter_map(|(p, e)| match e {
                ReturnEvent::ExceptionGranted(x) => Some((p, x)),
                _ => None,
            })
            .collect()
    }

    fn last_inspection(&self) -> Option<(i64, &'a ItemInspected)> {
        self.iter().rev().find_map(|(p, e)| match e {
            ReturnEvent::ItemInspected(i) => Some((p, i)),
            _ => None,
        })
    }

    fn last_approval(&self) -> Option<(i64, &'a RefundApproved)> {
        self.iter().rev().find_map(|(p, e)| match e {
            ReturnEvent::RefundApproved(a) => Some((p, a)),
            _ => None,
        })
    }

    fn last_arrival(&self) -> Option<i64> {
        self.iter().rev().find_map(|(p, e)| match e {
            ReturnEvent::ItemArrived(_) => Some(p),
            _ => None,
        })
    }

    /// The position of the event that carries the case's current policy evaluation.
    fn evaluation_position(&self) -> Option<i64> {
        self.iter().rev().find_map(|(p, e)| match e {
            ReturnEvent::ExceptionGranted(_) | ReturnEvent::ReturnRequested(_) => Some(p),
            _ => None,
        })
    }

    /// The latest event before `before` that started a deadline of `kind`.
    fn deadline_set_by(&self, kind: DeadlineKind, before: i64) -> Option<i64> {
        self.iter()
            .rev()
            .filter(|(p, _)| *p < before)
            .find(|(_, e)| starts_deadline(e) == Some(kind))
            .map(|(p, _)| p)
    }

    /// Photo or video evidence of the item as it came back: attached to the inspection, or added
    /// by the seller after the latest arrival.
    fn seller_photos_of_item(&self, inspection: (i64, &ItemInspected)) -> Vec<i64> {
        let mut positions = Vec::new();
        if inspection.1.evidence.iter().any(shows_the_item) {
            positions.push(inspection.0);
        }
        let since = self.last_arrival().unwrap_or(inspection.0);
        for (p, e) in self.after(since) {
            if let ReturnEvent::EvidenceAdded(added) = e {
                if added.added_by.role == Role::Seller && shows_the_item(&added.evidence) {
                    positions.push(p);
                }
            }
        }
        positions
    }
}

/// Only pictures show the state of an item; a document or a note is the seller's word.
fn shows_the_item(evidence: &Evidence) -> bool {
    matches!(evidence.kind, EvidenceKind::Photo | EvidenceKind::Video)
}

/// Which deadline an event starts (mirrors the domain's `evolve`).
fn starts_deadline(event: &ReturnEvent) -> Option<DeadlineKind> {
    match event {
        ReturnEvent::ReturnRequested(e) if e.seller_response_due.is_some() => {
            Some(DeadlineKind::SellerResponseDue)
        }
        ReturnEvent::OfferDeclined(_) | ReturnEvent::OfferExpired(_) => {
            Some(DeadlineKind::SellerResponseDue)
        }
        ReturnEvent::ExceptionGranted(e) if e.reopened_seller_response_due.is_some() => {
            Some(DeadlineKind::SellerResponseDue)
        }
        ReturnEvent::ReturnAuthorized(e) if e.ship_by.is_some() => {
            Some(e.ship_deadline.unwrap_or(DeadlineKind::ShipBy))
        }
        ReturnEvent::ReturnMethodChosen(e) => e.deadline.map(|d| d.kind),
        ReturnEvent::ExchangeApproved(_) => Some(DeadlineKind::ReplacementShipBy),
        ReturnEvent::ItemArrived(e) if e.inspect_by.is_some() => Some(DeadlineKind::InspectBy),
        ReturnEvent::RefundApproved(_) => Some(DeadlineKind::RefundDue),
        ReturnEvent::ReturnEscalated(_) => Some(DeadlineKind::DecisionDue),
        ReturnEvent::OfferMade(_) => Some(DeadlineKind::OfferExpires),
        ReturnEvent::ReturnDeclined(_) => Some(DeadlineKind::EscalateBy),
        _ => None,
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Missed deadlines, recorded or past due at `now`.
fn deadline_findings(log: &Log<'_>, case: &ReturnCase, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    for (position, event) in log.iter() {
        let ReturnEvent::DeadlineMissed(missed) = event else {
            continue;
        };
        let started = log.deadline_set_by(missed.kind, position);
        let positions: Vec<i64> = started.into_iter().chain([position]).collect();
        let Some(finding) = missed_deadline(missed.kind, missed.due_at, positions, "") else {
            continue;
        };
        // A response deadline whose miss was followed by the item going back (auto-accepted on
        // timeout) no longer settles the case: the dispute is then about the item.
        let item_went_back = log.after(position).any(|(_, e)| {
            matches!(
                e,
                ReturnEvent::ReturnShipped(_)
                    | ReturnEvent::ShipmentInTransit(_)
                    | ReturnEvent::ItemArrived(_)
                    | ReturnEvent::ItemInspected(_)
            )
        });
        if missed.kind == DeadlineKind::SellerResponseDue && item_went_back {
            out.push(Finding {
                effect: Effect::Weighs(EARLIER_MISSED_DEADLINE),
                detail: format!(
                    "{} The return went ahead afterwards, so this weighs but does not decide.",
                    finding.detail
                ),
                ..finding
            });
        } else {
            out.push(finding);
        }
    }
    for (kind, due_at) in case.deadlines.running() {
        if due_at > now {
            continue;
        }
        let started = log.deadline_set_by(kind, i64::MAX);
        let note = " It is past due and about to be applied.";
        if let Some(finding) = missed_deadline(kind, due_at, started, note) {
            out.push(finding.pending());
        }
    }
    never_shipped_while_escalated(log, case, now, out);
}

/// An escalation stops the shipping deadline, but not the buyer's duty to send the item: a buyer
/// who was to send it back and let its date pass without sending it while the case sat with an
/// operator has not shipped it, whatever the escalation says.
fn never_shipped_while_escalated(
    log: &Log<'_>,
    case: &ReturnCase,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    if case.status != Status::Escalated || case.item_was_shipped() || case.item_is_back() {
        return;
    }
    // The latest shipping deadline the case was given: by its authorisation, a method chosen
    // since, or a parcel brought back to the buyer.
    let due = log.iter().rev().find_map(|(p, e)| match e {
        ReturnEvent::ReturnAuthorized(a) => a
            .ship_by
            .map(|due| (p, a.ship_deadline.unwrap_or(DeadlineKind::ShipBy), due)),
        ReturnEvent::ReturnMethodChosen(m) => m.deadline.map(|d| (p, d.kind, d.due_at)),
        ReturnEvent::ShipmentReturnedToSender(r) => r.deadline.map(|d| (p, d.kind, d.due_at)),
        _ => None,
    });
    let Some((set_at, kind, due_at)) = due else {
        return;
    };
    let recorded = log.after(set_at).any(|(_, e)| {
        matches!(e, ReturnEvent::DeadlineMissed(m) if m.kind == kind && m.due_at == due_at)
    });
    if recorded || due_at > now || kind == DeadlineKind::PickupBy {
        return;
    }
    let escalated = log.after(set_at).filter_map(|(p, e)| match e {
        ReturnEvent::ReturnEscalated(_) => Some(p),
        _ => None,
    });
    let note = " The case was escalated meanwhile, which does not excuse the shipment.";
    if let Some(finding) =
        missed_deadline(kind, due_at, [set_at].into_iter().chain(escalated), note)
    {
        out.push(finding.pending());
    }
}

/// The carrier lost the return parcel. A parcel sent on the seller's label, or whose sending the
/// carrier's acceptance scan proves (EU Directive 2011/83/EU, art. 13(3): the trader refunds once
/// the consumer shows the goods were sent back), is not the buyer's loss.
fn lost_parcel_finding(log: &Log<'_>, case: &ReturnCase, out: &mut Vec<Finding>) {
    let Some(lost) = log.iter().rev().find_map(|(p, e)| match e {
        ReturnEvent::ShipmentLost(_) => Some(p),
        _ => None,
    }) else {
        return;
    };
    if case.item_is_back() {
        return;
    }
    let on_sellers_label = log.iter().rev().find_map(|(p, e)| match e {
        ReturnEvent::ReturnAuthorized(a) if a.label.is_some() => Some(p),
        _ => None,
    });
    let scanned = log.iter().find_map(|(p, e)| match e {
        ReturnEvent::ShipmentInTransit(_) => Some(p),
        _ => None,
    });
    let (why, proof) = match (on_sellers_label, scanned) {
        (Some(label), _) => ("it travelled on the seller's prepaid label", label),
        (None, Some(scan)) => (
            "the carrier's acceptance scan proves the buyer sent it",
            scan,
        ),
        (None, None) => return,
    };
    out.push(Finding::new(
        Rule::ReturnParcelLost,
        Effect::Decides(Side::Buyer),
        [proof, lost],
        format!(
            "The carrier lost the return parcel; {why}, so the loss is not the buyer's and the item cannot be sent again."
        ),
    ));
}

fn missed_deadline(
    kind: DeadlineKind,
    due_at: DateTime<Utc>,
    positions: impl IntoIterator<Item = i64>,
    note: &str,
) -> Option<Finding> {
    let due = time(due_at);
    let (rule, side, detail) = match kind {
        DeadlineKind::SellerResponseDue => (
            Rule::SellerSilence,
            Side::Buyer,
            format!("The seller did not answer the request by its response deadline ({due})."),
        ),
        DeadlineKind::InspectBy => (
            Rule::SellerMissedDeadline,
            Side::Buyer,
            format!(
                "The seller did not inspect the returned item by its inspection deadline ({due})."
            ),
        ),
        DeadlineKind::ShipBy => (
            Rule::BuyerNeverShipped,
            Side::Seller,
            format!("The buyer did not ship the item back by the ship-by date ({due})."),
        ),
        DeadlineKind::ReplacementShipBy => (
            Rule::SellerMissedDeadline,
            Side::Buyer,
            format!("The seller did not ship the replacement by its deadline ({due})."),
        ),
        DeadlineKind::DropOffBy => (
            Rule::BuyerNeverShipped,
            Side::Seller,
            format!("The buyer did not drop the item off by the drop-off date ({due})."),
        ),
        DeadlineKind::RefundDue => (
            Rule::RefundOverdue,
            Side::Buyer,
            format!("The approved refund was not paid by its due date ({due})."),
        ),
        // Offers lapse and escalation windows close without anyone being at fault, the
        // operator's own SLA says nothing about the parties, and a pickup the carrier missed is
        // no party's doing (the buyer may then send the item by mail).
        DeadlineKind::OfferExpires
        | DeadlineKind::EscalateBy
        | DeadlineKind::DecisionDue
        | DeadlineKind::PickupBy => return None,
    };
    Some(Finding::new(
        rule,
        Effect::Decides(side),
        positions,
        format!("{detail}{note}"),
    ))
}

/// The seller's refusal at inspection, judged by its evidence and grade.
fn inspection_findings(log: &Log<'_>, out: &mut Vec<Finding>) {
    let Some(inspection) = log.last_inspection() else {
        return;
    };
    let (at, inspected) = inspection;
    let refusal = log.after(at).find_map(|(p, e)| match e {
        ReturnEvent::ReturnDeclined(d) if d.stage == DeclineStage::Inspection => Some(p),
        _ => None,
    });
    let Some(refused_at) = refusal else {
        return;
    };
    let grade = inspected.grade;
    let photos = log.seller_photos_of_item(inspection);
    if photos.is_empty() {
        out.push(Finding::new(
            Rule::RefusalWithoutEvidence,
            Effect::Decides(Side::Buyer),
            [at, refused_at],
            format!(
                "The seller refused the item at inspection (grade {grade}) without photo or video evidence."
            ),
        ));
        return;
    }
    let positions = [at, refused_at].into_iter().chain(photos);
    let finding = match grade {
        Grade::EmptyBox | Grade::WrongItem => Finding::new(
            Rule::RefusalWithEvidence,
            Effect::Weighs(NOT_THE_ITEM_SOLD),
            positions,
            format!(
                "The seller refused the item at inspection as {grade}, with photo or video evidence: what came back is not the item sold."
            ),
        ),
        Grade::Used | Grade::Damaged | Grade::MissingParts => Finding::new(
            Rule::RefusalWithEvidence,
            Effect::Weighs(REFUSAL_WITH_EVIDENCE),
            positions,
            format!("The seller refused the item at inspection as {grade}, with photo or video evidence."),
        ),
        Grade::AsNew | Grade::Opened => Finding::new(
            Rule::RefusalContradictsGrade,
            Effect::Weighs(REFUSAL_CONTRADICTS_GRADE),
            positions,
            format!("The seller refused the item although its own inspection grade is {grade}."),
        ),
    };
    out.push(finding);
}

/// Tracking shows the item reached the seller, who escalated instead of inspecting it.
fn carrier_finding(log: &Log<'_>, out: &mut Vec<Finding>) {
    let carrier_arrival = log.iter().rev().find_map(|(p, e)| match e {
        ReturnEvent::ItemArrived(a) if a.source == ArrivalSource::Carrier => Some((p, a)),
        _ => None,
    });
    let Some((arrived, arrival)) = carrier_arrival else {
        return;
    };
    let inspected = log
        .after(arrived)
        .any(|(_, e)| matches!(e, ReturnEvent::ItemInspected(_)));
    let seller_escalation = log.after(arrived).find_map(|(p, e)| match e {
        ReturnEvent::ReturnEscalated(x) if x.trigger == EscalationTrigger::Seller => Some(p),
        _ => None,
    });
    if let (false, Some(escalated)) = (inspected, seller_escalation) {
        out.push(Finding::new(
            Rule::CarrierDeliveredToSeller,
            Effect::Decides(Side::Buyer),
            [arrived, escalated],
            format!(
                "Tracking shows delivery to the seller on {}; the seller escalated without inspecting the item.",
                time(arrival.arrived_at)
            ),
        ));
    }
}

/// What policy and law say about the claim.
fn eligibility_finding(log: &Log<'_>, case: &ReturnCase, out: &mut Vec<Finding>) {
    let evaluation = &case.policy.evaluation;
    let Some(at) = log.evaluation_position() else {
        return;
    };
    let granted = log.exceptions();
    let eligible_when_requested = log
        .requested()
        .is_none_or(|(_, requested)| requested.evaluation.eligible);
    let has = |rule: &str| evaluation.rules.iter().any(|r| r == rule);
    let finding = if evaluation.eligible {
        if !eligible_when_requested && !granted.is_empty() {
            let rules: Vec<&str> = granted.iter().map(|(_, g)| g.rule.as_str()).collect();
            let by_operator = granted
                .iter()
                .all(|(_, g)| g.granted_by.role == Role::Operator);
            Finding::new(
                Rule::GoodwillException,
                Effect::Weighs(GOODWILL_EXCEPTION),
                granted.iter().map(|(p, _)| *p),
                format!(
                    "The return was outside the policy when requested; a goodwill exception ({}) granted by {} made it eligible.",
                    rules.join(", "),
                    if by_operator { "an operator" } else { "the seller" }
                ),
            )
        } else if case.reason.is_conformity() && has("eu_conformity_2y") {
            Finding::new(
                Rule::LegalGuarantee,
                Effect::Weighs(LEGAL_GUARANTEE),
                [at],
                format!(
                    "The reason ({}) is covered by the EU legal guarantee of conformity (2 years from delivery).",
                    case.reason
                ),
            )
        } else {
            let grounds: Vec<&str> = evaluation
                .rules
                .iter()
                .map(String::as_str)
                .filter(|r| {
                    r.starts_with("eu_withdrawal")
                        || r.starts_with("seller_window_")
                        || r.starts_with("eu_conformity")
                        || *r == "not_yet_delivered"
                })
                .collect();
            Finding::new(
                Rule::WithinReturnWindow,
                Effect::Weighs(WITHIN_RETURN_WINDOW),
                [at],
                format!(
                    "The return was requested within its return window ({}).",
                    grounds.join(", ")
                ),
            )
        }
    } else if has("outside_return_window") {
        Finding::new(
            Rule::OutsideEveryWindow,
            Effect::Weighs(NOT_RETURNABLE),
            [at],
            format!(
                "The return was requested on {}, after every return window of the policy and the law had closed, and no goodwill exception made it eligible.",
                time(case.created_at)
            ),
        )
    } else {
        Finding::new(
            Rule::NonReturnableCategory,
            Effect::Weighs(NOT_RETURNABLE),
            [at],
            "An item's category is not returnable under the seller's policy or the law, and no goodwill exception made it eligible."
                .to_owned(),
        )
    };
    out.push(finding);
}

/// The carrier lost the replacement of an exchange on its way to the buyer, who now has neither
/// the item (back with the seller) nor its replacement. The seller's shipment travels at the
/// seller's risk until the buyer has it (Directive 2011/83/EU, art. 20).
fn replacement_lost_finding(log: &Log<'_>, out: &mut Vec<Finding>) {
    let Some(lost) = log.iter().rev().find_map(|(p, e)| match e {
        ReturnEvent::ReplacementLost(_) => Some(p),
        _ => None,
    }) else {
        return;
    };
    let shipped = log.iter().rev().find_map(|(p, e)| match e {
        ReturnEvent::ReplacementShipped(_) if p < lost => Some(p),
        _ => None,
    });
    out.push(Finding::new(
        Rule::ReplacementLost,
        Effect::Decides(Side::Buyer),
        shipped.into_iter().chain([lost]),
        "The carrier lost the replacement on its way to the buyer, who has neither the item nor its replacement; the seller's shipment is at the seller's risk."
            .to_owned(),
    ));
}

/// A `not_received` claim judged by the proof of delivery: a delivery of the order recorded by the
/// platform. The seller's tracking evidence alone proves nothing (a tracking page may say the
/// parcel is still on its way); eBay's Money Back Guarantee and PayPal's Seller Protection both ask
/// for tracking that shows delivery.
fn delivery_finding(
    log: &Log<'_>,
    case: &ReturnCase,
    parties: &PartyStanding,
    out: &mut Vec<Finding>,
) {
    if case.reason != ReturnReason::NotReceived {
        return;
    }
    let tracking = |evidence: &Evidence| evidence.kind == EvidenceKind::Tracking;
    let requested = log.requested().map(|(p, _)| p);
    let positions: Vec<i64> = requested
        .into_iter()
        .chain(
            log.iter()
                .filter(|(_, e)| match e {
                    ReturnEvent::ReturnDeclined(d) => d.evidence.iter().any(tracking),
                    ReturnEvent::EvidenceAdded(a) => {
                        a.added_by.role == Role::Seller && tracking(&a.evidence)
                    }
                    _ => false,
                })
                .map(|(p, _)| p),
        )
        .collect();
    out.push(match parties.order_delivered_at {
        Some(delivered) => Finding::new(
            Rule::DeliveryTrackedToBuyer,
            Effect::Weighs(DELIVERY_TRACKED),
            positions,
            format!(
                "The buyer says the order never arrived; its delivery on {} is recorded.",
                time(delivered)
            ),
        ),
        None => Finding::new(
            Rule::NoRecordedDelivery,
            Effect::Weighs(NO_RECORDED_DELIVERY),
            positions,
            "The buyer says the order never arrived, and no delivery of it is recorded: tracking evidence without a recorded delivery does not prove it."
                .to_owned(),
        ),
    });
}

/// What one confirmed seller flag weighs in a case about `reason`: a pattern of refusals that
/// operators overturned (+3) says the seller's refusals are often wrong; a pattern of items not as
/// described (+2 on a conformity claim, +1 otherwise) bears on the goods; missed deadlines and a
/// high decline rate (+1) only tip a balanced case.
pub fn seller_flag_weight(kind: crate::abuse::FlagKind, reason: ReturnReason) -> i32 {
    use crate::abuse::FlagKind;
    match kind {
        FlagKind::SellerRefusalsOverturned => SELLER_REFUSALS_OVERTURNED,
        FlagKind::SellerNotAsDescribedRate if reason.is_conformity() => SELLER_NOT_AS_DESCRIBED,
        _ => SELLER_FLAGGED,
    }
}

fn flag_findings(parties: &PartyStanding, case: &ReturnCase, out: &mut Vec<Finding>) {
    let kinds = |flags: &[ConfirmedFlag]| {
        let mut kinds: Vec<&str> = flags.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds.join(", ")
    };
    if parties.buyer_flagged() {
        out.push(Finding::new(
            Rule::BuyerFlagged,
            Effect::Weighs(BUYER_FLAGGED),
            parties.buyer_flags.iter().map(|f| f.position),
            format!(
                "The buyer has a confirmed abuse flag ({}).",
                kinds(&parties.buyer_flags)
            ),
        ));
    }
    if parties.seller_flagged() {
        let weight = parties
            .seller_flags
            .iter()
            .map(|f| seller_flag_weight(f.kind, case.reason))
            .max()
            .unwrap_or(SELLER_FLAGGED);
        out.push(Finding::new(
            Rule::SellerFlagged,
            Effect::Weighs(weight),
            parties.seller_flags.iter().map(|f| f.position),
            format!(
                "The seller has a confirmed abuse flag ({}).",
                kinds(&parties.seller_flags)
            ),
        ));
    }
}

/// The latest procedural default, if any (ties: the one found last).
fn deciding_finding(findings: &[Finding]) -> Option<usize> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.effect, Effect::Decides(_)))
        .max_by_key(|(i, f)| (f.order, *i))
        .map(|(i, _)| i)
}

/// The merit that weighs most toward `side` (ties: the earliest found), to lead the reasons.
fn heaviest_for(findings: &[Finding], side: Side) -> Option<usize> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.favours() == Some(side))
        .max_by_key(|(i, f)| (f.weight().abs(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

fn order_reasons(findings: Vec<Finding>, lead: Option<usize>) -> Vec<Reason> {
    let mut indexed: Vec<(usize, Finding)> = findings.into_iter().enumerate().collect();
    indexed.sort_by_key(|(i, f)| {
        (
            Some(*i) != lead,
            f.tier(),
            f.positions.first().copied(),
            f.rule,
            *i,
        )
    });
    indexed
        .into_iter()
        .map(|(_, f)| Reason {
            rule: f.rule,
            favours: f.favours(),
            detail: f.detail,
            event_positions: f.positions,
        })
        .collect()
}

// --- terms --------------------------------------------------------------------------------------

struct Terms {
    outcome: DecisionOutcome,
    amount: MinorUnits,
    return_required: bool,
    funded_by: FundedBy,
    notes: Vec<Finding>,
}

impl Terms {
    fn side_with_seller() -> Terms {
        Terms {
            outcome: DecisionOutcome::SideWithSeller,
            amount: MinorUnits::ZERO,
            return_required: false,
            funded_by: FundedBy::Seller,
            notes: Vec::new(),
        }
    }
}

/// The amount, return and funding of a refund to the buyer (see the module doc).
fn refund_terms(
    log: &Log<'_>,
    case: &ReturnCase,
    parties: &PartyStanding,
    findings: &[Finding],
    lead: Option<usize>,
) -> Terms {
    let cap = case.items_total_minor;
    let requested_at: Vec<i64> = log.requested().map(|(p, _)| p).into_iter().collect();
    let mut notes = Vec::new();
    let overdue = lead
        .and_then(|i| findings.get(i))
        .is_some_and(|f| f.rule == Rule::RefundOverdue);
    let approval = log.last_approval();

    let (amount, keeps_item, funded_by) = match approval {
        // The refund was agreed already; only its payment is late.
        Some((_, approved)) if overdue => (
            approved.principal_minor.min(cap),
            approved.keep_item,
            approved.funded_by.unwrap_or(FundedBy::Seller),
        ),
        _ => {
            let requested = case.requested_amount_minor.min(cap);
            let amount = match use_deduction(log, case, requested) {
                Some((amount, note)) => {
                    notes.push(note);
                    amount
                }
                None => requested,
            };
            let keeps_item = approval.is_some_and(|(_, a)| a.keep_item);
            let funded_by = funding(log, case, findings, &requested_at, &mut notes);
            (amount, keeps_item, funded_by)
        }
    };

    // Never pay twice: what was refunded already comes off.
    let amount = amount.saturating_sub(case.refunded_amount_minor);
    if amount.is_zero() {
        let mut terms = Terms::side_with_seller();
        terms.notes.push(Finding::new(
            Rule::NothingLeftToRefund,
            Effect::Explains,
            log.iter().filter_map(|(p, e)| match e {
                ReturnEvent::RefundIssued(_) => Some(p),
                _ => None,
            }),
            format!(
                "Nothing is left to refund: {} of {} was refunded already.",
                case.refunded_amount_minor, cap
            ),
        ));
        return terms;
    }

    let returnless_max = parties.returnless_refund_max_minor;
    let return_required = if case.item_is_back()
        || case.reason == ReturnReason::NotReceived
        || case.shipment.lost_at.is_some()
        || keeps_item
    {
        false
    } else if !returnless_max.is_zero() && amount <= returnless_max && !parties.buyer_flagged() {
        notes.push(Finding::new(
            Rule::ReturnlessRefund,
            Effect::Explains,
            requested_at.clone(),
            format!(
                "The refund is within the seller's returnless threshold ({returnless_max}): shipping the item back is not worth it."
            ),
        ));
        false
    } else {
        true
    };

    Terms {
        outcome: DecisionOutcome::RefundBuyer,
        amount,
        return_required,
        funded_by,
        notes,
    }
}

/// The deduction for an item the buyer used, when the inspection shows it with pictures and the
/// claim does not blame the goods.
fn use_deduction(
    log: &Log<'_>,
    case: &ReturnCase,
    requested: MinorUnits,
) -> Option<(MinorUnits, Finding)> {
    let inspection = log.last_inspection()?;
    let (at, inspected) = inspection;
    let shows_use = matches!(
        inspected.grade,
        Grade::Used | Grade::Damaged | Grade::MissingParts
    );
    let claim_blames_goods =
        case.reason.is_conformity() || case.reason == ReturnReason::DamagedInTransit;
    let photos = log.seller_photos_of_item(inspection);
    if !shows_use || claim_blames_goods || photos.is_empty() {
        return None;
    }
    let kept = requested
        .percent(100 - USE_DEDUCTION_PERCENT)
        .unwrap_or(requested);
    // Never recommend less than the seller itself offered at inspection.
    let amount = kept.max(inspected.refund_amount_minor).min(requested);
    if amount >= requested {
        return None;
    }
    let note = Finding::new(
        Rule::PartialForUse,
        Effect::Explains,
        [at].into_iter().chain(photos),
        format!(
            "The item came back {} (with photo or video evidence) on a claim that does not blame the goods: {} of {} is recommended.",
            inspected.grade, amount, requested
        ),
    );
    Some((amount, note))
}

/// Who funds a refund: the seller, unless nothing puts the seller at fault and the loss is the
/// carrier's or the platform's own goodwill.
fn funding(
    log: &Log<'_>,
    case: &ReturnCase,
    findings: &[Finding],
    requested_at: &[i64],
    notes: &mut Vec<Finding>,
) -> FundedBy {
    let seller_at_fault = findings.iter().any(|f| {
        f.favours() == Some(Side::Buyer)
            && matches!(
                f.rule,
                Rule::SellerSilence
                    | Rule::SellerMissedDeadline
                    | Rule::ReturnParcelLost
                    | Rule::ReplacementLost
                    | Rule::RefusalWithoutEvidence
                    | Rule::CarrierDeliveredToSeller
                    | Rule::LegalGuarantee
                    | Rule::RefusalContradictsGrade
                    | Rule::SellerFlagged
            )
    });
    if seller_at_fault {
        return FundedBy::Seller;
    }
    if case.reason == ReturnReason::DamagedInTransit {
        notes.push(Finding::new(
            Rule::CarrierDamage,
            Effect::Explains,
            requested_at.iter().copied(),
            "The item was damaged in transit: the carrier, not the seller, is at fault, so the platform funds the refund."
                .to_owned(),
        ));
        return FundedBy::Platform;
    }
    let granted = log.exceptions();
    let rests_on_goodwill = findings.iter().any(|f| f.rule == Rule::GoodwillException);
    if rests_on_goodwill
        && granted
            .iter()
            .all(|(_, g)| g.granted_by.role == Role::Operator)
    {
        return FundedBy::Platform;
    }
    FundedBy::Seller
}
