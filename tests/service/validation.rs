//! Bad input gets a clear `application/problem+json` answer (docs/api.md, Conventions: Errors).

use reqwest::Method;
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    assert_names_field, delivered_body, eu_order, expect_json, expect_problem, headphones_return,
    id_of, items_of, just_now, refund_body, return_request, ship_body, Api, HEADPHONES,
    HEADPHONES_PRICE, SHIRT, SHIRTS_BOUGHT,
};

/// Opens a return with `body` and expects 422 `validation_failed` naming `field`.
async fn assert_open_refused(app: &TestApp, body: &Value, field: &str) {
    let res = app.open_return(&app.buyer(), body).await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, field);
}

/// How many returns the buyer can see.
async fn returns_of_buyer(app: &TestApp) -> usize {
    items_of(&expect_json(app.list_returns(&app.buyer(), &[]).await, 200).await).len()
}

#[tokio::test]
async fn malformed_json_is_a_problem() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    let res = app
        .request(Method::POST, "/v1/returns", Some(&app.buyer()))
        .header("Content-Type", "application/json")
        .body(r#"{"order_id": "o-1", "items": [ "#)
        .send()
        .await
        .unwrap();

    // docs/api.md, "Errors": malformed JSON is 422 `validation_failed`, naming where it broke.
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "items");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{problem}"
    );
    assert_eq!(returns_of_buyer(&app).await, 0);
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_validation_failure() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    let res = app
        .open_return(&app.buyer(), &json!(["not", "an", "object"]))
        .await;
    expect_problem(res, 422, "validation_failed").await;
    let mut missing = headphones_return("o-1");
    missing.as_object_mut().unwrap().remove("reason");
    assert_open_refused(&app, &missing, "reason").await;
}

#[tokio::test]
async fn an_unknown_reason_names_the_field() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    let body = return_request("o-1", &[(HEADPHONES, 1)], "bored_of_it");

    assert_open_refused(&app, &body, "reason").await;
    let mut bad_resolution = headphones_return("o-1");
    bad_resolution["resolution"] = json!("cash");
    assert_open_refused(&app, &bad_resolution, "resolution").await;
    assert_eq!(returns_of_buyer(&app).await, 0);
}

#[tokio::test]
async fn quantities_must_be_positive_and_within_what_was_bought() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    for quantity in [0, -1, SHIRTS_BOUGHT + 1] {
        let body = return_request("o-1", &[(SHIRT, quantity)], "size_fit");
        assert_open_refused(&app, &body, "items").await;
    }
    assert_eq!(returns_of_buyer(&app).await, 0);
}

#[tokio::test]
async fn quantities_already_in_open_returns_cannot_be_claimed_again() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    app.given_return(
        &app.buyer(),
        &return_request("o-1", &[(SHIRT, 1)], "size_fit"),
    )
    .await;

    let too_many = return_request("o-1", &[(SHIRT, 2)], "size_fit");
    assert_open_refused(&app, &too_many, "items").await;

    // The one shirt left may still be returned.
    app.given_return(
        &app.buyer(),
        &return_request("o-1", &[(SHIRT, 1)], "size_fit"),
    )
    .await;
    assert_eq!(returns_of_buyer(&app).await, 2);
}

#[tokio::test]
async fn an_unknown_line_is_a_validation_failure() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    let body = return_request("o-1", &[("line-99", 1)], "defective");

    assert_open_refused(&app, &body, "items").await;
    let empty = return_request("o-1", &[], "defective");
    assert_open_refused(&app, &empty, "items").await;
}

#[tokio::test]
async fn an_unknown_order_is_not_found() {
    let app = TestApp::spawn().await;

    let res = app
        .open_return(&app.buyer(), &headphones_return("no-such-order"))
        .await;

    expect_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn an_unknown_return_is_not_found() {
    let app = TestApp::spawn().await;
    let missing = "7d9f4c2e-8f6a-4e7b-9c1d-2a3b4c5d6e7f";

    expect_problem(
        app.get_return(&app.operator(), missing).await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .action(&app.seller(), missing, "accept", &json!({}), None, None)
        .await;
    expect_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn refunds_cannot_exceed_what_was_paid() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
    app.act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;

    let too_much = json!({ "grade": "as_new", "refund_amount_minor": HEADPHONES_PRICE + 1 });
    let res = app
        .action(&app.seller(), &id, "inspect", &too_much, None, None)
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "refund_amount_minor");
    assert_eq!(app.return_view(&id).await["status"], "delivered");

    let fair = json!({ "grade": "opened", "refund_amount_minor": 4000 });
    app.act(&app.seller(), &id, "inspect", &fair).await;
    let res = app
        .action(
            &app.platform(),
            &id,
            "refund",
            &refund_body(4001),
            None,
            None,
        )
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "amount_minor");
    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "refund_pending");
    assert_eq!(view["refunded_amount_minor"], 0);
}

