//! What an event means for abuse: the facts it adds to a buyer's or a seller's record.
//!
//! Each fact is counted once: an event that happens at most once per return (the request, the
//! inspection, the decision, the payment) yields its facts directly, and an event that can repeat
//! (a second decline after a reopening) is judged against the case before it.
//!
//! Decisions where the texts are silent:
//! - A return counts for its buyer and its seller when it is requested; a not-as-described or
//!   defective return counts against the seller then too (the claim, not its outcome, is the
//!   signal; disputes that the seller wins show up elsewhere).
//! - `used` and `damaged` grades count against the buyer only when the claim does not explain them
//!   (not a conformity reason, not damage in transit); `empty_box` and `wrong_item` always count.
//! - A returnless refund counts when it is paid, and only when the buyer kept the item by an
//!   automatic or seller returnless approval or an operator's decision (accepted partial-refund or
//!   store-credit offers are the seller's own deal).
//! - Every decided dispute counts for both parties; the loser is the buyer when the operator sided
//!   with the seller, and the seller when the buyer was refunded. A refund decided after the seller
//!   had declined or refused is a refusal overturned.
//! - Missed deadlines count against the seller for `seller_response_due` and `inspect_by` (the
//!   refund deadline is the platform's payment).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use returns_domain::returns::{
    DeadlineKind, DecisionOutcome, RefundBasis, ReturnCase, ReturnEvent,
};
use returns_domain::{BuyerId, Grade, Reason, ReturnId, SellerId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    Buyer,
    Seller,
}

impl PartyRole {
    pub const fn as_str(self) -> &'static str {
        match self {
            PartyRole::Buyer => "buyer",
            PartyRole::Seller => "seller",
        }
    }
}

/// A buyer or a seller, by the marketplace's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Party {
    pub role: PartyRole,
    pub id: String,
}

impl Party {
    pub fn buyer(id: &BuyerId) -> Party {
        Party {
            role: PartyRole::Buyer,
            id: id.as_str().to_owned(),
        }
    }

    pub fn seller(id: &SellerId) -> Party {
        Party {
            role: PartyRole::Seller,
            id: id.as_str().to_owned(),
        }
    }
}

/// What is counted per party and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counter {
    /// Orders registered (buyer and seller).
    Orders,
    /// Returns requested (buyer and seller).
    Returns,
    /// Buyer: `not_received` claims.
    NotReceivedClaims,
    /// Buyer: returns graded `used` at inspection, on a claim that does not explain it.
    GradedUsed,
    /// Buyer: returns graded `damaged` at inspection, on a claim that does not explain it.
    GradedDamaged,
    /// Buyer: returns graded `empty_box`.
    GradedEmptyBox,
    /// Buyer: returns graded `wrong_item`.
    GradedWrongItem,
    /// Buyer: refunds paid while the buyer kept the item.
    ReturnlessRefunds,
    /// Buyer and seller: disputes an operator decided.
    DisputesDecided,
    /// Buyer and seller: decided disputes that went against the party.
    DisputesLost,
    /// Seller: returns requested as `not_as_described`.
    NotAsDescribed,
    /// Seller: returns requested as `defective`.
    Defective,
    /// Seller: returns it declined or refused at least once.
    Declined,
    /// Seller: returns it had declined or refused and an operator then refunded.
    RefusalsOverturned,
    /// Seller: response or inspection deadlines missed.
    MissedDeadlines,
}

impl Counter {
    pub const ALL: &'static [Counter] = &[
        Counter::Orders,
        Counter::Returns,
        Counter::NotReceivedClaims,
        Counter::GradedUsed,
        Counter::GradedDamaged,
        Counter::GradedEmptyBox,
        Counter::GradedWrongItem,
        Counter::ReturnlessRefunds,
        Counter::DisputesDecided,
        Counter::DisputesLost,
        Counter::NotAsDescribed,
        Counter::Defective,
        Counter::Declined,
        Counter::RefusalsOverturned,
        Counter::MissedDeadlines,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Counter::Orders => "orders",
            Counter::Returns => "returns",
            Counter::NotReceivedClaims => "not_received_claims",
            Counter::GradedUsed => "graded_used",
            Counter::GradedDamaged => "graded_damaged",
            Counter::GradedEmptyBox => "graded_empty_box",
            Counter::GradedWrongItem => "graded_wrong_item",
            Counter::ReturnlessRefunds => "returnless_refunds",
            Counter::DisputesDecided => "disputes_decided",
            Counter::DisputesLost => "disputes_lost",
            Counter::NotAsDescribed => "not_as_described",
            Counter::Defective => "defective",
            Counter::Declined => "declined",
            Counter::RefusalsOverturned => "refusals_overturned",
            Counter::MissedDeadlines => "missed_deadlines",
        }
    }
}

