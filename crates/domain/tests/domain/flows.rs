//! Whole journeys and the transitions of each action.

use returns_domain::policy::RefundMethod;
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

#[test]
fn happy_path_from_request_to_refund() {
    let story = Story::us()
        .opened()
        .advance(days(1))
        .step(seller(), accept());
    assert_eq!(story.status(), Status::Authorized);
    assert_eq!(story.deadline(DeadlineKind::ShipBy), now() + days(11));

    let story = story.advance(days(1)).step(buyer(), ship());
    assert_eq!(story.status(), Status::InTransit);
    assert!(story.case().deadlines.running().is_empty());

    let arrived = now() + days(4);
    let story = story
        .advance(days(3))
        .step(platform(), carrier(CarrierStatus::Delivered, arrived));
    assert_eq!(story.status(), Status::Delivered);
    // Sunday 10:00 arrival: 3 business days counted from Monday 00:00 = Thursday 00:00.
    assert_eq!(arrived, t("2026-11-29T10:00:00Z"));
    assert_eq!(
        story.deadline(DeadlineKind::InspectBy),
        t("2026-12-03T00:00:00Z")
    );

    let story = story
        .advance(days(1))
        .step(seller(), inspect(Grade::AsNew, 2500, false));
    assert_eq!(story.status(), Status::RefundPending);
    assert_eq!(story.case().refund_due_minor(), Some(minor(2500)));
    assert_eq!(story.deadline(DeadlineKind::RefundDue), now() + days(14));

    let story = story
        .advance(days(1))
        .step(platform(), refund(2500, PayoutMethod::OriginalPayment));
    let case = story.case();
    assert_eq!(case.status, Status::Closed);
    assert_eq!(case.outcome, Some(Outcome::Refunded));
    assert_eq!(case.refunded_amount_minor, minor(2500));
    assert_eq!(case.refund_due_minor(), None);
    assert!(case.deadlines.running().is_empty());
    let types: Vec<&str> = story.history.iter().map(ReturnEvent::event_type).collect();
    assert_eq!(
        types,
        [
            "return.requested",
            "return.authorized",
            "return.shipped",
            "return.item_arrived",
            "return.inspected",
            "return.refund_approved",
            "return.refunded",
            "return.closed",
        ]
    );
    let order_types: Vec<&str> = story
        .order_history
        .iter()
        .map(OrderEvent::event_type)
        .collect();
    assert_eq!(
        order_types,
        ["order.return_items_reserved", "order.refund_recorded"]
    );
    assert_eq!(case.version, 8);
    assert_eq!(case.updated_at, now() + days(7));
}

#[test]
fn accepting_yields_exactly_the_authorisation() {
    let story = Story::us().opened();
    story
        .given()
        .when(seller(), accept())
        .then(vec![ReturnEvent::ReturnAuthorized(ReturnAuthorized {
            source: ApprovalSource::Seller,
            label: None,
            instructions: None,
            ship_by: Some(now() + days(10)),
            ship_deadline: None,
            on_arrival: OnArrival::Inspect,
            at: now(),
        })]);
}

#[test]
fn a_label_and_instructions_are_kept() {
    let story = Story::us().opened();
    let label = ReturnLabel {
        carrier: "UPS".to_owned(),
        tracking_number: "1Z999".to_owned(),
        label_url: Some("https://labels.example/1.pdf".to_owned()),
    };
    let command = ReturnCommand::Accept(AcceptReturn {
        label: Some(label.clone()),
        instructions: Some("Use the original box".to_owned()),
        returnless: false,
    });
    let state = story.given().when(seller(), command).state();
    assert_eq!(state.shipment.label, Some(label.clone()));
    assert_eq!(
        state.authorization.unwrap().instructions.as_deref(),
        Some("Use the original box")
    );
    let bad = ReturnCommand::Accept(AcceptReturn {
        label: Some(label),
        instructions: None,
        returnless: true,
    });
    story.given().when(seller(), bad).then_field_error("label");
}

#[test]
fn a_returnless_accept_makes_the_requested_amount_due() {
    let story = Story::us().opened();
    let then = story
        .given()
        .when(seller(), accept_returnless())
        .then_types(&["return.refund_approved"]);
    let state = then.state();
    assert_eq!(state.status, Status::RefundPending);
    assert_eq!(state.refund_due_minor(), Some(minor(2500)));
    assert_eq!(
        state.pending_refund.unwrap().basis,
        RefundBasis::SellerReturnless
    );
}