#[tokio::test]
async fn an_offer_cannot_exceed_what_was_paid() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );

    let offer = json!({ "kind": "partial_refund", "amount_minor": HEADPHONES_PRICE + 1 });
    let res = app
        .action(&app.seller(), &id, "offer", &offer, None, None)
        .await;

    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "amount_minor");
}

#[tokio::test]
async fn a_refusal_at_inspection_needs_evidence() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
    app.act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;

    let refusal = json!({ "grade": "empty_box", "refund_amount_minor": 0 });
    let res = app
        .action(&app.seller(), &id, "inspect", &refusal, None, None)
        .await;

    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "evidence");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let mut body = headphones_return("o-1");
    body["description"] = json!("x".repeat(1024 * 1024 + 1));

    let res = app.open_return(&app.buyer(), &body).await;

    expect_problem(res, 413, "payload_too_large").await;
    assert_eq!(returns_of_buyer(&app).await, 0);
}

#[tokio::test]
async fn action_bodies_are_validated_too() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    app.act(&app.seller(), &id, "accept", &json!({})).await;

    let res = app
        .action(
            &app.buyer(),
            &id,
            "ship",
            &json!({ "carrier": "DHL" }),
            None,
            None,
        )
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "tracking_number");

    let res = app
        .action(
            &app.platform(),
            &id,
            "carrier-update",
            &json!({ "status": "teleported", "at": just_now() }),
            None,
            None,
        )
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "status");
    assert_eq!(app.return_view(&id).await["status"], "authorized");
}

/// Times outside the years 1970–9999 are refused with the field named, wherever they come in
/// (docs/api.md, "Conventions"), and change nothing; the far past once made the summary panic.
#[tokio::test]
async fn times_outside_the_supported_years_are_refused_and_name_the_field() {
    let app = TestApp::spawn().await;
    for (field, value) in [
        ("placed_at", "1960-01-01T00:00:00Z"),
        ("delivered_at", "-262143-01-01T00:00:00Z"),
        ("placed_at", "+262142-12-31T23:59:59Z"),
    ] {
        let mut order = eu_order("o-far");
        order[field] = json!(value);
        let res = app.register_order(&app.platform(), &order).await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, field);
    }
    let res = app.get_order(&app.platform(), "o-far").await;
    expect_problem(res, 404, "not_found").await;

    for (field, value) in [
        ("to", "-262143-01-01T00:00:00Z"),
        ("from", "+262142-01-01T00:00:00Z"),
        ("to", "1969-12-31T23:59:59Z"),
    ] {
        let res = app
            .request(Method::GET, "/v1/analytics/summary", Some(&app.operator()))
            .query(&[(field, value)])
            .send()
            .await
            .unwrap();
        // A bad query value is reported on `query`, with the reason (which names no parameter,
        // so `field` is only in the request here).
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, "query");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("must be a time from the year 1970 to the year 9999"),
            "{field}: {problem}"
        );
    }
    // An early `to` still gets its default 30-day range, even when that reaches back before 1970.
    let res = app
        .request(Method::GET, "/v1/analytics/summary", Some(&app.operator()))
        .query(&[("to", "1970-01-10T00:00:00Z")])
        .send()
        .await
        .unwrap();
    expect_json(res, 200).await;
}

/// One advance moves the test clock at most ten years, and all advances together at most a
/// hundred (docs/api.md, "Test clock"); a refused advance leaves the clock where it was.
#[tokio::test]
async fn the_test_clock_runs_at_most_a_hundred_years_ahead() {
    let app = TestApp::spawn().await;
    let res = app.advance_clock(87_601).await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "hours");
    for _ in 0..10 {
        let view = expect_json(app.advance_clock(87_600).await, 200).await;
        assert!(view["offset_hours"].as_i64().unwrap() <= 876_000, "{view}");
    }
    let res = app.advance_clock(1).await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "hours");
    let view = expect_json(app.advance_clock(0).await, 200).await;
    assert_eq!(view["offset_hours"], 876_000);
}
