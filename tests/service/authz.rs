//! Who may see and do what (docs/api.md, Conventions: Auth, Who may see what; the action table).

use reqwest::Method;
use returns_api::auth::{Claims, Role};
use returns_testkit::TestApp;
use serde_json::json;

use crate::support::{
    base64url, buyer_claims, eu_order, expect_json, expect_problem, headphones_return, id_of,
    items_of, token_signed_with, unix_now, unsigned_token, version_of, Api, BUYER, TEST_JWT_SECRET,
};

/// An order of `BUYER` from `SELLER` with one return requested; returns the return's id.
async fn requested_return(app: &TestApp) -> String {
    app.given_order(&eu_order("o-1")).await;
    id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    )
}

/// Sends `GET /v1/returns/{id}` with exactly this `Authorization` header (or none).
async fn get_with_authorization(
    app: &TestApp,
    id: &str,
    header: Option<&str>,
) -> reqwest::Response {
    let mut request = app.request(Method::GET, &format!("/v1/returns/{id}"), None);
    if let Some(header) = header {
        request = request.header("Authorization", header);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthorized() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    let expired = token_signed_with(TEST_JWT_SECRET.as_bytes(), &buyer_claims(-3600));
    let wrong_signature =
        token_signed_with(b"another-secret-another-secret-xx", &buyer_claims(3600));
    let cases = [
        ("no token", None),
        ("not a JWT", Some("Bearer not-a-jwt".to_owned())),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("another scheme", Some(format!("Basic {}", app.buyer()))),
        ("wrong signature", Some(format!("Bearer {wrong_signature}"))),
        ("expired", Some(format!("Bearer {expired}"))),
        ("alg none", Some(format!("Bearer {}", unsigned_token()))),
    ];

    for (case, header) in cases {
        println!("case: {case}");
        let res = get_with_authorization(&app, &id, header.as_deref()).await;
        expect_problem(res, 401, "unauthorized").await;
    }
    // The same buyer with a good token is let in.
    let good = token_signed_with(TEST_JWT_SECRET.as_bytes(), &buyer_claims(3600));
    let res = get_with_authorization(&app, &id, Some(&format!("Bearer {good}"))).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_token_whose_claims_were_changed_is_unauthorized() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    // A buyer's genuine token, with its payload swapped for an operator's claims.
    let token = token_signed_with(TEST_JWT_SECRET.as_bytes(), &buyer_claims(3600));
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = format!(
        r#"{{"sub":"{BUYER}","role":"operator","exp":{}}}"#,
        unix_now() + 3600
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64url(forged_claims.as_bytes()),
        parts[2]
    );

    let res = get_with_authorization(&app, &id, Some(&format!("Bearer {forged}"))).await;

    expect_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn actions_need_a_token() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;

    let res = app
        .request(Method::POST, &format!("/v1/returns/{id}/accept"), None)
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    expect_problem(res, 401, "unauthorized").await;
    assert_eq!(app.return_view(&id).await["status"], "requested");
}

#[tokio::test]
async fn other_buyers_and_sellers_are_told_the_return_does_not_exist() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;

    for token in [app.other_buyer(), app.other_seller()] {
        expect_problem(app.get_return(&token, &id).await, 404, "not_found").await;
        expect_problem(app.return_events(&token, &id).await, 404, "not_found").await;
    }
    let foreign_seller_accept = app
        .action(&app.other_seller(), &id, "accept", &json!({}), None, None)
        .await;
    expect_problem(foreign_seller_accept, 404, "not_found").await;
    let foreign_buyer_withdraw = app
        .action(&app.other_buyer(), &id, "withdraw", &json!({}), None, None)
        .await;
    expect_problem(foreign_buyer_withdraw, 404, "not_found").await;
    // Nothing happened, and the listing does not leak it either.
    assert_eq!(app.return_view(&id).await["status"], "requested");
    let listing = app.list_returns(&app.other_buyer(), &[]).await;
    let listing = expect_json(listing, 200).await;
    assert!(items_of(&listing).is_empty(), "{listing}");
}

#[tokio::test]
async fn someone_elses_order_is_not_found_when_opening_a_return() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;

    let res = app
        .open_return(&app.other_buyer(), &headphones_return("o-1"))
        .await;

    expect_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_buyer_may_never_accept_a_return() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;

    let res = app
        .action(&app.buyer(), &id, "accept", &json!({}), None, None)
        .await;

    expect_problem(res, 403, "forbidden").await;
    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "requested");
    assert_eq!(version_of(&view), 1);
}

#[tokio::test]
async fn the_platform_and_operators_take_no_seller_action() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;

    for token in [app.platform(), app.operator()] {
        let res = app
            .action(&token, &id, "accept", &json!({}), None, None)
            .await;
        expect_problem(res, 403, "forbidden").await;
    }
    let res = app
        .open_return(
            &app.token(Role::Seller, "seller-1"),
            &headphones_return("o-1"),
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
    assert_eq!(app.return_view(&id).await["status"], "requested");
}

#[tokio::test]
async fn accepting_twice_is_an_invalid_transition() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    app.act(&app.seller(), &id, "accept", &json!({})).await;

    let res = app
        .action(&app.seller(), &id, "accept", &json!({}), None, None)
        .await;

    let problem = expect_problem(res, 409, "invalid_transition").await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "detail says why: {problem}");
    assert_eq!(version_of(&app.return_view(&id).await), 2);
}

#[tokio::test]
async fn a_token_is_only_as_good_as_its_sub() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    // A seller token whose `sub` is the buyer's id: it is neither the buyer nor the seller of the
    // return.
    let impostor = token_signed_with(
        TEST_JWT_SECRET.as_bytes(),
        &Claims {
            sub: BUYER.to_owned(),
            role: Role::Seller,
            exp: unix_now() + 3600,
            iat: None,
            nbf: None,
            iss: None,
            aud: None,
            purpose: None,
            jti: None,
        },
    );

    expect_problem(app.get_return(&impostor, &id).await, 404, "not_found").await;
}
