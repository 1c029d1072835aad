//! `GET /v1/analytics/summary` against a hand-counted history.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{
    delivered_body, eu_order, expect_json, expect_problem, refund_body, return_request, ship_body,
    Api, HEADPHONES, HEADPHONES_PRICE, SELLER, SHIRT,
};
use returns_testkit::TestApp;

const RANGE: &[(&str, &str)] = &[
    ("from", "2000-01-01T00:00:00Z"),
    ("to", "2100-01-01T00:00:00Z"),
];

async fn summary(app: &TestApp, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.request(Method::GET, "/v1/analytics/summary", Some(token))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// The projection follows the log in the background: wait (bounded) until it has seen `want`
/// returns and `breaches` missed deadlines.
async fn settled(app: &TestApp, want: i64, breaches: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = expect_json(summary(app, &app.operator(), RANGE).await, 200).await;
        if body["returns"] == want && body["sla_breaches"] == breaches {
            return body;
        }
        assert!(Instant::now() < deadline, "analytics never settled: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_summary_matches_a_hand_counted_history() {
    let app = TestApp::spawn().await;
    // o-1: defective headphones, refunded in full.
    crate::support::a_refunded_return(&app, "o-1").await;
    for order in ["o-2", "o-3", "o-4"] {
        app.given_order(&eu_order(order)).await;
    }
    let (buyer, seller) = (app.buyer(), app.seller());

    // o-2: a shirt that did not fit, declined, escalated by the buyer.
    let r2 = app
        .given_return(&buyer, &return_request("o-2", &[(SHIRT, 1)], "size_fit"))
        .await;
    let r2 = r2["id"].as_str().unwrap().to_owned();
    app.act(&seller, &r2, "decline", &json!({"reason_text": "Worn"}))
        .await;
    app.act(
        &buyer,
        &r2,
        "escalate",
        &json!({"reason_text": "Never worn"}),
    )
    .await;

    // o-3: not as described, and the seller never answers.
    app.given_return(
        &buyer,
        &return_request("o-3", &[(HEADPHONES, 1)], "not_as_described"),
    )
    .await;

    // A week passes: o-3's seller response deadline is missed (and it is escalated), and the
    // operators' decision deadline of o-2's dispute is missed.
    app.given_time_passes(24 * 7).await;

    let body = settled(&app, 3, 2).await;
    assert_eq!(body["orders"], 4);
    assert_eq!(body["return_rate"], 0.75);
    assert_eq!(
        body["by_reason"],
        json!({"defective": 1, "size_fit": 1, "not_as_described": 1})
    );
    assert_eq!(body["by_category"], json!({"electronics": 2, "apparel": 1}));
    assert_eq!(body["disputes"], 2);
    assert!((body["dispute_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(body["refunded_minor"], HEADPHONES_PRICE);
    assert_eq!(
        body["refunded_by_currency"],
        json!({"EUR": HEADPHONES_PRICE})
    );
    let median = body["median_hours_to_refund"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&median), "{median}");

    // A seller sees its own figures (the same here: every order is SELLER's).
    let own = expect_json(summary(&app, &seller, RANGE).await, 200).await;
    assert_eq!(own["seller_id"], SELLER);
    assert_eq!(own["returns"], 3);
    // A range that holds nothing.
    let empty = expect_json(
        summary(
            &app,
            &app.operator(),
            &[
                ("from", "2001-01-01T00:00:00Z"),
                ("to", "2001-02-01T00:00:00Z"),
            ],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(empty["returns"], 0);
    assert_eq!(empty["median_hours_to_refund"], Value::Null);
}

#[tokio::test]
async fn analytics_are_for_operators_and_each_seller_for_itself() {
    let app = TestApp::spawn().await;
    let other = [("seller_id", "seller-2")];
    expect_problem(summary(&app, &app.seller(), &other).await, 403, "forbidden").await;
    expect_problem(summary(&app, &app.buyer(), &[]).await, 403, "forbidden").await;
    expect_problem(summary(&app, &app.platform(), &[]).await, 403, "forbidden").await;
    expect_json(summary(&app, &app.operator(), &other).await, 200).await;
    let bad_range = [
        ("from", "2030-01-01T00:00:00Z"),
        ("to", "2020-01-01T00:00:00Z"),
    ];
    expect_problem(
        summary(&app, &app.operator(), &bad_range).await,
        422,
        "validation_failed",
    )
    .await;
}

/// Refunds in several currencies are never added up (docs/api.md, "Analytics"): each currency
/// has its own total, and `refunded_minor` is null.
#[tokio::test]
async fn refunds_are_totalled_per_currency_and_never_across_them() {
    let app = TestApp::spawn().await;
    let (buyer, seller, platform) = (app.buyer(), app.seller(), app.platform());
    app.given_order(&eu_order("o-eur")).await;
    app.given_order(&crate::support::us_order("o-usd")).await;
    for (order, amount) in [("o-eur", HEADPHONES_PRICE), ("o-usd", 1000)] {
        let opened = app
            .given_return(
                &buyer,
                &return_request(order, &[(HEADPHONES, 1)], "defective"),
            )
            .await;
        let id = opened["id"].as_str().unwrap().to_owned();
        app.act(&seller, &id, "accept", &json!({})).await;
        app.act(&buyer, &id, "ship", &ship_body()).await;
        app.act(&platform, &id, "carrier-update", &delivered_body())
            .await;
        let inspect = json!({"grade": "as_new", "refund_amount_minor": amount});
        app.act(&seller, &id, "inspect", &inspect).await;
        app.act(&platform, &id, "refund", &refund_body(amount))
            .await;
    }
    // Wait (bounded) for the projection to see both refunds.
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let body = expect_json(summary(&app, &app.operator(), RANGE).await, 200).await;
        if body["refunded_by_currency"]["USD"] == 1000 {
            break body;
        }
        assert!(Instant::now() < deadline, "refunds never settled: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        body["refunded_by_currency"],
        json!({"EUR": HEADPHONES_PRICE, "USD": 1000})
    );
    assert!(body["refunded_minor"].is_null(), "{body}");
}
