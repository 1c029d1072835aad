//! Rate limits (docs/api.md, "Rate limits"), with the service's default settings: a buyer
//! hammering one endpoint meets its limit within a few hundred requests, other callers do not
//! notice, and a platform backend is not limited.

use reqwest::Method;
use returns_api::limits::RateLimitSettings;
use returns_testkit::TestApp;

use crate::support::{expect_problem, Api};

async fn defaults() -> TestApp {
    TestApp::spawn_with(|settings| settings.rate_limits = RateLimitSettings::default()).await
}

#[tokio::test]
async fn a_buyer_hammering_an_endpoint_gets_429_with_retry_after_and_others_do_not() {
    let app = defaults().await;
    let buyer = app.buyer();
    let mut answered = Vec::new();
    let mut refused = None;
    for _ in 0..600 {
        let res = app.list_returns(&buyer, &[]).await;
        if res.status() == 429 {
            refused = Some(res);
            break;
        }
        answered.push(res.status().as_u16());
    }
    let refused = refused.expect("600 requests in a row from one buyer were never limited");
    // The default is 120 a minute, all of it available at once.
    assert!(
        (100..=130).contains(&answered.len()),
        "limited after {} requests",
        answered.len()
    );
    assert!(answered.iter().all(|s| *s == 200), "{answered:?}");
    let retry: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    expect_problem(refused, 429, "rate_limited").await;

    // Another buyer, and the seller, have their own allowance.
    assert_eq!(
        app.list_returns(&app.other_buyer(), &[]).await.status(),
        200
    );
    assert_eq!(app.list_returns(&app.seller(), &[]).await.status(), 200);
}

#[tokio::test]
async fn a_platform_backend_is_not_limited() {
    let app = defaults().await;
    let platform = app.platform();
    for i in 0..400 {
        let res = app.get_order(&platform, "o-none").await;
        assert_eq!(res.status(), 404, "request {i}");
    }
}

#[tokio::test]
async fn failed_authentication_is_limited_per_client_address() {
    let app = defaults().await;
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let res = app
            .request(Method::GET, "/v1/returns", Some("not-a-token"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status == 401 {
            let challenge = res.headers().get("www-authenticate").cloned();
            assert_eq!(
                challenge.as_ref().and_then(|v| v.to_str().ok()),
                Some("Bearer realm=\"returns\"")
            );
        }
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(statuses.len(), 61, "60 failed attempts a minute, then 429");
    // A valid token from the same address is not affected.
    assert_eq!(app.list_returns(&app.buyer(), &[]).await.status(), 200);
}
