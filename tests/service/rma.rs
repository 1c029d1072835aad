//! Finding a return by its RMA number (docs/api.md, "Returns"): as a person types it, for the
//! parties and the platform's side; someone else's is not found.

use reqwest::Method;
use returns_testkit::TestApp;
use serde_json::Value;

use crate::support::{
    assert_names_field, eu_order, expect_json, expect_problem, headphones_return, id_of, items_of,
    Api,
};

async fn by_rma(app: &TestApp, token: &str, rma: &str) -> reqwest::Response {
    app.request(Method::GET, &format!("/v1/rma/{rma}"), Some(token))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_return_is_found_by_its_rma_number_as_typed() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    app.given_order(&eu_order("o-2")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    app.given_return(&app.buyer(), &headphones_return("o-2"))
        .await;
    let (id, rma) = (id_of(&opened), opened["rma"].as_str().unwrap().to_owned());

    // Canonical, lower case without hyphens, without the prefix and with spaces: one return.
    let sloppy = rma.to_lowercase().replace('-', "");
    let bare = rma.trim_start_matches("RMA-").replace('-', " ");
    for typed in [rma.clone(), sloppy, bare] {
        for token in [app.buyer(), app.seller(), app.operator(), app.platform()] {
            let (view, etag) = crate::support::expect_json_with_etag(
                by_rma(&app, &token, &typed.replace(' ', "%20")).await,
                200,
            )
            .await;
            assert_eq!(view["id"], id.as_str(), "{typed}");
            assert_eq!(etag, format!("\"{}\"", view["version"]));
        }
    }
    // The list filter finds it too, and only it.
    let listed = expect_json(
        app.list_returns(&app.buyer(), &[("rma", &rma.to_lowercase())])
            .await,
        200,
    )
    .await;
    let ids: Vec<Value> = items_of(&listed).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [Value::from(id.as_str())]);

    // Another buyer or seller: not found, as for a number nobody has.
    for token in [app.other_buyer(), app.other_seller()] {
        expect_problem(by_rma(&app, &token, &rma).await, 404, "not_found").await;
    }
    let filtered = expect_json(
        app.list_returns(&app.other_buyer(), &[("rma", &rma)]).await,
        200,
    )
    .await;
    assert!(items_of(&filtered).is_empty());
}

#[tokio::test]
async fn a_mistyped_rma_number_is_refused_and_an_unknown_one_not_found() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let rma = opened["rma"].as_str().unwrap().to_owned();
    // One character changed: the check character catches it.
    let last = rma.chars().last().unwrap();
    let other = if last == 'A' { 'B' } else { 'A' };
    let mistyped = format!("{}{other}", &rma[..rma.len() - 1]);
    let problem = expect_problem(
        by_rma(&app, &app.operator(), &mistyped).await,
        422,
        "validation_failed",
    )
    .await;
    assert_names_field(&problem, "rma");
    let res = app
        .list_returns(&app.operator(), &[("rma", "not-an-rma")])
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    assert_names_field(&problem, "rma");
    // A well-formed number that no return has.
    let unknown = returns_domain::Rma::from_entropy(42);
    if unknown.as_str() != rma {
        expect_problem(
            by_rma(&app, &app.operator(), unknown.as_str()).await,
            404,
            "not_found",
        )
        .await;
    }
}