#[test]
fn carrier_updates_move_the_shipment() {
    let story = Story::us().opened().step(seller(), accept());
    // The carrier may see the parcel before the buyer tells us.
    let story = story.step(platform(), carrier(CarrierStatus::InTransit, now()));
    assert_eq!(story.status(), Status::InTransit);
    // The same report again changes nothing; a newer one is recorded.
    story
        .given()
        .when(platform(), carrier(CarrierStatus::InTransit, now()))
        .then_nothing();
    story
        .given()
        .after(days(1))
        .when(
            platform(),
            carrier(CarrierStatus::InTransit, now() + days(1)),
        )
        .then_types(&["return.shipment_in_transit"]);
    story
        .given()
        .when(
            platform(),
            carrier(CarrierStatus::Delivered, now() + days(3)),
        )
        .then_field_error("at");
    story
        .given()
        .when(
            platform(),
            carrier(CarrierStatus::Delivered, now() - days(3)),
        )
        .then_field_error("at");
}

#[test]
fn the_seller_may_confirm_receipt_itself() {
    let story = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .advance(days(2));
    let state = story
        .given()
        .when(seller(), receive())
        .then_types(&["return.item_arrived"])
        .state();
    assert_eq!(state.status, Status::Delivered);
    assert_eq!(state.shipment.delivered_at, Some(now() + days(2)));
    assert_eq!(
        state.shipment.delivery_reported_by,
        Some(ArrivalSource::Seller)
    );
    // Friday 10:00 + 3 business days = Wednesday 10:00.
    assert_eq!(state.deadlines.inspect_by, Some(t("2026-12-02T10:00:00Z")));
}

#[test]
fn a_partial_inspection_refund_closes_as_partially_refunded() {
    let story = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive())
        .step(seller(), inspect(Grade::Used, 1500, false))
        .step(platform(), refund(1500, PayoutMethod::OriginalPayment));
    assert_eq!(story.case().outcome, Some(Outcome::PartiallyRefunded));
    assert_eq!(story.case().refunded_amount_minor, minor(1500));
}

#[test]
fn a_refusal_at_inspection_needs_evidence_and_declines() {
    let story = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive());
    story
        .given()
        .when(seller(), inspect(Grade::EmptyBox, 0, false))
        .then_field_error("evidence");
    let state = story
        .given()
        .when(seller(), inspect(Grade::EmptyBox, 0, true))
        .then_types(&["return.inspected", "return.declined"])
        .state();
    assert_eq!(state.status, Status::Declined);
    assert_eq!(state.decline.unwrap().stage, DeclineStage::Inspection);
    assert_eq!(state.deadlines.escalate_by, Some(now() + days(7)));
    assert_eq!(state.inspection.unwrap().grade, Grade::EmptyBox);
}

#[test]
fn inspection_refunds_are_capped_by_what_was_paid() {
    let story = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive());
    story
        .given()
        .when(seller(), inspect(Grade::AsNew, 2501, false))
        .then_field_error("refund_amount_minor");
}

#[test]
fn declined_returns_can_be_escalated_within_the_window() {
    let story = Story::us().opened().step(seller(), decline());
    assert_eq!(story.status(), Status::Declined);
    let escalate_by = story.deadline(DeadlineKind::EscalateBy);
    assert_eq!(escalate_by, now() + days(7));

    let state = story
        .given()
        .after(days(6))
        .when(buyer(), escalate())
        .then_types(&["return.escalated"])
        .state();
    assert_eq!(state.status, Status::Escalated);
    let dispute = state.dispute.unwrap();
    assert_eq!(dispute.escalated_by, EscalationTrigger::Buyer);
    // Tuesday 10:00 + 2 business days = Thursday 10:00.
    assert_eq!(dispute.decision_due, t("2026-12-03T10:00:00Z"));
    assert_eq!(
        state.deadlines.running(),
        vec![(DeadlineKind::DecisionDue, dispute.decision_due)]
    );

    let rejection = story
        .given()
        .at(escalate_by)
        .when(buyer(), escalate())
        .then_rejects("invalid_transition");
    assert!(
        rejection.detail().contains("escalation window closed"),
        "{}",
        rejection.detail()
    );
}

