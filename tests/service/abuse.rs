//! Abuse flags over HTTP: raised from the log by the abuse projection, listed, reviewed, and what a
//! confirmed flag changes; only operators read risk and flags.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{
    delivered_body, eu_order, expect_json, expect_json_with_etag, expect_problem, items_of, order,
    return_request, ship_body, Api, BUYER, HEADPHONES, SELLER, SHIRT,
};
use returns_testkit::TestApp;

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.request(Method::POST, path, Some(token))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn review_path_of(flag: &Value) -> String {
    format!("/v1/flags/{}/review", flag["id"].as_str().unwrap())
}

async fn as_operator(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    post(app, &app.operator(), path, body).await
}

/// An operator's review of `flag` that succeeds; the flag as it is now. It returns once the abuse
/// projection has folded the review (lists, risk pages and decisions read the projection, which
/// follows the log a moment behind; the review's answer and `GET /v1/flags/{id}` read the flag's
/// own stream).
pub(crate) async fn reviewed(app: &TestApp, flag: &Value, body: &Value) -> Value {
    let answer = expect_json(as_operator(app, &review_path_of(flag), body).await, 200).await;
    let listed = format!("/v1/flags?status={}", answer["status"].as_str().unwrap());
    eventually(app, &listed, |page| {
        items_of(page).iter().any(|f| f["id"] == answer["id"])
    })
    .await;
    answer
}

/// A return of the shirts of `order_id`, taken back, sent, and found to be an empty box.
async fn empty_box_return(app: &TestApp, order_id: &str) -> String {
    let opened = app
        .given_return(
            &app.buyer(),
            &return_request(order_id, &[(SHIRT, 1)], "changed_mind"),
        )
        .await;
    let id = opened["id"].as_str().unwrap().to_owned();
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
    app.act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;
    let refusal = json!({
        "grade": "empty_box",
        "refund_amount_minor": 0,
        "evidence": [{"kind": "photo", "url": "https://img.example/box.jpg"}]
    });
    app.act(&app.seller(), &id, "inspect", &refusal).await;
    id
}

/// Five orders of the buyer, two of them returned as empty boxes.
pub(crate) async fn empty_box_buyer(app: &TestApp) -> Vec<String> {
    for n in 0..5 {
        app.given_order(&eu_order(&format!("o-{n}"))).await;
    }
    vec![
        empty_box_return(app, "o-0").await,
        empty_box_return(app, "o-1").await,
    ]
}