/// One thing that happened to a party, at a service time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub party: Party,
    pub counter: Counter,
    pub at: DateTime<Utc>,
    /// The return it concerns (none for orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_id: Option<ReturnId>,
    /// The position of the event it came from (none for orders counted outside the return feed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// For `graded_used`: whole days that were left of the return window when the return was
    /// requested (how wardrobing is recognised). None when no time window applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left_in_window: Option<i64>,
}

impl Fact {
    fn on_return(
        party: Party,
        counter: Counter,
        case: &ReturnCase,
        position: i64,
        at: DateTime<Utc>,
    ) -> Fact {
        Fact {
            party,
            counter,
            at,
            return_id: Some(case.id),
            position: Some(position),
            days_left_in_window: None,
        }
    }
}

/// An order counts once for its buyer and once for its seller (from `order.registered`).
pub fn order_facts(buyer: &BuyerId, seller: &SellerId, at: DateTime<Utc>) -> [Fact; 2] {
    let fact = |party| Fact {
        party,
        counter: Counter::Orders,
        at,
        return_id: None,
        position: None,
        days_left_in_window: None,
    };
    [fact(Party::buyer(buyer)), fact(Party::seller(seller))]
}

/// The facts that the return event at `position` adds, given the case before it (none for the
/// request) and after it.
pub fn return_facts(
    position: i64,
    event: &ReturnEvent,
    before: Option<&ReturnCase>,
    after: &ReturnCase,
) -> Vec<Fact> {
    let at = event.at();
    let buyer = || Party::buyer(&after.buyer_id);
    let seller = || Party::seller(&after.seller_id);
    let fact = |party, counter| Fact::on_return(party, counter, after, position, at);
    let mut facts = Vec::new();
    match event {
        ReturnEvent::ReturnRequested(requested) => {
            facts.push(fact(buyer(), Counter::Returns));
            facts.push(fact(seller(), Counter::Returns));
            match requested.reason {
                Reason::NotReceived => facts.push(fact(buyer(), Counter::NotReceivedClaims)),
                Reason::NotAsDescribed => facts.push(fact(seller(), Counter::NotAsDescribed)),
                Reason::Defective => facts.push(fact(seller(), Counter::Defective)),
                _ => {}
            }
        }
        ReturnEvent::ItemInspected(inspected) => {
            let explained =
                after.reason.is_conformity() || after.reason == Reason::DamagedInTransit;
            match inspected.grade {
                Grade::Used if !explained => facts.push(Fact {
                    days_left_in_window: days_left_in_window(after),
                    ..fact(buyer(), Counter::GradedUsed)
                }),
                Grade::Damaged if !explained => facts.push(fact(buyer(), Counter::GradedDamaged)),
                Grade::EmptyBox => facts.push(fact(buyer(), Counter::GradedEmptyBox)),
                Grade::WrongItem => facts.push(fact(buyer(), Counter::GradedWrongItem)),
                _ => {}
            }
        }
        ReturnEvent::RefundIssued(_) => {
            let returnless = before
                .and_then(|case| case.pending_refund.as_ref())
                .is_some_and(|due| {
                    due.keep_item
                        && matches!(
                            due.basis,
                            RefundBasis::AutoReturnless
                                | RefundBasis::SellerReturnless
                                | RefundBasis::Decision
                        )
                });
            if returnless {
                facts.push(fact(buyer(), Counter::ReturnlessRefunds));
            }
        }
        ReturnEvent::ReturnDeclined(_) => {
            let declined_before = before.is_some_and(|case| case.decline.is_some());
            if !declined_before {
                facts.push(fact(seller(), Counter::Declined));
            }
        }
        ReturnEvent::DisputeDecided(decided) => {
            facts.push(fact(buyer(), Counter::DisputesDecided));
            facts.push(fact(seller(), Counter::DisputesDecided));
            match decided.outcome {
                DecisionOutcome::SideWithSeller => facts.push(fact(buyer(), Counter::DisputesLost)),
                DecisionOutcome::RefundBuyer => {
                    facts.push(fact(seller(), Counter::DisputesLost));
                    if before.is_some_and(|case| case.decline.is_some()) {
                        facts.push(fact(seller(), Counter::RefusalsOverturned));
                    }
                }
            }
        }
        ReturnEvent::DeadlineMissed(missed) => {
            if matches!(
                missed.kind,
                DeadlineKind::SellerResponseDue | DeadlineKind::InspectBy
            ) {
                facts.push(fact(seller(), Counter::MissedDeadlines));
            }
        }
        _ => {}
    }
    facts
}

/// Whole days between the request and the end of the time window that made it returnable. None
/// for conformity claims (the 2-year guarantee is not a window one games) and when no window end
/// is known (not yet delivered, or waived).
fn days_left_in_window(case: &ReturnCase) -> Option<i64> {
    if case.reason.is_conformity() {
        return None;
    }
    let ends = case.policy.evaluation.window_ends?;
    Some((ends - case.created_at).num_days())
}
