//! Opening a return: validation, quantity caps, eligibility, auto-approval, returnless refunds.

use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

#[test]
fn a_request_waits_for_the_seller_for_the_policy_business_days() {
    let then = given(vec![])
        .when(buyer(), open_default())
        .then_types(&["return.requested"]);
    then.decision();
    let state = then.state();
    assert_eq!(state.status, Status::Requested);
    assert_eq!(state.requested_amount_minor, minor(2500));
    assert_eq!(state.items_total_minor, minor(2500));
    // Wednesday 10:00 + 3 business days = Tuesday 10:00: Thursday is Thanksgiving (a US
    // order), so Friday, Monday and Tuesday count.
    assert_eq!(
        state.deadlines.seller_response_due,
        Some(t("2026-12-01T10:00:00Z"))
    );
    assert_eq!(state.deadlines.running().len(), 1);
    assert!(state.policy.eligible);
    assert!(!state.policy.auto_approved);
    assert_eq!(state.policy.rules, ["seller_window_30d"]);
    assert_eq!(state.rma, Rma::from_entropy(1));
    assert_eq!(state.version, 1);
    assert_eq!(state.created_at, now());
    assert_eq!(state.items[0].unit_price_minor, minor(2500));
    assert_eq!(state.items[0].title, "Item L1");
}

#[test]
fn opening_reserves_the_items_on_the_order() {
    given(vec![])
        .when(buyer(), open_default())
        .then_order(vec![OrderEvent::ReturnItemsReserved(
            order::ReturnItemsReserved {
                return_id: return_id(1),
                items: items(&[("L1", 1)]),
                at: now(),
            },
        )]);
}

#[test]
fn only_the_orders_buyer_opens_a_return() {
    given(vec![])
        .when(other_buyer(), open_default())
        .then_rejects("not_found");
    for actor in [seller(), operator(), platform(), system()] {
        given(vec![])
            .when(actor, open_default())
            .then_rejects("forbidden");
    }
    let ReturnCommand::Open(mut open) = open_default() else {
        unreachable!()
    };
    open.order_id = OrderId::parse("ORD-2").unwrap();
    given(vec![])
        .when(buyer(), ReturnCommand::Open(open))
        .then_rejects("not_found");
}

#[test]
fn opening_twice_is_refused() {
    let story = Story::us().opened();
    story
        .given()
        .when(buyer(), open_default())
        .then_rejects("version_conflict");
}

#[test]
fn commands_on_a_missing_return_are_not_found() {
    given(vec![])
        .when(seller(), accept())
        .then_rejects("not_found");
}

#[test]
fn items_are_validated_against_the_order() {
    let cases: [(&[(&str, u32)], &str); 5] = [
        (&[], "items"),
        (&[("L9", 1)], "items[0].line_id"),
        (&[("L1", 0)], "items[0].quantity"),
        (&[("L1", 3)], "items[0].quantity"),
        (&[("L1", 1), ("L1", 1)], "items[1].line_id"),
    ];
    for (list, field) in cases {
        let command = open_return(1, list, Reason::Defective, Resolution::Refund);
        given(vec![]).when(buyer(), command).then_field_error(field);
    }
}

#[test]
fn all_field_errors_come_together() {
    let ReturnCommand::Open(mut open) =
        open_return(1, &[("L9", 1)], Reason::Defective, Resolution::Refund)
    else {
        unreachable!()
    };
    open.description = Some("x".repeat(5001));
    open.evidence = vec![Evidence::new(EvidenceKind::Photo)];
    let rejection = given(vec![])
        .when(buyer(), ReturnCommand::Open(open))
        .then_rejects("validation_failed");
    let fields: Vec<&str> = rejection
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["description", "evidence[0]", "items[0].line_id"]);
}

#[test]
fn quantities_are_capped_across_open_and_refunded_returns() {
    let mut story = Story::us().step(
        buyer(),
        open_return(1, &[("L1", 1)], Reason::Defective, Resolution::Refund),
    );
    // One unit left on L1. Each return is its own stream: the next one starts from no state, with
    // the shared order.
    story.case = None;
    let second = open_return(2, &[("L1", 2)], Reason::Defective, Resolution::Refund);
    let rejection = story.try_step(&buyer(), &second).unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "items[0].quantity");
    assert!(rejection.field_errors()[0].message.contains("only 1 left"));
    let ok = open_return(2, &[("L1", 1)], Reason::Defective, Resolution::Refund);
    story.try_step(&buyer(), &ok).unwrap();
    story.case = None;
    let third = open_return(3, &[("L1", 1)], Reason::Defective, Resolution::Refund);
    assert_eq!(
        story.try_step(&buyer(), &third).unwrap_err().code(),
        "validation_failed"
    );
}