#[test]
fn the_seller_may_escalate_too() {
    let state = Story::us()
        .opened()
        .given()
        .when(seller(), escalate())
        .state();
    assert_eq!(
        state.dispute.unwrap().escalated_by,
        EscalationTrigger::Seller
    );
}

#[test]
fn a_partial_refund_offer_lets_the_buyer_keep_the_item() {
    let story = Story::us()
        .opened()
        .step(seller(), offer(OfferKind::PartialRefund, Some(1000)));
    assert_eq!(story.status(), Status::OfferPending);
    assert_eq!(story.case().offered_amount_minor(), Some(minor(1000)));
    assert_eq!(story.deadline(DeadlineKind::OfferExpires), now() + days(3));
    let story = story.step(buyer(), accept_offer());
    let case = story.case();
    assert_eq!(case.status, Status::RefundPending);
    assert_eq!(case.refund_due_minor(), Some(minor(1000)));
    assert!(case.pending_refund.as_ref().unwrap().keep_item);
    assert_eq!(case.offer.as_ref().unwrap().status, OfferStatus::Accepted);
    let story = story.step(platform(), refund(1000, PayoutMethod::OriginalPayment));
    assert_eq!(story.case().outcome, Some(Outcome::PartiallyRefunded));
}

#[test]
fn a_store_credit_offer_carries_the_policy_bonus() {
    let story = Story::us()
        .policy(|p| p.store_credit_bonus_percent = 10)
        .opened()
        .step(seller(), offer(OfferKind::StoreCredit, None));
    let offer = story.case().offer.clone().unwrap();
    assert_eq!(offer.amount_minor, Some(minor(2500)));
    assert_eq!(offer.credit_minor, Some(minor(2750)));
    let story = story.step(buyer(), accept_offer());
    let pending = story.case().pending_refund.clone().unwrap();
    assert_eq!(pending.amount_minor, minor(2750));
    assert_eq!(pending.bonus_minor, minor(250));
    assert_eq!(pending.method, PayoutMethod::StoreCredit);
    story
        .given()
        .when(platform(), refund(2750, PayoutMethod::OriginalPayment))
        .then_field_error("method");
    // Paid as store credit, it credits the buyer's ledger in the same decision.
    let paid = story
        .given()
        .when(platform(), refund(2750, PayoutMethod::StoreCredit));
    let credit = &paid.decision().credit_events;
    let [returns_domain::credit::CreditEvent::CreditIssued(issued)] = credit.as_slice() else {
        panic!("expected one credit.issued, got {credit:?}");
    };
    assert_eq!(
        (
            issued.amount_minor,
            issued.principal_minor,
            issued.bonus_minor
        ),
        (minor(2750), minor(2500), minor(250))
    );
    assert_eq!(issued.buyer_id, story.case().buyer_id);
    assert_eq!(issued.return_id, story.case().id);
    let story = story.step(platform(), refund(2750, PayoutMethod::StoreCredit));
    assert_eq!(story.case().outcome, Some(Outcome::Refunded));
    assert_eq!(story.case().refunded_amount_minor, minor(2750));
    let refunded = story.order.returns.values().next().unwrap();
    assert_eq!(refunded.bonus_minor, minor(250));
}

/// docs/product.md, "Refunds": a seller offers only the settlements its policy advertises
/// (`refund_methods`, by default the original payment alone); money back is always possible.
#[test]
fn offers_are_limited_to_the_settlements_the_policy_advertises() {
    let story = Story::us()
        .policy(|p| p.refund_methods = vec![RefundMethod::OriginalPayment])
        .opened();
    for kind in [OfferKind::StoreCredit, OfferKind::Exchange] {
        let refused = story
            .given()
            .when(seller(), offer(kind, None))
            .then_field_error("kind");
        assert!(refused.detail().contains("refund_methods"), "{refused:?}");
    }
    let partial = story
        .clone()
        .step(seller(), offer(OfferKind::PartialRefund, Some(1000)));
    assert_eq!(
        partial.case().offer.clone().unwrap().kind,
        OfferKind::PartialRefund
    );

    let with_credit = Story::us()
        .policy(|p| {
            p.refund_methods = vec![RefundMethod::OriginalPayment, RefundMethod::StoreCredit]
        })
        .opened()
        .step(seller(), offer(OfferKind::StoreCredit, None));
    assert_eq!(
        with_credit.case().offer.clone().unwrap().kind,
        OfferKind::StoreCredit
    );
}

