//! The test harness: orders registered through the order aggregate, returns taken through their
//! life by the domain's own `decide` and `evolve` (so histories are ones the service could store),
//! each event given a global position, and a feed that folds them into abuse metrics like the
//! projection would.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use returns_arbitration::abuse::{
    order_facts, return_facts, Baseline, Party, PartyMetrics, ReturnMemo,
};
use returns_arbitration::{recommend, PartyStanding, Recommendation};
use returns_domain::order::{self, ItemRequest, OrderDetails, OrderLine, RegisterOrder};
use returns_domain::policy::SellerPolicy;
use returns_domain::returns::*;
use returns_domain::*;

pub fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A Wednesday.
pub fn now() -> DateTime<Utc> {
    t("2026-11-25T10:00:00Z")
}

pub fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

pub fn minor(amount: i64) -> MinorUnits {
    MinorUnits::new(amount).unwrap()
}

pub fn buyer() -> Actor {
    Actor::buyer("buyer-1")
}
pub fn seller() -> Actor {
    Actor::seller("shop-1")
}
pub fn operator() -> Actor {
    Actor::operator("op-1")
}
pub fn platform() -> Actor {
    Actor::platform("marketplace")
}
pub fn system() -> Actor {
    Actor::system()
}

/// One order line: 2 × 2500 in `category`.
pub fn line(category: &str) -> OrderLine {
    OrderLine {
        line_id: LineId::parse("L1").unwrap(),
        sku: Sku::parse("SKU-L1").unwrap(),
        title: "Item L1".to_owned(),
        category: Category::parse(category).unwrap(),
        quantity: 2,
        unit_price_minor: minor(2500),
    }
}

/// An order of `buyer` from `seller`, registered at `at`, delivered `delivered_days_before` days
/// before `at` (or not yet).
pub fn order_of(
    order_id: &str,
    buyer: &str,
    seller: &str,
    jurisdiction: &str,
    at: DateTime<Utc>,
    delivered_days_before: Option<i64>,
    category: &str,
) -> Order {
    let details = OrderDetails {
        order_id: OrderId::parse(order_id).unwrap(),
        buyer_id: BuyerId::parse(buyer).unwrap(),
        seller_id: SellerId::parse(seller).unwrap(),
        currency: Currency::parse(if jurisdiction == "US" { "USD" } else { "EUR" }).unwrap(),
        jurisdiction: Jurisdiction::parse(jurisdiction).unwrap(),
        placed_at: at - days(1000),
        delivered_at: delivered_days_before.map(|d| at - days(d)),
        lines: vec![line(category)],
    };
    let command = order::OrderCommand::Register(RegisterOrder {
        order: details,
        policy_version: 1,
    });
    let events = order::decide(None, &command, &platform(), at).unwrap();
    Order::replay(&events).unwrap()
}

/// A US order delivered 5 days ago.
pub fn us_order() -> Order {
    order_of(
        "ORD-1",
        "buyer-1",
        "shop-1",
        "US",
        now(),
        Some(5),
        "apparel",
    )
}

/// A German order delivered `delivered_days_ago` days ago.
pub fn eu_order(delivered_days_ago: i64) -> Order {
    order_of(
        "ORD-1",
        "buyer-1",
        "shop-1",
        "DE",
        now(),
        Some(delivered_days_ago),
        "apparel",
    )
}

pub fn return_id(n: u128) -> ReturnId {
    ReturnId::from_uuid(Uuid::from_u128(n))
}

pub fn photo() -> Evidence {
    Evidence::new(EvidenceKind::Photo).with_url("https://img.example/1.jpg")
}
pub fn note() -> Evidence {
    Evidence::new(EvidenceKind::Text).with_note("The seams are worn")
}
pub fn tracking() -> Evidence {
    Evidence::new(EvidenceKind::Tracking).with_url("https://track.example/1")
}

