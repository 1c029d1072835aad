//! No personal data in the logs (docs/reliability.md): a whole return, from the order to the
//! dispute decision and the refund, driven over HTTP against the real binary logging at `debug`,
//! and not one of the texts people wrote, nor the parcel's tracking number or the refund's
//! reference, appears in what it printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{start, token};
use returns_api::auth::Role;
use returns_testkit::TestDb;
use serde_json::{json, Value};

/// Each marker goes into one field that is personal data.
const DESCRIPTION: &str = "PII-DESCRIPTION-Alice-Martin-12-rue-des-Lilas";
const DECLINE: &str = "PII-DECLINE-REASON-seen-at-her-home";
const ESCALATION: &str = "PII-ESCALATION-phone-0612345678";
const MESSAGE: &str = "PII-MESSAGE-call-me-at-home";
const EVIDENCE: &str = "PII-EVIDENCE-NOTE-bank-details";
const RATIONALE: &str = "PII-RATIONALE-about-alice";
const TRACKING: &str = "PII-TRACKING-JD0146000062";
const REFERENCE: &str = "PII-REFUND-REFERENCE-IBAN-FR76";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_lifecycle_logs_no_personal_data() {
    let db = TestDb::empty().await;
    let (mut child, url, output) = start(db.url(), &[("RUST_LOG", "debug")]).await;
    let client = reqwest::Client::new();
    let (platform, buyer, seller, operator) = (
        token(Role::Platform, "marketplace"),
        token(Role::Buyer, "buyer-1"),
        token(Role::Seller, "seller-1"),
        token(Role::Operator, "operator-1"),
    );
    let post = |path: String, who: String, body: Value| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let res = client
                .post(format!("{url}{path}"))
                .bearer_auth(who)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            assert!((200..300).contains(&status), "{path}: {status} {body}");
            body
        }
    };
    post(
        "/v1/orders".into(),
        platform.clone(),
        json!({
            "order_id": "o-1", "buyer_id": "buyer-1", "seller_id": "seller-1",
            "currency": "EUR", "jurisdiction": "DE", "placed_at": "2026-11-01T10:00:00Z",
            "delivered_at": "2026-11-03T10:00:00Z",
            "lines": [{"line_id": "L1", "sku": "S-1", "title": "Lamp", "category": "home",
                       "quantity": 1, "unit_price_minor": 2500}]
        }),
    )
    .await;
    let opened = post(
        "/v1/returns".into(),
        buyer.clone(),
        json!({"order_id": "o-1", "items": [{"line_id": "L1", "quantity": 1}],
               "reason": "defective", "resolution": "refund", "description": DESCRIPTION}),
    )
    .await;
    let id = opened["id"].as_str().unwrap().to_owned();
    let act = |who: &String, action: &str, body: Value| {
        post(format!("/v1/returns/{id}/{action}"), who.clone(), body)
    };
    act(&buyer, "messages", json!({"body": MESSAGE})).await;
    act(
        &buyer,
        "evidence",
        json!({"kind": "text", "note": EVIDENCE}),
    )
    .await;
    act(&seller, "decline", json!({"reason_text": DECLINE})).await;
    act(&buyer, "escalate", json!({"reason_text": ESCALATION})).await;
    act(&operator, "assign", json!({})).await;
    act(
        &operator,
        "decide",
        json!({"outcome": "refund_buyer", "refund_amount_minor": 2500, "return_required": true,
               "funded_by": "seller", "rationale": RATIONALE}),
    )
    .await;
    act(
        &buyer,
        "ship",
        json!({"carrier": "DHL", "tracking_number": TRACKING}),
    )
    .await;
    act(
        &platform,
        "carrier-update",
        json!({"status": "delivered", "at": chrono::Utc::now().to_rfc3339()}),
    )
    .await;
    let view = act(
        &platform,
        "refund",
        json!({"amount_minor": 2500, "method": "original_payment", "reference": REFERENCE}),
    )
    .await;
    // The service did see every text: the view gives them back.
    assert_eq!(view["refund"]["reference"], REFERENCE, "{view}");
    let history = client
        .get(format!("{url}/v1/returns/{id}/events?limit=200"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for marker in [
        DESCRIPTION,
        MESSAGE,
        DECLINE,
        ESCALATION,
        RATIONALE,
        TRACKING,
        REFERENCE,
    ] {
        assert!(history.contains(marker), "{marker} is not in the history");
    }

    child.kill().await.unwrap();
    let lines = output.lock().unwrap().clone();
    assert!(
        lines.len() > 20,
        "the service logged next to nothing at debug: {lines:?}"
    );
    for marker in [
        DESCRIPTION,
        DECLINE,
        ESCALATION,
        MESSAGE,
        EVIDENCE,
        RATIONALE,
        TRACKING,
        REFERENCE,
    ] {
        let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(marker)).collect();
        assert!(leaks.is_empty(), "{marker} is in the logs: {leaks:?}");
    }
    println!("{} log lines at debug, no personal data", lines.len());
}
