//! The order aggregate: registration, delivery, and its rules.

use returns_domain::order::{self, OrderCommand, RecordDelivery, RegisterOrder};
use returns_domain::*;

use crate::harness::*;

fn register_cmd(details: order::OrderDetails, policy_version: u64) -> OrderCommand {
    OrderCommand::Register(RegisterOrder {
        order: details,
        policy_version,
    })
}

fn us_details() -> order::OrderDetails {
    order_details("US", None, default_lines())
}

#[test]
fn registering_yields_the_registration() {
    let events = order::decide(None, &register_cmd(us_details(), 4), &platform(), now()).unwrap();
    let types: Vec<&str> = events.iter().map(OrderEvent::event_type).collect();
    assert_eq!(types, ["order.registered"]);
    let order = Order::replay(&events).unwrap();
    assert_eq!(order.policy_version, 4);
    assert_eq!(order.available_quantity(&LineId::parse("L1").unwrap()), 2);
    assert_eq!(order.version, 1);
}

#[test]
fn the_same_body_again_is_a_no_op_even_with_a_newer_policy_version() {
    let order = register(us_details());
    let again = order::decide(
        Some(&order),
        &register_cmd(us_details(), 9),
        &platform(),
        now(),
    );
    assert_eq!(again, Ok(vec![]));
}

#[test]
fn a_different_body_for_an_existing_order_is_a_conflict() {
    let order = register(us_details());
    let mut changed = us_details();
    changed.lines[0].quantity = 3;
    let rejection =
        order::decide(Some(&order), &register_cmd(changed, 1), &platform(), now()).unwrap_err();
    assert_eq!(rejection.code(), "version_conflict");
}

#[test]
fn only_the_platform_reports_orders() {
    for actor in [buyer(), seller(), operator(), system()] {
        let rejection =
            order::decide(None, &register_cmd(us_details(), 1), &actor, now()).unwrap_err();
        assert_eq!(rejection.code(), "forbidden");
    }
}

#[test]
fn order_bodies_are_validated() {
    let mut details = us_details();
    details.lines.push(line("L1", "apparel", 0, 100));
    details.lines[1].title = " ".to_owned();
    details.delivered_at = Some(details.placed_at - days(1));
    let rejection = order::decide(None, &register_cmd(details, 1), &platform(), now()).unwrap_err();
    let fields: Vec<&str> = rejection
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "delivered_at",
            "lines[1].title",
            "lines[2].line_id",
            "lines[2].quantity"
        ]
    );

    let mut empty = us_details();
    empty.lines.clear();
    let rejection = order::decide(None, &register_cmd(empty, 1), &platform(), now()).unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "lines");

    let mut huge = us_details();
    huge.lines = vec![line("L1", "x", u32::MAX, i64::MAX)];
    let rejection = order::decide(None, &register_cmd(huge, 1), &platform(), now()).unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "lines");

    let mut future = us_details();
    future.placed_at = now() + days(1);
    let rejection = order::decide(None, &register_cmd(future, 1), &platform(), now()).unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "placed_at");
}

#[test]
fn deliveries_are_recorded_corrected_and_deduplicated() {
    let order = register(us_details());
    let delivery = OrderCommand::RecordDelivery(RecordDelivery {
        delivered_at: now() - days(2),
    });
    let events = order::decide(Some(&order), &delivery, &platform(), now()).unwrap();
    assert_eq!(events.len(), 1);
    let order = events.iter().fold(Some(order), order::evolve).unwrap();
    assert_eq!(order.delivered_at, Some(now() - days(2)));
    assert_eq!(
        order::decide(Some(&order), &delivery, &platform(), now()),
        Ok(vec![])
    );

    let before_placement = OrderCommand::RecordDelivery(RecordDelivery {
        delivered_at: now() - days(2000),
    });
    let rejection = order::decide(Some(&order), &before_placement, &platform(), now()).unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "delivered_at");

    let unknown = order::decide(None, &delivery, &platform(), now()).unwrap_err();
    assert_eq!(unknown.code(), "not_found");
}

#[test]
fn reservations_release_and_refunds_move_the_available_quantity() {
    let mut order = us_order();
    let l1 = LineId::parse("L1").unwrap();
    let reserve = order
        .reserve(return_id(1), &items(&[("L1", 1)]), now())
        .unwrap();
    order.apply(&reserve);
    assert_eq!(order.available_quantity(&l1), 1);
    let release = order.release(return_id(1), now()).unwrap();
    order.apply(&release);
    assert_eq!(order.available_quantity(&l1), 2);
    assert_eq!(order.release(return_id(1), now()), None, "released once");

    let reserve = order
        .reserve(return_id(2), &items(&[("L1", 2)]), now())
        .unwrap();
    order.apply(&reserve);
    let refund = order
        .record_refund(return_id(2), minor(5000), minor(0), now())
        .unwrap();
    order.apply(&refund);
    assert_eq!(order.available_quantity(&l1), 0);
    assert_eq!(order.refunded_for_line(&l1), minor(5000));
    assert_eq!(order.paid_for_line(&l1), minor(5000));
}

#[test]
fn a_refund_never_exceeds_what_the_returned_items_cost() {
    let mut order = us_order();
    let reserve = order
        .reserve(return_id(1), &items(&[("L1", 1)]), now())
        .unwrap();
    order.apply(&reserve);
    let rejection = order
        .record_refund(return_id(1), minor(2501), minor(0), now())
        .unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "amount_minor");
    // A store-credit bonus is on top and not held against what was paid.
    assert!(order
        .record_refund(return_id(1), minor(2500), minor(500), now())
        .is_ok());
}

#[test]
fn a_return_names_each_line_once_and_never_more_items_than_the_order_has_lines() {
    let order = us_order();
    let twice = order
        .reserve(return_id(1), &items(&[("L1", 1), ("L1", 1)]), now())
        .unwrap_err();
    let fields: Vec<&str> = twice
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["items[1].line_id"]);

    // Two lines: a third item cannot be valid, whatever it names; refused as a whole.
    let many: Vec<(&str, u32)> = vec![("L1", 1); 5000];
    let refused = order
        .reserve(return_id(1), &items(&many), now())
        .unwrap_err();
    let errors = refused.field_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "items");
    assert!(errors[0]
        .message
        .contains("lists 5000 items; the order has 2 lines"));
}

/// An appeal reopens a denied return: its released items are held again, unless another return
/// took them meanwhile.
#[test]
fn a_released_return_reclaims_its_items_only_while_they_are_free() {
    let mut order = register(us_details());
    let items = [order::ItemRequest {
        line_id: LineId::parse("L2").unwrap(),
        quantity: 1,
    }];
    let first = return_id(1);
    order.apply(&order.reserve(first, &items, now()).unwrap());
    // Held already: nothing to reclaim.
    assert!(order.reclaim(first, now()).unwrap().is_none());
    order.apply(&order.release(first, now()).unwrap());
    let second = return_id(2);
    order.apply(&order.reserve(second, &items, now()).unwrap());
    let refused = order.reclaim(first, now()).unwrap_err();
    assert_eq!(refused.code(), "validation_failed");
    assert_eq!(refused.field_errors()[0].field, "items");
    order.apply(&order.release(second, now()).unwrap());
    let reclaimed = order.reclaim(first, now()).unwrap().unwrap();
    assert_eq!(reclaimed.event_type(), "order.return_items_reclaimed");
    order.apply(&reclaimed);
    assert_eq!(order.available_quantity(&LineId::parse("L2").unwrap()), 0);
}