/// Reads `path` as an operator until `done` holds of the answer (boundedly: the abuse projection
/// follows the log a moment behind), and returns that answer.
async fn eventually(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut answer = Value::Null;
    for _ in 0..400 {
        answer = expect_json(get(app, &app.operator(), path).await, 200).await;
        if done(&answer) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{path} never reached the state waited for: {answer}");
}

fn buyer_risk_path() -> String {
    format!("/v1/parties/buyer/{BUYER}/risk")
}

/// Waits until the abuse projection has raised a flag of `kind`.
pub(crate) async fn flag_of_kind(app: &TestApp, kind: &str) -> Value {
    let has = |page: &Value| items_of(page).iter().any(|f| f["kind"] == kind);
    let page = eventually(app, "/v1/flags", has).await;
    items_of(&page)
        .into_iter()
        .find(|f| f["kind"] == kind)
        .unwrap()
}

#[tokio::test]
async fn a_buyer_returning_empty_boxes_is_flagged_with_the_evidence() {
    let app = TestApp::spawn().await;
    let returns = empty_box_buyer(&app).await;

    let flag = flag_of_kind(&app, "empty_box_returns").await;
    assert_eq!(flag["party_role"], "buyer");
    assert_eq!(flag["party_id"], BUYER);
    assert_eq!(flag["status"], "open");
    assert_eq!(flag["version"], 1);
    let mut evidence: Vec<String> = flag["evidence"]["return_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    evidence.sort();
    let mut expected = returns.clone();
    expected.sort();
    assert_eq!(evidence, expected);
    assert_eq!(flag["metrics"]["count"], 2);
    assert_eq!(flag["metrics"]["orders"], 5);
    assert_eq!(flag["threshold"]["min_count"], 2);
    assert!(flag["raised_at"].is_string());

    // The flag is an event of its own stream, in the log.
    let open = expect_json(
        get(&app, &app.operator(), "/v1/flags?status=open").await,
        200,
    )
    .await;
    assert!(items_of(&open).iter().any(|f| f["id"] == flag["id"]));
    let none = expect_json(
        get(&app, &app.operator(), "/v1/flags?status=confirmed").await,
        200,
    )
    .await;
    assert!(items_of(&none).is_empty(), "{none}");

    // The buyer's risk shows the figures and the flag.
    let risk = expect_json(get(&app, &app.operator(), &buyer_risk_path()).await, 200).await;
    assert_eq!(risk["party"], json!({"role": "buyer", "id": BUYER}));
    assert_eq!(risk["metrics"]["orders"], 5);
    assert_eq!(risk["metrics"]["returns"], 2);
    assert_eq!(risk["metrics"]["graded_empty_box"], 2);
    assert_eq!(risk["metrics"]["window_days"], 180);
    assert!(risk["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == flag["id"]));
}

#[tokio::test]
async fn a_new_buyer_below_the_minimum_sample_is_not_flagged() {
    let app = TestApp::spawn().await;
    // Two orders, both returned as empty boxes: too few orders to judge.
    app.given_order(&eu_order("o-0")).await;
    app.given_order(&eu_order("o-1")).await;
    empty_box_return(&app, "o-0").await;
    empty_box_return(&app, "o-1").await;

    // Wait until the projection has counted both inspections, then look for flags.
    let risk = eventually(&app, &buyer_risk_path(), |risk| {
        risk["metrics"]["graded_empty_box"] == 2
    })
    .await;
    assert_eq!(risk["flags"], json!([]), "{risk}");
    let flags = expect_json(get(&app, &app.operator(), "/v1/flags").await, 200).await;
    assert!(items_of(&flags).is_empty(), "{flags}");

    // The control: the same two empty boxes over five orders are enough, and flag the buyer. So
    // the sample size, not the setup, kept the flag away above.
    for order in ["o-2", "o-3", "o-4"] {
        app.given_order(&eu_order(order)).await;
    }
    let flag = flag_of_kind(&app, "empty_box_returns").await;
    assert_eq!(flag["party_id"], BUYER);
    assert_eq!(flag["metrics"]["orders"], 5);
}

#[tokio::test]
async fn operators_confirm_and_lift_flags_and_a_dismissed_flag_is_final() {
    let app = TestApp::spawn().await;
    empty_box_buyer(&app).await;
    let flag = flag_of_kind(&app, "empty_box_returns").await;
    let review_path = review_path_of(&flag);

    let (confirmed, etag) = expect_json_with_etag(
        as_operator(
            &app,
            &review_path,
            &json!({"verdict": "confirmed", "note": "Three boxes, same pattern"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(etag, "\"2\"");
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["version"], 2);
    assert_eq!(confirmed["review"]["reviewed_by"], "operator-1");
    assert_eq!(confirmed["review"]["note"], "Three boxes, same pattern");

    // Confirming twice is not a transition.
    expect_problem(
        as_operator(&app, &review_path, &json!({"verdict": "confirmed"})).await,
        409,
        "invalid_transition",
    )
    .await;
    // A stale If-Match is a conflict.
    let stale = app
        .request(Method::POST, &review_path, Some(&app.operator()))
        .header("If-Match", "\"1\"")
        .json(&json!({"verdict": "dismissed"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 409, "version_conflict").await;

    // Lifting a confirmed flag dismisses it, and a dismissed flag is final.
    let lifted = expect_json(
        as_operator(&app, &review_path, &json!({"verdict": "dismissed"})).await,
        200,
    )
    .await;
    assert_eq!(lifted["status"], "dismissed");
    assert_eq!(lifted["version"], 3);
    expect_problem(
        as_operator(&app, &review_path, &json!({"verdict": "confirmed"})).await,
        409,
        "invalid_transition",
    )
    .await;

    // Bad verdicts and unknown flags change nothing.
    let problem = expect_problem(
        as_operator(&app, &review_path, &json!({"verdict": "maybe"})).await,
        422,
        "validation_failed",
    )
    .await;
    crate::support::assert_names_field(&problem, "verdict");
    expect_problem(
        post(
            &app,
            &app.operator(),
            "/v1/flags/0190b7e2-0000-7000-8000-000000000000/review",
            &json!({"verdict": "confirmed"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let again = expect_json(
        get(
            &app,
            &app.operator(),
            &format!("/v1/flags/{}", flag["id"].as_str().unwrap()),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["status"], "dismissed");
    assert_eq!(again["version"], 3);
}

#[tokio::test]
async fn a_confirmed_buyer_flag_turns_off_automatic_approval_and_returnless_refunds() {
    let app = TestApp::spawn().await;
    empty_box_buyer(&app).await;
    let flag = flag_of_kind(&app, "empty_box_returns").await;
    // From now on the seller approves returns at once and lets buyers keep cheap items (the
    // policy applies to orders registered after it).
    app.given_policy(
        SELLER,
        &json!({"auto_approve_max_minor": 100_000, "returnless_refund_max_minor": 2_000}),
    )
    .await;

    // Before the review: the buyer is still trusted.
    app.given_order(&eu_order("o-before")).await;
    let before = app
        .given_return(
            &app.buyer(),
            &return_request("o-before", &[(HEADPHONES, 1)], "changed_mind"),
        )
        .await;
    assert_eq!(before["status"], "authorized", "{before}");
    assert_eq!(before["policy"]["auto_approved"], true);

    reviewed(&app, &flag, &json!({"verdict": "confirmed"})).await;

    // After: neither automatic approval nor a returnless refund; the seller decides.
    app.given_order(&eu_order("o-after")).await;
    let after = app
        .given_return(
            &app.buyer(),
            &return_request("o-after", &[(HEADPHONES, 1)], "changed_mind"),
        )
        .await;
    assert_eq!(after["status"], "requested", "{after}");
    assert_eq!(after["policy"]["auto_approved"], false);
    let cheap = app
        .given_return(
            &app.buyer(),
            &return_request("o-after", &[(SHIRT, 1)], "changed_mind"),
        )
        .await;
    assert_eq!(cheap["status"], "requested", "{cheap}");
    // Another buyer of the same seller is not affected.
    let mut theirs = order("o-other", "DE", "EUR", Some(2));
    theirs["buyer_id"] = json!(crate::support::OTHER_BUYER);
    app.given_order(&theirs).await;
    let other = app
        .given_return(
            &app.other_buyer(),
            &return_request("o-other", &[(SHIRT, 1)], "changed_mind"),
        )
        .await;
    assert_eq!(other["status"], "refund_pending", "{other}");
}

#[tokio::test]
async fn only_operators_read_risk_and_flags_or_review_them() {
    let app = TestApp::spawn().await;
    let flag_path = "/v1/flags/0190b7e2-0000-7000-8000-000000000000";
    for token in [app.buyer(), app.seller(), app.platform()] {
        for path in [
            "/v1/flags".to_owned(),
            buyer_risk_path(),
            "/v1/parties/seller/seller-1/risk".to_owned(),
            flag_path.to_owned(),
        ] {
            expect_problem(get(&app, &token, &path).await, 403, "forbidden").await;
        }
        expect_problem(
            post(
                &app,
                &token,
                &format!("{flag_path}/review"),
                &json!({"verdict": "confirmed"}),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    // Operators: unknown parties have empty figures; bad filters are refused.
    let risk = expect_json(
        get(&app, &app.operator(), "/v1/parties/seller/nobody/risk").await,
        200,
    )
    .await;
    assert_eq!(risk["metrics"]["orders"], 0);
    assert_eq!(risk["flags"], json!([]));
    expect_problem(
        get(&app, &app.operator(), "/v1/parties/courier/x/risk").await,
        404,
        "not_found",
    )
    .await;
    expect_problem(
        get(&app, &app.operator(), "/v1/flags?status=pending").await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_confirmed_seller_flag_weighs_in_its_disputes_and_shows_in_its_analytics() {
    let app = TestApp::spawn().await;
    // Twenty orders, ten returns, eight of them declined: a seller that declines most returns.
    for n in 0..20 {
        app.given_order(&eu_order(&format!("o-{n}"))).await;
    }
    let mut declined = Vec::new();
    for n in 0..10 {
        let opened = app
            .given_return(
                &app.buyer(),
                &return_request(&format!("o-{n}"), &[(SHIRT, 1)], "changed_mind"),
            )
            .await;
        let id = opened["id"].as_str().unwrap().to_owned();
        if n < 8 {
            app.act(
                &app.seller(),
                &id,
                "decline",
                &json!({"reason_text": "Not accepted"}),
            )
            .await;
            declined.push(id);
        }
    }
    let flag = flag_of_kind(&app, "seller_decline_rate").await;
    assert_eq!(flag["party_role"], "seller");
    assert_eq!(flag["party_id"], SELLER);
    assert_eq!(flag["metrics"]["count"], 8);
    assert_eq!(flag["metrics"]["denominator"], 10);
    assert_eq!(flag["evidence"]["return_ids"].as_array().unwrap().len(), 8);

    // Before the review, the seller's analytics show no flag and disputes no flag reason.
    let summary = expect_json(get(&app, &app.seller(), "/v1/analytics/summary").await, 200).await;
    assert_eq!(summary["confirmed_flags"], json!([]), "{summary}");

    reviewed(
        &app,
        &flag,
        &json!({"verdict": "confirmed", "note": "Declines almost everything"}),
    )
    .await;

    let summary = expect_json(get(&app, &app.seller(), "/v1/analytics/summary").await, 200).await;
    assert_eq!(
        summary["confirmed_flags"][0]["kind"], "seller_decline_rate",
        "{summary}"
    );
    assert_eq!(summary["confirmed_flags"][0]["id"], flag["id"]);

    app.act(
        &app.buyer(),
        &declined[0],
        "escalate",
        &json!({"reason_text": "I want my money back"}),
    )
    .await;
    let recommendation = expect_json(
        get(
            &app,
            &app.operator(),
            &format!("/v1/returns/{}/recommendation", declined[0]),
        )
        .await,
        200,
    )
    .await;
    let rules: Vec<&str> = recommendation["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"seller_flagged"), "{recommendation}");
    // The seller still may not read it, nor its own risk.
    expect_problem(
        get(
            &app,
            &app.seller(),
            &format!("/v1/returns/{}/recommendation", declined[0]),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        get(
            &app,
            &app.seller(),
            &format!("/v1/parties/seller/{SELLER}/risk"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_dismissed_flag_is_not_raised_again_for_the_same_evidence_but_is_for_new_evidence() {
    let app = TestApp::spawn().await;
    empty_box_buyer(&app).await;
    let first = flag_of_kind(&app, "empty_box_returns").await;
    reviewed(
        &app,
        &first,
        &json!({"verdict": "dismissed", "note": "Carrier theft, confirmed"}),
    )
    .await;

    // A new order makes the projection look at the buyer again: same evidence, no new flag.
    app.given_order(&eu_order("o-5")).await;
    let risk = eventually(&app, &buyer_risk_path(), |risk| {
        risk["metrics"]["orders"] == 6
    })
    .await;
    let empty_box_flags = |risk: &Value| {
        risk["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "empty_box_returns")
            .cloned()
            .collect::<Vec<Value>>()
    };
    assert_eq!(empty_box_flags(&risk).len(), 1, "{risk}");
    assert_eq!(empty_box_flags(&risk)[0]["status"], "dismissed");

    // A third empty box is new evidence: a new flag, open, naming it.
    let third = empty_box_return(&app, "o-2").await;
    let risk = eventually(&app, &buyer_risk_path(), |risk| {
        empty_box_flags(risk).len() == 2
    })
    .await;
    let flags = empty_box_flags(&risk);
    let second = flags.iter().find(|f| f["status"] == "open").unwrap();
    assert_ne!(second["id"], first["id"]);
    assert!(second["evidence"]["return_ids"]
        .as_array()
        .unwrap()
        .contains(&json!(third)));
}

/// The claims of a buyer under an open or confirmed flag do not count against the seller they are
/// made against (docs/abuse.md, "Facts"): an abusive buyer's "not as described" says nothing of
/// the shop.
#[tokio::test]
async fn a_flagged_buyers_claims_do_not_count_against_the_seller() {
    let app = TestApp::spawn().await;
    empty_box_buyer(&app).await;
    flag_of_kind(&app, "empty_box_returns").await;
    let mut claim = return_request("o-2", &[(SHIRT, 1)], "not_as_described");
    claim["description"] = json!("Not the colour shown");
    app.given_return(&app.buyer(), &claim).await;
    let seller_risk = format!("/v1/parties/seller/{SELLER}/risk");
    // The return counts for the seller; the claim's reason does not.
    let risk = eventually(&app, &seller_risk, |r| r["metrics"]["returns"] == 3).await;
    assert_eq!(risk["metrics"]["not_as_described"], 0, "{risk}");
    let buyer = eventually(&app, &buyer_risk_path(), |r| r["metrics"]["returns"] == 3).await;
    assert_eq!(buyer["metrics"]["returns"], 3);
}
