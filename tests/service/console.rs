//! The console over HTTP: signing in with a token (an `HttpOnly`, `SameSite=Strict` cookie), a
//! buyer following a return by its RMA number in English and French, another buyer's return
//! "not found", the operators' dispute queue and its authorisation, and a form without its CSRF
//! token refused.

use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{eu_order, expect_success, return_request, ship_body, Api, HEADPHONES, SHIRT};
use returns_testkit::TestApp;

/// A client that shows redirects instead of following them.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in with `token`; the session cookie (`name=value`) the console set.
pub(crate) async fn sign_in(app: &TestApp, token: &str) -> String {
    let answer = browser()
        .post(app.url("/console/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/console");
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn page(
    app: &TestApp,
    cookie: &str,
    path: &str,
    lang: &str,
) -> (StatusCode, String) {
    let answer = browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .header(ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.text().await.unwrap())
}

/// The CSRF token of the first form of `html` that carries one.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..at + 64].to_owned()
}

/// A return of the buyer's on a new order `order_id`, declined by the seller and escalated: in the
/// operators' queue.
pub(crate) async fn disputed(app: &TestApp, order_id: &str) -> serde_json::Value {
    app.given_order(&eu_order(order_id)).await;
    let opened = app
        .given_return(
            &app.buyer(),
            &return_request(order_id, &[(SHIRT, 1)], "defective"),
        )
        .await;
    let id = opened["id"].as_str().unwrap().to_owned();
    app.act(
        &app.seller(),
        &id,
        "decline",
        &json!({"reason_text": "Worn, not defective"}),
    )
    .await;
    app.act(
        &app.buyer(),
        &id,
        "escalate",
        &json!({"reason_text": "It broke the first day"}),
    )
    .await
}

#[tokio::test]
async fn a_bad_token_is_refused_next_to_the_field_and_signs_nobody_in() {
    let app = TestApp::spawn().await;
    let answer = browser()
        .post(app.url("/console/login"))
        .header(ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9")
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get(SET_COOKIE).is_none());
    let html = answer.text().await.unwrap();
    assert!(html.contains("id=\"token-error\""), "{html}");
    assert!(html.contains("Ce jeton est invalide ou expiré."), "{html}");
    assert!(html.contains("<label for=\"token\">"), "{html}");
    // Without a session every page leads to the sign-in page.
    for path in ["/console", "/console/track", "/console/disputes"] {
        let answer = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        let to = answer.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(to == "/console/login", "{path} -> {to}");
    }
}

#[tokio::test]
async fn a_buyer_follows_their_return_by_rma_in_english_and_french() {
    let app = TestApp::spawn().await;
    let case = disputed(&app, "o-console").await;
    let rma = case["rma"].as_str().unwrap();
    let buyer = sign_in(&app, &app.buyer()).await;

    let (status, html) = page(&app, &buyer, &format!("/console/track?rma={rma}"), "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(rma), "{html}");
    assert!(html.contains("data-status=\"escalated\""), "{html}");
    // The language switch keeps the page: the same return, in French.
    assert!(
        html.contains(&format!("href=\"/console/track?rma={rma}&amp;lang=fr\"")),
        "{html}"
    );
    assert!(
        html.contains("With the platform&#39;s arbitration")
            || html.contains("With the platform's arbitration"),
        "{html}"
    );
    for step in ["Return requested", "Return declined", "Sent to arbitration"] {
        assert!(html.contains(step), "{step}: {html}");
    }
    assert!(html.contains("lang=\"en\""));

    let (_, html) = page(
        &app,
        &buyer,
        &format!("/console/track?rma={rma}"),
        "fr-CA,fr;q=0.9,en;q=0.5",
    )
    .await;
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(
        html.contains("Un opérateur tranche le litige avant le"),
        "the next step in French: {html}"
    );
    for words in [
        "Historique",
        "Retour demandé",
        "Retour refusé",
        "Transmis à l&#39;arbitrage",
    ] {
        let plain = words.replace("&#39;", "'");
        assert!(
            html.contains(words) || html.contains(&plain),
            "{words}: {html}"
        );
    }

    // Another buyer, and an RMA that is no one's, get the same "not found".
    let other = sign_in(&app, &app.other_buyer()).await;
    let (status, html) = page(&app, &other, &format!("/console/track?rma={rma}"), "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("No return of yours has this RMA number."),
        "{html}"
    );
    assert!(!html.contains("data-status"), "{html}");
    let (status, _) = page(&app, &buyer, "/console/track?rma=RMA-NOPE", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The buyer is no operator.
    let (status, _) = page(&app, &buyer, "/console/disputes", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operators_see_the_queue_with_unassigned_cases_marked() {
    let app = TestApp::spawn().await;
    let case = disputed(&app, "o-console").await;
    let rma = case["rma"].as_str().unwrap();
    let operator = sign_in(&app, &app.operator()).await;

    let home = browser()
        .get(app.url("/console"))
        .header(COOKIE, &operator)
        .send()
        .await
        .unwrap();
    assert_eq!(home.headers()[LOCATION], "/console/disputes");
    let (status, html) = page(&app, &operator, "/console/disputes", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!("/console/track?rma={rma}")),
        "{html}"
    );
    assert!(html.contains("<span class=\"tag\">unassigned"), "{html}");
    // The operator may follow the case too.
    let (status, html) = page(&app, &operator, &format!("/console/track?rma={rma}"), "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");

    // Filters: by seller, by who has it, by age.
    let listed = |query: &'static str| {
        let (app, operator) = (&app, &operator);
        async move {
            let (status, html) =
                page(app, operator, &format!("/console/disputes?{query}"), "en").await;
            assert_eq!(status, StatusCode::OK, "{html}");
            html.contains(&format!("/console/track?rma={rma}"))
        }
    };
    let (status, html) = page(
        &app,
        &operator,
        "/console/disputes?seller_id=no%20such%20id!",
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"seller_id-error\""), "{html}");
    assert!(
        !html.contains(&format!("/console/track?rma={rma}")),
        "{html}"
    );
    assert!(listed("seller_id=seller-1").await);
    assert!(!listed("seller_id=seller-2").await);
    assert!(listed("assignee=none").await);
    assert!(!listed("assignee=me").await);
    assert!(!listed("older_than_days=2").await);
    assert!(!listed("overdue=1").await);
    expect_success(app.advance_clock(49).await).await;
    assert!(listed("older_than_days=2").await);
    // Past its decision deadline (a few business days).
    expect_success(app.advance_clock(24 * 10).await).await;
    assert!(listed("overdue=1").await);
}

#[tokio::test]
async fn signing_out_needs_the_forms_csrf_token() {
    let app = TestApp::spawn().await;
    let buyer = sign_in(&app, &app.buyer()).await;
    let (_, html) = page(&app, &buyer, "/console/track", "en").await;
    let csrf = csrf_of(&html);

    // Without the token (or with another), nothing changes: the session stays.
    for posted in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let answer = browser()
            .post(app.url("/console/logout"))
            .header(COOKIE, &buyer)
            .form(&[("csrf", posted)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        assert!(answer.headers().get(SET_COOKIE).is_none());
    }
    let (status, _) = page(&app, &buyer, "/console/track", "en").await;
    assert_eq!(status, StatusCode::OK);

    let answer = browser()
        .post(app.url("/console/logout"))
        .header(COOKIE, &buyer)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cleared = answer.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("returns_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn the_language_switch_is_kept_in_a_cookie() {
    let app = TestApp::spawn().await;
    let answer = browser()
        .get(app.url("/console/login?lang=fr"))
        .header(ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("returns_lang=fr"), "{cookie}");
    let html = answer.text().await.unwrap();
    assert!(html.contains("Se connecter"), "{html}");
    // The cookie wins over the browser's languages; the switch offers the other one.
    let (_, html) = page(&app, "returns_lang=fr", "/console/login", "en").await;
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(html.contains("href=\"/console/login?lang=en\""), "{html}");
}

/// The status of return `id`, as the API shows it to an operator.
async fn status_of(app: &TestApp, id: &str) -> String {
    let answer = app
        .request(
            Method::GET,
            &format!("/v1/returns/{id}"),
            Some(&app.operator()),
        )
        .send()
        .await
        .unwrap();
    let case: serde_json::Value = answer.json().await.unwrap();
    case["status"].as_str().unwrap().to_owned()
}

/// Posts a decision to refund `amount` (as typed), funded by the seller, to `path`.
async fn refund_decision(
    app: &TestApp,
    cookie: &str,
    path: &str,
    csrf: &str,
    amount: &str,
) -> reqwest::Response {
    let form = [
        ("csrf", csrf),
        ("outcome", "refund_buyer"),
        ("refund_amount", amount),
        ("funded_by", "seller"),
        ("rationale", "The photos show the defect"),
    ];
    post_form(app, cookie, path, &form).await
}

/// Posts `form` to `path` with the session `cookie`.
async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header(ACCEPT_LANGUAGE, "en")
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_operator_takes_and_decides_a_dispute_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let case = disputed(&app, "o-console").await;
    let (id, rma) = (case["id"].as_str().unwrap(), case["rma"].as_str().unwrap());
    let operator = sign_in(&app, &app.operator()).await;
    let track = format!("/console/track?rma={rma}");
    let (_, html) = page(&app, &operator, &track, "en").await;
    assert!(html.contains("Recommendation"), "{html}");
    assert!(html.contains("<label for=\"decide-rationale\">"), "{html}");
    // Each reason in words: in English with its own sentence, in French in French.
    assert!(
        html.contains("<li data-rule=\"legal_guarantee\"><strong>The legal guarantee of conformity covers the claim</strong>: "),
        "{html}"
    );
    let (_, french) = page(&app, &operator, &track, "fr").await;
    assert!(
        french.contains("<strong>La garantie légale de conformité couvre la réclamation</strong>"),
        "{french}"
    );
    let csrf = csrf_of(&html);
    let decide = format!("/console/returns/{id}/decide");

    // An amount that is no amount: shown next to the field, nothing decided.
    let answer = refund_decision(&app, &operator, &decide, &csrf, "ten euros").await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("id=\"decide-refund_amount-error\""), "{html}");
    assert!(
        html.contains("The photos show the defect"),
        "the entry is kept: {html}"
    );
    assert_eq!(status_of(&app, id).await, "escalated");
    // More than the buyer paid: the API's own refusal, next to the same field.
    let answer = refund_decision(&app, &operator, &decide, &csrf, "100000").await;
    assert!(answer.status().is_client_error(), "{}", answer.status());
    assert!(answer.text().await.unwrap().contains("role=\"alert\""));
    assert_eq!(status_of(&app, id).await, "escalated");
    // Without the CSRF token: refused, nothing decided.
    let answer = post_form(
        &app,
        &operator,
        &decide,
        &[("outcome", "side_with_seller"), ("rationale", "No")],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, id).await, "escalated");

    // Assign to me, then decide.
    let answer = post_form(
        &app,
        &operator,
        &format!("/console/returns/{id}/assign"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &operator, "/console/disputes", "en").await;
    assert!(!html.contains("<span class=\"tag\">unassigned"), "{html}");
    assert!(html.contains("<td>operator-1</td>"), "{html}");
    let answer = refund_decision(&app, &operator, &decide, &csrf, "10.00").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION].to_str().unwrap(), track);
    assert_ne!(status_of(&app, id).await, "escalated");
    let (_, html) = page(&app, &operator, &track, "en").await;
    assert!(html.contains("Dispute decided"), "{html}");
}

