//! Seller return policies (docs/api.md, Seller return policy).

use reqwest::Method;
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    assert_names_field, expect_json, expect_problem, order, return_request, strings, Api,
    HEADPHONES, SELLER,
};

#[tokio::test]
async fn a_seller_sets_its_policy_and_the_rest_takes_the_defaults() {
    let app = TestApp::spawn().await;

    let res = app
        .put_policy(&app.seller(), SELLER, &json!({ "return_window_days": 14 }))
        .await;

    let policy = expect_json(res, 200).await;
    assert_eq!(policy["policy_version"], 1);
    assert_eq!(policy["return_window_days"], 14);
    assert_eq!(policy["non_returnable_categories"], json!([]));
    assert_eq!(policy["restocking_fee_percent"], 0);
    assert_eq!(
        strings(&policy["buyer_pays_return_shipping_for"]),
        ["changed_mind", "size_fit"]
    );
    assert_eq!(policy["auto_approve_max_minor"], 0);
    assert_eq!(policy["returnless_refund_max_minor"], 0);
    assert_eq!(policy["seller_response_business_days"], 3);
    assert_eq!(policy["on_seller_timeout"], "escalate");
    assert_eq!(policy["ship_by_days"], 10);
    assert_eq!(policy["inspect_business_days"], 3);
    assert_eq!(policy["refund_methods"], json!(["original_payment"]));
    assert_eq!(policy["store_credit_bonus_percent"], 0);
}

#[tokio::test]
async fn every_change_is_a_new_policy_version() {
    let app = TestApp::spawn().await;
    let first = app
        .given_policy(SELLER, &json!({ "return_window_days": 14 }))
        .await;
    assert_eq!(first["policy_version"], 1);

    let second = app
        .given_policy(
            SELLER,
            &json!({ "return_window_days": 60, "on_seller_timeout": "auto_accept" }),
        )
        .await;

    assert_eq!(second["policy_version"], 2);
    let current = expect_json(app.get_policy(&app.buyer(), SELLER).await, 200).await;
    assert_eq!(current["policy_version"], 2);
    assert_eq!(current["return_window_days"], 60);
    assert_eq!(current["on_seller_timeout"], "auto_accept");
}

#[tokio::test]
async fn an_operator_may_set_a_sellers_policy() {
    let app = TestApp::spawn().await;

    let res = app
        .put_policy(&app.operator(), SELLER, &json!({ "ship_by_days": 5 }))
        .await;

    let policy = expect_json(res, 200).await;
    assert_eq!(policy["policy_version"], 1);
    assert_eq!(policy["ship_by_days"], 5);
}

#[tokio::test]
async fn another_seller_may_not_set_the_policy() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 14 }))
        .await;

    let res = app
        .put_policy(
            &app.other_seller(),
            SELLER,
            &json!({ "return_window_days": 1 }),
        )
        .await;

    // Policies are public (docs/api.md): another seller sees it, and may never set it.
    expect_problem(res, 403, "forbidden").await;
    let current = expect_json(app.get_policy(&app.seller(), SELLER).await, 200).await;
    assert_eq!(current["policy_version"], 1);
    assert_eq!(current["return_window_days"], 14);
}

#[tokio::test]
async fn buyers_and_the_platform_may_not_set_a_policy() {
    let app = TestApp::spawn().await;

    for token in [app.buyer(), app.platform()] {
        let res = app
            .put_policy(&token, SELLER, &json!({ "return_window_days": 365 }))
            .await;
        expect_problem(res, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn bad_values_are_refused_with_field_errors_and_not_stored() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 14 }))
        .await;

    let res = app
        .put_policy(
            &app.seller(),
            SELLER,
            &json!({
                "return_window_days": -1,
                "restocking_fee_percent": 150,
                "on_seller_timeout": "never",
                "refund_methods": ["cash_in_envelope"],
                "auto_approve_max_minor": "lots"
            }),
        )
        .await;

    let problem = expect_problem(res, 422, "validation_failed").await;
    for field in [
        "return_window_days",
        "restocking_fee_percent",
        "on_seller_timeout",
        "refund_methods",
        "auto_approve_max_minor",
    ] {
        assert_names_field(&problem, field);
    }
    let current = expect_json(app.get_policy(&app.seller(), SELLER).await, 200).await;
    assert_eq!(current["policy_version"], 1);
    assert_eq!(current["return_window_days"], 14);
}

