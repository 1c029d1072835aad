//! The policy engine: seller policy, the EU legal floor, and automatic approval (docs/product.md; docs/api.md,
//! Seller return policy and Returns). A return is judged by the policy in force when its order was
//! registered, so every test sets the policy first.

use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    eu_order, order, return_request, strings, Api, HEADPHONES, HEADPHONES_PRICE, SELLER, SHIRT,
    SHIRTS_BOUGHT, SHIRT_PRICE,
};

/// Registers `order`, opens a return of one headphones for `reason`, and returns the view.
async fn headphones_returned(app: &TestApp, order: &Value, reason: &str) -> Value {
    app.given_order(order).await;
    let order_id = order["order_id"].as_str().expect("order_id");
    app.given_return(
        &app.buyer(),
        &return_request(order_id, &[(HEADPHONES, 1)], reason),
    )
    .await
}

fn rules(view: &Value) -> Vec<String> {
    strings(&view["policy"]["rules"])
}

fn has_rule(view: &Value, rule: &str) -> bool {
    rules(view).iter().any(|r| r == rule)
}

#[tokio::test]
async fn eu_withdrawal_gives_14_days_whatever_the_sellers_window() {
    let app = TestApp::spawn().await;
    app.given_policy(
        SELLER,
        &json!({ "return_window_days": 10, "restocking_fee_percent": 20 }),
    )
    .await;

    let view =
        headphones_returned(&app, &order("o-1", "DE", "EUR", Some(12)), "changed_mind").await;

    assert_eq!(view["policy"]["eligible"], true, "{view}");
    assert!(has_rule(&view, "eu_withdrawal_14d"), "{:?}", rules(&view));
    assert!(!has_rule(&view, "seller_window_10d"), "{:?}", rules(&view));
    // No restocking fee where the withdrawal right applies.
    assert!(
        !rules(&view).iter().any(|r| r.starts_with("restocking_fee")),
        "{:?}",
        rules(&view)
    );
    assert_eq!(view["requested_amount_minor"], HEADPHONES_PRICE);
    assert_eq!(view["status"], "requested");
}

/// The withdrawal right's edge (docs/product.md: 14 days from delivery): a change of mind on the
/// fourteenth day after delivery is covered, one on the fifteenth is not (the seller's own window
/// being shorter).
#[tokio::test]
async fn the_withdrawal_right_covers_day_14_and_not_day_15() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 10 }))
        .await;
    let now = crate::support::unix_now();
    let hour = 3600;
    for (order_id, delivered_ago, covered) in [
        // Day 14: one hour before the 14 days run out.
        ("o-day-14", 14 * 24 * hour - hour, true),
        // Day 15: one hour after.
        ("o-day-15", 14 * 24 * hour + hour, false),
    ] {
        let mut body = order(order_id, "DE", "EUR", None);
        body["placed_at"] = json!(crate::support::rfc3339(now - delivered_ago - 3 * 24 * hour));
        body["delivered_at"] = json!(crate::support::rfc3339(now - delivered_ago));
        let view = headphones_returned(&app, &body, "changed_mind").await;
        assert_eq!(view["policy"]["eligible"], covered, "{order_id}: {view}");
        assert_eq!(
            has_rule(&view, "eu_withdrawal_14d"),
            covered,
            "{order_id}: {:?}",
            rules(&view)
        );
        assert_eq!(
            has_rule(&view, "outside_return_window"),
            !covered,
            "{order_id}: {:?}",
            rules(&view)
        );
    }
}

#[tokio::test]
async fn after_14_days_and_the_sellers_window_a_change_of_mind_is_not_eligible() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 10 }))
        .await;

    let view =
        headphones_returned(&app, &order("o-1", "DE", "EUR", Some(20)), "changed_mind").await;

    // Still created, and left to the seller.
    assert_eq!(view["status"], "requested", "{view}");
    assert_eq!(view["policy"]["eligible"], false, "{view}");
    assert_eq!(view["policy"]["auto_approved"], false);
    assert!(!has_rule(&view, "eu_withdrawal_14d"), "{:?}", rules(&view));
    assert!(
        has_rule(&view, "outside_return_window"),
        "{:?}",
        rules(&view)
    );
}

#[tokio::test]
async fn the_eu_conformity_guarantee_covers_a_defect_for_two_years() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "return_window_days": 10 }))
        .await;

    let view = headphones_returned(&app, &order("o-1", "DE", "EUR", Some(365)), "defective").await;

    assert_eq!(view["policy"]["eligible"], true, "{view}");
    assert!(has_rule(&view, "eu_conformity_2y"), "{:?}", rules(&view));
    assert!(!has_rule(&view, "eu_withdrawal_14d"), "{:?}", rules(&view));
}

