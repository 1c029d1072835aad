//! Satisfaction feedback (docs/api.md, "Rating a return"; docs/product.md, "Satisfaction"): the
//! buyer rates a closed return once, within 30 days of its closing; analytics show CSAT by
//! seller, reason and outcome.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{
    a_refunded_return, assert_names_field, eu_order, expect_json, expect_problem, id_of,
    return_request, Api, SELLER, SHIRT,
};
use returns_testkit::TestApp;

const RANGE: &[(&str, &str)] = &[
    ("from", "2000-01-01T00:00:00Z"),
    ("to", "2100-01-01T00:00:00Z"),
];

async fn rate(app: &TestApp, token: &str, id: &str, body: &Value) -> reqwest::Response {
    app.action(token, id, "rate", body, None, None).await
}

async fn get(app: &TestApp, token: &str, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.request(Method::GET, path, Some(token))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// A shirt return the buyer withdraws at once (closed as `withdrawn`).
async fn a_withdrawn_return(app: &TestApp, order_id: &str) -> String {
    app.given_order(&eu_order(order_id)).await;
    let opened = app
        .given_return(
            &app.buyer(),
            &return_request(order_id, &[(SHIRT, 1)], "size_fit"),
        )
        .await;
    let id = id_of(&opened);
    app.act(&app.buyer(), &id, "withdraw", &json!({})).await;
    id
}

#[tokio::test]
async fn a_buyer_rates_a_closed_return_once_and_the_view_shows_it() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer();
    let id = a_refunded_return(&app, "o-1").await;
    let before = app.return_view(&id).await;
    assert!(before["closed_at"].is_string(), "{before}");
    assert!(before["rating"].is_null(), "{before}");
    let buyer_view = expect_json(app.get_return(&buyer, &id).await, 200).await;
    assert!(
        crate::support::strings(&buyer_view["allowed_actions"]).contains(&"rate".to_owned()),
        "{buyer_view}"
    );

    let rated = expect_json(
        rate(
            &app,
            &buyer,
            &id,
            &json!({"score": 4, "comment": "Quick refund, slow label"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rated["rating"]["score"], 4);
    assert_eq!(rated["rating"]["comment"], "Quick refund, slow label");
    assert!(rated["rating"]["rated_at"].is_string());
    assert!(
        !crate::support::strings(&rated["allowed_actions"]).contains(&"rate".to_owned()),
        "{rated}"
    );
    let types = crate::support::event_types(&app.events_of(&id).await);
    assert_eq!(types.last().map(String::as_str), Some("return.rated"));

    // Once only.
    let again = expect_problem(
        rate(&app, &buyer, &id, &json!({"score": 5})).await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(
        again["detail"]
            .as_str()
            .unwrap_or("")
            .contains("already rated"),
        "{again}"
    );
    // The seller, the operator and the platform do not rate.
    for token in [app.seller(), app.operator(), app.platform()] {
        expect_problem(
            rate(&app, &token, &id, &json!({"score": 1})).await,
            403,
            "forbidden",
        )
        .await;
    }
    // Another buyer's return does not exist for this buyer.
    expect_problem(
        rate(&app, &app.other_buyer(), &id, &json!({"score": 1})).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.return_view(&id).await["rating"]["score"], 4);
}

#[tokio::test]
async fn bad_ratings_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer();
    let id = a_refunded_return(&app, "o-1").await;
    let version = app.return_view(&id).await["version"].clone();
    for (body, field) in [
        (json!({"score": 0}), "score"),
        (json!({"score": 6}), "score"),
        (json!({"score": -1}), "score"),
        (json!({"score": 3.5}), "score"),
        (json!({}), "score"),
        (json!({"score": 3, "comment": "x".repeat(2001)}), "comment"),
    ] {
        let problem = expect_problem(
            rate(&app, &buyer, &id, &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_names_field(&problem, field);
    }
    assert_eq!(app.return_view(&id).await["version"], version);

    // A return that is still open cannot be rated.
    app.given_order(&eu_order("o-2")).await;
    let open = id_of(
        &app.given_return(&buyer, &return_request("o-2", &[(SHIRT, 1)], "size_fit"))
            .await,
    );
    let problem = expect_problem(
        rate(&app, &buyer, &open, &json!({"score": 5})).await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("closed"),
        "{problem}"
    );
}

#[tokio::test]
async fn ratings_close_thirty_days_after_the_return_closed() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer();
    let late = a_withdrawn_return(&app, "o-1").await;
    let in_time = a_withdrawn_return(&app, "o-2").await;
    app.given_time_passes(29 * 24).await;
    expect_json(
        rate(&app, &buyer, &in_time, &json!({"score": 2})).await,
        200,
    )
    .await;
    app.given_time_passes(24).await;
    let problem = expect_problem(
        rate(&app, &buyer, &late, &json!({"score": 2})).await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("ratings were open until"),
        "{problem}"
    );
}

/// The analytics projection follows the log: wait (bounded) until it has seen `want` ratings.
async fn settled(app: &TestApp, want: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = expect_json(
            get(app, &app.operator(), "/v1/analytics/summary", RANGE).await,
            200,
        )
        .await;
        if body["satisfaction"]["ratings"] == want {
            return body;
        }
        assert!(Instant::now() < deadline, "ratings never settled: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn analytics_show_csat_by_reason_outcome_and_seller() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer();
    // Two refunded returns (defective) rated 5 and 4, one withdrawn (size_fit) rated 1.
    let refunded_a = a_refunded_return(&app, "o-1").await;
    let refunded_b = a_refunded_return(&app, "o-2").await;
    let withdrawn = a_withdrawn_return(&app, "o-3").await;
    for (id, score) in [(&refunded_a, 5), (&refunded_b, 4), (&withdrawn, 1)] {
        expect_json(rate(&app, &buyer, id, &json!({"score": score})).await, 200).await;
    }

    let body = settled(&app, 3).await;
    let s = &body["satisfaction"];
    assert_eq!(s["average_score"], 10.0 / 3.0);
    assert_eq!(s["csat"], 2.0 / 3.0);
    assert_eq!(
        s["by_reason"],
        json!({
            "defective": {"ratings": 2, "average_score": 4.5, "csat": 1.0},
            "size_fit": {"ratings": 1, "average_score": 1.0, "csat": 0.0},
        })
    );
    assert_eq!(
        s["by_outcome"],
        json!({
            "refunded": {"ratings": 2, "average_score": 4.5, "csat": 1.0},
            "withdrawn": {"ratings": 1, "average_score": 1.0, "csat": 0.0},
        })
    );
    // The seller sees its own; another seller has none.
    let own = expect_json(
        get(&app, &app.seller(), "/v1/analytics/summary", RANGE).await,
        200,
    )
    .await;
    assert_eq!(own["satisfaction"]["ratings"], 3);

    // By seller, for operators, a page at a time.
    let page = expect_json(
        get(
            &app,
            &app.operator(),
            "/v1/analytics/satisfaction/sellers",
            &[RANGE[0], RANGE[1], ("limit", "1")],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        page["items"],
        json!([{"seller_id": SELLER, "ratings": 3, "average_score": 10.0 / 3.0, "csat": 2.0 / 3.0}])
    );
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = expect_json(
        get(
            &app,
            &app.operator(),
            "/v1/analytics/satisfaction/sellers",
            &[RANGE[0], RANGE[1], ("cursor", &cursor)],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(next["items"], json!([]));
    assert!(next["next_cursor"].is_null());
    for token in [app.seller(), app.buyer(), app.platform()] {
        expect_problem(
            get(&app, &token, "/v1/analytics/satisfaction/sellers", RANGE).await,
            403,
            "forbidden",
        )
        .await;
    }
    expect_problem(
        get(
            &app,
            &app.operator(),
            "/v1/analytics/satisfaction/sellers",
            &[("cursor", "not a seller")],
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
}
