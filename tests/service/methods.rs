//! Return methods (docs/api.md, "Return methods"; docs/product.md, "Return methods"): the policy
//! offers mail, relay points, pickups and stores; the buyer chooses one per return; each has its
//! deadline, its carrier facts and its next step in words.

use serde_json::{json, Value};

use crate::support::{
    assert_names_field, eu_order, expect_json, expect_problem, id_of, return_request, rfc3339,
    unix_now, Api, SELLER, SHIRT,
};
use returns_testkit::TestApp;

fn every_method() -> Value {
    json!({"return_methods": [
        {"method": "mail"},
        {"method": "relay_point", "buyer_pays": "never"},
        {"method": "pickup", "buyer_pays": "always", "fee_minor": 300},
        {"method": "store", "buyer_pays": "never"},
    ]})
}

fn shirt_return(order_id: &str, method: Value) -> Value {
    let mut body = return_request(order_id, &[(SHIRT, 1)], "size_fit");
    body["return_method"] = method;
    body
}

/// A pickup slot starting `from_hours` from now, `hours` long.
fn slot(from_hours: i64, hours: i64) -> Value {
    let start = unix_now() + from_hours * 3600;
    json!({"method": "pickup", "slot_start": rfc3339(start), "slot_end": rfc3339(start + hours * 3600)})
}

#[tokio::test]
async fn a_relay_point_return_shows_its_code_deadline_and_next_step() {
    let app = TestApp::spawn().await;
    let policy = app.given_policy(SELLER, &every_method()).await;
    assert_eq!(policy["return_methods"].as_array().unwrap().len(), 4);
    app.given_order(&eu_order("o-1")).await;
    let relay = json!({"method": "relay_point", "point_id": "FR-75011-042"});
    let opened = app
        .given_return(&app.buyer(), &shirt_return("o-1", relay))
        .await;
    let id = id_of(&opened);
    let method = &opened["return_method"];
    assert_eq!(method["method"], "relay_point");
    assert_eq!(method["point_id"], "FR-75011-042");
    let code = method["drop_off_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    assert!(opened["next_step"]
        .as_str()
        .unwrap()
        .contains("seller answers"));

    let accepted = app.act(&app.seller(), &id, "accept", &json!({})).await;
    assert!(
        accepted["deadlines"]["drop_off_by"].is_string(),
        "{accepted}"
    );
    assert!(accepted["deadlines"].get("ship_by").is_none(), "{accepted}");
    let step = accepted["next_step"].as_str().unwrap();
    assert!(
        step.contains("FR-75011-042") && step.contains(&code),
        "{step}"
    );

    let scanned = app
        .act(
            &app.platform(),
            &id,
            "carrier-update",
            &json!({"status": "dropped_off", "at": crate::support::just_now()}),
        )
        .await;
    assert_eq!(scanned["status"], "in_transit");
    let types = crate::support::event_types(&app.events_of(&id).await);
    assert!(
        types.contains(&"return.shipment_in_transit".to_owned()),
        "{types:?}"
    );
}

#[tokio::test]
async fn a_missed_pickup_falls_back_to_mail_and_a_pickup_costs_what_the_policy_says() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &every_method()).await;
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(
            &app.buyer(),
            &shirt_return("o-1", json!({"method": "mail"})),
        )
        .await;
    let id = id_of(&opened);
    let by_mail = opened["requested_amount_minor"].as_i64().unwrap();
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    let booked = app
        .act(&app.buyer(), &id, "choose-method", &slot(24, 2))
        .await;
    assert_eq!(booked["return_method"]["method"], "pickup");
    assert!(booked["deadlines"]["pickup_by"].is_string(), "{booked}");
    // The buyer always pays for a pickup (300), a size that did not fit being no defect.
    assert_eq!(booked["requested_amount_minor"], by_mail - 300);
    assert_eq!(booked["policy"]["return_shipping_fee_minor"], 300);

    // Two days pass and nobody came: the buyer may mail it instead.
    app.given_time_passes(48).await;
    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "authorized");
    assert_eq!(view["return_method"]["method"], "mail");
    assert!(view["deadlines"]["ship_by"].is_string(), "{view}");
    assert!(
        view["next_step"].as_str().unwrap().contains("by mail"),
        "{view}"
    );
}

#[tokio::test]
async fn bad_methods_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let buyer = app.buyer();
    // The default policy offers mail only.
    for (method, field) in [
        (
            json!({"method": "relay_point", "point_id": "P-1"}),
            "return_method.method",
        ),
        (json!({"method": "drone"}), "return_method.method"),
        (json!({"method": "relay_point"}), "return_method.point_id"),
        (json!({"method": "store"}), "return_method.store_id"),
        (slot(-3, 1), "return_method.slot_start"),
    ] {
        let res = app.open_return(&buyer, &shirt_return("o-1", method)).await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, field);
    }
    let none = expect_json(app.list_returns(&buyer, &[]).await, 200).await;
    assert_eq!(none["items"], json!([]));

    app.given_policy(SELLER, &every_method()).await;
    app.given_order(&eu_order("o-2")).await;
    let id = id_of(
        &app.given_return(&buyer, &shirt_return("o-2", json!({"method": "mail"})))
            .await,
    );
    let version = app.return_view(&id).await["version"].clone();
    for (body, field) in [
        (slot(2, 13), "slot_end"),
        (slot(24 * 40, 2), "slot_start"),
        (
            json!({"method": "store", "store_id": "no spaces"}),
            "store_id",
        ),
        (json!({"method": "pickup"}), "slot_start"),
    ] {
        let res = app
            .action(&buyer, &id, "choose-method", &body, None, None)
            .await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, field);
    }
    assert_eq!(app.return_view(&id).await["version"], version);
    // The seller does not choose.
    let res = app
        .action(
            &app.seller(),
            &id,
            "choose-method",
            &json!({"method": "mail"}),
            None,
            None,
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
}
