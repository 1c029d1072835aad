//! Policy what-if (docs/api.md, "Policy what-if"; docs/product.md, "Policy what-if"): a seller's
//! past returns judged again under a proposed policy and the law in force, read only, streamed.

use reqwest::{Method, Response};
use returns_api::auth::Role;
use serde_json::{json, Value};

use crate::support::{
    a_refunded_return, assert_names_field, expect_json, expect_problem, id_of, order,
    return_request, rfc3339, unix_now, us_order, Api, HEADPHONES_PRICE, SELLER, SHIRT, SHIRT_PRICE,
};
use returns_testkit::TestApp;

const PATH: &str = "/v1/sellers/seller-1/policy/what-if";

async fn what_if(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    app.request(Method::POST, path, Some(token))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A window of one day, a 10 % restocking fee, and automatic approval up to 100.00.
fn proposal() -> Value {
    json!({
        "policy": {"return_window_days": 1, "restocking_fee_percent": 10, "auto_approve_max_minor": 10000},
        "from": "2000-01-01T00:00:00Z",
        "to": "2000-12-31T00:00:00Z",
    })
}

/// The proposal over the 300 days up to tomorrow.
fn recent_proposal() -> Value {
    let mut body = proposal();
    let day = 24 * 3600;
    body["from"] = json!(rfc3339(unix_now() - 300 * day));
    body["to"] = json!(rfc3339(unix_now() + day));
    body
}

fn by_id<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["returns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["return_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {answer}"))
}

#[tokio::test]
async fn past_returns_are_judged_again_under_the_proposal_and_the_law() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer();
    // A German order refunded in full: EU law keeps it eligible under a one-day window, and it
    // would have been approved at once.
    let eu = a_refunded_return(&app, "o-1").await;
    // A US order (no legal floor), a shirt the buyer no longer wants: no longer eligible under a
    // one-day window, a restocking fee applies, and the refusal is expected to be disputed.
    app.given_order(&us_order("o-2")).await;
    let us = id_of(
        &app.given_return(
            &buyer,
            &return_request("o-2", &[(SHIRT, 1)], "changed_mind"),
        )
        .await,
    );
    let before = app.return_view(&us).await;

    let answer = expect_json(
        what_if(&app, &app.seller(), PATH, &recent_proposal()).await,
        200,
    )
    .await;
    assert_eq!(answer["seller_id"], SELLER);

    let eu_row = by_id(&answer, &eu);
    assert_eq!(eu_row["actual"]["intake"], "to_seller");
    assert_eq!(eu_row["proposed"]["intake"], "auto_approved");
    assert_eq!(eu_row["proposed"]["eligible"], true);
    assert_eq!(eu_row["actual"]["refund_minor"], HEADPHONES_PRICE);
    assert_eq!(eu_row["proposed"]["refund_minor"], HEADPHONES_PRICE);
    assert_eq!(eu_row["changes"], json!(["intake"]));

    let us_row = by_id(&answer, &us);
    assert_eq!(us_row["actual"]["eligible"], true);
    assert_eq!(us_row["proposed"]["eligible"], false);
    assert_eq!(us_row["proposed"]["intake"], "to_seller");
    assert_eq!(us_row["actual"]["restocking_fee_minor"], 0);
    assert_eq!(us_row["proposed"]["restocking_fee_minor"], SHIRT_PRICE / 10);
    assert_eq!(
        us_row["proposed"]["requested_amount_minor"],
        SHIRT_PRICE - SHIRT_PRICE / 10
    );
    assert_eq!(us_row["proposed"]["disputed"], true);
    assert_eq!(us_row["changes"], json!(["eligibility", "fees", "dispute"]));

    let totals = &answer["totals"];
    assert_eq!(totals["returns"], 2);
    assert_eq!(totals["changed"], 2);
    assert_eq!(totals["actual"]["eligible"], 2);
    assert_eq!(totals["proposed"]["eligible"], 1);
    assert_eq!(totals["actual"]["settled_without_seller"], 0);
    assert_eq!(totals["proposed"]["settled_without_seller"], 1);
    assert_eq!(totals["proposed"]["disputes"], 1);
    // Amounts per currency, never added across them.
    assert_eq!(
        totals["proposed"]["fees_by_currency"],
        json!({"EUR": 0, "USD": SHIRT_PRICE / 10})
    );
    assert_eq!(
        totals["actual"]["refunds_by_currency"],
        json!({"EUR": HEADPHONES_PRICE, "USD": 0})
    );

    // Read only: nothing was written.
    assert_eq!(app.return_view(&us).await["version"], before["version"]);
    // An operator may ask for any seller; a period without returns has empty totals.
    let mut empty = proposal();
    empty["from"] = json!("2001-01-01T00:00:00Z");
    empty["to"] = json!("2001-06-01T00:00:00Z");
    let nothing = expect_json(what_if(&app, &app.operator(), PATH, &empty).await, 200).await;
    assert_eq!(nothing["returns"], json!([]));
    assert_eq!(nothing["totals"]["returns"], 0);
}

