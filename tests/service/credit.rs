//! Store credit as a ledger (docs/api.md, "Store credit"; docs/product.md, "Store credit"): a
//! refund paid as store credit credits the buyer's ledger with its bonus; the buyer, operators and
//! the platform read it; the platform spends and expires it; it never goes below 0, and every
//! movement is listed.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::support::{
    assert_names_field, eu_order, expect_json, expect_problem, id_of, items_of, return_request,
    Api, BUYER, HEADPHONES, HEADPHONES_PRICE, SELLER,
};
use returns_testkit::TestApp;

const LEDGER: &str = "/v1/buyers/buyer-1/store-credit";

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    app.request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value, key: Option<&str>) -> Response {
    let mut request = app.request(Method::POST, path, Some(token)).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

/// The seller advertises store credit with a 10 % bonus; the buyer accepts store credit for the
/// headphones of `order_id`, and the platform pays it. Returns the return's id.
async fn credit_paid(app: &TestApp, order_id: &str) -> String {
    app.given_policy(
        SELLER,
        &json!({"refund_methods": ["original_payment", "store_credit"], "store_credit_bonus_percent": 10}),
    )
    .await;
    app.given_order(&eu_order(order_id)).await;
    let id = id_of(
        &app.given_return(
            &app.buyer(),
            &return_request(order_id, &[(HEADPHONES, 1)], "defective"),
        )
        .await,
    );
    app.act(
        &app.seller(),
        &id,
        "offer",
        &json!({"kind": "store_credit"}),
    )
    .await;
    let accepted = app.act(&app.buyer(), &id, "accept-offer", &json!({})).await;
    let due = accepted["refund_due_minor"].as_i64().unwrap();
    let refund = json!({"amount_minor": due, "method": "store_credit", "reference": "wallet-1"});
    app.act(&app.platform(), &id, "refund", &refund).await;
    id
}

fn balances(view: &Value) -> Value {
    view["balances"].clone()
}

#[tokio::test]
async fn a_refund_paid_as_store_credit_credits_the_buyers_ledger_with_its_bonus() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    // Nothing yet: an empty ledger at version 0.
    let empty = expect_json(get(&app, &app.buyer(), LEDGER).await, 200).await;
    assert_eq!(
        empty,
        json!({"buyer_id": BUYER, "balances": [], "version": 0})
    );

    let return_id = credit_paid(&app, "o-1").await;
    let credit = HEADPHONES_PRICE + HEADPHONES_PRICE / 10;
    let ledger = expect_json(get(&app, &app.buyer(), LEDGER).await, 200).await;
    assert_eq!(
        balances(&ledger),
        json!([{"currency": "EUR", "balance_minor": credit, "issued_minor": credit}])
    );
    assert_eq!(ledger["version"], 1);

    // The platform spends part of it at a checkout, then expires the rest.
    let spend = json!({"currency": "EUR", "amount_minor": 2000, "order_id": "o-9"});
    let (spent, etag) = crate::support::expect_json_with_etag(
        post(&app, &platform, &format!("{LEDGER}/spend"), &spend, None).await,
        200,
    )
    .await;
    assert_eq!(spent["balances"][0]["balance_minor"], credit - 2000);
    assert_eq!(etag, "\"2\"");
    let expired = expect_json(
        post(
            &app,
            &platform,
            &format!("{LEDGER}/expire"),
            &json!({"currency": "EUR"}),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        balances(&expired),
        json!([{"currency": "EUR", "balance_minor": 0, "issued_minor": credit}])
    );

    // Every movement, oldest first, a page at a time.
    let first = expect_json(
        get(
            &app,
            &app.operator(),
            &format!("{LEDGER}/movements?limit=2"),
        )
        .await,
        200,
    )
    .await;
    let items = items_of(&first);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "credit.issued");
    assert_eq!(items[0]["amount_minor"], credit);
    assert_eq!(items[0]["principal_minor"], HEADPHONES_PRICE);
    assert_eq!(items[0]["bonus_minor"], HEADPHONES_PRICE / 10);
    assert_eq!(items[0]["return_id"], return_id.as_str());
    assert_eq!(items[1]["type"], "credit.spent");
    assert_eq!(items[1]["order_id"], "o-9");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = expect_json(
        get(
            &app,
            &platform,
            &format!("{LEDGER}/movements?cursor={cursor}"),
        )
        .await,
        200,
    )
    .await;
    let rest = items_of(&rest);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["type"], "credit.expired");
    assert_eq!(rest[0]["amount_minor"], credit - 2000);
    assert_eq!(rest[0]["version"], 3);
}