/// Money due goes back to the original payment: the platform cannot pay it as store credit.
#[test]
fn money_due_is_never_paid_as_store_credit() {
    let story = Story::us()
        .opened()
        .step(seller(), offer(OfferKind::PartialRefund, Some(1000)))
        .step(buyer(), accept_offer());
    assert_eq!(
        story.case().pending_refund.clone().unwrap().method,
        PayoutMethod::OriginalPayment
    );
    story
        .given()
        .when(platform(), refund(1000, PayoutMethod::StoreCredit))
        .then_field_error("method");
    let paid = story.step(platform(), refund(1000, PayoutMethod::OriginalPayment));
    assert_eq!(paid.case().refunded_amount_minor, minor(1000));
}

#[test]
fn an_exchange_offer_brings_the_item_back_and_sends_a_replacement() {
    let story = Story::us()
        .opened()
        .step(seller(), offer(OfferKind::Exchange, None))
        .step(buyer(), accept_offer());
    assert_eq!(story.status(), Status::Authorized);
    assert_eq!(story.case().on_arrival, OnArrival::Exchange);
    let story = story.step(buyer(), ship()).step(seller(), receive());
    let then = story
        .given()
        .when(seller(), inspect(Grade::Opened, 0, false))
        .then_types(&["return.inspected", "return.exchange_approved"]);
    assert_eq!(then.state().status, Status::ExchangePending);
    // A bad grade with evidence refuses the exchange; a refund instead of a replacement is possible.
    story
        .given()
        .when(seller(), inspect(Grade::Damaged, 0, true))
        .then_types(&["return.inspected", "return.declined"]);
    story
        .given()
        .when(seller(), inspect(Grade::Damaged, 0, false))
        .then_field_error("evidence");
    story
        .given()
        .when(seller(), inspect(Grade::Used, 2000, false))
        .then_types(&["return.inspected", "return.refund_approved"]);
}

#[test]
fn offers_are_validated() {
    let story = Story::us().opened();
    let given = || story.given();
    given()
        .when(seller(), offer(OfferKind::PartialRefund, None))
        .then_field_error("amount_minor");
    given()
        .when(seller(), offer(OfferKind::PartialRefund, Some(0)))
        .then_field_error("amount_minor");
    given()
        .when(seller(), offer(OfferKind::PartialRefund, Some(2501)))
        .then_field_error("amount_minor");
    given()
        .when(seller(), offer(OfferKind::StoreCredit, Some(2501)))
        .then_field_error("amount_minor");
    given()
        .when(seller(), offer(OfferKind::Exchange, Some(100)))
        .then_field_error("amount_minor");
}

#[test]
fn declining_an_offer_puts_the_request_back_to_the_seller() {
    let story = Story::us()
        .opened()
        .step(seller(), offer(OfferKind::PartialRefund, Some(1000)))
        .advance(days(1));
    let state = story
        .given()
        .when(buyer(), decline_offer())
        .then(vec![ReturnEvent::OfferDeclined(OfferDeclined {
            // Thursday is Thanksgiving (a US order): counting starts Friday 00:00, and 3
            // business days later is Wednesday 00:00.
            seller_response_due: t("2026-12-02T00:00:00Z"),
            at: now() + days(1),
        })])
        .state();
    assert_eq!(state.status, Status::Requested);
    assert_eq!(state.offer.unwrap().status, OfferStatus::Declined);
    assert_eq!(
        state.deadlines.seller_response_due,
        Some(t("2026-12-02T00:00:00Z"))
    );
}

