//! Erasing a buyer's personal data over HTTP (docs/api.md, "Erasure"): operators only; the text
//! and the parcel's identifiers become "[erased]" everywhere they are read, stored answers that
//! quote them are dropped, other buyers are untouched, and the history still replays.

use reqwest::Method;
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    eu_order, expect_json, expect_problem, id_of, return_request, Api, BUYER, HEADPHONES,
    OTHER_BUYER,
};

const SECRET: &str = "my neighbour Alice Martin at 12 rue des Lilas";
const TRACKING: &str = "TRK-PERSONAL-0042";

async fn erase(app: &TestApp, token: &str, buyer: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/v1/buyers/{buyer}/erasure"),
        Some(token),
    )
    .json(&json!({}))
    .send()
    .await
    .unwrap()
}

async fn log_mentions(app: &TestApp, text: &str) -> i64 {
    let client = app.db.pool().get().await.unwrap();
    client
        .query_one(
            "SELECT count(*) FROM events WHERE data::text LIKE '%' || $1 || '%'",
            &[&text],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_operator_erases_a_buyers_data_and_nothing_else() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.buyer(), app.seller());
    app.given_order(&eu_order("o-1")).await;
    let mut request = return_request("o-1", &[(HEADPHONES, 1)], "defective");
    request["description"] = json!(format!("Broke at once; ask {SECRET}"));
    let id = id_of(&app.given_return(&buyer, &request).await);
    app.act(&seller, &id, "accept", &json!({})).await;
    let ship = json!({ "carrier": "DHL", "tracking_number": TRACKING });
    app.act(&buyer, &id, "ship", &ship).await;
    // The seller's answer, stored under its Idempotency-Key, quotes the buyer's text.
    let receive = app
        .action(&seller, &id, "receive", &json!({}), None, Some("rcv-1"))
        .await;
    let stored = expect_json(receive, 200).await;
    assert!(stored.to_string().contains(SECRET));

    // Another buyer's return, with text of its own.
    let mut other = eu_order("o-2");
    other["buyer_id"] = json!(OTHER_BUYER);
    app.given_order(&other).await;
    let mut other_request = return_request("o-2", &[(HEADPHONES, 1)], "defective");
    other_request["description"] = json!("The other buyer's own words");
    let other_id = id_of(&app.given_return(&app.other_buyer(), &other_request).await);

    // The tracking number never enters the log; it is kept apart like free text.
    assert_eq!(log_mentions(&app, TRACKING).await, 0);
    assert_eq!(log_mentions(&app, "Alice").await, 0);

    for token in [buyer.clone(), seller.clone(), app.platform()] {
        expect_problem(erase(&app, &token, BUYER).await, 403, "forbidden").await;
    }
    let done = expect_json(erase(&app, &app.operator(), BUYER).await, 200).await;
    assert_eq!(done["buyer_id"], BUYER);
    assert_eq!(done["returns_rebuilt"], 1);
    assert!(done["values_erased"].as_u64().unwrap() >= 3, "{done}");
    assert!(done["answers_dropped"].as_u64().unwrap() >= 1, "{done}");

    // Everywhere it is read, the text and the tracking number are gone; the case is whole.
    let view = expect_json(app.get_return(&app.operator(), &id).await, 200).await;
    assert_eq!(view["description"], "[erased]");
    assert_eq!(view["shipment"]["tracking_number"], "[erased]");
    assert_eq!(view["status"], stored["status"]);
    let events = expect_json(app.return_events(&app.operator(), &id).await, 200).await;
    let text = events.to_string();
    assert!(
        !text.contains("Alice") && !text.contains(TRACKING),
        "{text}"
    );
    assert!(events["items"].as_array().unwrap().len() >= 4);

    // The stored answer is gone: the same request with the same key runs again now.
    let again = app
        .action(&seller, &id, "receive", &json!({}), None, Some("rcv-1"))
        .await;
    let problem = expect_problem(again, 409, "invalid_transition").await;
    assert!(!problem.to_string().contains("Alice"));

    // The other buyer's return is untouched.
    let other_view: Value =
        expect_json(app.get_return(&app.operator(), &other_id).await, 200).await;
    assert_eq!(other_view["description"], "The other buyer's own words");

    // Erasing again finds nothing more to erase, and still answers.
    let twice = expect_json(erase(&app, &app.operator(), BUYER).await, 200).await;
    assert_eq!(twice["values_erased"], 0);
}