pub fn open(n: u128, order_id: &str, reason: Reason) -> ReturnCommand {
    ReturnCommand::Open(OpenReturn {
        return_id: return_id(n),
        rma: Rma::from_entropy(n as u64),
        order_id: OrderId::parse(order_id).unwrap(),
        items: vec![ItemRequest {
            line_id: LineId::parse("L1").unwrap(),
            quantity: 1,
        }],
        reason,
        description: None,
        resolution: Resolution::Refund,
        evidence: Vec::new(),
        return_method: None,
        drop_off_code: String::new(),
    })
}
pub fn accept() -> ReturnCommand {
    ReturnCommand::Accept(AcceptReturn::default())
}
pub fn accept_returnless() -> ReturnCommand {
    ReturnCommand::Accept(AcceptReturn {
        returnless: true,
        ..AcceptReturn::default()
    })
}
pub fn decline(evidence: Vec<Evidence>) -> ReturnCommand {
    ReturnCommand::Decline(DeclineReturn {
        reason_text: "No".to_owned(),
        evidence,
    })
}
pub fn ship() -> ReturnCommand {
    ReturnCommand::Ship(ShipReturn {
        carrier: "DHL".to_owned(),
        tracking_number: "JD0001".to_owned(),
    })
}
pub fn carrier(status: CarrierStatus, at: DateTime<Utc>) -> ReturnCommand {
    ReturnCommand::CarrierUpdate(CarrierUpdate { status, at })
}
pub fn carrier_delivered(at: DateTime<Utc>) -> ReturnCommand {
    ReturnCommand::CarrierUpdate(CarrierUpdate {
        status: CarrierStatus::Delivered,
        at,
    })
}
pub fn receive() -> ReturnCommand {
    ReturnCommand::Receive(ReceiveReturn::default())
}
pub fn inspect(grade: Grade, amount: i64, evidence: Vec<Evidence>) -> ReturnCommand {
    ReturnCommand::Inspect(InspectReturn {
        grade,
        refund_amount_minor: minor(amount),
        notes: None,
        evidence,
    })
}
pub fn pay(amount: i64) -> ReturnCommand {
    ReturnCommand::Refund(IssueRefund {
        amount_minor: minor(amount),
        method: PayoutMethod::OriginalPayment,
        reference: "pay_1".to_owned(),
    })
}
pub fn escalate() -> ReturnCommand {
    ReturnCommand::Escalate(EscalateReturn {
        reason_text: "Unfair".to_owned(),
    })
}
pub fn add_evidence(evidence: Evidence) -> ReturnCommand {
    ReturnCommand::AddEvidence(AddEvidence { evidence })
}
pub fn message() -> ReturnCommand {
    ReturnCommand::PostMessage(PostMessage {
        body: "Hello".to_owned(),
    })
}
pub fn grant(rule: ExceptionRule) -> ReturnCommand {
    ReturnCommand::GrantException(GrantException {
        rule,
        note: "Goodwill".to_owned(),
    })
}
pub fn decide_refund(amount: i64, return_required: bool, funded_by: FundedBy) -> ReturnCommand {
    ReturnCommand::Decide(DecideDispute {
        outcome: DecisionOutcome::RefundBuyer,
        refund_amount_minor: minor(amount),
        return_required,
        funded_by: Some(funded_by),
        rationale: "Refund".to_owned(),
        recommendation: None,
    })
}
pub fn side_with_seller() -> ReturnCommand {
    ReturnCommand::Decide(DecideDispute {
        outcome: DecisionOutcome::SideWithSeller,
        refund_amount_minor: MinorUnits::ZERO,
        return_required: false,
        funded_by: None,
        rationale: "Seller".to_owned(),
        recommendation: None,
    })
}

/// Runs commands like the service: decide, then fold the events, each with the next position.
#[derive(Debug, Clone)]
pub struct Story {
    pub order: Order,
    pub policy: SellerPolicy,
    pub now: DateTime<Utc>,
    pub case: Option<ReturnCase>,
    pub history: Vec<(i64, ReturnEvent)>,
    pub next_position: i64,
    /// How far apart positions are (other streams' events interleave in the global log).
    pub stride: i64,
}

impl Story {
    pub fn new(order: Order) -> Story {
        Story {
            order,
            policy: SellerPolicy::default(),
            now: now(),
            case: None,
            history: Vec::new(),
            next_position: 100,
            stride: 7,
        }
    }

    pub fn us() -> Story {
        Story::new(us_order())
    }