#[test]
fn resolution_exchange_ends_exchanged_when_the_replacement_is_delivered() {
    let story = exchange_approved();
    assert_eq!(story.status(), Status::ExchangePending);
    assert_eq!(
        story.deadline(DeadlineKind::ReplacementShipBy),
        calendar::add_business_days(now(), 3, &story.case().jurisdiction)
    );
    let shipped = story.step(seller(), ship_replacement(None));
    assert_eq!(shipped.status(), Status::ReplacementShipped);
    let replacement = shipped.case().replacement.clone().unwrap();
    assert_eq!(replacement.items.len(), 1);
    assert_eq!(replacement.items[0].line_id, LineId::parse("L1").unwrap());
    // A lost replacement is recorded and goes to an operator.
    let lost = shipped
        .clone()
        .step(platform(), carrier(CarrierStatus::Lost, now()));
    assert_eq!(lost.status(), Status::Escalated);
    assert_eq!(
        lost.case().replacement.as_ref().and_then(|r| r.lost_at),
        Some(now())
    );
    // A scan on the way changes nothing; the delivery closes the exchange.
    let scanned = shipped
        .given()
        .when(platform(), carrier(CarrierStatus::InTransit, now()));
    assert!(scanned.decision().return_events.is_empty());
    let then = shipped
        .given()
        .when(platform(), carrier(CarrierStatus::Delivered, now()))
        .then_types(&["return.replacement_delivered", "return.closed"]);
    assert_eq!(then.state().outcome, Some(Outcome::Exchanged));
}

#[test]
fn an_exchange_falls_back_to_a_refund_when_out_of_stock_or_not_shipped_in_time() {
    let approved = exchange_approved();
    let requested = approved.case().requested_amount_minor;
    for story in [
        approved.clone().step(seller(), out_of_stock()),
        approved.clone().fire(DeadlineKind::ReplacementShipBy),
    ] {
        assert_eq!(story.status(), Status::RefundPending);
        let pending = story.case().pending_refund.clone().unwrap();
        assert_eq!(pending.amount_minor, requested);
        assert_eq!(pending.basis, RefundBasis::ExchangeFailed);
        assert!(!pending.keep_item);
        assert!(story.case().exchange_failure.is_some());
    }
    // A replacement of other lines, or more than came back, is refused.
    approved
        .given()
        .when(
            seller(),
            ship_replacement(Some(vec![ReplacementItem {
                line_id: LineId::parse("L2").unwrap(),
                sku: Sku::parse("SKU-2").unwrap(),
                quantity: 1,
            }])),
        )
        .then_field_error("items[0].line_id");
    approved
        .given()
        .when(
            seller(),
            ship_replacement(Some(vec![ReplacementItem {
                line_id: LineId::parse("L1").unwrap(),
                sku: Sku::parse("SKU-1-L").unwrap(),
                quantity: 2,
            }])),
        )
        .then_field_error("items[0].quantity");
    // Another size of the same line is fine.
    let other_size = approved.step(
        seller(),
        ship_replacement(Some(vec![ReplacementItem {
            line_id: LineId::parse("L1").unwrap(),
            sku: Sku::parse("SKU-1-L").unwrap(),
            quantity: 1,
        }])),
    );
    assert_eq!(
        other_size.case().replacement.as_ref().unwrap().items[0].sku,
        Sku::parse("SKU-1-L").unwrap()
    );
}

#[test]
fn withdrawing_closes_and_releases() {
    for story in [
        Story::us().opened(),
        Story::us()
            .opened()
            .step(seller(), offer(OfferKind::Exchange, None)),
        Story::us().opened().step(seller(), accept()),
        Story::us()
            .opened()
            .step(seller(), accept())
            .step(buyer(), ship()),
        Story::us().opened().step(seller(), decline()),
    ] {
        story
            .given()
            .when(buyer(), withdraw())
            .then(vec![
                ReturnEvent::ReturnWithdrawn(ReturnWithdrawn { at: now() }),
                ReturnEvent::ReturnClosed(ReturnClosed {
                    outcome: Outcome::Withdrawn,
                    at: now(),
                }),
            ])
            .then_order_types(&["order.return_items_released"]);
    }
    let delivered = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive());
    delivered
        .given()
        .when(buyer(), withdraw())
        .then_rejects("invalid_transition");
    let refused = delivered.step(seller(), inspect(Grade::EmptyBox, 0, true));
    let rejection = refused
        .given()
        .when(buyer(), withdraw())
        .then_rejects("invalid_transition");
    assert!(rejection.detail().contains("already back"));
}

