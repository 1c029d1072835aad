//! Each deadline through `ApplyDeadline`: due, not yet due, stale, repeated.

use chrono::TimeDelta;
use returns_domain::policy::OnSellerTimeout;
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

fn applying(story: &Story, kind: DeadlineKind) -> Then {
    let due_at = story.deadline(kind);
    story
        .given()
        .at(due_at)
        .when(system(), deadline(kind, due_at))
}

#[test]
fn a_deadline_not_yet_due_yields_nothing() {
    let story = Story::us().opened();
    let due_at = story.deadline(DeadlineKind::SellerResponseDue);
    story
        .given()
        .at(due_at - TimeDelta::seconds(1))
        .when(system(), deadline(DeadlineKind::SellerResponseDue, due_at))
        .then_nothing();
}

#[test]
fn a_deadline_no_longer_running_yields_nothing() {
    let story = Story::us().opened();
    let due_at = story.deadline(DeadlineKind::SellerResponseDue);
    let answered = story.step(seller(), accept());
    answered
        .given()
        .at(due_at + days(1))
        .when(system(), deadline(DeadlineKind::SellerResponseDue, due_at))
        .then_nothing();
    // A stale due time (the deadline was reset since) does nothing either.
    answered
        .given()
        .at(due_at + days(30))
        .when(system(), deadline(DeadlineKind::ShipBy, due_at))
        .then_nothing();
}

#[test]
fn applying_the_same_deadline_twice_acts_once() {
    let story = Story::us().opened();
    let due_at = story.deadline(DeadlineKind::SellerResponseDue);
    let story = story.fire(DeadlineKind::SellerResponseDue);
    story
        .given()
        .when(system(), deadline(DeadlineKind::SellerResponseDue, due_at))
        .then_nothing();
}

#[test]
fn only_the_scheduler_applies_deadlines() {
    let story = Story::us().opened();
    let due_at = story.deadline(DeadlineKind::SellerResponseDue);
    for actor in [buyer(), seller(), operator(), platform()] {
        story
            .given()
            .at(due_at)
            .when(actor, deadline(DeadlineKind::SellerResponseDue, due_at))
            .then_rejects("forbidden");
    }
}

#[test]
fn a_silent_seller_is_escalated_by_default() {
    let story = Story::us().opened();
    let due_at = story.deadline(DeadlineKind::SellerResponseDue);
    let then = applying(&story, DeadlineKind::SellerResponseDue).then(vec![
        ReturnEvent::DeadlineMissed(DeadlineMissed {
            kind: DeadlineKind::SellerResponseDue,
            due_at,
            at: due_at,
        }),
        ReturnEvent::ReturnEscalated(ReturnEscalated {
            trigger: EscalationTrigger::SellerResponseTimeout,
            reason_text: None,
            // The response was due Tuesday 10:00 (Wednesday + 3 business days, Thanksgiving
            // off in the US); + 2 business days.
            decision_due: t("2026-12-03T10:00:00Z"),
            at: due_at,
        }),
    ]);
    let state = then.state();
    assert_eq!(state.status, Status::Escalated);
    assert_eq!(state.missed_deadlines.len(), 1);
    assert_eq!(
        state.missed_deadlines[0].kind,
        DeadlineKind::SellerResponseDue
    );
}

#[test]
fn a_silent_seller_auto_accepts_when_its_policy_says_so() {
    let story = Story::us()
        .policy(|p| p.on_seller_timeout = OnSellerTimeout::AutoAccept)
        .opened();
    let then = applying(&story, DeadlineKind::SellerResponseDue)
        .then_types(&["return.deadline_missed", "return.authorized"]);
    let state = then.state();
    assert_eq!(state.status, Status::Authorized);
    assert_eq!(
        state.authorization.unwrap().source,
        ApprovalSource::SellerTimeout
    );
    assert!(!state.policy.auto_approved);
}

#[test]
fn an_ineligible_return_is_escalated_even_under_auto_accept() {
    let story = Story::new(order_in("US", Some(60)))
        .policy(|p| p.on_seller_timeout = OnSellerTimeout::AutoAccept)
        .opened();
    applying(&story, DeadlineKind::SellerResponseDue)
        .then_types(&["return.deadline_missed", "return.escalated"]);
}

#[test]
fn an_unshipped_return_lapses() {
    let story = Story::us().opened().step(seller(), accept());
    assert_eq!(story.deadline(DeadlineKind::ShipBy), now() + days(10));
    let then = applying(&story, DeadlineKind::ShipBy)
        .then_types(&["return.deadline_missed", "return.closed"])
        .then_order_types(&["order.return_items_released"]);
    assert_eq!(then.state().outcome, Some(Outcome::Lapsed));
    // Shipping in time stops the clock.
    let shipped = story.clone().step(buyer(), ship());
    shipped
        .given()
        .at(now() + days(20))
        .when(system(), deadline(DeadlineKind::ShipBy, now() + days(10)))
        .then_nothing();
}

#[test]
fn an_uninspected_return_is_refunded_automatically() {
    let story = Story::us()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive());
    let then = applying(&story, DeadlineKind::InspectBy)
        .then_types(&["return.deadline_missed", "return.refund_approved"]);
    let state = then.state();
    assert_eq!(state.status, Status::RefundPending);
    assert_eq!(state.refund_due_minor(), Some(minor(2500)));
    assert_eq!(
        state.pending_refund.unwrap().basis,
        RefundBasis::InspectionDeadline
    );
}