    pub fn eu(delivered_days_ago: i64) -> Story {
        Story::new(eu_order(delivered_days_ago))
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Story {
        self.now = now;
        self
    }

    pub fn positions_from(mut self, first: i64) -> Story {
        self.next_position = first;
        self
    }

    pub fn policy(mut self, change: impl FnOnce(&mut SellerPolicy)) -> Story {
        change(&mut self.policy);
        self
    }

    pub fn try_step(&mut self, actor: &Actor, command: &ReturnCommand) -> Result<(), Rejection> {
        let ctx = Context {
            now: self.now,
            actor,
            order: &self.order,
            policy: &self.policy,
            buyer_flagged: false,
        };
        let decision = decide(self.case.as_ref(), command, &ctx)?;
        for event in decision.return_events {
            self.case = evolve(self.case.take(), &event);
            self.history.push((self.next_position, event));
            self.next_position += self.stride;
        }
        for event in &decision.order_events {
            self.order.apply(event);
        }
        Ok(())
    }

    pub fn step(mut self, actor: Actor, command: ReturnCommand) -> Story {
        if let Err(rejection) = self.try_step(&actor, &command) {
            panic!("{} was rejected: {rejection:?}", command.action());
        }
        self
    }

    pub fn advance(mut self, by: TimeDelta) -> Story {
        self.now += by;
        self
    }

    /// Opens return 1 for one unit of L1 (2500).
    pub fn opened(self, reason: Reason) -> Story {
        let order_id = self.order.order_id.to_string();
        self.step(buyer(), open(1, &order_id, reason))
    }

    pub fn case(&self) -> &ReturnCase {
        self.case.as_ref().expect("no return opened")
    }

    pub fn deadline(&self, kind: DeadlineKind) -> DateTime<Utc> {
        self.case()
            .deadlines
            .get(kind)
            .unwrap_or_else(|| panic!("{kind} is not running"))
    }

    /// Moves the clock to the deadline and lets the scheduler apply it.
    pub fn fire(mut self, kind: DeadlineKind) -> Story {
        let due_at = self.deadline(kind);
        self.now = self.now.max(due_at);
        self.step(
            system(),
            ReturnCommand::ApplyDeadline(ApplyDeadline { kind, due_at }),
        )
    }

    /// Authorised, shipped and received by the seller.
    pub fn returned(self) -> Story {
        self.step(seller(), accept())
            .advance(days(1))
            .step(buyer(), ship())
            .advance(days(2))
            .step(seller(), receive())
    }

    /// The position of the latest event of `event_type` (e.g. `return.inspected`).
    pub fn position(&self, event_type: &str) -> i64 {
        self.history
            .iter()
            .rev()
            .find(|(_, e)| e.event_type() == event_type)
            .map(|(p, _)| *p)
            .unwrap_or_else(|| panic!("no {event_type} in the history"))
    }

    /// The recommendation now, with the order's recorded delivery as the service supplies it.
    pub fn recommend(&self, parties: &PartyStanding) -> Recommendation {
        let parties = PartyStanding {
            order_delivered_at: self.order.delivered_at,
            ..parties.clone()
        };
        recommend(&self.history, self.case(), &parties, self.now)
    }
}

/// The buyer has no flags, the seller no returnless threshold.
pub fn nobody_flagged() -> PartyStanding {
    PartyStanding::default()
}

/// Folds orders and return histories into abuse metrics, as the projection would.
#[derive(Debug)]
pub struct Feed {
    pub window_days: u32,
    pub parties: BTreeMap<Party, PartyMetrics>,
    pub baseline: Baseline,
}

impl Feed {
    pub fn new(window_days: u32) -> Feed {
        Feed {
            window_days,
            parties: BTreeMap::new(),
            baseline: Baseline::new(window_days),
        }
    }

    fn record(&mut self, fact: &returns_arbitration::abuse::Fact) {
        let window_days = self.window_days;
        self.parties
            .entry(fact.party.clone())
            .or_insert_with(|| PartyMetrics::new(fact.party.clone(), window_days))
            .record(fact);
        self.baseline.record(fact);
    }

    pub fn order(&mut self, order: &Order, at: DateTime<Utc>) {
        for fact in order_facts(&order.buyer_id, &order.seller_id, at) {
            self.record(&fact);
        }
    }

    /// `n` orders of `buyer` from `seller` at `at`, counted without a return.
    pub fn orders(&mut self, n: usize, buyer: &str, seller: &str, at: DateTime<Utc>) {
        let buyer = BuyerId::parse(buyer).unwrap();
        let seller = SellerId::parse(seller).unwrap();
        for _ in 0..n {
            for fact in order_facts(&buyer, &seller, at) {
                self.record(&fact);
            }
        }
    }

    /// Every event of the story's return, with the case before and after it. The abuse
    /// projection judges events by a [`ReturnMemo`] instead of the whole case and never reads
    /// the event types outside [`ReturnMemo::RELEVANT`]: every story checks that both give the
    /// same facts.
    pub fn story(&mut self, story: &Story) {
        let mut case: Option<ReturnCase> = None;
        let mut memo: Option<ReturnMemo> = None;
        for (position, event) in &story.history {
            let before = case.clone();
            case = evolve(case, event);
            let memo_before = memo.clone();
            match (ReturnMemo::start(event), &mut memo) {
                (Some(started), _) => memo = Some(started),
                (None, Some(memo)) => memo.apply(event),
                (None, None) => {}
            }
            if let Some(after) = &case {
                let facts = return_facts(*position, event, before.as_ref(), after);
                let memo_after = memo.as_ref().expect("a memo once the return exists");
                assert_eq!(
                    return_facts(*position, event, memo_before.as_ref(), memo_after),
                    facts,
                    "{} judged by the memo",
                    event.event_type()
                );
                if !ReturnMemo::RELEVANT.contains(&event.event_type()) {
                    assert_eq!(facts, vec![], "{} yields facts", event.event_type());
                }
                for fact in facts {
                    self.record(&fact);
                }
            }
        }
    }

    pub fn buyer(&self, id: &str) -> &PartyMetrics {
        &self.parties[&Party::buyer(&BuyerId::parse(id).unwrap())]
    }

    pub fn seller(&self, id: &str) -> &PartyMetrics {
        &self.parties[&Party::seller(&SellerId::parse(id).unwrap())]
    }
}
