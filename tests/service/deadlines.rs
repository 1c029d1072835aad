//! Deadlines and what missing them does, driven by the test clock (docs/api.md, Operations: Test
//! clock; the deadline table of the domain's `returns` module). No test sleeps.
//!
//! Business days are Monday to Friday, so a response due in 3 business days may be 5 calendar
//! days away: the tests move the clock a full week where business days count.

use reqwest::Method;
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    delivered_body, eu_order, event_types, expect_problem, expect_success, headphones_return,
    id_of, ship_body, Api, HEADPHONES_PRICE, SELLER,
};

const DAY: u32 = 24;
const WEEK: u32 = 7 * DAY;

/// An EU order and a refund request for its headphones, waiting for the seller.
async fn requested_return(app: &TestApp) -> String {
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    assert_eq!(opened["status"], "requested");
    id_of(&opened)
}

/// The `data` of the case history's `return.deadline_missed` events.
async fn missed_deadlines(app: &TestApp, id: &str) -> Vec<Value> {
    app.events_of(id)
        .await
        .into_iter()
        .filter(|event| event["type"] == "return.deadline_missed")
        .map(|event| event["data"].clone())
        .collect()
}

#[tokio::test]
async fn only_operators_move_the_test_clock() {
    let app = TestApp::spawn().await;

    for token in [app.buyer(), app.seller(), app.platform()] {
        let res = app
            .request(Method::POST, "/v1/test-clock/advance", Some(&token))
            .json(&json!({ "hours": 1 }))
            .send()
            .await
            .unwrap();
        expect_problem(res, 403, "forbidden").await;
    }
    let res = app
        .request(Method::POST, "/v1/test-clock/advance", None)
        .json(&json!({ "hours": 1 }))
        .send()
        .await
        .unwrap();
    expect_problem(res, 401, "unauthorized").await;
    expect_success(app.advance_clock(1).await).await;
}

#[tokio::test]
async fn nothing_falls_due_before_its_time() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;

    app.given_time_passes(1).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "requested");
    assert!(view["deadlines"]["seller_response_due"].is_string());
    assert!(missed_deadlines(&app, &id).await.is_empty());
}

#[tokio::test]
async fn an_unanswered_request_is_escalated_under_the_default_policy() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;

    app.given_time_passes(WEEK).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "escalated", "{view}");
    assert!(view["deadlines"]["seller_response_due"].is_null(), "{view}");
    assert!(!view["dispute"].is_null(), "{view}");
    let missed = missed_deadlines(&app, &id).await;
    assert_eq!(missed[0]["kind"], "seller_response_due", "{missed:?}");
    let types = event_types(&app.events_of(&id).await);
    assert!(types.contains(&"return.escalated".to_owned()), "{types:?}");
    // The seller can no longer answer.
    let res = app
        .action(&app.seller(), &id, "accept", &json!({}), None, None)
        .await;
    expect_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn an_unanswered_request_is_authorised_when_the_policy_says_auto_accept() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "on_seller_timeout": "auto_accept" }))
        .await;
    let id = requested_return(&app).await;

    app.given_time_passes(WEEK).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "authorized", "{view}");
    assert!(view["deadlines"]["ship_by"].is_string(), "{view}");
    assert_eq!(
        view["policy"]["auto_approved"], false,
        "a timeout is not auto-approval"
    );
    let missed = missed_deadlines(&app, &id).await;
    assert_eq!(missed[0]["kind"], "seller_response_due", "{missed:?}");
    // The buyer can now ship.
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
}