#[test]
fn an_uninspected_exchange_goes_ahead() {
    let story = Story::us()
        .opened()
        .step(seller(), offer(OfferKind::Exchange, None))
        .step(buyer(), accept_offer())
        .step(buyer(), ship())
        .step(seller(), receive());
    let then = applying(&story, DeadlineKind::InspectBy)
        .then_types(&["return.deadline_missed", "return.exchange_approved"]);
    assert_eq!(then.state().status, Status::ExchangePending);
}

#[test]
fn an_unpaid_refund_is_escalated() {
    let story = Story::us().opened().step(seller(), accept_returnless());
    assert_eq!(story.deadline(DeadlineKind::RefundDue), now() + days(14));
    let then = applying(&story, DeadlineKind::RefundDue)
        .then_types(&["return.deadline_missed", "return.escalated"]);
    let state = then.state();
    assert_eq!(
        state.dispute.as_ref().unwrap().escalated_by,
        EscalationTrigger::RefundOverdue
    );
    assert_eq!(state.refund_due_minor(), None);
}

#[test]
fn in_the_eu_the_refund_is_due_14_days_after_the_request_but_leaves_time_to_pay() {
    let story = Story::new(order_in("DE", Some(2)))
        .opened()
        .step(seller(), accept())
        .advance(days(9))
        .step(buyer(), ship())
        .advance(days(4))
        .step(seller(), receive())
        .step(seller(), inspect(Grade::AsNew, 2500, false));
    // 14 days from the request would be tomorrow; the platform still gets 3 days.
    assert_eq!(story.deadline(DeadlineKind::RefundDue), now() + days(16));
}

#[test]
fn a_late_operator_decision_is_reported_but_changes_nothing_else() {
    let story = Story::us().opened().step(buyer(), escalate());
    let then = applying(&story, DeadlineKind::DecisionDue).then_types(&["return.deadline_missed"]);
    let state = then.state();
    assert_eq!(state.status, Status::Escalated);
    assert!(state.dispute.as_ref().unwrap().overdue);
    assert_eq!(state.deadlines.decision_due, None);
    // Wednesday + 2 business days, Thanksgiving (Thursday) off in the US.
    assert_eq!(
        state.dispute.unwrap().decision_due,
        t("2026-11-30T10:00:00Z")
    );
}

#[test]
fn an_unanswered_offer_expires_and_the_request_stands() {
    let story = Story::us()
        .opened()
        .step(seller(), offer(OfferKind::PartialRefund, Some(100)));
    let then = applying(&story, DeadlineKind::OfferExpires)
        .then_types(&["return.deadline_missed", "return.offer_expired"]);
    let state = then.state();
    assert_eq!(state.status, Status::Requested);
    assert_eq!(state.offer.unwrap().status, OfferStatus::Expired);
    // Saturday 10:00 expiry: 3 business days from Monday 00:00 = Thursday 00:00.
    assert_eq!(
        state.deadlines.seller_response_due,
        Some(t("2026-12-03T00:00:00Z"))
    );
}

#[test]
fn a_decline_not_escalated_in_time_closes_as_denied() {
    let story = Story::us().opened().step(seller(), decline());
    let then = applying(&story, DeadlineKind::EscalateBy)
        .then_types(&["return.deadline_missed", "return.closed"])
        .then_order_types(&["order.return_items_released"]);
    assert_eq!(then.state().outcome, Some(Outcome::Denied));
}

#[test]
fn every_deadline_kind_is_exercised() {
    // Each status runs exactly the deadline the docs promise.
    let cases = [
        (Story::us().opened(), DeadlineKind::SellerResponseDue),
        (
            Story::us()
                .opened()
                .step(seller(), offer(OfferKind::Exchange, None)),
            DeadlineKind::OfferExpires,
        ),
        (
            Story::us().opened().step(seller(), accept()),
            DeadlineKind::ShipBy,
        ),
        (
            Story::us()
                .opened()
                .step(seller(), accept())
                .step(buyer(), ship())
                .step(seller(), receive()),
            DeadlineKind::InspectBy,
        ),
        (
            Story::us().opened().step(seller(), accept_returnless()),
            DeadlineKind::RefundDue,
        ),
        (
            Story::us().opened().step(seller(), decline()),
            DeadlineKind::EscalateBy,
        ),
        (
            Story::us().opened().step(buyer(), escalate()),
            DeadlineKind::DecisionDue,
        ),
    ];
    for (story, kind) in cases {
        let running: Vec<DeadlineKind> = story
            .case()
            .deadlines
            .running()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(running, [kind]);
        let due_at = story.deadline(kind);
        // Not yet due: nothing.
        story
            .given()
            .at(due_at - TimeDelta::seconds(1))
            .when(system(), deadline(kind, due_at))
            .then_nothing();
        // A due time the return does not have: nothing.
        story
            .given()
            .at(due_at + days(1))
            .when(system(), deadline(kind, due_at - TimeDelta::seconds(1)))
            .then_nothing();
        // Due: recorded, and a second scheduler sending it again changes nothing.
        let after = story.fire(kind);
        assert_eq!(
            after.case().missed_deadlines.last().map(|m| m.kind),
            Some(kind)
        );
        after
            .given()
            .when(system(), deadline(kind, due_at))
            .then_nothing();
    }
}
