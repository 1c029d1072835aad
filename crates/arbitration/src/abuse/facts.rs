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

    pub fn parse(text: &str) -> Option<PartyRole> {
        match text {
            "buyer" => Some(PartyRole::Buyer),
            "seller" => Some(PartyRole::Seller),
            _ => None,
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
        return_id: ReturnId,
        position: i64,
        at: DateTime<Utc>,
    ) -> Fact {
        Fact {
            party,
            counter,
            at,
            return_id: Some(return_id),
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
pub fn return_facts<C: CaseFacts>(
    position: i64,
    event: &ReturnEvent,
    before: Option<&C>,
    after: &C,
) -> Vec<Fact> {
    let at = event.at();
    let buyer = || after.buyer();
    let seller = || after.seller();
    let fact = |party, counter| Fact::on_return(party, counter, after.return_id(), position, at);
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
            let reason = after.reason();
            let explained = reason.is_conformity() || reason == Reason::DamagedInTransit;
            match inspected.grade {
                Grade::Used if !explained => facts.push(Fact {
                    days_left_in_window: after.days_left_in_window(),
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
                .and_then(CaseFacts::pending_refund_keeps_item)
                .is_some_and(counts_as_returnless);
            if returnless {
                facts.push(fact(buyer(), Counter::ReturnlessRefunds));
            }
        }
        ReturnEvent::ReturnDeclined(_) => {
            let declined_before = before.is_some_and(CaseFacts::was_declined);
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
                    if before.is_some_and(CaseFacts::was_declined) {
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

/// A refund paid while the buyer keeps the item counts as returnless when the item was let go by
/// an automatic or seller returnless approval or an operator's decision (accepted partial-refund
/// or store-credit offers are the seller's own deal).
fn counts_as_returnless(basis: RefundBasis) -> bool {
    matches!(
        basis,
        RefundBasis::AutoReturnless | RefundBasis::SellerReturnless | RefundBasis::Decision
    )
}

/// Whole days between the request and the end of the time window that made it returnable. None
/// for conformity claims (the 2-year guarantee is not a window one games) and when no window end
/// is known (not yet delivered, or waived).
fn days_left(
    reason: Reason,
    requested_at: DateTime<Utc>,
    window_ends: Option<DateTime<Utc>>,
) -> Option<i64> {
    if reason.is_conformity() {
        return None;
    }
    Some((window_ends? - requested_at).num_days())
}

/// What [`return_facts`] needs to know of a return besides the event in hand: the full
/// [`ReturnCase`] has it, and so does the much smaller [`ReturnMemo`] that the abuse projection
/// keeps per open return.
pub trait CaseFacts {
    fn return_id(&self) -> ReturnId;
    fn buyer_id(&self) -> &BuyerId;
    fn seller_id(&self) -> &SellerId;
    /// The reason of the request.
    fn reason(&self) -> Reason;
    /// When the return was requested, and when the time window that made it returnable ends.
    fn window(&self) -> (DateTime<Utc>, Option<DateTime<Utc>>);
    /// Whether the seller has declined or refused the return at least once.
    fn was_declined(&self) -> bool;
    /// The basis of the refund approved and not yet paid, when the buyer keeps the item.
    fn pending_refund_keeps_item(&self) -> Option<RefundBasis>;

    fn buyer(&self) -> Party {
        Party::buyer(self.buyer_id())
    }

    fn seller(&self) -> Party {
        Party::seller(self.seller_id())
    }

    /// Whole days that were left of the return window when the return was requested.
    fn days_left_in_window(&self) -> Option<i64> {
        let (requested_at, window_ends) = self.window();
        days_left(self.reason(), requested_at, window_ends)
    }
}

impl CaseFacts for ReturnCase {
    fn return_id(&self) -> ReturnId {
        self.id
    }

    fn buyer_id(&self) -> &BuyerId {
        &self.buyer_id
    }

    fn seller_id(&self) -> &SellerId {
        &self.seller_id
    }

    fn reason(&self) -> Reason {
        self.reason
    }

    fn window(&self) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        (self.created_at, self.policy.evaluation.window_ends)
    }

    fn was_declined(&self) -> bool {
        self.decline.is_some()
    }

    fn pending_refund_keeps_item(&self) -> Option<RefundBasis> {
        self.pending_refund
            .as_ref()
            .filter(|due| due.keep_item)
            .map(|due| due.basis)
    }
}

/// What abuse detection remembers of a return between its events: who its parties are, its reason
/// and window, whether the seller ever declined it, and how the last approved refund let the item
/// go. Built from `return.requested` and kept up to date by [`ReturnMemo::apply`]; every other
/// event type leaves it as it is ([`ReturnMemo::RELEVANT`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnMemo {
    pub return_id: ReturnId,
    pub buyer_id: BuyerId,
    pub seller_id: SellerId,
    pub reason: Reason,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ends: Option<DateTime<Utc>>,
    #[serde(default)]
    pub declined: bool,
    /// The basis of the last refund approved with the item kept by the buyer; cleared by a refund
    /// approved with the item coming back. A refund is only ever paid after its approval, so at
    /// `return.refunded` this is the approval being paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeps_item_by: Option<RefundBasis>,
}

impl ReturnMemo {
    /// The event types that change a memo or yield facts; a projection need not decode the others.
    pub const RELEVANT: &'static [&'static str] = &[
        "return.requested",
        "return.declined",
        "return.inspected",
        "return.refund_approved",
        "return.refunded",
        "return.exception_granted",
        "return.dispute_decided",
        "return.deadline_missed",
        "return.closed",
    ];

    /// The memo of a return from its request; None for any other event.
    pub fn start(event: &ReturnEvent) -> Option<ReturnMemo> {
        let ReturnEvent::ReturnRequested(e) = event else {
            return None;
        };
        Some(ReturnMemo {
            return_id: e.return_id,
            buyer_id: e.buyer_id.clone(),
            seller_id: e.seller_id.clone(),
            reason: e.reason,
            requested_at: e.at,
            window_ends: e.evaluation.window_ends,
            declined: false,
            keeps_item_by: None,
        })
    }

    /// Folds one later event of the return into the memo.
    pub fn apply(&mut self, event: &ReturnEvent) {
        match event {
            ReturnEvent::ReturnDeclined(_) => self.declined = true,
            ReturnEvent::RefundApproved(e) => {
                self.keeps_item_by = e.keep_item.then_some(e.basis);
            }
            ReturnEvent::ExceptionGranted(e) => self.window_ends = e.evaluation.window_ends,
            _ => {}
        }
    }
}

impl CaseFacts for ReturnMemo {
    fn return_id(&self) -> ReturnId {
        self.return_id
    }

    fn buyer_id(&self) -> &BuyerId {
        &self.buyer_id
    }

    fn seller_id(&self) -> &SellerId {
        &self.seller_id
    }

    fn reason(&self) -> Reason {
        self.reason
    }

    fn window(&self) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        (self.requested_at, self.window_ends)
    }

    fn was_declined(&self) -> bool {
        self.declined
    }

    fn pending_refund_keeps_item(&self) -> Option<RefundBasis> {
        self.keeps_item_by
    }
}