#[tokio::test]
async fn any_authenticated_caller_may_read_a_policy() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 21 }))
        .await;

    for token in [
        app.buyer(),
        app.seller(),
        app.other_seller(),
        app.operator(),
        app.platform(),
    ] {
        let policy = expect_json(app.get_policy(&token, SELLER).await, 200).await;
        assert_eq!(policy["return_window_days"], 21);
        assert_eq!(policy["policy_version"], 1);
    }
}

#[tokio::test]
async fn policies_need_a_token() {
    let app = TestApp::spawn().await;
    let path = format!("/v1/sellers/{SELLER}/policy");

    let get = app.request(Method::GET, &path, None).send().await.unwrap();
    expect_problem(get, 401, "unauthorized").await;
    let put = app
        .request(Method::PUT, &path, None)
        .json(&json!({ "return_window_days": 14 }))
        .send()
        .await
        .unwrap();
    expect_problem(put, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_return_is_judged_by_the_policy_in_force_when_its_order_was_registered() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 10 }))
        .await;
    // Outside the EU the seller's window alone decides; delivered 12 days ago.
    app.given_order(&order("o-1", "US", "USD", Some(12))).await;
    app.given_policy(SELLER, &json!({ "return_window_days": 30 }))
        .await;
    app.given_order(&order("o-2", "US", "USD", Some(12))).await;

    let under_v1: Value = app
        .given_return(
            &app.buyer(),
            &return_request("o-1", &[(HEADPHONES, 1)], "changed_mind"),
        )
        .await;
    let under_v2: Value = app
        .given_return(
            &app.buyer(),
            &return_request("o-2", &[(HEADPHONES, 1)], "changed_mind"),
        )
        .await;

    assert_eq!(under_v1["policy"]["eligible"], false, "{under_v1}");
    assert_eq!(under_v2["policy"]["eligible"], true, "{under_v2}");
    assert!(strings(&under_v2["policy"]["rules"]).contains(&"seller_window_30d".to_owned()));
}

/// A seller offers only the settlements its policy advertises (`refund_methods`, docs/api.md,
/// "Seller return policy"): by default the original payment alone.
#[tokio::test]
async fn offers_follow_the_refund_methods_of_the_policy() {
    let app = TestApp::spawn().await;
    // Judged by the default policy.
    app.given_order(&order("o-1", "DE", "EUR", Some(2))).await;
    let first = app
        .given_return(
            &app.buyer(),
            &return_request("o-1", &[(HEADPHONES, 1)], "defective"),
        )
        .await;
    let first = first["id"].as_str().unwrap().to_owned();
    for kind in ["store_credit", "exchange"] {
        let res = app
            .action(
                &app.seller(),
                &first,
                "offer",
                &json!({"kind": kind}),
                None,
                None,
            )
            .await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_names_field(&problem, "kind");
    }
    let partial = json!({"kind": "partial_refund", "amount_minor": 1000});
    app.act(&app.seller(), &first, "offer", &partial).await;

    // A policy that advertises store credit lets the seller offer it on later orders.
    app.given_policy(
        SELLER,
        &json!({"refund_methods": ["original_payment", "store_credit"]}),
    )
    .await;
    app.given_order(&order("o-2", "DE", "EUR", Some(2))).await;
    let second = app
        .given_return(
            &app.buyer(),
            &return_request("o-2", &[(HEADPHONES, 1)], "defective"),
        )
        .await;
    let second = second["id"].as_str().unwrap().to_owned();
    let res = app
        .action(
            &app.seller(),
            &second,
            "offer",
            &json!({"kind": "exchange"}),
            None,
            None,
        )
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "kind");
    let view = app
        .act(
            &app.seller(),
            &second,
            "offer",
            &json!({"kind": "store_credit"}),
        )
        .await;
    assert_eq!(view["offer"]["kind"], "store_credit");
}
