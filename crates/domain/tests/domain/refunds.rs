//! Refund caps: per return, and over the returns of an order line.

use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

#[test]
fn a_refund_never_exceeds_the_amount_due() {
    let story = Story::us().opened().step(seller(), accept_returnless());
    story
        .given()
        .when(platform(), refund(2501, PayoutMethod::OriginalPayment))
        .then_field_error("amount_minor");
}

#[test]
fn the_refund_is_recorded_on_the_order_line() {
    let story = Story::us()
        .step(
            buyer(),
            open_return(
                1,
                &[("L1", 2), ("L2", 1)],
                Reason::Defective,
                Resolution::Refund,
            ),
        )
        .step(seller(), accept_returnless());
    let then = story
        .given()
        .when(platform(), refund(12_500, PayoutMethod::OriginalPayment))
        .then_order(vec![OrderEvent::RefundRecorded(order::RefundRecorded {
            return_id: return_id(1),
            amount_minor: minor(12_500),
            bonus_minor: MinorUnits::ZERO,
            lines: vec![
                order::LineAmount {
                    line_id: LineId::parse("L1").unwrap(),
                    amount_minor: minor(5000),
                },
                order::LineAmount {
                    line_id: LineId::parse("L2").unwrap(),
                    amount_minor: minor(7500),
                },
            ],
            at: now(),
        })]);
    assert_eq!(then.state().outcome, Some(Outcome::PartiallyRefunded));
}

#[test]
fn refunded_quantities_stay_taken_and_refunds_add_up_to_at_most_what_was_paid() {
    let mut story = Story::us()
        .step(
            buyer(),
            open_return(1, &[("L1", 1)], Reason::Defective, Resolution::Refund),
        )
        .step(seller(), accept_returnless())
        .step(platform(), refund(2500, PayoutMethod::OriginalPayment));
    story.case = None;
    let mut story = story
        .step(
            buyer(),
            open_return(2, &[("L1", 1)], Reason::Defective, Resolution::Refund),
        )
        .step(seller(), accept_returnless())
        .step(platform(), refund(2500, PayoutMethod::OriginalPayment));
    let l1 = LineId::parse("L1").unwrap();
    assert_eq!(
        story.order.refunded_for_line(&l1),
        story.order.paid_for_line(&l1)
    );
    assert_eq!(story.order.available_quantity(&l1), 0);
    story.case = None;
    let third = open_return(3, &[("L1", 1)], Reason::Defective, Resolution::Refund);
    assert_eq!(
        story.try_step(&buyer(), &third).unwrap_err().code(),
        "validation_failed"
    );
}

#[test]
fn a_zero_amount_refund_closes_at_once() {
    let free = order::OrderLine {
        unit_price_minor: MinorUnits::ZERO,
        ..line("L1", "gift", 1, 0)
    };
    let story = Story::new(register(order_details(
        "US",
        Some(now() - days(1)),
        vec![free],
    )))
    .opened()
    .step(seller(), accept_returnless());
    assert_eq!(story.case().outcome, Some(Outcome::Refunded));
    let types: Vec<&str> = story
        .order_history
        .iter()
        .map(OrderEvent::event_type)
        .collect();
    assert_eq!(
        types,
        ["order.return_items_reserved", "order.refund_recorded"]
    );
}