#[tokio::test]
async fn an_item_not_shipped_in_time_lapses() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    app.act(&app.seller(), &id, "accept", &json!({})).await;

    // The default policy gives the buyer 10 days to ship.
    app.given_time_passes(9 * DAY).await;
    assert_eq!(app.return_view(&id).await["status"], "authorized");
    app.given_time_passes(2 * DAY).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "closed", "{view}");
    assert_eq!(view["outcome"], "lapsed");
    let missed = missed_deadlines(&app, &id).await;
    assert_eq!(missed[0]["kind"], "ship_by", "{missed:?}");
    let res = app
        .action(&app.buyer(), &id, "ship", &ship_body(), None, None)
        .await;
    expect_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn an_item_not_inspected_in_time_is_refunded_at_the_requested_amount() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
    app.act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;

    app.given_time_passes(WEEK).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "refund_pending", "{view}");
    assert_eq!(view["refund_due_minor"], view["requested_amount_minor"]);
    assert_eq!(view["refund_due_minor"], HEADPHONES_PRICE);
    assert!(view["deadlines"]["refund_due"].is_string(), "{view}");
    let missed = missed_deadlines(&app, &id).await;
    assert_eq!(missed[0]["kind"], "inspect_by", "{missed:?}");
    let res = app
        .action(
            &app.seller(),
            &id,
            "inspect",
            &json!({ "grade": "used", "refund_amount_minor": 100 }),
            None,
            None,
        )
        .await;
    expect_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn a_decline_not_escalated_within_seven_days_is_denied() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    app.act(
        &app.seller(),
        &id,
        "decline",
        &json!({ "reason_text": "Outside our policy" }),
    )
    .await;

    app.given_time_passes(6 * DAY).await;
    assert_eq!(app.return_view(&id).await["status"], "declined");
    app.given_time_passes(2 * DAY).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "closed", "{view}");
    assert_eq!(view["outcome"], "denied");
    let missed = missed_deadlines(&app, &id).await;
    assert_eq!(missed[0]["kind"], "escalate_by", "{missed:?}");
    let res = app
        .action(
            &app.buyer(),
            &id,
            "escalate",
            &json!({ "reason_text": "Too late?" }),
            None,
            None,
        )
        .await;
    expect_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn an_unanswered_offer_expires_and_the_request_stands_again() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    app.act(
        &app.seller(),
        &id,
        "offer",
        &json!({ "kind": "partial_refund", "amount_minor": 1000 }),
    )
    .await;

    // Offers stand for 3 days.
    app.given_time_passes(4 * DAY).await;

    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "requested", "{view}");
    assert!(
        view["deadlines"]["seller_response_due"].is_string(),
        "{view}"
    );
    let res = app
        .action(&app.buyer(), &id, "accept-offer", &json!({}), None, None)
        .await;
    expect_problem(res, 409, "invalid_transition").await;
}

/// A deadline whose command fails is set aside with a back-off and recorded; the others still
/// fire (before, a failing row was taken first again on every round and blocked the rest).
#[tokio::test]
async fn a_failing_deadline_is_set_aside_and_the_others_still_fire() {
    let app = TestApp::spawn().await;
    let healthy = requested_return(&app).await;
    app.given_order(&eu_order("o-2")).await;
    let broken = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-2"))
            .await,
    );
    // The broken return's state no longer decodes: its deadline's command fails.
    let client = app.db.pool().get().await.unwrap();
    client
        .execute(
            "UPDATE snapshots SET state = json_build_object('order_id', state ->> 'order_id') \
             WHERE stream_id = $1",
            &[&format!("return-{broken}")],
        )
        .await
        .unwrap();

    app.given_time_passes(WEEK).await;

    assert_eq!(app.return_view(&healthy).await["status"], "escalated");
    let row = client
        .query_one(
            "SELECT attempts, retry_at IS NOT NULL, last_error FROM deadlines \
             WHERE return_id = $1::text::uuid AND kind = 'seller_response_due'",
            &[&broken],
        )
        .await
        .unwrap();
    let (attempts, retry_set, error): (i32, bool, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((attempts, retry_set, error.as_str()), (1, true, "error"));

    // Within its back-off it is left alone; after it, it is tried again (and fails again).
    app.given_time_passes(0).await;
    let attempts_of = || async {
        let row = client
            .query_one(
                "SELECT attempts FROM deadlines WHERE return_id = $1::text::uuid",
                &[&broken],
            )
            .await
            .unwrap();
        row.get::<_, i32>(0)
    };
    assert_eq!(attempts_of().await, 1);
    app.given_time_passes(1).await;
    assert_eq!(attempts_of().await, 2);
}

/// Business days skip the public holidays of the order's country (docs/product.md, "Deadlines"):
/// on the Wednesday before Thanksgiving, a US seller's three business days end on Tuesday, a
/// German seller's on Monday.
#[tokio::test]
async fn business_days_skip_the_public_holidays_of_the_orders_country() {
    let app = TestApp::spawn().await;
    // Move the service clock to Wednesday 24 November 2027, around noon UTC.
    let now = crate::support::unix_now();
    let target = 1_827_057_600; // 2027-11-24T12:00:00Z
    let hours = u32::try_from((target - now) / 3600).unwrap();
    assert!(
        hours <= 87_600,
        "the test clock moves at most ten years at once"
    );
    app.given_time_passes(hours).await;

    let mut due = Vec::new();
    for (order_id, country, currency) in [("o-us", "US", "USD"), ("o-de", "DE", "EUR")] {
        let mut order = crate::support::order(order_id, country, currency, None);
        order["placed_at"] = json!("2027-11-01T10:00:00Z");
        order["delivered_at"] = json!("2027-11-20T10:00:00Z");
        app.given_order(&order).await;
        let view = app
            .given_return(&app.buyer(), &headphones_return(order_id))
            .await;
        let at = view["deadlines"]["seller_response_due"]
            .as_str()
            .unwrap()
            .to_owned();
        due.push(at[..10].to_owned());
    }
    assert_eq!(due, ["2027-11-30", "2027-11-29"]);
}
