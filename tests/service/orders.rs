//! Orders: the marketplace's facts, registered by the platform (docs/api.md, Orders).

use returns_api::auth::Role;
use returns_testkit::TestApp;
use serde_json::json;

use crate::support::{
    assert_names_field, days_ago, eu_order, expect_json, expect_json_with_etag, expect_problem,
    order, version_of, Api, BUYER, SELLER,
};

#[tokio::test]
async fn the_platform_registers_an_order() {
    let app = TestApp::spawn().await;

    let res = app.register_order(&app.platform(), &eu_order("o-1")).await;

    let (order, etag) = expect_json_with_etag(res, 201).await;
    assert_eq!(order["order_id"], "o-1");
    assert_eq!(order["buyer_id"], BUYER);
    assert_eq!(order["seller_id"], SELLER);
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["jurisdiction"], "DE");
    let version = version_of(&order);
    assert!(version >= 1, "{order}");
    assert_eq!(etag, format!("\"{version}\""));
}

#[tokio::test]
async fn registering_the_same_order_again_answers_200() {
    let app = TestApp::spawn().await;
    let body = eu_order("o-1");
    let first = app.given_order(&body).await;

    let res = app.register_order(&app.platform(), &body).await;

    let (again, etag) = expect_json_with_etag(res, 200).await;
    assert_eq!(again["order_id"], "o-1");
    assert_eq!(
        version_of(&again),
        version_of(&first),
        "nothing new was written"
    );
    assert_eq!(etag, format!("\"{}\"", version_of(&first)));
}

#[tokio::test]
async fn a_different_body_for_a_registered_order_is_a_version_conflict() {
    let app = TestApp::spawn().await;
    let mut body = eu_order("o-1");
    app.given_order(&body).await;
    body["lines"][0]["unit_price_minor"] = json!(1);

    let res = app.register_order(&app.platform(), &body).await;

    expect_problem(res, 409, "version_conflict").await;
    let stored = expect_json(app.get_order(&app.platform(), "o-1").await, 200).await;
    assert_eq!(stored["lines"][0]["unit_price_minor"], 4999, "{stored}");
}

#[tokio::test]
async fn the_platform_records_a_delivery() {
    let app = TestApp::spawn().await;
    let registered = app.given_order(&order("o-1", "DE", "EUR", None)).await;
    let delivered_at = days_ago(1);

    let res = app
        .record_delivery(&app.platform(), "o-1", &delivered_at)
        .await;

    let (delivered, etag) = expect_json_with_etag(res, 200).await;
    assert!(
        version_of(&delivered) > version_of(&registered),
        "{delivered}"
    );
    assert_eq!(etag, format!("\"{}\"", version_of(&delivered)));
    let stored = expect_json(app.get_order(&app.operator(), "o-1").await, 200).await;
    let stored_at = stored["delivered_at"].as_str().unwrap_or_default();
    // Same instant; the service may spell the offset or fractions differently.
    assert!(
        stored_at.starts_with(&delivered_at[..19]),
        "delivered_at {stored_at:?}, sent {delivered_at:?}"
    );
}

#[tokio::test]
async fn a_delivery_for_an_unknown_order_is_404() {
    let app = TestApp::spawn().await;

    let res = app
        .record_delivery(&app.platform(), "no-such-order", &days_ago(1))
        .await;

    expect_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn an_order_is_visible_to_the_platform_operators_and_its_parties() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    for token in [app.platform(), app.operator(), app.buyer(), app.seller()] {
        let (order, etag) = expect_json_with_etag(app.get_order(&token, "o-1").await, 200).await;
        assert_eq!(order["order_id"], "o-1");
        assert_eq!(etag, format!("\"{}\"", version_of(&order)));
    }
}

#[tokio::test]
async fn an_order_is_not_found_for_other_buyers_and_sellers() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    for token in [app.other_buyer(), app.other_seller()] {
        expect_problem(app.get_order(&token, "o-1").await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn only_the_platform_registers_orders_and_deliveries() {
    let app = TestApp::spawn().await;

    let by_buyer = app.register_order(&app.buyer(), &eu_order("o-1")).await;
    expect_problem(by_buyer, 403, "forbidden").await;
    let by_operator = app.register_order(&app.operator(), &eu_order("o-1")).await;
    expect_problem(by_operator, 403, "forbidden").await;
    // Nothing was registered by those attempts.
    expect_problem(
        app.get_order(&app.platform(), "o-1").await,
        404,
        "not_found",
    )
    .await;

    app.given_order(&order("o-2", "DE", "EUR", None)).await;
    let by_seller = app
        .record_delivery(&app.seller(), "o-2", &days_ago(1))
        .await;
    expect_problem(by_seller, 403, "forbidden").await;
}

#[tokio::test]
async fn orders_need_a_token() {
    let app = TestApp::spawn().await;
    let res = app
        .request(reqwest::Method::POST, "/v1/orders", None)
        .json(&eu_order("o-1"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn an_invalid_order_is_refused_with_field_errors() {
    let app = TestApp::spawn().await;
    let platform = app.token(Role::Platform, "marketplace");
    let cases = [
        ("jurisdiction", json!("Germany")),
        ("currency", json!("euro")),
        ("lines", json!([])),
        ("order_id", json!("no spaces allowed")),
        ("placed_at", json!("yesterday")),
    ];
    for (field, value) in cases {
        let mut body = eu_order("o-1");
        body[field] = value;
        let res = app.register_order(&platform, &body).await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, field);
    }

    let mut future = eu_order("o-1");
    future["delivered_at"] = json!("2999-01-01T00:00:00Z");
    let res = app.register_order(&platform, &future).await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "delivered_at");
}