#[test]
fn a_withdrawn_return_frees_its_quantity() {
    let mut story = Story::us()
        .step(
            buyer(),
            open_return(1, &[("L1", 2)], Reason::Defective, Resolution::Refund),
        )
        .step(buyer(), withdraw());
    story.case = None;
    story
        .try_step(
            &buyer(),
            &open_return(2, &[("L1", 2)], Reason::Defective, Resolution::Refund),
        )
        .unwrap();
}

#[test]
fn low_value_eligible_returns_are_approved_automatically() {
    let then = given(vec![])
        .policy(|p| p.auto_approve_max_minor = minor(3000))
        .when(buyer(), open_default())
        .then_types(&["return.requested", "return.authorized"]);
    let state = then.state();
    assert_eq!(state.status, Status::Authorized);
    assert!(state.policy.auto_approved);
    assert_eq!(state.deadlines.ship_by, Some(now() + days(10)));
    assert_eq!(state.deadlines.seller_response_due, None);
    let ReturnEvent::ReturnRequested(requested) = &then.decision().return_events[0] else {
        panic!()
    };
    assert_eq!(requested.seller_response_due, None);
}

#[test]
fn auto_approval_needs_a_value_under_the_threshold() {
    let then = given(vec![])
        .policy(|p| p.auto_approve_max_minor = minor(2499))
        .when(buyer(), open_default())
        .then_types(&["return.requested"]);
    assert_eq!(then.state().status, Status::Requested);
}

#[test]
fn flagged_buyers_are_never_approved_automatically() {
    given(vec![])
        .policy(|p| {
            p.auto_approve_max_minor = minor(10_000);
            p.returnless_refund_max_minor = minor(10_000);
        })
        .flagged()
        .when(buyer(), open_default())
        .then_types(&["return.requested"]);
}

#[test]
fn ineligible_returns_are_created_but_never_approved_automatically() {
    let story = Story::new(order_in("US", Some(60))).policy(|p| {
        p.auto_approve_max_minor = minor(10_000);
        p.returnless_refund_max_minor = minor(10_000);
    });
    let then = story
        .given()
        .when(buyer(), open_default())
        .then_types(&["return.requested"]);
    let state = then.state();
    assert!(!state.policy.eligible);
    assert_eq!(state.policy.rules, ["outside_return_window"]);
    assert_eq!(state.status, Status::Requested);
}

#[test]
fn not_received_claims_are_not_authorised_for_shipping_automatically() {
    let command = open_return(1, &[("L1", 1)], Reason::NotReceived, Resolution::Refund);
    Story::new(order_in("US", None))
        .policy(|p| p.auto_approve_max_minor = minor(10_000))
        .given()
        .when(buyer(), command)
        .then_types(&["return.requested"]);
}

#[test]
fn cheap_returns_are_refunded_without_the_item() {
    let then = given(vec![])
        .policy(|p| p.returnless_refund_max_minor = minor(2500))
        .when(buyer(), open_default())
        .then_types(&["return.requested", "return.refund_approved"]);
    let state = then.state();
    assert_eq!(state.status, Status::RefundPending);
    assert_eq!(state.refund_due_minor(), Some(minor(2500)));
    let pending = state.pending_refund.unwrap();
    assert!(pending.keep_item);
    assert_eq!(pending.basis, RefundBasis::AutoReturnless);
    assert!(state.policy.auto_approved);
    // 14 days after the request.
    assert_eq!(state.deadlines.refund_due, Some(now() + days(14)));
}

#[test]
fn returnless_refunds_are_for_refund_requests_only() {
    let command = open_return(1, &[("L1", 1)], Reason::Defective, Resolution::Exchange);
    let then = given(vec![])
        .policy(|p| {
            p.returnless_refund_max_minor = minor(5000);
            p.auto_approve_max_minor = minor(5000);
        })
        .when(buyer(), command)
        .then_types(&["return.requested", "return.authorized"]);
    assert_eq!(then.state().on_arrival, OnArrival::Exchange);
}

#[test]
fn a_restocking_fee_reduces_the_requested_amount() {
    let command = open_return(1, &[("L1", 2)], Reason::ChangedMind, Resolution::Refund);
    let then = given(vec![])
        .policy(|p| p.restocking_fee_percent = 20)
        .when(buyer(), command);
    let state = then.state();
    assert_eq!(state.items_total_minor, minor(5000));
    assert_eq!(state.requested_amount_minor, minor(4000));
    assert!(state
        .policy
        .rules
        .contains(&"restocking_fee_20pct".to_owned()));
}

#[test]
fn evidence_given_at_opening_is_on_the_case() {
    let ReturnCommand::Open(mut open) = open_default() else {
        unreachable!()
    };
    open.evidence = vec![photo()];
    let state = given(vec![])
        .when(buyer(), ReturnCommand::Open(open))
        .state();
    assert_eq!(state.evidence.len(), 1);
    assert_eq!(state.evidence[0].added_by, buyer());
}