#[tokio::test]
async fn a_buyer_cannot_decide_their_own_dispute_from_the_console() {
    let app = TestApp::spawn().await;
    let case = disputed(&app, "o-console").await;
    let id = case["id"].as_str().unwrap();
    let buyer = sign_in(&app, &app.buyer()).await;
    let (_, html) = page(&app, &buyer, "/console/track", "en").await;
    let csrf = csrf_of(&html);
    let answer = post_form(
        &app,
        &buyer,
        &format!("/console/returns/{id}/decide"),
        &[
            ("csrf", &csrf),
            ("outcome", "refund_buyer"),
            ("refund_amount", "10.00"),
            ("funded_by", "platform"),
            ("rationale", "I decide"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    // And another buyer's case is not found.
    let other = sign_in(&app, &app.other_buyer()).await;
    let (_, html) = page(&app, &other, "/console/track", "en").await;
    let answer = post_form(
        &app,
        &other,
        &format!("/console/returns/{id}/assign"),
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_pages_count_against_the_callers_rate_limit() {
    let app = TestApp::spawn_with(|settings| {
        settings.rate_limits = returns_api::limits::RateLimitSettings {
            party_per_minute: 3,
            ..returns_api::limits::RateLimitSettings::default()
        }
    })
    .await;
    let buyer = sign_in(&app, &app.buyer()).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(page(&app, &buyer, "/console/track", "en").await.0);
    }
    assert_eq!(statuses[0], StatusCode::OK);
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let (status, html) = page(&app, &buyer, "/console/track", "fr").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("Trop de requêtes"), "{html}");
}

/// A refund of the headphones of a new order `order_id`, requested by the buyer: its id and RMA.
pub(crate) async fn requested(app: &TestApp, order_id: &str) -> (String, String) {
    app.given_order(&eu_order(order_id)).await;
    let opened = app
        .given_return(
            &app.buyer(),
            &return_request(order_id, &[(HEADPHONES, 1)], "defective"),
        )
        .await;
    let text = |key: &str| opened[key].as_str().unwrap().to_owned();
    (text("id"), text("rma"))
}

#[tokio::test]
async fn a_buyer_opens_a_return_from_an_order_and_a_form_without_items_changes_nothing() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-open")).await;
    let buyer = sign_in(&app, &app.buyer()).await;
    let (status, html) = page(&app, &buyer, "/console/orders?order_id=o-open", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Cotton T-shirt"), "{html}");
    let quantity = format!("quantity.{SHIRT}");
    assert!(html.contains(&format!("name=\"{quantity}\"")), "{html}");
    let csrf = csrf_of(&html);

    // Nothing chosen: the problem next to the items, no return opened.
    let answer = post_form(
        &app,
        &buyer,
        "/console/orders/o-open/return",
        &[
            ("csrf", &csrf),
            ("reason", "size_fit"),
            ("resolution", "refund"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("id=\"items-error\""), "{html}");
    // More than was bought: the API's own refusal, the entry kept.
    let answer = post_form(
        &app,
        &buyer,
        "/console/orders/o-open/return",
        &[
            ("csrf", &csrf),
            (&quantity, "9"),
            ("reason", "size_fit"),
            ("resolution", "refund"),
            ("description", "Too small"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("Too small"), "the entry is kept: {html}");
    let listed = app
        .request(Method::GET, "/v1/returns", Some(&app.buyer()))
        .send()
        .await
        .unwrap();
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");

    // One shirt: opened, and its tracking page shown.
    let answer = post_form(
        &app,
        &buyer,
        "/console/orders/o-open/return",
        &[
            ("csrf", &csrf),
            (&quantity, "1"),
            ("reason", "size_fit"),
            ("resolution", "refund"),
            ("description", "Too small"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let to = answer.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to.starts_with("/console/track?rma=RMA-"), "{to}");
    let (_, html) = page(&app, &buyer, &to, "en").await;
    assert!(html.contains("data-status=\"requested\""), "{html}");
    let (_, html) = page(&app, &buyer, "/console/returns", "en").await;
    assert!(html.contains(&to[to.len() - 13..]), "{html}");

    // Another buyer's order is not found, and cannot be returned.
    let other = sign_in(&app, &app.other_buyer()).await;
    let (status, _) = page(&app, &other, "/console/orders?order_id=o-open", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = page(&app, &other, "/console/orders", "en").await;
    let answer = post_form(
        &app,
        &other,
        "/console/orders/o-open/return",
        &[
            ("csrf", &csrf_of(&html)),
            (&quantity, "1"),
            ("reason", "size_fit"),
            ("resolution", "refund"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_seller_answers_from_the_inbox_then_receives_and_inspects() {
    let app = TestApp::spawn().await;
    let (id, rma) = &requested(&app, "o-inbox").await;
    let seller = sign_in(&app, &app.seller()).await;

    // The inbox: the return waits for the seller, with its deadline.
    let (status, html) = page(&app, &seller, "/console/returns", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("data-rma=\"{rma}\"")), "{html}");
    assert!(html.contains("your move"), "{html}");
    let track = format!("/console/track?rma={rma}");
    let (_, html) = page(&app, &seller, &track, "en").await;
    for form in ["form-accept", "form-decline", "form-offer"] {
        assert!(html.contains(&format!("id=\"{form}\"")), "{form}: {html}");
    }
    assert!(
        !html.contains("id=\"form-ship\""),
        "the buyer's form: {html}"
    );
    let csrf = csrf_of(&html);

    // A decline without a reason: the API's problem next to the field, nothing changed.
    let answer = post_form(
        &app,
        &seller,
        &format!("/console/returns/{id}/decline"),
        &[("csrf", &csrf), ("reason_text", "  ")],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("id=\"decline-reason_text-error\""), "{html}");
    assert_eq!(status_of(&app, id).await, "requested");

    // Accepted with a prepaid label, which the buyer then sees.
    let answer = post_form(
        &app,
        &seller,
        &format!("/console/returns/{id}/accept"),
        &[
            ("csrf", &csrf),
            ("instructions", "Keep the original box"),
            ("label.carrier", "DHL"),
            ("label.tracking_number", "JD0146"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION].to_str().unwrap(), track);
    assert_eq!(status_of(&app, id).await, "authorized");
    let buyer = sign_in(&app, &app.buyer()).await;
    let (_, html) = page(&app, &buyer, &track, "en").await;
    assert!(html.contains("DHL JD0146"), "{html}");

    // The buyer ships from the page; the seller records the arrival, then the inspection.
    let ship = ship_body();
    let answer = post_form(
        &app,
        &buyer,
        &format!("/console/returns/{id}/ship"),
        &[
            ("csrf", &csrf_of(&html)),
            ("carrier", ship["carrier"].as_str().unwrap()),
            ("tracking_number", ship["tracking_number"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "in_transit");
    let answer = post_form(
        &app,
        &seller,
        &format!("/console/returns/{id}/receive"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "delivered");
    // An amount that is no amount is refused next to the field.
    let inspect = format!("/console/returns/{id}/inspect");
    let answer = post_form(
        &app,
        &seller,
        &inspect,
        &[
            ("csrf", &csrf),
            ("grade", "as_new"),
            ("refund_amount", "all of it"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(
        html.contains("id=\"inspect-refund_amount-error\""),
        "{html}"
    );
    assert_eq!(status_of(&app, id).await, "delivered");
    let answer = post_form(
        &app,
        &seller,
        &inspect,
        &[
            ("csrf", &csrf),
            ("grade", "as_new"),
            ("refund_amount", "49.99"),
            ("notes", "Sealed"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let after = status_of(&app, id).await;
    assert!(
        ["refund_pending", "closed"].contains(&after.as_str()),
        "{after}"
    );
    let (_, html) = page(&app, &seller, &track, "en").await;
    assert!(html.contains("Item inspected: As new"), "{html}");
    assert!(html.contains("<blockquote>Sealed</blockquote>"), "{html}");
}

#[tokio::test]
async fn a_buyer_accepts_an_offer_on_the_tracking_page_and_cannot_take_the_sellers_actions() {
    let app = TestApp::spawn().await;
    let (id, rma) = &requested(&app, "o-offer").await;
    app.act(
        &app.seller(),
        id,
        "offer",
        &json!({"kind": "partial_refund", "amount_minor": 1500}),
    )
    .await;
    let buyer = sign_in(&app, &app.buyer()).await;
    let track = format!("/console/track?rma={rma}");
    let (_, html) = page(&app, &buyer, &track, "en").await;
    assert!(html.contains("id=\"offer\""), "{html}");
    assert!(html.contains("15.00"), "{html}");
    assert!(html.contains("id=\"form-accept-offer\""), "{html}");
    assert!(html.contains("id=\"form-decline-offer\""), "{html}");
    let csrf = csrf_of(&html);
    // A seller's action is refused as the API refuses it, and changes nothing.
    let answer = post_form(
        &app,
        &buyer,
        &format!("/console/returns/{id}/accept"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, id).await, "offer_pending");
    // An action that does not exist names nothing.
    let answer = post_form(
        &app,
        &buyer,
        &format!("/console/returns/{id}/teleport"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    let answer = post_form(
        &app,
        &buyer,
        &format!("/console/returns/{id}/accept-offer"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_ne!(status_of(&app, id).await, "offer_pending");
    let (_, html) = page(&app, &buyer, &track, "en").await;
    assert!(html.contains("Offer accepted"), "{html}");
}

/// A sign-in link's token for `role` and `sub`, valid `ttl` seconds, as the marketplace signs it.
pub(crate) fn link_token(role: returns_api::auth::Role, sub: &str, ttl: i64) -> String {
    let keys =
        returns_api::auth::JwtKeys::hs256(crate::support::TEST_JWT_SECRET.as_bytes()).unwrap();
    let now = crate::support::unix_now();
    let claims = returns_api::auth::Claims::login_link(
        sub,
        role,
        now,
        ttl,
        &returns_api::auth::TokenChecks::default(),
    );
    keys.mint(&claims).unwrap()
}

#[tokio::test]
async fn a_sign_in_link_works_once_and_only_in_the_console() {
    let app = TestApp::spawn().await;
    let case = disputed(&app, "o-link").await;
    let rma = case["rma"].as_str().unwrap();
    let token = link_token(returns_api::auth::Role::Buyer, crate::support::BUYER, 600);
    let next = format!("/console/track?rma={rma}");

    // Opening the link changes nothing: it shows whose session it opens, and a button.
    let answer = browser()
        .get(app.url("/console/login/link"))
        .query(&[("token", token.as_str()), ("next", next.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers().get(SET_COOKIE).is_none());
    assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
    let html = answer.text().await.unwrap();
    assert!(html.contains("Buyer buyer-1"), "{html}");
    assert!(html.contains("action=\"/console/login/link\""), "{html}");

    // Pressing the button signs in and goes to the page the link named.
    let redeem = |token: String, next: String| {
        let app = &app;
        async move {
            browser()
                .post(app.url("/console/login/link"))
                .form(&[("token", token), ("next", next)])
                .send()
                .await
                .unwrap()
        }
    };
    // Posted from another site's page: refused, nobody signed in, and the link not used up.
    for (header, value) in [
        ("origin", "https://elsewhere.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let answer = browser()
            .post(app.url("/console/login/link"))
            .header(header, value)
            .form(&[("token", token.as_str()), ("next", next.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{header}");
        assert!(answer.headers().get(SET_COOKIE).is_none());
        let answer = browser()
            .post(app.url("/console/login"))
            .header(header, value)
            .form(&[("token", app.buyer())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{header}");
        assert!(answer.headers().get(SET_COOKIE).is_none());
    }
    let answer = redeem(token.clone(), next.clone()).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION].to_str().unwrap(), next);
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let (status, html) = page(&app, &session, &next, "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("data-status=\"escalated\""), "{html}");

    // Used once: refused the second time.
    let answer = redeem(token.clone(), next.clone()).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get(SET_COOKIE).is_none());
    assert!(answer.text().await.unwrap().contains("was used already"));

    // The link's token is not an API token.
    let answer = app
        .request(
            Method::GET,
            &format!("/v1/returns/{}", case["id"].as_str().unwrap()),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);

    // Refused: an API token as a link, an expired link, a link valid for too long; and a link
    // naming another site goes to the console instead.
    let long = link_token(returns_api::auth::Role::Buyer, crate::support::BUYER, 3600);
    let expired = link_token(returns_api::auth::Role::Buyer, crate::support::BUYER, -120);
    for refused in [app.buyer(), expired, long] {
        let answer = redeem(refused, String::new()).await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert!(answer.headers().get(SET_COOKIE).is_none());
    }
    let fresh = link_token(returns_api::auth::Role::Operator, "operator-1", 60);
    let answer = redeem(fresh, "https://elsewhere.example/".into()).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION].to_str().unwrap(), "/console");
}

#[tokio::test]
async fn a_seller_edits_the_policy_sees_the_legal_floor_and_keeps_what_the_form_does_not_show() {
    let app = TestApp::spawn().await;
    let seller_id = crate::support::SELLER;
    app.given_policy(
        seller_id,
        &json!({"return_methods": [{"method": "mail"}, {"method": "relay_point", "buyer_pays": "never"}]}),
    )
    .await;
    let seller = sign_in(&app, &app.seller()).await;
    let (status, html) = page(&app, &seller, "/console/policy", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"policy-version\">1<"), "{html}");
    assert!(html.contains("id=\"what-buyers-get\""), "{html}");
    let csrf = csrf_of(&html);
    let form = |window: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("seller_id", seller_id.to_owned()),
            ("return_window_days", window.to_owned()),
            ("restocking_fee_percent", "10".to_owned()),
            ("return_shipping_fee_minor", "0".to_owned()),
            ("auto_approve_max_minor", "0".to_owned()),
            ("returnless_refund_max_minor", "0".to_owned()),
            ("seller_response_business_days", "3".to_owned()),
            ("ship_by_days", "10".to_owned()),
            ("inspect_business_days", "3".to_owned()),
            ("store_credit_bonus_percent", "0".to_owned()),
            ("non_returnable_categories", "food, gift_cards".to_owned()),
            ("buyer_pays.changed_mind", "true".to_owned()),
            ("refund_method.original_payment", "true".to_owned()),
            ("on_seller_timeout", "escalate".to_owned()),
            ("version", "1".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let seller = &seller;
        async move {
            browser()
                .post(app.url("/console/policy"))
                .header(COOKIE, seller.as_str())
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };

    let stored_policy = || async {
        let answer = app.get_policy(&app.seller(), seller_id).await;
        answer.json::<serde_json::Value>().await.unwrap()
    };

    // A window that is no number: refused next to the field, nothing stored.
    let answer = post(form("a week")).await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("id=\"return_window_days-error\""), "{html}");
    assert!(
        html.contains("value=\"a week\""),
        "the entry is kept: {html}"
    );
    let policy = stored_policy().await;
    assert_eq!(policy["policy_version"], 1, "{policy}");

    // A 7-day window: stored as version 2, the return methods kept; EU buyers still get 14 days.
    let answer = post(form("7")).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let policy = stored_policy().await;
    assert_eq!(policy["policy_version"], 2, "{policy}");
    assert_eq!(policy["return_window_days"], 7);
    assert_eq!(
        policy["non_returnable_categories"],
        json!(["food", "gift_cards"])
    );
    assert_eq!(
        policy["buyer_pays_return_shipping_for"],
        json!(["changed_mind"])
    );
    assert_eq!(
        policy["return_methods"].as_array().unwrap().len(),
        2,
        "{policy}"
    );
    // The same form again, made on version 1: the policy moved on, so it is refused (409) and
    // version 2 stays.
    let answer = post(form("9")).await;
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert_eq!(stored_policy().await["policy_version"], 2);
    let (_, html) = page(&app, &seller, "/console/policy", "en").await;
    assert!(
        html.contains("14 days <span class=\"tag\">legal minimum"),
        "{html}"
    );
    // No restocking fee can apply within the 14 days of withdrawal, which cover the whole window.
    assert!(
        html.contains("none <span class=\"tag\">legal floor"),
        "{html}"
    );

    // An operator reaches any seller's policy; a buyer none.
    let operator = sign_in(&app, &app.operator()).await;
    let (status, html) = page(
        &app,
        &operator,
        &format!("/console/policy?seller_id={seller_id}"),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"policy-version\">2<"), "{html}");
    let buyer = sign_in(&app, &app.buyer()).await;
    let (status, _) = page(&app, &buyer, "/console/policy", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_inbox_shows_the_open_returns_unless_asked_for_others() {
    let app = TestApp::spawn().await;
    let closed_id = crate::support::a_refunded_return(&app, "o-closed").await;
    let closed = app.return_view(&closed_id).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    let closed_rma = closed["rma"].as_str().unwrap();
    let (_, open_rma) = requested(&app, "o-open").await;
    let seller = sign_in(&app, &app.seller()).await;
    let open_rma = open_rma.as_str();
    let shows = |query: &'static str| {
        let (app, seller) = (&app, &seller);
        async move {
            let (status, html) = page(app, seller, &format!("/console/returns{query}"), "en").await;
            assert_eq!(status, StatusCode::OK, "{html}");
            (
                html.contains(&format!("data-rma=\"{open_rma}\"")),
                html.contains(&format!("data-rma=\"{closed_rma}\"")),
            )
        }
    };
    assert_eq!(shows("").await, (true, false));
    assert_eq!(shows("?status=all").await, (true, true));
    assert_eq!(shows("?status=closed").await, (false, true));
    assert_eq!(shows("?status=requested").await, (true, false));
    // A cursor that is none starts from the top.
    assert_eq!(shows("?cursor=nonsense").await, (true, false));
}

#[tokio::test]
async fn the_inbox_puts_the_most_urgent_open_return_first_across_pages() {
    let app = TestApp::spawn().await;
    // The oldest request is the most urgent; a hundred newer ones follow three days later (the
    // seller's answer is due a number of business days on, at the end of a day).
    let (_, urgent) = requested(&app, "o-urgent").await;
    expect_success(app.advance_clock(72).await).await;
    for n in 0..100 {
        requested(&app, &format!("o-later-{n}")).await;
    }
    let seller = sign_in(&app, &app.seller()).await;
    let (status, html) = page(&app, &seller, "/console/returns", "en").await;
    assert_eq!(status, StatusCode::OK);
    let first = html.find("data-rma=\"").map(|at| &html[at + 10..at + 23]);
    assert_eq!(first, Some(urgent.as_str()), "{html}");
    assert_eq!(html.matches("data-rma=").count(), 100);
    assert!(html.contains("href=\"/console/returns?page=2\""), "{html}");
    let (_, html) = page(&app, &seller, "/console/returns?page=2", "en").await;
    assert_eq!(html.matches("data-rma=").count(), 1, "{html}");
    assert!(!html.contains(&format!("data-rma=\"{urgent}\"")));
    // Every return, newest first: the urgent one is on the second page of those.
    let (_, html) = page(&app, &seller, "/console/returns?status=all", "en").await;
    assert!(!html.contains(&format!("data-rma=\"{urgent}\"")));
    assert!(html.contains("rel=\"next\""), "{html}");
}