#[test]
fn a_closed_return_accepts_only_messages_and_the_buyers_rating() {
    let story = Story::us().opened().step(buyer(), withdraw());
    for actor in [buyer(), seller(), operator()] {
        story
            .given()
            .when(actor.clone(), message())
            .then_types(&["return.message_posted"]);
        let expected: &[&str] = if actor == buyer() {
            &["messages", "rate"]
        } else {
            &["messages"]
        };
        assert_eq!(allowed_actions(story.case(), &actor, now()), expected);
    }
    story
        .given()
        .when(buyer(), rate(5, None))
        .then_types(&["return.rated"]);
    story
        .given()
        .when(buyer(), add_evidence())
        .then_rejects("invalid_transition");
    story
        .given()
        .when(buyer(), escalate())
        .then_rejects("invalid_transition");
}

/// A rating is given once, from 1 to 5, within 30 days of the closing (docs/product.md,
/// "Satisfaction"); its comment is personal data.
#[test]
fn a_rating_is_given_once_within_thirty_days_of_closing() {
    let closed = Story::us().opened().step(buyer(), withdraw());
    for score in [0, 6, 255] {
        closed
            .given()
            .when(buyer(), rate(score, None))
            .then_rejects("validation_failed");
    }
    let rated = closed.clone().step(buyer(), rate(3, Some("Slow")));
    assert_eq!(rated.case().rating.as_ref().map(|r| r.score), Some(3));
    let rejection = rated
        .given()
        .when(buyer(), rate(5, None))
        .then_rejects("invalid_transition");
    assert!(rejection.detail().contains("already rated"));
    let late = closed.clone().advance(chrono::TimeDelta::days(30));
    let rejection = late
        .given()
        .when(buyer(), rate(5, None))
        .then_rejects("invalid_transition");
    assert!(rejection.detail().contains("ratings were open until"));
    closed
        .advance(chrono::TimeDelta::days(30) - chrono::TimeDelta::seconds(1))
        .given()
        .when(buyer(), rate(1, None))
        .then_types(&["return.rated"]);
    let event = ReturnEvent::ReturnRated(ReturnRated {
        score: 3,
        comment: Some("Slow".to_owned()),
        at: now(),
    });
    assert_eq!(event.free_text_fields(), ["comment"]);
}

#[test]
fn messages_and_evidence_are_counted_and_kept() {
    let story = Story::us()
        .opened()
        .step(buyer(), message())
        .step(seller(), message())
        .step(operator(), add_evidence());
    assert_eq!(story.case().message_count, 2);
    assert_eq!(story.case().evidence.len(), 1);
    assert_eq!(story.case().evidence[0].added_by, operator());
    let blank = ReturnCommand::PostMessage(PostMessage {
        body: "  ".to_owned(),
    });
    story.given().when(buyer(), blank).then_field_error("body");
    let empty = ReturnCommand::AddEvidence(AddEvidence {
        evidence: Evidence::new(EvidenceKind::Text),
    });
    story
        .given()
        .when(buyer(), empty)
        .then_field_error("evidence");
}

#[test]
fn a_return_holds_at_most_five_hundred_messages() {
    let mut story = Story::us().opened();
    for i in 0..MAX_MESSAGES_PER_RETURN {
        let author = if i % 2 == 0 { buyer() } else { seller() };
        story = story.step(author, message());
    }
    assert_eq!(story.case().message_count, 500);
    let rejection = story
        .given()
        .when(seller(), message())
        .then_field_error("body");
    assert!(
        rejection.detail().contains("at most 500 messages"),
        "{rejection:?}"
    );
}

#[test]
fn a_goodwill_exception_makes_a_late_return_eligible() {
    let story = Story::new(order_in("US", Some(31))).opened();
    assert!(!story.case().policy.eligible);
    let then = story
        .given()
        .when(seller(), grant(ExceptionRule::ReturnWindow));
    let state = then.state();
    assert!(state.policy.eligible);
    assert_eq!(
        state.policy.rules,
        ["seller_window_30d", "exception_return_window"]
    );
    assert_eq!(state.exceptions[0].granted_by, seller());
    assert_eq!(state.exceptions[0].note, "Goodwill");
    assert_eq!(state.status, Status::Requested);
    let granted = story.step(seller(), grant(ExceptionRule::ReturnWindow));
    granted
        .given()
        .when(operator(), grant(ExceptionRule::ReturnWindow))
        .then_field_error("rule");
    other_seller_cannot_grant(&granted);
}

