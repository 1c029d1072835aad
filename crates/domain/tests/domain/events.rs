//! Stored events: type names, schema versions and the JSON round trip over every variant.

use std::collections::BTreeSet;

use serde_json::json;

use returns_domain::order::{OrderCommand, RecordDelivery};
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

/// Histories that between them produce every kind of return event.
fn histories() -> Vec<Story> {
    vec![
        Story::us()
            .policy(|p| p.return_methods = every_method())
            .opened()
            .step(buyer(), message())
            .step(seller(), add_evidence())
            .step(seller(), grant(ExceptionRule::ShipBy))
            .step(
                buyer(),
                choose_method(methods::MethodRequest::RelayPoint {
                    point_id: "FR-75011-042".to_owned(),
                }),
            )
            .step(seller(), accept())
            .step(buyer(), ship())
            .step(platform(), carrier(CarrierStatus::InTransit, now()))
            .step(seller(), receive())
            .step(seller(), inspect(Grade::Used, 2000, true))
            .step(platform(), refund(2000, PayoutMethod::OriginalPayment))
            .step(buyer(), rate(4, Some("Quick refund"))),
        Story::us()
            .opened()
            .step(seller(), offer(OfferKind::PartialRefund, Some(10)))
            .step(buyer(), decline_offer())
            .step(seller(), offer(OfferKind::StoreCredit, None))
            .fire(DeadlineKind::OfferExpires)
            .step(seller(), offer(OfferKind::Exchange, None))
            .step(buyer(), accept_offer())
            .step(buyer(), withdraw()),
        Story::us()
            .opened()
            .step(seller(), decline())
            .step(buyer(), escalate())
            .step(operator(), assign())
            .step(operator(), decide_refund(2500, true)),
        exchange_approved()
            .step(seller(), ship_replacement(None))
            .step(platform(), carrier(CarrierStatus::Delivered, now())),
        exchange_approved().step(seller(), out_of_stock()),
        exchange_approved()
            .step(seller(), ship_replacement(None))
            .step(platform(), carrier(CarrierStatus::Lost, now())),
        Story::us()
            .opened()
            .step(seller(), decline())
            .step(buyer(), escalate())
            .step(operator(), side_with_seller())
            .step(buyer(), appeal())
            .step(Actor::operator("op-2"), decide_refund(2500, false)),
        Story::us()
            .opened()
            .step(seller(), accept())
            .step(buyer(), ship())
            .step(platform(), carrier(CarrierStatus::Exception, now()))
            .step(platform(), carrier(CarrierStatus::ReturnedToSender, now()))
            .step(buyer(), ship())
            .step(platform(), carrier(CarrierStatus::InTransit, now()))
            .step(platform(), carrier(CarrierStatus::Lost, now())),
    ]
}

#[test]
fn every_return_event_round_trips_through_its_stored_form() {
    let mut seen = BTreeSet::new();
    for story in histories() {
        for event in &story.history {
            let text = serde_json::to_string(&event.to_data()).unwrap();
            let data: serde_json::Value = serde_json::from_str(&text).unwrap();
            let back =
                ReturnEvent::from_stored(event.event_type(), event.schema_version(), data).unwrap();
            assert_eq!(&back, event);
            assert_eq!(event.schema_version(), 1);
            seen.insert(event.event_type());
        }
        // The decoded history replays to the same state.
        let decoded: Vec<ReturnEvent> = story
            .history
            .iter()
            .map(|e| ReturnEvent::from_stored(e.event_type(), 1, e.to_data()).unwrap())
            .collect();
        assert_eq!(ReturnCase::replay(&decoded).as_ref(), story.case.as_ref());
    }
    let all: BTreeSet<&str> = ReturnEvent::TYPES.iter().copied().collect();
    assert_eq!(seen, all, "some event kinds were never produced");
}

#[test]
fn every_return_event_decodes_from_the_log_without_its_free_text() {
    for story in histories() {
        for event in &story.history {
            let mut data = event.to_data();
            for field in event.free_text_fields() {
                if let Some(value) = data.get_mut(*field) {
                    *value = serde_json::Value::Null;
                }
            }
            let decoded = ReturnEvent::from_log(event.event_type(), 1, data);
            assert!(decoded.is_ok(), "{}: {decoded:?}", event.event_type());
            assert_eq!(decoded.unwrap().event_type(), event.event_type());
        }
    }
}

