//! The console's oversight pages over HTTP: an operator lists abuse flags, opens one with its
//! evidence and confirms it with the review form (the API then shows it reviewed); a review
//! without its CSRF token, and reviews the API refuses, change nothing and are shown in words; a
//! party's risk page; a seller's own analytics with server-drawn charts, another seller's
//! refused; buyers refused every oversight page; an operator queues a parked webhook delivery
//! again, and a second retry is refused in words.
//!
//! Flags come from the abuse projection and deliveries from the dispatcher, which run in the
//! background: the waits below are bounded and wait for them, never for a clock to move.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Method, StatusCode};
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::abuse::{empty_box_buyer, flag_of_kind};
use crate::console::{browser, csrf_of, page, sign_in};
use crate::support::{
    a_refunded_return, eu_order, expect_json, headphones_return, id_of, return_request, Api, BUYER,
    SELLER, SHIRT,
};
use crate::webhooks::{deliveries, first_attempt_a_day_ago, given_webhook, history_ids, Receiver};

/// Posts `form` to `path` with the session `cookie`; the answer's status, `Location` and body.
async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let answer = browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, answer.text().await.unwrap())
}

/// A flag as the API shows it to an operator.
async fn api_flag(app: &TestApp, id: &str) -> Value {
    let answer = app
        .request(
            Method::GET,
            &format!("/v1/flags/{id}"),
            Some(&app.operator()),
        )
        .send()
        .await
        .unwrap();
    expect_json(answer, 200).await
}

/// The buyer's open empty-box flag (two of its returns are the evidence) and those returns.
async fn flagged(app: &TestApp) -> (Value, Vec<String>) {
    let returns = empty_box_buyer(app).await;
    (flag_of_kind(app, "empty_box_returns").await, returns)
}