fn other_seller_cannot_grant(story: &Story) {
    story
        .given()
        .when(other_seller(), grant(ExceptionRule::ShipBy))
        .then_rejects("not_found");
}

#[test]
fn an_exception_reopens_a_declined_request() {
    let story = Story::new(order_in("US", Some(31)))
        .opened()
        .step(seller(), decline());
    let state = story
        .given()
        .when(operator(), grant(ExceptionRule::ReturnWindow))
        .state();
    assert_eq!(state.status, Status::Requested);
    // Wednesday + 3 business days, Thanksgiving off (a US order).
    assert_eq!(
        state.deadlines.seller_response_due,
        Some(t("2026-12-01T10:00:00Z"))
    );
}

#[test]
fn waiving_the_restocking_fee_raises_the_requested_amount() {
    let story = Story::us().policy(|p| p.restocking_fee_percent = 10).step(
        buyer(),
        open_return(1, &[("L1", 1)], Reason::ChangedMind, Resolution::Refund),
    );
    assert_eq!(story.case().requested_amount_minor, minor(2250));
    let story = story.step(seller(), grant(ExceptionRule::RestockingFee));
    assert_eq!(story.case().requested_amount_minor, minor(2500));
}

#[test]
fn a_ship_by_exception_means_no_shipping_deadline() {
    let story = Story::us()
        .opened()
        .step(seller(), grant(ExceptionRule::ShipBy))
        .step(seller(), accept());
    assert_eq!(story.case().deadlines.ship_by, None);
    assert_eq!(story.status(), Status::Authorized);
}

#[test]
fn operators_assign_and_decide_disputes() {
    let story = Story::us().opened().step(buyer(), escalate());
    let story = story.step(operator(), assign());
    assert_eq!(
        story.case().dispute.as_ref().unwrap().assignee.as_deref(),
        Some("op-1")
    );
    story.given().when(operator(), assign()).then_nothing();
    story
        .given()
        .when(Actor::operator("op-2"), assign())
        .then_types(&["return.dispute_assigned"]);

    // Refund without the item back: refund_pending, the buyer keeps it.
    let state = story
        .given()
        .when(operator(), decide_refund(2000, false))
        .then_types(&["return.dispute_decided", "return.refund_approved"])
        .state();
    assert_eq!(state.status, Status::RefundPending);
    assert_eq!(state.refund_due_minor(), Some(minor(2000)));
    let pending = state.pending_refund.unwrap();
    assert!(pending.keep_item);
    assert_eq!(pending.funded_by, Some(FundedBy::Seller));
    assert_eq!(state.dispute.unwrap().decision.unwrap().decided_by, "op-1");

    // Siding with the seller closes as denied and frees the items.
    story
        .given()
        .when(operator(), side_with_seller())
        .then_types(&["return.dispute_decided", "return.closed"])
        .then_order_types(&["order.return_items_released"]);
}

#[test]
fn a_decision_requiring_the_item_back_refunds_on_arrival_without_inspection() {
    let story = Story::us()
        .opened()
        .step(buyer(), escalate())
        .step(operator(), decide_refund(2500, true));
    assert_eq!(story.status(), Status::Authorized);
    assert_eq!(story.deadline(DeadlineKind::ShipBy), now() + days(10));
    let story = story.step(buyer(), ship());
    let state = story
        .given()
        .when(platform(), carrier(CarrierStatus::Delivered, now()))
        .then_types(&["return.item_arrived", "return.refund_approved"])
        .state();
    assert_eq!(state.status, Status::RefundPending);
    assert_eq!(state.deadlines.inspect_by, None);
    assert_eq!(state.pending_refund.unwrap().basis, RefundBasis::Decision);
}

#[test]
fn a_decision_while_the_item_is_on_its_way_waits_for_it_in_transit() {
    let story = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), escalate())
        .step(operator(), decide_refund(2500, true));
    assert_eq!(story.status(), Status::InTransit);
    assert!(story.case().deadlines.running().is_empty());
}

