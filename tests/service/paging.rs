//! Pages and cursors of a return's history, its messages and the dispute queue (docs/api.md,
//! "Lists and cursors").

use reqwest::Method;
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    assert_names_field, eu_order, expect_json, expect_problem, headphones_return, id_of, Api,
};

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app
        .request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap();
    expect_json(res, 200).await
}

/// Follows `next_cursor` from `first` until the last page; every page but the last is full.
async fn all_pages(app: &TestApp, token: &str, first: &str, limit: usize) -> Vec<Value> {
    let separator = if first.contains('?') { '&' } else { '?' };
    let mut path = format!("{first}{separator}limit={limit}");
    let mut items = Vec::new();
    loop {
        let page = get(app, token, &path).await;
        let got = page["items"].as_array().unwrap().clone();
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(got.len(), limit, "a page before the last is full: {page}");
                path = format!("{first}{separator}limit={limit}&cursor={cursor}");
            }
            None => {
                items.extend(got);
                return items;
            }
        }
        items.extend(got);
    }
}

/// A return with seven messages, alternating buyer and seller.
async fn chatty_return(app: &TestApp) -> String {
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    for i in 0..7 {
        let (token, body) = if i % 2 == 0 {
            (app.buyer(), format!("question {i}"))
        } else {
            (app.seller(), format!("answer {i}"))
        };
        app.act(&token, &id, "messages", &json!({ "body": body }))
            .await;
    }
    id
}

#[tokio::test]
async fn a_history_comes_in_pages_that_add_up_to_the_whole() {
    let app = TestApp::spawn().await;
    let id = chatty_return(&app).await;
    let operator = app.operator();
    let whole = get(
        &app,
        &operator,
        &format!("/v1/returns/{id}/events?limit=200"),
    )
    .await;
    assert!(whole["next_cursor"].is_null());
    let whole = whole["items"].as_array().unwrap().clone();
    assert!(whole.len() >= 8, "{whole:?}");

    for limit in [1, 3, 200] {
        let paged = all_pages(&app, &operator, &format!("/v1/returns/{id}/events"), limit).await;
        assert_eq!(paged, whole, "pages of {limit}");
    }

    let messages = all_pages(&app, &app.buyer(), &format!("/v1/returns/{id}/messages"), 2).await;
    let bodies: Vec<&str> = messages
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "question 0",
            "answer 1",
            "question 2",
            "answer 3",
            "question 4",
            "answer 5",
            "question 6"
        ]
    );
}

#[tokio::test]
async fn bad_limits_and_foreign_cursors_are_refused() {
    let app = TestApp::spawn().await;
    let id = chatty_return(&app).await;
    let operator = app.operator();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=v", "cursor"),
        ("cursor=12", "cursor"),
        ("cursor=1700000000000000.not-an-id", "cursor"),
    ] {
        for list in ["events", "messages"] {
            let path = format!("/v1/returns/{id}/{list}?{query}");
            let res = app
                .request(Method::GET, &path, Some(&operator))
                .send()
                .await
                .unwrap();
            let problem = expect_problem(res, 422, "validation_failed").await;
            assert_names_field(&problem, field);
        }
    }
    let res = app
        .request(Method::GET, "/v1/disputes?cursor=v3", Some(&operator))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "cursor");
}

#[tokio::test]
async fn the_dispute_queue_comes_in_pages_in_decision_order() {
    let app = TestApp::spawn().await;
    let mut disputed = Vec::new();
    for n in 0..5 {
        let order = format!("o-{n}");
        app.given_order(&eu_order(&order)).await;
        let id = id_of(
            &app.given_return(&app.buyer(), &headphones_return(&order))
                .await,
        );
        let decline = json!({ "reason_text": "Works for us" });
        app.act(&app.seller(), &id, "decline", &decline).await;
        let escalate = json!({ "reason_text": "It does not" });
        app.act(&app.buyer(), &id, "escalate", &escalate).await;
        disputed.push(id);
    }
    let operator = app.operator();
    let whole = get(&app, &operator, "/v1/disputes?limit=200").await;
    let whole = whole["items"].as_array().unwrap().clone();
    assert_eq!(whole.len(), 5);
    let dues: Vec<&str> = whole
        .iter()
        .map(|case| case["deadlines"]["decision_due"].as_str().unwrap())
        .collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "earliest decision first");
    for limit in [1, 2] {
        let paged = all_pages(&app, &operator, "/v1/disputes", limit).await;
        assert_eq!(paged, whole, "pages of {limit}");
    }
}
