//! Return methods (docs/product.md, "Return methods"): mail, relay point, pickup, store; the
//! policy's terms, each method's deadline and carrier facts, and the next step in words.

use chrono::TimeDelta;
use returns_domain::methods::{BuyerPays, MethodKind, MethodRequest, MethodTerms, ReturnMethod};
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

fn relay() -> MethodRequest {
    MethodRequest::RelayPoint {
        point_id: "FR-75011-042".to_owned(),
    }
}

fn pickup(from_hours: i64, hours: i64) -> MethodRequest {
    MethodRequest::Pickup {
        slot_start: now() + TimeDelta::hours(from_hours),
        slot_end: now() + TimeDelta::hours(from_hours + hours),
    }
}

fn with_methods() -> Story {
    Story::us().policy(|p| p.return_methods = every_method())
}

#[test]
fn a_relay_point_drop_off_has_its_code_its_deadline_and_lapses_when_missed() {
    let story = with_methods()
        .opened()
        .step(buyer(), choose_method(relay()))
        .step(seller(), accept());
    let case = story.case();
    assert_eq!(
        case.return_method,
        ReturnMethod::RelayPoint {
            point_id: "FR-75011-042".to_owned(),
            drop_off_code: "K7Q3XD2M".to_owned(),
        }
    );
    let due = story.deadline(DeadlineKind::DropOffBy);
    assert_eq!(due, now() + TimeDelta::days(10));
    assert!(case.deadlines.ship_by.is_none());
    let step = next_step(case);
    assert!(
        step.contains("relay point FR-75011-042") && step.contains("K7Q3XD2M"),
        "{step}"
    );
    // The same step in French names the same point, code and deadline.
    let etape = next_step_in(case, Language::French);
    assert!(
        etape.starts_with("L'acheteur dépose le colis au point relais FR-75011-042 avant le ")
            && etape.contains("K7Q3XD2M"),
        "{etape}"
    );
    assert_eq!(next_step_in(case, Language::English), step);
    // The carrier scans the parcel at the relay point: on its way.
    let dropped = story
        .clone()
        .step(platform(), carrier(CarrierStatus::DroppedOff, now()));
    assert_eq!(dropped.status(), Status::InTransit);
    // Not dropped off in time: lapsed.
    let lapsed = story.fire(DeadlineKind::DropOffBy);
    assert_eq!(lapsed.case().outcome, Some(Outcome::Lapsed));
}

#[test]
fn a_pickup_slot_is_the_deadline_and_a_missed_pickup_falls_back_to_mail() {
    let story = with_methods().opened().step(seller(), accept());
    // Once authorised, a slot must end by the running deadline (10 days).
    story
        .given()
        .when(buyer(), choose_method(pickup(24 * 11, 2)))
        .then_field_error("slot_end");
    let booked = story.step(buyer(), choose_method(pickup(24, 4)));
    assert_eq!(
        booked.deadline(DeadlineKind::PickupBy),
        now() + TimeDelta::hours(28)
    );
    assert!(next_step(booked.case()).contains("collects the parcel"));
    let picked = booked
        .clone()
        .step(platform(), carrier(CarrierStatus::PickedUp, now()));
    assert_eq!(picked.status(), Status::InTransit);
    // The carrier never came: the buyer may mail it, with the policy's days from then.
    let missed = booked.fire(DeadlineKind::PickupBy);
    assert_eq!(missed.status(), Status::Authorized);
    assert_eq!(missed.case().return_method, ReturnMethod::Mail);
    let ship_by = missed.deadline(DeadlineKind::ShipBy);
    assert_eq!(ship_by, missed.now + TimeDelta::days(10));
}

#[test]
fn choosing_a_method_never_grants_more_time() {
    let story = with_methods()
        .opened()
        .step(seller(), accept())
        .advance(TimeDelta::days(6));
    let due = story.deadline(DeadlineKind::ShipBy);
    let store = story.step(
        buyer(),
        choose_method(MethodRequest::Store {
            store_id: "paris-11".to_owned(),
        }),
    );
    assert_eq!(store.deadline(DeadlineKind::DropOffBy), due);
    assert!(next_step(store.case()).contains("store paris-11"));
}

#[test]
fn each_method_costs_what_the_policy_says_and_never_under_the_conformity_guarantee() {
    let terms = vec![
        MethodTerms {
            method: MethodKind::Mail,
            buyer_pays: BuyerPays::Never,
            fee_minor: None,
        },
        MethodTerms {
            method: MethodKind::Pickup,
            buyer_pays: BuyerPays::Always,
            fee_minor: Some(minor(800)),
        },
    ];
    // L1 costs 2500: by mail it is free, a pickup costs the buyer 800.
    let story = Story::us()
        .policy(|p| p.return_methods = terms.clone())
        .opened();
    assert_eq!(story.case().requested_amount_minor, minor(2500));
    let picked = story.step(buyer(), choose_method(pickup(24, 2)));
    assert_eq!(picked.case().requested_amount_minor, minor(1700));
    assert_eq!(
        picked.case().policy.evaluation.return_shipping_fee_minor,
        minor(800)
    );
    // A method the policy does not offer, an expired slot, a missing place: refused.
    picked
        .given()
        .when(buyer(), choose_method(relay()))
        .then_field_error("method");
    picked
        .given()
        .when(buyer(), choose_method(pickup(-2, 1)))
        .then_field_error("slot_start");
    let eu = Story::new(order_in("DE", Some(5)))
        .policy(|p| p.return_methods = terms)
        .opened()
        .step(buyer(), choose_method(pickup(24, 2)));
    // The EU order's request is a defect (`open_default`): free under the conformity guarantee.
    assert_eq!(
        eu.case().policy.evaluation.return_shipping_fee_minor,
        MinorUnits::ZERO
    );
}

#[test]
fn the_method_cannot_change_once_the_item_is_on_its_way() {
    let shipped = with_methods()
        .opened()
        .step(seller(), accept())
        .step(buyer(), ship());
    shipped
        .given()
        .when(buyer(), choose_method(relay()))
        .then_rejects("invalid_transition");
    shipped
        .given()
        .when(seller(), choose_method(relay()))
        .then_rejects("forbidden");
}