#[tokio::test]
async fn outside_the_eu_the_sellers_window_alone_decides() {
    let app = TestApp::spawn().await;
    app.given_policy(
        SELLER,
        &json!({ "return_window_days": 10, "restocking_fee_percent": 20 }),
    )
    .await;

    let late =
        headphones_returned(&app, &order("o-1", "US", "USD", Some(12)), "changed_mind").await;
    let late_defect =
        headphones_returned(&app, &order("o-2", "US", "USD", Some(365)), "defective").await;
    let in_time =
        headphones_returned(&app, &order("o-3", "US", "USD", Some(5)), "changed_mind").await;

    assert_eq!(late["policy"]["eligible"], false, "{late}");
    assert_eq!(late_defect["policy"]["eligible"], false, "{late_defect}");
    for view in [&late, &late_defect, &in_time] {
        assert!(
            !rules(view).iter().any(|r| r.starts_with("eu_")),
            "{:?}",
            rules(view)
        );
    }
    assert_eq!(in_time["policy"]["eligible"], true, "{in_time}");
    assert!(
        has_rule(&in_time, "seller_window_10d"),
        "{:?}",
        rules(&in_time)
    );
    // The seller's restocking fee applies to a change of mind: floor(4999 × 20 / 100) = 999.
    assert!(
        has_rule(&in_time, "restocking_fee_20pct"),
        "{:?}",
        rules(&in_time)
    );
    assert_eq!(in_time["requested_amount_minor"], HEADPHONES_PRICE - 999);
    assert_eq!(in_time["currency"], "USD");
}

#[tokio::test]
async fn a_non_returnable_category_is_not_eligible_and_never_auto_approved() {
    let app = TestApp::spawn().await;
    app.given_policy(
        SELLER,
        &json!({
            "non_returnable_categories": ["Electronics"],
            "auto_approve_max_minor": 100_000
        }),
    )
    .await;

    let view = headphones_returned(&app, &order("o-1", "US", "USD", Some(2)), "changed_mind").await;

    assert_eq!(view["policy"]["eligible"], false, "{view}");
    assert!(
        has_rule(&view, "non_returnable_category"),
        "{:?}",
        rules(&view)
    );
    assert_eq!(view["policy"]["auto_approved"], false);
    assert_eq!(view["status"], "requested");
    assert!(
        view["deadlines"]["seller_response_due"].is_string(),
        "{view}"
    );
}

#[tokio::test]
async fn a_low_value_eligible_return_is_approved_automatically() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "auto_approve_max_minor": 5000 }))
        .await;

    let view = headphones_returned(&app, &eu_order("o-1"), "defective").await;

    assert_eq!(view["status"], "authorized", "{view}");
    assert_eq!(view["policy"]["eligible"], true);
    assert_eq!(view["policy"]["auto_approved"], true);
    assert!(view["deadlines"]["ship_by"].is_string(), "{view}");
    assert!(view["deadlines"]["seller_response_due"].is_null(), "{view}");
    let actions = strings(&view["allowed_actions"]);
    assert!(actions.contains(&"ship".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn a_return_above_the_auto_approval_limit_waits_for_the_seller() {
    let app = TestApp::spawn().await;
    app.given_policy(SELLER, &json!({ "auto_approve_max_minor": 5000 }))
        .await;
    app.given_order(&eu_order("o-1")).await;

    // 49.99 + 2 × 15.00 = 79.99, above the 50.00 limit.
    let body = return_request(
        "o-1",
        &[(HEADPHONES, 1), (SHIRT, SHIRTS_BOUGHT)],
        "defective",
    );
    let view = app.given_return(&app.buyer(), &body).await;

    assert_eq!(
        view["requested_amount_minor"],
        HEADPHONES_PRICE + SHIRTS_BOUGHT * SHIRT_PRICE
    );
    assert_eq!(view["status"], "requested", "{view}");
    assert_eq!(view["policy"]["eligible"], true);
    assert_eq!(view["policy"]["auto_approved"], false);
}

/// The return label's price is deducted where the buyer pays return shipping, and shown in the
/// view (docs/api.md, "Seller return policy").
#[tokio::test]
async fn the_return_shipping_fee_is_deducted_and_shown() {
    let app = TestApp::spawn().await;
    let policy = app
        .given_policy(SELLER, &json!({ "return_shipping_fee_minor": 590 }))
        .await;
    assert_eq!(policy["return_shipping_fee_minor"], 590);

    let view = headphones_returned(&app, &order("o-1", "US", "USD", Some(3)), "changed_mind").await;
    assert_eq!(view["policy"]["buyer_pays_return_shipping"], true, "{view}");
    assert_eq!(view["policy"]["return_shipping_fee_minor"], 590);
    assert!(has_rule(&view, "return_shipping_fee"), "{:?}", rules(&view));
    assert_eq!(view["requested_amount_minor"], HEADPHONES_PRICE - 590);

    // A defect: the seller's label, nothing deducted.
    let defect = headphones_returned(&app, &order("o-2", "US", "USD", Some(3)), "defective").await;
    assert_eq!(defect["policy"]["buyer_pays_return_shipping"], false);
    assert_eq!(defect["policy"]["return_shipping_fee_minor"], 0);
    assert_eq!(defect["requested_amount_minor"], HEADPHONES_PRICE);
}