#[tokio::test]
async fn only_the_seller_and_operators_ask_and_bad_proposals_are_refused() {
    let app = TestApp::spawn().await;
    for token in [app.other_seller(), app.buyer(), app.platform()] {
        expect_problem(
            what_if(&app, &token, PATH, &proposal()).await,
            403,
            "forbidden",
        )
        .await;
    }
    // Who may ask is settled before the body is read.
    expect_problem(
        what_if(&app, &app.buyer(), PATH, &json!({"nonsense": 1})).await,
        403,
        "forbidden",
    )
    .await;
    let seller = app.seller();
    let mut cases = Vec::new();
    let mut reversed = proposal();
    reversed["from"] = json!("2001-01-01T00:00:00Z");
    reversed["to"] = json!("2000-01-01T00:00:00Z");
    cases.push((reversed, "from"));
    let mut too_long = proposal();
    too_long["to"] = json!("2001-06-01T00:00:00Z");
    cases.push((too_long, "to"));
    let mut bad_policy = proposal();
    bad_policy["policy"]["return_window_days"] = json!(1000);
    cases.push((bad_policy, "policy.return_window_days"));
    let mut no_from = proposal();
    no_from.as_object_mut().unwrap().remove("from");
    cases.push((no_from, "from"));
    for (body, field) in cases {
        let problem = expect_problem(
            what_if(&app, &seller, PATH, &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_names_field(&problem, field);
    }
}

/// More returns than one page: the answer streams page after page and the totals count them all.
#[tokio::test]
async fn a_long_period_streams_every_return_and_counts_them_all() {
    let app = TestApp::spawn().await;
    let count = returns_app::WHAT_IF_PAGE as usize + 5;
    for i in 0..count {
        // One buyer per order, so that no buyer meets the rate limit.
        let buyer_id = format!("buyer-wi-{i}");
        let mut body = order(&format!("o-{i}"), "US", "USD", Some(2));
        body["buyer_id"] = json!(buyer_id);
        app.given_order(&body).await;
        app.given_return(
            &app.token(Role::Buyer, &buyer_id),
            &return_request(&format!("o-{i}"), &[(SHIRT, 1)], "changed_mind"),
        )
        .await;
    }
    let body = recent_proposal();
    let res = what_if(&app, &app.operator(), PATH, &body).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    let returns = answer["returns"].as_array().unwrap();
    assert_eq!(returns.len(), count);
    assert_eq!(answer["totals"]["returns"], count);
    // Oldest first, each once.
    let ids: std::collections::BTreeSet<&str> = returns
        .iter()
        .map(|r| r["return_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), count);
    let times: Vec<&str> = returns
        .iter()
        .map(|r| r["created_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted);
}