#[tokio::test]
async fn an_operator_lists_flags_and_confirms_one_through_the_review_form() {
    let app = TestApp::spawn().await;
    let (flag, returns) = flagged(&app).await;
    let id = flag["id"].as_str().unwrap();
    let operator = sign_in(&app, &app.operator()).await;

    // The list: the party linked to its risk, the kind in words, the figures against the
    // threshold, the status.
    let (status, html) = page(&app, &operator, "/console/flags", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches("<h1>").count(), 1, "{html}");
    assert!(
        html.contains(&format!("href=\"/console/flags/{id}\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/console/parties/buyer/{BUYER}\"")),
        "{html}"
    );
    assert!(
        html.contains("Sends back empty boxes or other items"),
        "{html}"
    );
    let figures = format!(
        "{} of {} {} (",
        flag["metrics"]["count"],
        flag["metrics"]["denominator"],
        flag["metrics"]["per"].as_str().unwrap()
    );
    assert!(html.contains(&figures), "{figures}: {html}");
    assert!(html.contains("; threshold: at least 2 and "), "{html}");
    assert!(html.contains("data-status=\"open\""), "{html}");
    assert!(html.contains("<label for=\"status\">"), "{html}");
    // Filtered by status; a status that is none is said next to the field.
    let (_, confirmed) = page(&app, &operator, "/console/flags?status=confirmed", "en").await;
    assert!(confirmed.contains("id=\"no-flags\""), "{confirmed}");
    assert!(
        !confirmed.contains(&format!("/console/flags/{id}\"")),
        "{confirmed}"
    );
    let (status, bad) = page(&app, &operator, "/console/flags?status=closed", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("id=\"status-error\""), "{bad}");
    assert!(bad.contains("one of open, confirmed, dismissed"), "{bad}");

    // The flag: its evidence links to each return's case page by RMA, with the log positions.
    let path = format!("/console/flags/{id}");
    let (status, html) = page(&app, &operator, &path, "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for return_id in &returns {
        let rma = app.return_view(return_id).await["rma"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            html.contains(&format!("href=\"/console/track?rma={rma}\"")),
            "{rma}: {html}"
        );
    }
    for position in flag["evidence"]["event_positions"].as_array().unwrap() {
        assert!(html.contains(&position.to_string()), "{position}: {html}");
    }
    assert!(
        html.contains("<tr data-figure=\"count\"><th scope=\"row\">Count</th><td>2</td></tr>"),
        "{html}"
    );
    assert!(html.contains("<label for=\"note\">"), "{html}");
    assert!(html.contains("value=\"confirmed\""), "{html}");
    assert!(html.contains("value=\"dismissed\""), "{html}");
    let csrf = csrf_of(&html);

    // Confirmed through the form: back to the flag, which shows the review.
    let review = format!("/console/flags/{id}/review");
    let note = "Two empty boxes within a week";
    let (status, location, _) = post_form(
        &app,
        &operator,
        &review,
        &[
            ("csrf", &csrf),
            ("verdict", "confirmed"),
            ("note", note),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let (_, html) = page(&app, &operator, &path, "en").await;
    assert!(html.contains("data-status=\"confirmed\""), "{html}");
    assert!(html.contains(note), "{html}");
    // A confirmed flag can only be lifted now.
    assert!(!html.contains("value=\"confirmed\""), "{html}");
    assert!(html.contains("Dismiss: lift the flag"), "{html}");

    // The API shows the same review.
    let reviewed = api_flag(&app, id).await;
    assert_eq!(reviewed["status"], "confirmed");
    assert_eq!(reviewed["version"], 2);
    assert_eq!(reviewed["review"]["reviewed_by"], "operator-1");
    assert_eq!(reviewed["review"]["note"], note);

    // In French.
    let (_, html) = page(&app, &operator, &path, "fr").await;
    assert!(html.contains("Signalement d&#39;abus") || html.contains("Signalement d'abus"));
    assert!(html.contains("Confirmé"), "{html}");

    // The buyer's risk page: the figures and the flag.
    let (status, html) = page(
        &app,
        &operator,
        &format!("/console/parties/buyer/{BUYER}"),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("Risk: buyer {BUYER}")), "{html}");
    assert!(html.contains("<tr data-figure=\"graded_empty_box\"><th scope=\"row\">Empty boxes</th><td>2</td></tr>"), "{html}");
    assert!(
        html.contains(&format!("href=\"/console/flags/{id}\"")),
        "{html}"
    );
    let (status, _) = page(&app, &operator, "/console/parties/courier/c-1", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reviews_without_the_csrf_token_or_refused_by_the_api_change_nothing() {
    let app = TestApp::spawn().await;
    let (flag, _) = flagged(&app).await;
    let id = flag["id"].as_str().unwrap();
    let operator = sign_in(&app, &app.operator()).await;
    let path = format!("/console/flags/{id}");
    let review = format!("{path}/review");
    let (_, html) = page(&app, &operator, &path, "en").await;
    let csrf = csrf_of(&html);

    // Without the form's token (or with another), refused.
    for posted in ["", &"0".repeat(64)] {
        let (status, _, _) = post_form(
            &app,
            &operator,
            &review,
            &[("csrf", posted), ("verdict", "confirmed")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(api_flag(&app, id).await["status"], "open");

    // A note over 4000 characters: said next to the note, what was entered kept.
    let long = "x".repeat(4001);
    let (status, _, html) = post_form(
        &app,
        &operator,
        &review,
        &[("csrf", &csrf), ("verdict", "dismissed"), ("note", &long)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"note-error\""), "{html}");
    assert!(html.contains("must be at most 4000 characters"), "{html}");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains(&long), "the note is kept");
    // No verdict: said next to the verdict.
    let (status, _, html) =
        post_form(&app, &operator, &review, &[("csrf", &csrf), ("note", "hm")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"verdict-error\""), "{html}");
    // No version of the page: none of the console's forms, refused.
    let (status, _, _) = post_form(
        &app,
        &operator,
        &review,
        &[("csrf", &csrf), ("verdict", "dismissed")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let unchanged = api_flag(&app, id).await;
    assert_eq!(unchanged["status"], "open");
    assert_eq!(unchanged["version"], 1);

    // A page older than the flag: the review names the version it saw and is refused.
    let (status, location, _) = post_form(
        &app,
        &operator,
        &review,
        &[("csrf", &csrf), ("verdict", "dismissed"), ("version", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "dismissed");
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let (status, _, html) = post_form(
        &app,
        &operator,
        &review,
        &[("csrf", &csrf), ("verdict", "dismissed"), ("version", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("data-code=\"version_conflict\""), "{html}");

    // A dismissed flag is final: the API's 409, in words, above where the form was.
    let (status, _, html) = post_form(
        &app,
        &operator,
        &review,
        &[("csrf", &csrf), ("verdict", "confirmed"), ("version", "2")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("data-code=\"invalid_transition\""), "{html}");
    assert!(html.contains("a dismissal is final"), "{html}");
    assert!(html.contains("id=\"review-final\""), "{html}");
    let after = api_flag(&app, id).await;
    assert_eq!(after["status"], "dismissed");
    assert_eq!(after["version"], 2);
    // In French too.
    let (_, _, html) = post_form(
        &app,
        &format!("{operator}; returns_lang=fr"),
        &review,
        &[("csrf", &csrf), ("verdict", "confirmed"), ("version", "2")],
    )
    .await;
    assert!(
        html.contains("l&#39;est définitivement") || html.contains("l'est définitivement"),
        "{html}"
    );
}

/// Waits (bounded) until the analytics projection shows `returns` returns of the seller's over
/// the default range.
pub(crate) async fn analytics_settled(app: &TestApp, returns: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = app
            .request(Method::GET, "/v1/analytics/summary", Some(&app.seller()))
            .send()
            .await
            .unwrap();
        let body = expect_json(answer, 200).await;
        if body["returns"] == returns {
            return;
        }
        assert!(Instant::now() < deadline, "analytics never settled: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_seller_sees_its_own_analytics_with_charts_and_not_another_sellers() {
    let app = TestApp::spawn().await;
    a_refunded_return(&app, "o-1").await;
    app.given_order(&eu_order("o-2")).await;
    app.given_return(
        &app.buyer(),
        &return_request("o-2", &[(SHIRT, 1)], "size_fit"),
    )
    .await;
    analytics_settled(&app, 2).await;

    let seller = sign_in(&app, &app.seller()).await;
    let (status, html) = page(&app, &seller, "/console/analytics", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches("<h1>").count(), 1, "{html}");
    assert!(
        html.contains(&format!("<strong>{SELLER}</strong>")),
        "{html}"
    );
    assert!(html.contains("data-figure=\"returns\">2<"), "{html}");
    assert!(html.contains("data-figure=\"orders\">2<"), "{html}");
    assert!(
        html.contains("data-figure=\"return_rate\">100.0%<"),
        "{html}"
    );
    // The charts: inline SVG, each an image with a title, its numbers as a table.
    assert!(html.contains("<svg"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    for chart in ["over-time", "by-reason", "by-category"] {
        assert!(
            html.contains(&format!("<svg id=\"{chart}\"")),
            "{chart}: {html}"
        );
        assert!(
            html.contains(&format!("<title id=\"{chart}-title\">")),
            "{chart}: {html}"
        );
    }
    assert!(html.contains("role=\"img\""), "{html}");
    assert!(html.contains("Returns per week"), "{html}");
    assert!(
        html.contains("<th scope=\"row\">Defective</th><td>1</td>"),
        "{html}"
    );
    assert!(
        html.contains("<th scope=\"row\">Size or fit</th><td>1</td>"),
        "{html}"
    );
    assert!(
        html.contains("<th scope=\"row\">electronics</th><td>1</td>"),
        "{html}"
    );
    assert!(html.contains("49.99 EUR"), "the refund: {html}");
    // The seller's field is implied, not offered.
    assert!(!html.contains("name=\"seller_id\""), "{html}");
    for field in ["from", "to"] {
        assert!(html.contains(&format!("<label for=\"{field}\">")), "{html}");
    }
    // Its own id is fine; another seller's is refused, as over the API.
    let (status, _) = page(
        &app,
        &seller,
        &format!("/console/analytics?seller_id={SELLER}"),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = page(&app, &seller, "/console/analytics?seller_id=seller-2", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        html.contains("A seller sees its own analytics only."),
        "{html}"
    );
    assert!(!html.contains("<svg"), "{html}");
    // In French.
    let (_, html) = page(&app, &seller, "/console/analytics", "fr").await;
    assert!(html.contains("Retours par semaine"), "{html}");
    assert!(html.contains("100,0\u{a0}%"), "{html}");

    // An operator sees the marketplace or one seller; a range that ends before it starts, or a
    // day that is none, is said next to its field.
    let operator = sign_in(&app, &app.operator()).await;
    let (status, html) = page(&app, &operator, "/console/analytics", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("The whole marketplace"), "{html}");
    assert!(html.contains("<label for=\"seller_id\">"), "{html}");
    let (status, html) = page(
        &app,
        &operator,
        "/console/analytics?seller_id=seller-2",
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-figure=\"returns\">0<"), "{html}");
    let (status, html) = page(
        &app,
        &operator,
        "/console/analytics?from=2026-03-01&to=2026-02-01",
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"from-error\""), "{html}");
    assert!(html.contains("must be before"), "{html}");
    let (status, html) = page(&app, &operator, "/console/analytics?to=someday", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"to-error\""), "{html}");
    // A long range is cut into at most twelve periods.
    let (status, html) = page(
        &app,
        &operator,
        "/console/analytics?from=2000-01-01&to=2099-12-31",
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Returns per period"), "{html}");
    let periods = html.split("id=\"periods\"").nth(1).unwrap();
    let rows = periods
        .split("</table>")
        .next()
        .unwrap()
        .matches("<tr>")
        .count();
    assert_eq!(rows, 1 + 12, "a heading and twelve periods: {periods}");
}

#[tokio::test]
async fn buyers_and_sellers_are_refused_the_operators_pages() {
    let app = TestApp::spawn().await;
    let buyer = sign_in(&app, &app.buyer()).await;
    let some_id = "0196a0b0-0000-7000-8000-000000000001";
    for path in [
        "/console/flags".to_owned(),
        "/console/flags?status=open".to_owned(),
        format!("/console/flags/{some_id}"),
        format!("/console/parties/buyer/{BUYER}"),
        "/console/analytics".to_owned(),
        "/console/webhooks".to_owned(),
        format!("/console/webhooks/{some_id}"),
    ] {
        let (status, html) = page(&app, &buyer, &path, "en").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {html}");
        assert!(html.contains("Not allowed"), "{path}: {html}");
    }
    let (_, html) = page(&app, &buyer, "/console/track", "en").await;
    let csrf = csrf_of(&html);
    for path in [
        format!("/console/flags/{some_id}/review"),
        format!("/console/webhooks/deliveries/{some_id}/retry"),
    ] {
        let (status, _, html) = post_form(
            &app,
            &buyer,
            &path,
            &[("csrf", &csrf), ("verdict", "confirmed")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {html}");
    }
    let seller = sign_in(&app, &app.seller()).await;
    for path in ["/console/flags", "/console/webhooks"] {
        let (status, _) = page(&app, &seller, path, "en").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    // Without a session, the sign-in page.
    let answer = browser()
        .get(app.url("/console/flags"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/console/login");
}

/// Waits (bounded) until `done` holds of the webhook's deliveries of `status`.
async fn deliveries_until(
    app: &TestApp,
    webhook: &str,
    status: Option<&str>,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = deliveries(app, webhook, status).await;
        if done(&found) {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_operator_retries_a_parked_delivery_and_a_second_retry_is_refused_in_words() {
    let app = TestApp::spawn().await;
    // The receiver fails until told otherwise.
    let receiver = Receiver::start(usize::MAX).await;
    let webhook = id_of(&given_webhook(&app, &receiver.url).await);
    app.given_order(&eu_order("o-1")).await;
    let return_id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    let requested = history_ids(&app, &return_id).await[0].clone();
    deliveries_until(&app, &webhook, None, "a failed attempt", |found| {
        found.iter().any(|d| d["attempts"].as_i64() > Some(0))
    })
    .await;
    // The retry span (24 hours) counts from the first attempt: that attempt is moved a day into
    // the past, and the next failure parks the delivery.
    first_attempt_a_day_ago(&app, &requested).await;
    let parked = deliveries_until(&app, &webhook, Some("parked"), "parking", |found| {
        !found.is_empty()
    })
    .await;
    let delivery = id_of(&parked[0]);

    // The subscriptions, then the parked deliveries with their last error and a retry button.
    let operator = sign_in(&app, &app.operator()).await;
    let (status, html) = page(&app, &operator, "/console/webhooks", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&receiver.url), "{html}");
    assert!(
        html.contains(&format!("href=\"/console/webhooks/{webhook}\"")),
        "{html}"
    );
    let list = format!("/console/webhooks/{webhook}?status=parked");
    let (status, html) = page(&app, &operator, &list, "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!("data-delivery=\"{delivery}\"")),
        "{html}"
    );
    assert!(html.contains("data-status=\"parked\""), "{html}");
    assert!(
        html.contains("Return requested"),
        "the event in words: {html}"
    );
    assert!(html.contains("HTTP 500"), "the last error: {html}");
    let retry = format!("/console/webhooks/deliveries/{delivery}/retry");
    assert!(html.contains(&format!("action=\"{retry}\"")), "{html}");
    assert!(html.contains("<label for=\"status\">"), "{html}");
    let csrf = csrf_of(&html);

    // Without the form's token: refused, still parked.
    let (status, _, _) = post_form(&app, &operator, &retry, &[("webhook", &webhook)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(deliveries(&app, &webhook, Some("parked")).await.len(), 1);

    // Queued again: back to the webhook's page; the API no longer lists it as parked.
    let (status, location, _) = post_form(
        &app,
        &operator,
        &retry,
        &[("csrf", &csrf), ("webhook", &webhook)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("/console/webhooks/{webhook}#delivery-{delivery}").as_str())
    );
    assert!(deliveries(&app, &webhook, Some("parked")).await.is_empty());

    // Once it is no longer parked, a retry is the API's 409, in words, and changes nothing.
    let (status, _, html) = post_form(
        &app,
        &operator,
        &retry,
        &[("csrf", &csrf), ("webhook", &webhook)],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("data-code=\"invalid_transition\""), "{html}");
    assert!(
        html.contains("Only a parked delivery can be queued again"),
        "{html}"
    );
    assert!(
        html.contains(&format!("data-delivery=\"{delivery}\"")),
        "the list again: {html}"
    );

    // Once the receiver is back, the delivery arrives.
    receiver.failing.store(0, Ordering::SeqCst);
    deliveries_until(&app, &webhook, Some("delivered"), "the delivery", |found| {
        found.iter().any(|d| d["event_id"] == json!(requested))
    })
    .await;
    let (_, html) = page(
        &app,
        &operator,
        &format!("/console/webhooks/{webhook}?status=delivered"),
        "fr",
    )
    .await;
    assert!(html.contains("data-status=\"delivered\""), "{html}");
    assert!(
        html.contains("Envois d&#39;un webhook") || html.contains("Envois d'un webhook"),
        "{html}"
    );
}

#[tokio::test]
async fn an_operator_registers_and_deletes_a_webhook_and_bad_fields_register_nothing() {
    let app = TestApp::spawn().await;
    let operator = sign_in(&app, &app.operator()).await;
    let (status, html) = page(&app, &operator, "/console/webhooks", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"form-register\""), "{html}");
    let csrf = csrf_of(&html);
    let listed = || async {
        let answer = app
            .request(Method::GET, "/v1/webhooks", Some(&app.operator()))
            .send()
            .await
            .unwrap();
        expect_json(answer, 200).await["items"]
            .as_array()
            .unwrap()
            .clone()
    };

    // A short secret, an unknown event and a private address: each said next to its field, the
    // secret never shown again, nothing registered.
    let (status, _, html) = post_form(
        &app,
        &operator,
        "/console/webhooks",
        &[
            ("csrf", &csrf),
            ("url", "http://10.0.0.1/hooks"),
            ("secret", "short-secret"),
            ("events", "return.*, return.teleported"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["url-error", "secret-error", "events-error"] {
        assert!(html.contains(&format!("id=\"{field}\"")), "{field}: {html}");
    }
    assert!(!html.contains("short-secret"), "{html}");
    assert!(
        html.contains("value=\"return.*, return.teleported\""),
        "{html}"
    );
    assert!(listed().await.is_empty());
    // Without the CSRF token: refused.
    let (status, _, _) = post_form(
        &app,
        &operator,
        "/console/webhooks",
        &[
            ("url", "http://127.0.0.1:9/hooks"),
            ("secret", "0123456789abcdef0123"),
            ("events", "return.*"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(listed().await.is_empty());

    // Registered (127.0.0.1 is on the test service's allow-list), then deleted.
    let (status, location, _) = post_form(
        &app,
        &operator,
        "/console/webhooks",
        &[
            ("csrf", &csrf),
            ("url", "http://127.0.0.1:9/hooks"),
            ("secret", "0123456789abcdef0123"),
            ("events", "return.refunded return.closed"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let registered = listed().await;
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(
        registered[0]["events"],
        json!(["return.refunded", "return.closed"])
    );
    let id = registered[0]["id"].as_str().unwrap();
    assert_eq!(
        location.as_deref(),
        Some(format!("/console/webhooks/{id}").as_str())
    );
    let (_, html) = page(&app, &operator, &format!("/console/webhooks/{id}"), "en").await;
    assert!(html.contains("id=\"form-delete\""), "{html}");
    let (status, location, _) = post_form(
        &app,
        &operator,
        &format!("/console/webhooks/{id}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/webhooks"));
    assert!(listed().await.is_empty());

    // A seller may do neither.
    let seller = sign_in(&app, &app.seller()).await;
    let (_, html) = page(&app, &seller, "/console/returns", "en").await;
    let (status, _, _) = post_form(
        &app,
        &seller,
        "/console/webhooks",
        &[
            ("csrf", &csrf_of(&html)),
            ("url", "http://127.0.0.1:9/hooks"),
            ("secret", "0123456789abcdef0123"),
            ("events", "return.*"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(listed().await.is_empty());
}

#[tokio::test]
async fn operators_see_the_satisfaction_of_each_seller_on_the_marketplace_dashboard() {
    let app = TestApp::spawn().await;
    let id = a_refunded_return(&app, "o-rated").await;
    app.act(&app.buyer(), &id, "rate", &json!({"score": 5}))
        .await;
    // The ratings are read from the analytics projection, which follows the log (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = app
            .request(
                Method::GET,
                "/v1/analytics/satisfaction/sellers",
                Some(&app.operator()),
            )
            .send()
            .await
            .unwrap();
        let listed = expect_json(answer, 200).await;
        if listed["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rating never showed: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let operator = sign_in(&app, &app.operator()).await;
    let (status, html) = page(&app, &operator, "/console/analytics", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("By seller"), "{html}");
    assert!(
        html.contains(&format!("<th scope=\"row\">{SELLER}</th>")),
        "{html}"
    );
    // One seller's page has no such table, nor has a seller's own.
    let (_, html) = page(
        &app,
        &operator,
        &format!("/console/analytics?seller_id={SELLER}"),
        "en",
    )
    .await;
    assert!(!html.contains("By seller"), "{html}");
    let seller = sign_in(&app, &app.seller()).await;
    let (_, html) = page(&app, &seller, "/console/analytics", "en").await;
    assert!(!html.contains("By seller"), "{html}");
}
