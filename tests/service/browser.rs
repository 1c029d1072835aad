//! The console in a real browser: headless Chromium driven over WebDriver (Debian's `chromium`
//! and `chromium-driver`, which `make test` installs when missing). An operator signs in and
//! decides a dispute with the keyboard and the forms alone; a seller accepts a return from the
//! inbox, records its arrival and inspects it; a buyer accepts an offer, follows a return in
//! French and cannot open another buyer's; a form without its CSRF token is refused; every form
//! field has a label. Each
//! main page is saved as a PNG in `target/console-screenshots/` (`make screenshots` writes them to
//! docs/console/ instead).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::Api;
use returns_testkit::TestApp;

/// A chromedriver of this test's own, and a headless Chromium session on it.
struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    async fn start() -> Browser {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            std::path::Path::new(&chromedriver).exists(),
            "{chromedriver} is missing: `make test` installs Debian's chromium and chromium-driver"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--window-size=1200,1400",
                            "--lang=en-GB"]}),
        );
        // The driver takes a moment to listen.
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            // WebDriver on the loopback: plain HTTP, no TLS.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("chromedriver did not start: {e}"),
            }
        };
        Browser { client, driver }
    }

    async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Saves the page as `name`.png for the docs.
    async fn screenshot(&self, name: &str) {
        let dir = std::env::var("RETURNS_SCREENSHOTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
            });
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Waits until the case page shows a status among `wanted`, and gives it.
    async fn status_becomes(&self, wanted: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(element) = self.client.find(Locator::Id("status")).await {
                if let Ok(Some(status)) = element.attr("data-status").await {
                    if wanted.contains(&status.as_str()) {
                        return status;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "the status did not become {wanted:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the field with id `id`.
    async fn type_into(&self, id: &str, text: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Follows the link that reads `text`.
    async fn follow(&self, text: &str) {
        self.client
            .wait()
            .for_element(Locator::LinkText(text))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks the element `css` selects.
    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Presses the submit button of the form with id `form`.
    async fn submit(&self, form: &str) {
        self.click(&format!("#{form} button[type=submit]")).await;
    }

    /// Opens the case `rma` from the list the user lands on.
    async fn open_case(&self, rma: &str) {
        self.follow(rma).await;
        self.client
            .wait()
            .for_element(Locator::Id("status"))
            .await
            .unwrap();
    }

    /// The form fields of the page that have no label (their ids or names).
    async fn unlabelled_fields(&self) -> Vec<String> {
        let found = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(\
                   'input:not([type=hidden]), select, textarea'))\
                   .filter(e => e.labels.length === 0)\
                   .map(e => e.id || e.name);",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }
}

#[tokio::test]
async fn an_operator_decides_a_dispute_in_the_browser_with_the_keyboard() {
    let app = TestApp::spawn().await;
    let case = crate::console::disputed(&app, "o-browser").await;
    let rma = case["rma"].as_str().unwrap().to_owned();
    let browser = Browser::start().await;
    let c = &browser.client;

    c.goto(&app.url("/console/login")).await.unwrap();
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("sign-in").await;
    // The first Tab reaches the link that skips the navigation.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{E004}")
        .await
        .unwrap();
    let focused = c
        .execute(
            "return document.activeElement.getAttribute('href');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, json!("#main"));
    sign_in(&browser, &app, &app.operator()).await;

    // Signed in: the queue, with the case unassigned.
    c.wait().for_element(Locator::Css("table")).await.unwrap();
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/console/disputes"));
    assert!(c.source().await.unwrap().contains(&rma));
    browser.screenshot("dispute-queue").await;
    browser.follow(&rma).await;

    // The case: the recommendation, then the decision form, pre-filled from it.
    c.wait()
        .for_element(Locator::Id("recommended"))
        .await
        .unwrap();
    assert!(browser
        .text_of("#recommended")
        .await
        .starts_with("Refund the buyer"));
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("operator-case").await;
    let rationale = c.find(Locator::Id("decide-rationale")).await.unwrap();
    rationale
        .send_keys("The photos show the defect")
        .await
        .unwrap();
    // Enter in a single-line field submits its form, as a keyboard user would.
    c.find(Locator::Id("decide-refund_amount"))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();

    c.wait().for_element(Locator::Css("#status")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.source().await.unwrap().contains("Dispute decided") {
        assert!(Instant::now() < deadline, "the decision did not show");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(
        c.find(Locator::Id("status"))
            .await
            .unwrap()
            .attr("data-status")
            .await
            .unwrap()
            .as_deref(),
        Some("escalated")
    );
    browser.screenshot("decided-case").await;
    browser.close().await;
}

/// Signs in with `token` in `browser` as a user does: pastes it and presses the button (Enter in
/// a text area starts a new line).
async fn sign_in(browser: &Browser, app: &TestApp, token: &str) {
    let c = &browser.client;
    c.goto(&app.url("/console/login")).await.unwrap();
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    browser
        .click("form[action='/console/login'] button[type=submit]")
        .await;
    c.wait().for_element(Locator::Css("main h1")).await.unwrap();
}

#[tokio::test]
async fn a_buyer_follows_a_return_in_french_and_cannot_open_another_buyers() {
    let app = TestApp::spawn().await;
    let case = crate::console::disputed(&app, "o-browser-buyer").await;
    let rma = case["rma"].as_str().unwrap().to_owned();
    let browser = Browser::start().await;
    let c = &browser.client;

    sign_in(&browser, &app, &app.buyer()).await;
    // The switch to French, then the RMA typed in and sent with Enter.
    browser.follow("Français").await;
    browser.follow("Suivre un retour").await;
    c.wait().for_element(Locator::Id("rma")).await.unwrap();
    let field = c.find(Locator::Id("rma")).await.unwrap();
    field.send_keys(&format!("{rma}\u{E007}")).await.unwrap();
    c.wait().for_element(Locator::Id("status")).await.unwrap();
    assert_eq!(
        browser.text_of("#status").await,
        "En arbitrage par la plateforme"
    );
    assert!(browser.text_of("main").await.contains("Historique"));
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("buyer-tracking-fr").await;

    // Another buyer, same RMA: not found, and nothing of the case shows.
    c.delete_all_cookies().await.unwrap();
    sign_in(&browser, &app, &app.other_buyer()).await;
    c.goto(&app.url(&format!("/console/track?rma={rma}&lang=en")))
        .await
        .unwrap();
    let main = browser.text_of("main").await;
    assert!(
        main.contains("No return of yours has this RMA number."),
        "{main}"
    );
    assert!(c.find(Locator::Id("status")).await.is_err());
    browser.close().await;
}

#[tokio::test]
async fn a_form_sent_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(&browser, &app, &app.buyer()).await;
    // The sign-out form, with its CSRF field taken out (as a forged form would lack it).
    c.execute(
        "document.querySelector('form[action=\"/console/logout\"] input[name=csrf]').remove();",
        vec![],
    )
    .await
    .unwrap();
    browser.click("form[action='/console/logout'] button").await;
    c.wait().for_element(Locator::Css("main h1")).await.unwrap();
    let main = browser.text_of("main").await;
    assert!(main.contains("This form has expired"), "{main}");
    // Still signed in.
    c.goto(&app.url("/console/track")).await.unwrap();
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/console/track"));
    browser.close().await;
}

#[tokio::test]
async fn a_seller_accepts_then_inspects_a_return_in_the_browser() {
    let app = TestApp::spawn().await;
    let (id, rma) = crate::console::requested(&app, "o-browser-seller").await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // The inbox first: the return waits for the seller.
    sign_in(&browser, &app, &app.seller()).await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/console/returns"));
    assert!(browser.text_of("main").await.contains("your move"));
    browser.screenshot("seller-inbox").await;
    browser.open_case(&rma).await;
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("seller-case").await;

    // Accepted with a prepaid label.
    browser.type_into("accept-label-carrier", "DHL").await;
    browser
        .type_into("accept-label-tracking_number", "JD0146")
        .await;
    browser.submit("form-accept").await;
    assert_eq!(browser.status_becomes(&["authorized"]).await, "authorized");

    // The buyer sends the parcel; the seller records its arrival, then inspects it.
    app.act(&app.buyer(), &id, "ship", &crate::support::ship_body())
        .await;
    c.refresh().await.unwrap();
    browser.submit("form-receive").await;
    browser.status_becomes(&["delivered"]).await;
    c.find(Locator::Id("inspect-grade"))
        .await
        .unwrap()
        .select_by_value("opened")
        .await
        .unwrap();
    browser
        .type_into("inspect-notes", "Box opened, item unused")
        .await;
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("seller-inspection").await;
    // An amount that is none: the problem next to the field, in words, and nothing changed.
    browser
        .type_into("inspect-refund_amount", "all of it\u{E007}")
        .await;
    c.wait()
        .for_element(Locator::Id("inspect-refund_amount-error"))
        .await
        .unwrap();
    let error = browser.text_of("#inspect-refund_amount-error").await;
    assert!(error.contains("an amount in EUR"), "{error}");
    assert_eq!(browser.status_becomes(&["delivered"]).await, "delivered");
    // Corrected, Enter in the amount sends the form again.
    let amount = c.find(Locator::Id("inspect-refund_amount")).await.unwrap();
    amount.clear().await.unwrap();
    amount.send_keys("49.99\u{E007}").await.unwrap();
    browser.status_becomes(&["refund_pending", "closed"]).await;
    let main = browser.text_of("main").await;
    assert!(main.contains("Item inspected: Opened, as new"), "{main}");

    // The policy editor, with what EU buyers and others get.
    browser.follow("Return policy").await;
    c.wait()
        .for_element(Locator::Id("what-buyers-get"))
        .await
        .unwrap();
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("seller-policy").await;
    browser.close().await;
}

#[tokio::test]
async fn a_buyer_accepts_an_offer_in_the_browser() {
    let app = TestApp::spawn().await;
    let (id, rma) = crate::console::requested(&app, "o-browser-offer").await;
    app.act(
        &app.seller(),
        &id,
        "offer",
        &json!({"kind": "partial_refund", "amount_minor": 1500}),
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;

    sign_in(&browser, &app, &app.buyer()).await;
    assert!(browser.text_of("main").await.contains("your move"));
    browser.screenshot("buyer-returns").await;
    browser.open_case(&rma).await;
    let offer = browser.text_of("#offer").await;
    assert!(offer.contains("15.00"), "{offer}");
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("buyer-offer").await;
    browser.submit("form-accept-offer").await;
    browser
        .status_becomes(&["refund_pending", "closed", "authorized"])
        .await;
    assert!(browser.text_of("main").await.contains("Offer accepted"));

    // Another item of the order: the buyer finds the order and opens a return from it.
    browser.follow("Return an item").await;
    browser
        .type_into("order_id", "o-browser-offer\u{E007}")
        .await;
    c.wait()
        .for_element(Locator::Id("form-open"))
        .await
        .unwrap();
    browser
        .type_into(&format!("quantity-{}", crate::support::SHIRT), "1")
        .await;
    c.find(Locator::Id("reason"))
        .await
        .unwrap()
        .select_by_value("size_fit")
        .await
        .unwrap();
    browser.type_into("description", "Too small").await;
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("buyer-open-return").await;
    browser.submit("form-open").await;
    assert_eq!(browser.status_becomes(&["requested"]).await, "requested");
    browser.close().await;
}

#[tokio::test]
async fn an_operator_reviews_a_flag_and_reads_the_analytics_in_the_browser() {
    let app = TestApp::spawn().await;
    crate::abuse::empty_box_buyer(&app).await;
    let flag = crate::abuse::flag_of_kind(&app, "empty_box_returns").await;
    crate::support::a_refunded_return(&app, "o-browser-analytics").await;
    crate::console_oversight::analytics_settled(&app, 3).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    sign_in(&browser, &app, &app.operator()).await;
    browser.follow("Abuse flags").await;
    c.wait()
        .for_element(Locator::Css("main table"))
        .await
        .unwrap();
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("flags").await;
    let id = flag["id"].as_str().unwrap();
    browser
        .click(&format!("a[href='/console/flags/{id}']"))
        .await;
    c.wait()
        .for_element(Locator::Id("flag-status"))
        .await
        .unwrap();
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("flag-review").await;

    // Confirmed with the keyboard: the verdict chosen, a note typed, the form sent.
    browser.click("input[name=verdict][value=confirmed]").await;
    browser
        .type_into("note", "Three empty boxes in a month")
        .await;
    c.find(Locator::Css("form[action$='/review'] button[type=submit]"))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = c.find(Locator::Id("flag-status")).await;
        if let Ok(element) = shown {
            if element.attr("data-status").await.unwrap().as_deref() == Some("confirmed") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the review did not show");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The dashboard: figures and charts drawn on the server.
    browser.follow("Analytics").await;
    c.wait().for_element(Locator::Css("svg")).await.unwrap();
    assert!(browser.unlabelled_fields().await.is_empty());
    browser.screenshot("analytics").await;
    browser.close().await;
}

#[tokio::test]
async fn a_buyer_signs_in_with_a_link_from_the_marketplace_once() {
    let app = TestApp::spawn().await;
    let case = crate::console::disputed(&app, "o-browser-link").await;
    let rma = case["rma"].as_str().unwrap().to_owned();
    let token =
        crate::console::link_token(returns_api::auth::Role::Buyer, crate::support::BUYER, 600);
    let link = format!("/console/login/link?token={token}&next=/console/track%3Frma%3D{rma}");
    let browser = Browser::start().await;
    let c = &browser.client;

    // The link says whose session it opens; Continue opens it, on the page the link named.
    c.goto(&app.url(&link)).await.unwrap();
    assert!(browser.text_of("#who").await.contains("buyer-1"));
    // The switch of language keeps the link.
    browser.follow("Français").await;
    assert!(browser
        .text_of("main")
        .await
        .contains("Ce lien vous connecte"));
    browser.follow("English").await;
    assert!(browser.text_of("#who").await.contains("buyer-1"));
    browser.screenshot("sign-in-link").await;
    browser
        .click("form[action='/console/login/link'] button[type=submit]")
        .await;
    assert_eq!(browser.status_becomes(&["escalated"]).await, "escalated");
    assert!(browser.text_of("main").await.contains(&rma));

    // Signed out, the same link again: used already, and nobody is signed in.
    browser.click("form[action='/console/logout'] button").await;
    c.wait().for_element(Locator::Id("token")).await.unwrap();
    c.goto(&app.url(&link)).await.unwrap();
    browser
        .click("form[action='/console/login/link'] button[type=submit]")
        .await;
    c.wait()
        .for_element(Locator::Css("main p[role=alert]"))
        .await
        .unwrap();
    let main = browser.text_of("main").await;
    assert!(main.contains("was used already"), "{main}");
    c.goto(&app.url("/console/returns")).await.unwrap();
    c.wait().for_element(Locator::Id("token")).await.unwrap();
    browser.close().await;
}
