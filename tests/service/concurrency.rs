//! Optimistic concurrency: `If-Match` and racing commands (docs/api.md, Conventions).

use reqwest::{Method, RequestBuilder};
use returns_testkit::TestApp;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::support::{
    eu_order, event_types, expect_json, expect_problem, headphones_return, id_of, items_of,
    return_request, ship_body, version_of, Api, HEADPHONES,
};

/// Sends every request at once; returns each answer's status and JSON body (or null).
async fn race(requests: Vec<RequestBuilder>) -> Vec<(u16, Value)> {
    let mut set = JoinSet::new();
    for request in requests {
        set.spawn(async move {
            let res = request.send().await.expect("request sent");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = set.join_next().await {
        answers.push(answer.expect("task finished"));
    }
    answers
}

async fn requested_return(app: &TestApp) -> String {
    app.given_order(&eu_order("o-1")).await;
    id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    )
}

#[tokio::test]
async fn of_ten_accepts_with_the_same_if_match_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    let version = version_of(&app.return_view(&id).await);
    let before = app.events_of(&id).await.len();
    let path = format!("/v1/returns/{id}/accept");
    let seller = app.seller();
    let requests = (0..10)
        .map(|_| {
            app.request(Method::POST, &path, Some(&seller))
                .header("If-Match", format!("\"{version}\""))
                .json(&json!({}))
        })
        .collect();

    let answers = race(requests).await;

    let won = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["code"], "version_conflict", "{body}");
    }
    let events = app.events_of(&id).await;
    // `accept` writes one event: `return.authorized`.
    assert_eq!(events.len(), before + 1);
    assert_eq!(
        event_types(&events[before..]),
        ["return.authorized"],
        "exactly one accept was written"
    );
    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "authorized");
    assert_eq!(version_of(&view), version + 1);
}

#[tokio::test]
async fn of_ten_accepts_without_if_match_exactly_one_is_written() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    let path = format!("/v1/returns/{id}/accept");
    let seller = app.seller();
    let requests = (0..10)
        .map(|_| {
            app.request(Method::POST, &path, Some(&seller))
                .json(&json!({}))
        })
        .collect();

    let answers = race(requests).await;

    let won = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 409, "{body}");
        let code = body["code"].as_str().unwrap_or_default();
        assert!(
            code == "invalid_transition" || code == "version_conflict",
            "{body}"
        );
    }
    let types = event_types(&app.events_of(&id).await);
    assert_eq!(types, ["return.requested", "return.authorized"]);
}

#[tokio::test]
async fn a_stale_if_match_is_a_version_conflict_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    let opened_version = version_of(&app.return_view(&id).await).to_string();
    let accepted = app.act(&app.seller(), &id, "accept", &json!({})).await;

    let res = app
        .action(
            &app.buyer(),
            &id,
            "ship",
            &ship_body(),
            Some(&opened_version),
            None,
        )
        .await;

    expect_problem(res, 409, "version_conflict").await;
    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "authorized");
    assert_eq!(version_of(&view), version_of(&accepted));
    assert_eq!(app.events_of(&id).await.len() as u64, version_of(&accepted));
}

#[tokio::test]
async fn a_current_if_match_is_accepted() {
    let app = TestApp::spawn().await;
    let id = requested_return(&app).await;
    let accepted = app.act(&app.seller(), &id, "accept", &json!({})).await;
    let current = version_of(&accepted).to_string();

    let res = app
        .action(
            &app.buyer(),
            &id,
            "ship",
            &ship_body(),
            Some(&current),
            None,
        )
        .await;

    let shipped = expect_json(res, 200).await;
    assert_eq!(shipped["status"], "in_transit");
    assert!(version_of(&shipped) > version_of(&accepted));
}

#[tokio::test]
async fn two_returns_racing_for_the_last_unit_cannot_both_take_it() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let buyer = app.buyer();
    let body = return_request("o-1", &[(HEADPHONES, 1)], "defective");
    let requests = (0..5)
        .map(|_| {
            app.request(Method::POST, "/v1/returns", Some(&buyer))
                .json(&body)
        })
        .collect();

    let answers = race(requests).await;

    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        // Refused for the quantity, or lost the race on the order's stream.
        assert!(*status == 422 || *status == 409, "{status}: {body}");
    }
    let listing = expect_json(app.list_returns(&buyer, &[]).await, 200).await;
    assert_eq!(items_of(&listing).len(), 1);
}