#[test]
fn decisions_are_validated_and_final() {
    let story = Story::us().opened().step(buyer(), escalate());
    story
        .given()
        .when(operator(), decide_refund(0, false))
        .then_field_error("refund_amount_minor");
    story
        .given()
        .when(operator(), decide_refund(2501, false))
        .then_field_error("refund_amount_minor");
    let mut no_funder = decide_refund(100, false);
    if let ReturnCommand::Decide(d) = &mut no_funder {
        d.funded_by = None;
        d.rationale = String::new();
    }
    let rejection = story
        .given()
        .when(operator(), no_funder)
        .then_rejects("validation_failed");
    let fields: Vec<&str> = rejection
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["rationale", "funded_by"]);
    let mut seller_with_amount = side_with_seller();
    if let ReturnCommand::Decide(d) = &mut seller_with_amount {
        d.refund_amount_minor = minor(5);
    }
    story
        .given()
        .when(operator(), seller_with_amount)
        .then_field_error("refund_amount_minor");

    let decided = story.step(operator(), decide_refund(2000, true));
    let rejection = decided
        .given()
        .when(buyer(), escalate())
        .then_rejects("invalid_transition");
    assert!(rejection.detail().contains("final"));
}

#[test]
fn refunds_are_validated() {
    let story = Story::us().opened().step(seller(), accept_returnless());
    story
        .given()
        .when(platform(), refund(0, PayoutMethod::OriginalPayment))
        .then_field_error("amount_minor");
    story
        .given()
        .when(platform(), refund(2501, PayoutMethod::OriginalPayment))
        .then_field_error("amount_minor");
    let mut no_reference = refund(2500, PayoutMethod::OriginalPayment);
    if let ReturnCommand::Refund(r) = &mut no_reference {
        r.reference = String::new();
    }
    story
        .given()
        .when(platform(), no_reference)
        .then_field_error("reference");
}

#[test]
fn invalid_transitions_say_what_is_allowed() {
    let story = Story::us().opened().step(seller(), accept());
    let rejection = story
        .given()
        .when(seller(), accept())
        .then_rejects("invalid_transition");
    let Rejection::InvalidTransition {
        action,
        status,
        allowed,
        ..
    } = &rejection
    else {
        panic!()
    };
    assert_eq!(*action, "accept");
    assert_eq!(*status, "authorized");
    assert_eq!(allowed, &["receive", "escalate", "messages", "evidence"]);
    assert!(rejection
        .detail()
        .contains("allowed now: receive, escalate, messages, evidence"));
}

/// Carrier facts on the way back (docs/product.md, "Carrier facts"): a problem is recorded, a
/// parcel brought back to the buyer is to be sent again, a lost parcel goes to an operator, and
/// the first scan is the proof of sending.
#[test]
fn carrier_facts_record_problems_send_back_and_losses() {
    let shipped = Story::us()
        .opened()
        .step(seller(), accept())
        .advance(days(2))
        .step(buyer(), ship());
    let late = shipped
        .clone()
        .step(platform(), carrier(CarrierStatus::Exception, now()));
    assert_eq!(late.status(), Status::InTransit);
    assert_eq!(late.case().shipment.exception_at, Some(now()));

    let back = shipped
        .clone()
        .step(platform(), carrier(CarrierStatus::ReturnedToSender, now()));
    assert_eq!(back.status(), Status::Authorized);
    assert!(!back.case().item_was_shipped());
    // A fresh shipping deadline from the parcel's return.
    assert_eq!(back.deadline(DeadlineKind::ShipBy), back.now + days(10));

    let scanned = shipped.step(platform(), carrier(CarrierStatus::InTransit, now()));
    assert_eq!(scanned.case().shipment.accepted_at, Some(now()));
    let lost = scanned.step(platform(), carrier(CarrierStatus::Lost, now()));
    assert_eq!(lost.status(), Status::Escalated);
    assert_eq!(lost.case().shipment.lost_at, Some(now()));
    assert_eq!(
        lost.case().dispute.as_ref().map(|d| d.escalated_by),
        Some(EscalationTrigger::ParcelLost)
    );
}