#[test]
fn every_order_event_round_trips() {
    let order = register(order_details("US", None, default_lines()));
    let delivered = order::decide(
        Some(&order),
        &OrderCommand::RecordDelivery(RecordDelivery {
            delivered_at: now() - days(1),
        }),
        &platform(),
        now(),
    )
    .unwrap();
    let mut events = vec![OrderEvent::OrderRegistered(order::OrderRegistered {
        order: order.registered.clone(),
        policy_version: 1,
        at: now(),
    })];
    events.extend(delivered);
    for story in histories() {
        events.extend(story.order_history);
    }
    let seen: BTreeSet<&str> = events.iter().map(OrderEvent::event_type).collect();
    assert_eq!(seen, OrderEvent::TYPES.iter().copied().collect());
    for event in &events {
        let back = OrderEvent::from_stored(event.event_type(), 1, event.to_data()).unwrap();
        assert_eq!(&back, event);
    }
}

#[test]
fn type_names_are_unique_and_namespaced() {
    let names: BTreeSet<&str> = ReturnEvent::TYPES.iter().copied().collect();
    assert_eq!(names.len(), ReturnEvent::TYPES.len());
    assert!(ReturnEvent::TYPES.iter().all(|t| t.starts_with("return.")));
    assert!(OrderEvent::TYPES.iter().all(|t| t.starts_with("order.")));
}

#[test]
fn bad_stored_events_are_refused_with_a_reason() {
    assert_eq!(
        ReturnEvent::from_stored("return.teleported", 1, json!({})),
        Err(DecodeError::UnknownType("return.teleported".to_owned()))
    );
    assert!(matches!(
        ReturnEvent::from_stored(
            "return.closed",
            2,
            json!({"outcome": "refunded", "at": "2026-11-25T10:00:00Z"})
        ),
        Err(DecodeError::UnknownSchemaVersion {
            schema_version: 2,
            ..
        })
    ));
    assert!(matches!(
        ReturnEvent::from_stored(
            "return.closed",
            1,
            json!({"outcome": "vanished", "at": "2026-11-25T10:00:00Z"})
        ),
        Err(DecodeError::InvalidData { .. })
    ));
    // Ids inside stored data go through `parse` too.
    let story = Story::us().opened();
    let mut data = story.history[0].to_data();
    data["order_id"] = json!("not an id");
    assert!(ReturnEvent::from_stored("return.requested", 1, data).is_err());
}

#[test]
fn stored_json_uses_the_api_vocabulary() {
    let story = Story::us().opened().step(seller(), accept());
    assert_eq!(
        story.history[1].to_data(),
        json!({
            "source": "seller",
            "ship_by": "2026-12-05T10:00:00Z",
            "on_arrival": {"kind": "inspect"},
            "at": "2026-11-25T10:00:00Z"
        })
    );
    let requested = story.history[0].to_data();
    assert_eq!(requested["reason"], "defective");
    assert_eq!(requested["resolution"], "refund");
    assert_eq!(requested["items"][0]["unit_price_minor"], 2500);
    assert_eq!(
        requested["evaluation"]["rules"],
        json!(["seller_window_30d"])
    );
    assert_eq!(requested["rma"], Rma::from_entropy(1).as_str());
}

#[test]
fn free_text_fields_are_named_for_the_store() {
    let story = Story::us().opened().step(buyer(), message());
    let posted = &story.history[1];
    assert_eq!(posted.free_text_fields(), ["body"]);
    for field in posted.free_text_fields() {
        assert!(posted.to_data().get(field).is_some());
    }
    assert_eq!(
        story.history[0].free_text_fields(),
        ["description", "evidence"]
    );
}

#[test]
fn the_state_serialises_for_views() {
    let story = Story::us().opened();
    let view = serde_json::to_value(story.case()).unwrap();
    assert_eq!(view["status"], "requested");
    assert_eq!(
        view["deadlines"],
        // Wednesday + 3 business days, Thanksgiving off (a US order).
        json!({"seller_response_due": "2026-12-01T10:00:00Z"})
    );
    let back: ReturnCase = serde_json::from_value(view).unwrap();
    assert_eq!(&back, story.case());
}
