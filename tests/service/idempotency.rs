//! `Idempotency-Key` on POSTs (docs/api.md, Conventions: Idempotency).

use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    eu_order, event_types, expect_json, expect_problem, headphones_return, id_of, items_of,
    return_request, version_of, Api, OTHER_BUYER, SHIRT,
};

/// Status and parsed body of an answer.
async fn answer(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.expect("JSON body"))
}

async fn returns_of(app: &TestApp, token: &str) -> Vec<Value> {
    items_of(&expect_json(app.list_returns(token, &[]).await, 200).await)
}

#[tokio::test]
async fn an_open_repeated_with_the_same_key_gets_the_first_answer_again() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let body = headphones_return("o-1");

    let first = answer(
        app.open_return_with_key(&app.buyer(), &body, "open-1")
            .await,
    )
    .await;
    let again = answer(
        app.open_return_with_key(&app.buyer(), &body, "open-1")
            .await,
    )
    .await;

    assert_eq!(first.0, 201, "{}", first.1);
    assert_eq!(again, first, "same status, same body");
    let listed = returns_of(&app, &app.buyer()).await;
    assert_eq!(listed.len(), 1, "one return was opened");
    assert_eq!(app.events_of(&id_of(&first.1)).await.len(), 1);
}

#[tokio::test]
async fn an_action_repeated_with_the_same_key_writes_nothing_new() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    let seller = app.seller();
    let body = json!({ "instructions": "Use the original box" });

    let first = answer(
        app.action(&seller, &id, "accept", &body, None, Some("accept-1"))
            .await,
    )
    .await;
    let again = answer(
        app.action(&seller, &id, "accept", &body, None, Some("accept-1"))
            .await,
    )
    .await;

    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(again, first, "same status, same body");
    let types = event_types(&app.events_of(&id).await);
    assert_eq!(types, ["return.requested", "return.authorized"]);
    // Without the key, the same accept is a new command, refused in this state.
    let res = app.action(&seller, &id, "accept", &body, None, None).await;
    expect_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_refused() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let first = app
        .open_return_with_key(&app.buyer(), &headphones_return("o-1"), "open-1")
        .await;
    let first = expect_json(first, 201).await;

    let other_body = return_request("o-1", &[(SHIRT, 1)], "size_fit");
    let res = app
        .open_return_with_key(&app.buyer(), &other_body, "open-1")
        .await;

    expect_problem(res, 422, "idempotency_key_reused").await;
    let listed = returns_of(&app, &app.buyer()).await;
    assert_eq!(listed.len(), 1, "the second body was not acted on");
    assert_eq!(id_of(&listed[0]), id_of(&first));
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let mut theirs = eu_order("o-2");
    theirs["buyer_id"] = json!(OTHER_BUYER);
    app.given_order(&theirs).await;

    let mine = app
        .open_return_with_key(&app.buyer(), &headphones_return("o-1"), "same-key")
        .await;
    let mine = expect_json(mine, 201).await;
    let other = app
        .open_return_with_key(&app.other_buyer(), &headphones_return("o-2"), "same-key")
        .await;
    let other = expect_json(other, 201).await;

    assert_ne!(id_of(&mine), id_of(&other));
    assert_eq!(other["order_id"], "o-2");
    assert_eq!(other["buyer_id"], OTHER_BUYER);
    assert_eq!(returns_of(&app, &app.buyer()).await.len(), 1);
    assert_eq!(returns_of(&app, &app.other_buyer()).await.len(), 1);
}

#[tokio::test]
async fn the_same_key_on_two_returns_of_one_caller_is_another_body() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    app.given_order(&eu_order("o-2")).await;
    let a = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    let b = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-2"))
            .await,
    );
    let seller = app.seller();

    let first = app
        .action(&seller, &a, "accept", &json!({}), None, Some("k-1"))
        .await;
    expect_json(first, 200).await;
    let res = app
        .action(&seller, &b, "accept", &json!({}), None, Some("k-1"))
        .await;

    // Another return is another request: refused as a reused key, or taken as new; never the
    // first answer replayed for the wrong return.
    if res.status() == 200 {
        let view = expect_json(res, 200).await;
        assert_eq!(id_of(&view), b);
        assert_eq!(view["status"], "authorized");
    } else {
        expect_problem(res, 422, "idempotency_key_reused").await;
        assert_eq!(version_of(&app.return_view(&b).await), 1);
    }
}

/// Ten requests with one key sent at once: one command is stored, and every answer is its answer
/// (the first holds the key; the others wait for it and replay what it answered).
#[tokio::test]
async fn concurrent_requests_with_one_key_store_one_command() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let body = headphones_return("o-1");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = app
            .request(reqwest::Method::POST, "/v1/returns", Some(&app.buyer()))
            .header("Idempotency-Key", "open-at-once")
            .json(&body);
        set.spawn(async move { answer(request.send().await.unwrap()).await });
    }
    let mut answers = Vec::new();
    while let Some(one) = set.join_next().await {
        answers.push(one.unwrap());
    }
    let first = answers[0].clone();
    assert_eq!(first.0, 201, "{}", first.1);
    assert!(answers.iter().all(|a| *a == first), "{answers:?}");
    assert_eq!(returns_of(&app, &app.buyer()).await.len(), 1);
    assert_eq!(app.events_of(&id_of(&first.1)).await.len(), 1);
}
