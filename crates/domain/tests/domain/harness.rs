//! The test harness: fixtures, command builders, a `Story` that runs commands through `decide` and
//! `evolve` like the service would, and `given(events).when(actor, command).then(...)`.

#![allow(dead_code)]

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use returns_domain::order::{self, ItemRequest, OrderDetails, OrderLine, RegisterOrder};
use returns_domain::policy::RefundMethod;
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
pub fn other_buyer() -> Actor {
    Actor::buyer("buyer-2")
}
pub fn seller() -> Actor {
    Actor::seller("shop-1")
}
pub fn other_seller() -> Actor {
    Actor::seller("shop-2")
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

pub fn line(id: &str, category: &str, quantity: u32, unit_price: i64) -> OrderLine {
    OrderLine {
        line_id: LineId::parse(id).unwrap(),
        sku: Sku::parse(&format!("SKU-{id}")).unwrap(),
        title: format!("Item {id}"),
        category: Category::parse(category).unwrap(),
        quantity,
        unit_price_minor: minor(unit_price),
    }
}

/// L1: 2 × 2500 apparel; L2: 1 × 10000 electronics.
pub fn default_lines() -> Vec<OrderLine> {
    vec![
        line("L1", "apparel", 2, 2500),
        line("L2", "electronics", 1, 10_000),
    ]
}

pub fn order_details(
    jurisdiction: &str,
    delivered_at: Option<DateTime<Utc>>,
    lines: Vec<OrderLine>,
) -> OrderDetails {
    OrderDetails {
        order_id: OrderId::parse("ORD-1").unwrap(),
        buyer_id: BuyerId::parse("buyer-1").unwrap(),
        seller_id: SellerId::parse("shop-1").unwrap(),
        currency: Currency::parse(if jurisdiction == "US" { "USD" } else { "EUR" }).unwrap(),
        jurisdiction: Jurisdiction::parse(jurisdiction).unwrap(),
        placed_at: now() - days(1000),
        delivered_at,
        lines,
    }
}

/// Registers an order through the order aggregate, as the platform would.
pub fn register(details: OrderDetails) -> Order {
    let command = order::OrderCommand::Register(RegisterOrder {
        order: details,
        policy_version: 1,
    });
    let events = order::decide(None, &command, &platform(), now()).unwrap();
    Order::replay(&events).unwrap()
}

/// A US order delivered 5 days ago.
pub fn us_order() -> Order {
    register(order_details("US", Some(now() - days(5)), default_lines()))
}

/// An order in `jurisdiction`, delivered `days_ago` days ago (or not yet).
pub fn order_in(jurisdiction: &str, delivered_days_ago: Option<i64>) -> Order {
    register(order_details(
        jurisdiction,
        delivered_days_ago.map(|d| now() - days(d)),
        default_lines(),
    ))
}

pub fn return_id(n: u128) -> ReturnId {
    ReturnId::from_uuid(Uuid::from_u128(n))
}

pub fn items(list: &[(&str, u32)]) -> Vec<ItemRequest> {
    list.iter()
        .map(|(id, quantity)| ItemRequest {
            line_id: LineId::parse(id).unwrap(),
            quantity: *quantity,
        })
        .collect()
}

pub fn open_return(
    n: u128,
    list: &[(&str, u32)],
    reason: Reason,
    resolution: Resolution,
) -> ReturnCommand {
    ReturnCommand::Open(OpenReturn {
        return_id: return_id(n),
        rma: Rma::from_entropy(n as u64),
        order_id: OrderId::parse("ORD-1").unwrap(),
        items: items(list),
        reason,
        description: Some("It broke".to_owned()),
        resolution,
        evidence: Vec::new(),
        return_method: None,
        drop_off_code: String::new(),
    })
}

/// One L1 item (2500), defective, refund.
pub fn open_default() -> ReturnCommand {
    open_return(1, &[("L1", 1)], Reason::Defective, Resolution::Refund)
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
pub fn decline() -> ReturnCommand {
    ReturnCommand::Decline(DeclineReturn {
        reason_text: "Used item".to_owned(),
        evidence: vec![],
    })
}
pub fn offer(kind: OfferKind, amount: Option<i64>) -> ReturnCommand {
    ReturnCommand::Offer(MakeOffer {
        kind,
        amount_minor: amount.map(minor),
    })
}
pub fn accept_offer() -> ReturnCommand {
    ReturnCommand::AcceptOffer(AcceptOffer)
}
pub fn decline_offer() -> ReturnCommand {
    ReturnCommand::DeclineOffer(DeclineOffer)
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
pub fn receive() -> ReturnCommand {
    ReturnCommand::Receive(ReceiveReturn::default())
}
pub fn photo() -> Evidence {
    Evidence::new(EvidenceKind::Photo).with_url("https://img.example/1.jpg")
}
pub fn inspect(grade: Grade, amount: i64, with_evidence: bool) -> ReturnCommand {
    ReturnCommand::Inspect(InspectReturn {
        grade,
        refund_amount_minor: minor(amount),
        notes: Some("Checked".to_owned()),
        evidence: if with_evidence { vec![photo()] } else { vec![] },
    })
}
pub fn refund(amount: i64, method: PayoutMethod) -> ReturnCommand {
    ReturnCommand::Refund(IssueRefund {
        amount_minor: minor(amount),
        method,
        reference: "pay_123".to_owned(),
    })
}
pub fn escalate() -> ReturnCommand {
    ReturnCommand::Escalate(EscalateReturn {
        reason_text: "Unfair".to_owned(),
    })
}
pub fn withdraw() -> ReturnCommand {
    ReturnCommand::Withdraw(WithdrawReturn)
}
/// Every return method, each paid as the reason says at the policy's fee.
pub fn every_method() -> Vec<returns_domain::methods::MethodTerms> {
    returns_domain::methods::MethodKind::ALL
        .iter()
        .map(|&method| returns_domain::methods::MethodTerms {
            method,
            buyer_pays: returns_domain::methods::BuyerPays::ByReason,
            fee_minor: None,
        })
        .collect()
}

/// A size that did not fit, asked as an exchange: back with the seller, inspected as new, the
/// exchange approved.
pub fn exchange_approved() -> Story {
    Story::us()
        .step(
            buyer(),
            open_return(1, &[("L1", 1)], Reason::SizeFit, Resolution::Exchange),
        )
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive())
        .step(seller(), inspect(Grade::AsNew, 0, false))
}

pub fn appeal() -> ReturnCommand {
    ReturnCommand::Appeal(AppealDecision {
        reason_text: "The photos show the seal intact".to_owned(),
        evidence: vec![photo()],
    })
}

pub fn ship_replacement(items: Option<Vec<ReplacementItem>>) -> ReturnCommand {
    ReturnCommand::ShipReplacement(ShipReplacement {
        items,
        carrier: "DHL".to_owned(),
        tracking_number: "R-1".to_owned(),
    })
}
pub fn out_of_stock() -> ReturnCommand {
    ReturnCommand::OutOfStock(OutOfStock)
}
pub fn choose_method(method: returns_domain::methods::MethodRequest) -> ReturnCommand {
    ReturnCommand::ChooseMethod(ChooseMethod {
        method,
        drop_off_code: "K7Q3XD2M".to_owned(),
    })
}
pub fn rate(score: u8, comment: Option<&str>) -> ReturnCommand {
    ReturnCommand::Rate(RateReturn {
        score,
        comment: comment.map(str::to_owned),
    })
}
pub fn message() -> ReturnCommand {
    ReturnCommand::PostMessage(PostMessage {
        body: "Hello".to_owned(),
    })
}
pub fn add_evidence() -> ReturnCommand {
    ReturnCommand::AddEvidence(AddEvidence { evidence: photo() })
}
pub fn grant(rule: ExceptionRule) -> ReturnCommand {
    ReturnCommand::GrantException(GrantException {
        rule,
        note: "Goodwill".to_owned(),
    })
}
pub fn assign() -> ReturnCommand {
    ReturnCommand::Assign(AssignDispute)
}
pub fn decide_refund(amount: i64, return_required: bool) -> ReturnCommand {
    ReturnCommand::Decide(DecideDispute {
        outcome: DecisionOutcome::RefundBuyer,
        refund_amount_minor: minor(amount),
        return_required,
        funded_by: Some(FundedBy::Seller),
        rationale: "Seller missed the deadline".to_owned(),
        recommendation: None,
    })
}
pub fn side_with_seller() -> ReturnCommand {
    ReturnCommand::Decide(DecideDispute {
        outcome: DecisionOutcome::SideWithSeller,
        refund_amount_minor: MinorUnits::ZERO,
        return_required: false,
        funded_by: None,
        rationale: "Evidence shows damage by the buyer".to_owned(),
        recommendation: None,
    })
}
pub fn deadline(kind: DeadlineKind, due_at: DateTime<Utc>) -> ReturnCommand {
    ReturnCommand::ApplyDeadline(ApplyDeadline { kind, due_at })
}

/// The policy of the stories: the default one, advertising every settlement (`refund_methods`),
/// so that offers of each kind can be made. What the default `refund_methods` allows is tested
/// with the default policy itself.
pub fn every_settlement() -> SellerPolicy {
    SellerPolicy {
        refund_methods: vec![
            RefundMethod::OriginalPayment,
            RefundMethod::StoreCredit,
            RefundMethod::Exchange,
        ],
        ..SellerPolicy::default()
    }
}

/// Runs commands one after the other like the service: decide, then fold the events into the return
/// and its order. Panics on a rejection (use `given()` to test rejections).
#[derive(Debug, Clone)]
pub struct Story {
    pub order: Order,
    pub policy: SellerPolicy,
    pub flagged: bool,
    pub now: DateTime<Utc>,
    pub case: Option<ReturnCase>,
    pub history: Vec<ReturnEvent>,
    pub order_history: Vec<OrderEvent>,
}

impl Story {
    pub fn new(order: Order) -> Story {
        Story {
            order,
            policy: every_settlement(),
            flagged: false,
            now: now(),
            case: None,
            history: Vec::new(),
            order_history: Vec::new(),
        }
    }

    pub fn us() -> Story {
        Story::new(us_order())
    }

    pub fn policy(mut self, change: impl FnOnce(&mut SellerPolicy)) -> Story {
        change(&mut self.policy);
        self
    }

    pub fn flagged(mut self) -> Story {
        self.flagged = true;
        self
    }

    pub fn try_step(
        &mut self,
        actor: &Actor,
        command: &ReturnCommand,
    ) -> Result<Decision, Rejection> {
        let ctx = Context {
            now: self.now,
            actor,
            order: &self.order,
            policy: &self.policy,
            buyer_flagged: self.flagged,
        };
        let decision = decide(self.case.as_ref(), command, &ctx)?;
        for event in &decision.return_events {
            self.case = evolve(self.case.take(), event);
            self.history.push(event.clone());
        }
        for event in &decision.order_events {
            self.order.apply(event);
            self.order_history.push(event.clone());
        }
        Ok(decision)
    }

    pub fn step(mut self, actor: Actor, command: ReturnCommand) -> Story {
        if let Err(rejection) = self.try_step(&actor, &command) {
            panic!(
                "{} by {:?} was rejected: {rejection:?}",
                command.action(),
                actor.role
            );
        }
        self
    }

    pub fn advance(mut self, by: TimeDelta) -> Story {
        self.now += by;
        self
    }

    pub fn case(&self) -> &ReturnCase {
        self.case.as_ref().expect("no return opened")
    }

    pub fn status(&self) -> Status {
        self.case().status
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
        self.step(system(), deadline(kind, due_at))
    }

    pub fn opened(self) -> Story {
        self.step(buyer(), open_default())
    }

    /// The story so far as the `given` of a test.
    pub fn given(&self) -> Given {
        Given {
            order: self.order.clone(),
            policy: self.policy.clone(),
            flagged: self.flagged,
            now: self.now,
            history: self.history.clone(),
        }
    }
}

/// `given(events)`: a return's history, with the default US order carrying the reservations,
/// releases and refunds that history implies.
pub fn given(history: Vec<ReturnEvent>) -> Given {
    let mut order = us_order();
    let at = now();
    for event in &history {
        let effect = match event {
            ReturnEvent::ReturnRequested(e) => {
                let list: Vec<ItemRequest> = e
                    .items
                    .iter()
                    .map(|i| ItemRequest {
                        line_id: i.line_id.clone(),
                        quantity: i.quantity,
                    })
                    .collect();
                order.reserve(e.return_id, &list, at).ok()
            }
            _ => None,
        };
        if let Some(effect) = effect {
            order.apply(&effect);
        }
    }
    Given {
        order,
        policy: every_settlement(),
        flagged: false,
        now: at,
        history,
    }
}

#[derive(Debug, Clone)]
pub struct Given {
    pub order: Order,
    pub policy: SellerPolicy,
    pub flagged: bool,
    pub now: DateTime<Utc>,
    pub history: Vec<ReturnEvent>,
}

impl Given {
    pub fn at(mut self, now: DateTime<Utc>) -> Given {
        self.now = now;
        self
    }

    pub fn after(mut self, by: TimeDelta) -> Given {
        self.now += by;
        self
    }

    pub fn policy(mut self, change: impl FnOnce(&mut SellerPolicy)) -> Given {
        change(&mut self.policy);
        self
    }

    pub fn flagged(mut self) -> Given {
        self.flagged = true;
        self
    }

    pub fn state(&self) -> Option<ReturnCase> {
        ReturnCase::replay(&self.history)
    }

    pub fn when(self, actor: Actor, command: ReturnCommand) -> Then {
        let state = self.state();
        let ctx = Context {
            now: self.now,
            actor: &actor,
            order: &self.order,
            policy: &self.policy,
            buyer_flagged: self.flagged,
        };
        let result = decide(state.as_ref(), &command, &ctx);
        Then {
            given: self,
            result,
        }
    }
}

#[derive(Debug)]
pub struct Then {
    pub given: Given,
    pub result: Result<Decision, Rejection>,
}

impl Then {
    pub fn decision(&self) -> &Decision {
        match &self.result {
            Ok(decision) => decision,
            Err(rejection) => panic!("expected events, got {rejection:?}"),
        }
    }

    /// Exactly these return events.
    pub fn then(self, expected: Vec<ReturnEvent>) -> Then {
        assert_eq!(self.decision().return_events, expected);
        self
    }

    /// Exactly these order events.
    pub fn then_order(self, expected: Vec<OrderEvent>) -> Then {
        assert_eq!(self.decision().order_events, expected);
        self
    }

    /// The stored type names of the return events, in order.
    pub fn then_types(self, expected: &[&str]) -> Then {
        let types: Vec<&str> = self
            .decision()
            .return_events
            .iter()
            .map(|e| e.event_type())
            .collect();
        assert_eq!(types, expected);
        self
    }

    pub fn then_order_types(self, expected: &[&str]) -> Then {
        let types: Vec<&str> = self
            .decision()
            .order_events
            .iter()
            .map(|e| e.event_type())
            .collect();
        assert_eq!(types, expected);
        self
    }

    pub fn then_nothing(self) -> Then {
        assert!(
            self.decision().is_empty(),
            "expected no events, got {:?}",
            self.decision()
        );
        self
    }

    pub fn then_rejects(self, code: &str) -> Rejection {
        match self.result {
            Ok(decision) => panic!("expected {code}, got {decision:?}"),
            Err(rejection) => {
                assert_eq!(rejection.code(), code, "{rejection:?}");
                rejection
            }
        }
    }

    /// A 422 naming `field`.
    pub fn then_field_error(self, field: &str) -> Rejection {
        let rejection = self.then_rejects("validation_failed");
        assert!(
            rejection.field_errors().iter().any(|e| e.field == field),
            "expected an error on {field}, got {rejection:?}"
        );
        rejection
    }

    /// The return's state after the new events.
    pub fn state(&self) -> ReturnCase {
        let mut all = self.given.history.clone();
        all.extend(self.decision().return_events.iter().cloned());
        ReturnCase::replay(&all).expect("no return")
    }
}
