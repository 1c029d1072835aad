//! Exchanges carried through (docs/api.md, "Actions"; docs/product.md, "Exchanges"): the
//! replacement is recorded, shipped with tracking and delivered; out of stock or not shipped in
//! time, the case falls back to a refund by itself.

use serde_json::{json, Value};

use crate::support::{
    assert_names_field, delivered_body, eu_order, expect_json, expect_problem, id_of,
    return_request, ship_body, Api, SHIRT,
};
use returns_testkit::TestApp;

/// A shirt that did not fit, to be exchanged: returned, inspected as new. Returns its id.
async fn an_approved_exchange(app: &TestApp, order_id: &str) -> String {
    app.given_order(&eu_order(order_id)).await;
    let mut body = return_request(order_id, &[(SHIRT, 1)], "size_fit");
    body["resolution"] = json!("exchange");
    let id = id_of(&app.given_return(&app.buyer(), &body).await);
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
    app.act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;
    let inspected = app
        .act(
            &app.seller(),
            &id,
            "inspect",
            &json!({"grade": "as_new", "refund_amount_minor": 0}),
        )
        .await;
    assert_eq!(inspected["status"], "exchange_pending");
    assert!(
        inspected["deadlines"]["replacement_ship_by"].is_string(),
        "{inspected}"
    );
    id
}

fn replacement(sku: &str, quantity: i64) -> Value {
    json!({
        "items": [{"line_id": SHIRT, "sku": sku, "quantity": quantity}],
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
    })
}

#[tokio::test]
async fn the_replacement_is_shipped_tracked_and_delivered() {
    let app = TestApp::spawn().await;
    let id = an_approved_exchange(&app, "o-1").await;
    let shipped = app
        .act(
            &app.seller(),
            &id,
            "ship-replacement",
            &replacement("SKU-TS-200-L", 1),
        )
        .await;
    assert_eq!(shipped["status"], "replacement_shipped");
    let sent = &shipped["replacement"];
    assert_eq!(sent["items"][0]["sku"], "SKU-TS-200-L");
    assert_eq!(sent["tracking_number"], "1Z999AA10123456784");
    assert!(sent["delivered_at"].is_null());
    assert!(
        shipped["next_step"]
            .as_str()
            .unwrap()
            .contains("replacement is on its way"),
        "{shipped}"
    );
    let closed = app
        .act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["outcome"], "exchanged");
    assert!(closed["replacement"]["delivered_at"].is_string());
    let types = crate::support::event_types(&app.events_of(&id).await);
    for kind in [
        "return.exchange_approved",
        "return.replacement_shipped",
        "return.replacement_delivered",
    ] {
        assert!(types.contains(&kind.to_owned()), "{kind} in {types:?}");
    }
}

#[tokio::test]
async fn out_of_stock_or_not_shipped_in_time_the_exchange_becomes_a_refund() {
    let app = TestApp::spawn().await;
    let out = an_approved_exchange(&app, "o-1").await;
    let late = an_approved_exchange(&app, "o-2").await;
    let refund = app
        .act(&app.seller(), &out, "out-of-stock", &json!({}))
        .await;
    assert_eq!(refund["status"], "refund_pending");
    assert_eq!(refund["exchange_failure"], "out_of_stock");
    assert_eq!(refund["refund_due_minor"], refund["requested_amount_minor"]);

    // Three business days pass without a replacement: the refund falls due by itself.
    app.given_time_passes(24 * 8).await;
    let view = app.return_view(&late).await;
    assert_eq!(view["status"], "refund_pending");
    assert_eq!(view["exchange_failure"], "not_shipped_in_time");
    let missed: Vec<&str> = view["missed_deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(missed, ["replacement_ship_by"]);
}

#[tokio::test]
async fn bad_replacements_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let id = an_approved_exchange(&app, "o-1").await;
    let version = app.return_view(&id).await["version"].clone();
    for (body, field) in [
        (replacement("SKU-TS-200-L", 2), "items[0].quantity"),
        (replacement("SKU-TS-200-L", 0), "items[0].quantity"),
        (
            json!({"items": [{"line_id": "line-1", "sku": "S", "quantity": 1}], "carrier": "UPS", "tracking_number": "T"}),
            "items[0].line_id",
        ),
        (json!({"carrier": "", "tracking_number": "T"}), "carrier"),
    ] {
        let res = app
            .action(&app.seller(), &id, "ship-replacement", &body, None, None)
            .await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, field);
    }
    assert_eq!(app.return_view(&id).await["version"], version);
    for action in ["ship-replacement", "out-of-stock"] {
        let res = app
            .action(&app.buyer(), &id, action, &replacement("S", 1), None, None)
            .await;
        expect_problem(res, 403, "forbidden").await;
    }
    // Before the exchange is approved, a replacement cannot go out.
    app.given_order(&eu_order("o-2")).await;
    let early = id_of(
        &app.given_return(
            &app.buyer(),
            &return_request("o-2", &[(SHIRT, 1)], "size_fit"),
        )
        .await,
    );
    let res = app
        .action(
            &app.seller(),
            &early,
            "out-of-stock",
            &json!({}),
            None,
            None,
        )
        .await;
    expect_problem(res, 409, "invalid_transition").await;
    expect_json(app.get_return(&app.buyer(), &id).await, 200).await;
}