#[tokio::test]
async fn credit_never_goes_below_zero_and_bad_movements_change_nothing() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    let spend = format!("{LEDGER}/spend");
    // No ledger yet: nothing to spend in any currency.
    let problem = expect_problem(
        post(
            &app,
            &platform,
            &spend,
            &json!({"currency": "EUR", "amount_minor": 1}),
            None,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_names_field(&problem, "currency");

    credit_paid(&app, "o-1").await;
    let credit = HEADPHONES_PRICE + HEADPHONES_PRICE / 10;
    for (body, field) in [
        (
            json!({"currency": "EUR", "amount_minor": credit + 1}),
            "amount_minor",
        ),
        (
            json!({"currency": "EUR", "amount_minor": 0}),
            "amount_minor",
        ),
        (
            json!({"currency": "EUR", "amount_minor": -5}),
            "amount_minor",
        ),
        (json!({"currency": "USD", "amount_minor": 10}), "currency"),
        (json!({"currency": "euro", "amount_minor": 10}), "currency"),
        (json!({"amount_minor": 10}), "currency"),
        (
            json!({"currency": "EUR", "amount_minor": 10, "order_id": "no spaces"}),
            "order_id",
        ),
    ] {
        let problem = expect_problem(
            post(&app, &platform, &spend, &body, None).await,
            422,
            "validation_failed",
        )
        .await;
        assert_names_field(&problem, field);
    }
    let expire = format!("{LEDGER}/expire");
    let problem = expect_problem(
        post(
            &app,
            &platform,
            &expire,
            &json!({"currency": "EUR", "amount_minor": credit + 1}),
            None,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_names_field(&problem, "amount_minor");
    let ledger = expect_json(get(&app, &platform, LEDGER).await, 200).await;
    assert_eq!(ledger["version"], 1);
    assert_eq!(ledger["balances"][0]["balance_minor"], credit);

    // The whole balance may be spent, to exactly 0; one unit more is refused.
    let all = json!({"currency": "EUR", "amount_minor": credit});
    expect_json(post(&app, &platform, &spend, &all, None).await, 200).await;
    let one = json!({"currency": "EUR", "amount_minor": 1});
    expect_problem(
        post(&app, &platform, &spend, &one, None).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn the_buyer_operators_and_the_platform_read_credit_and_only_the_platform_moves_it() {
    let app = TestApp::spawn().await;
    credit_paid(&app, "o-1").await;
    for token in [app.buyer(), app.operator(), app.platform()] {
        expect_json(get(&app, &token, LEDGER).await, 200).await;
        expect_json(get(&app, &token, &format!("{LEDGER}/movements")).await, 200).await;
    }
    expect_problem(
        get(&app, &app.other_buyer(), LEDGER).await,
        404,
        "not_found",
    )
    .await;
    expect_problem(get(&app, &app.seller(), LEDGER).await, 403, "forbidden").await;
    let spend = json!({"currency": "EUR", "amount_minor": 1});
    for action in ["spend", "expire"] {
        let path = format!("{LEDGER}/{action}");
        for token in [app.buyer(), app.operator(), app.seller()] {
            expect_problem(
                post(&app, &token, &path, &spend, None).await,
                403,
                "forbidden",
            )
            .await;
        }
        // Who may act is settled before the body is read.
        expect_problem(
            post(&app, &app.buyer(), &path, &json!({"nonsense": true}), None).await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            post(&app, &app.other_buyer(), &path, &spend, None).await,
            404,
            "not_found",
        )
        .await;
    }
    expect_problem(
        get(&app, &app.buyer(), "/v1/buyers/no spaces/store-credit").await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_spend_retried_with_its_idempotency_key_is_taken_once() {
    let app = TestApp::spawn().await;
    credit_paid(&app, "o-1").await;
    let path = format!("{LEDGER}/spend");
    let spend = json!({"currency": "EUR", "amount_minor": 500, "order_id": "o-9"});
    let first = expect_json(
        post(&app, &app.platform(), &path, &spend, Some("checkout-o-9")).await,
        200,
    )
    .await;
    let again = expect_json(
        post(&app, &app.platform(), &path, &spend, Some("checkout-o-9")).await,
        200,
    )
    .await;
    assert_eq!(first, again);
    let ledger = expect_json(get(&app, &app.platform(), LEDGER).await, 200).await;
    assert_eq!(ledger["version"], 2);
    // A stale If-Match is refused.
    let stale = app
        .request(Method::POST, &path, Some(&app.platform()))
        .header("If-Match", "\"1\"")
        .json(&spend)
        .send()
        .await
        .unwrap();
    expect_problem(stale, 409, "version_conflict").await;
}
