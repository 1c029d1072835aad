//! The life of a return, through every endpoint, as each party sees it (docs/api.md, Returns).

use std::collections::BTreeSet;

use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    assert_names_field, delivered_body, eu_order, event_types, expect_json, expect_json_with_etag,
    expect_problem, headphones_return, id_of, items_of, refund_body, return_request, ship_body,
    sorted, strings, version_of, Api, BUYER, HEADPHONES, HEADPHONES_PRICE, OTHER_BUYER, PLATFORM,
    SELLER, SHIRT,
};

/// Asserts the answer is 200 with an `ETag` equal to the view's quoted `version`, and returns the
/// view.
async fn view_of(res: reqwest::Response) -> Value {
    let (view, etag) = expect_json_with_etag(res, 200).await;
    assert_eq!(etag, format!("\"{}\"", version_of(&view)), "{view}");
    view
}

/// Takes an action, checks the answer's ETag, and returns the view.
async fn step(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    view_of(app.action(token, id, action, &body, None, None).await).await
}

/// The view must show the status, its version must have grown by exactly the events written since
/// `before`, and the case history must agree.
async fn assert_moved(app: &TestApp, view: &Value, before: u64, status: &str) -> u64 {
    assert_eq!(view["status"], status, "{view}");
    let version = version_of(view);
    assert!(version > before, "version did not grow: {view}");
    let events = app.events_of(&id_of(view)).await;
    assert_eq!(events.len() as u64, version, "one version per event");
    version
}

#[tokio::test]
async fn a_return_goes_from_request_to_refund() {
    let app = TestApp::spawn().await;
    let (buyer, seller, platform) = (app.buyer(), app.seller(), app.platform());
    app.given_order(&eu_order("o-1")).await;

    // Open.
    let (opened, etag) = expect_json_with_etag(
        app.open_return(&buyer, &headphones_return("o-1")).await,
        201,
    )
    .await;
    assert_eq!(etag, format!("\"{}\"", version_of(&opened)));
    let id = id_of(&opened);
    let rma = opened["rma"].as_str().expect("rma").to_owned();
    assert!(rma.starts_with("RMA-"), "{rma}");
    assert_eq!(opened["order_id"], "o-1");
    assert_eq!(opened["buyer_id"], BUYER);
    assert_eq!(opened["seller_id"], SELLER);
    assert_eq!(opened["currency"], "EUR");
    assert_eq!(opened["reason"], "defective");
    assert_eq!(opened["resolution"], "refund");
    assert!(opened["outcome"].is_null(), "{opened}");
    assert_eq!(opened["items"][0]["line_id"], HEADPHONES);
    assert_eq!(opened["items"][0]["quantity"], 1);
    assert_eq!(opened["items"][0]["unit_price_minor"], HEADPHONES_PRICE);
    assert_eq!(opened["requested_amount_minor"], HEADPHONES_PRICE);
    assert_eq!(opened["refunded_amount_minor"], 0);
    assert_eq!(opened["policy"]["eligible"], true);
    assert_eq!(opened["policy"]["auto_approved"], false);
    assert!(opened["deadlines"]["seller_response_due"].is_string());
    assert!(opened["deadlines"]["ship_by"].is_null());
    assert!(opened["created_at"].is_string() && opened["updated_at"].is_string());
    let v = assert_moved(&app, &opened, 0, "requested").await;

    // The buyer sees it too, the same.
    let seen = view_of(app.get_return(&buyer, &id).await).await;
    assert_eq!(seen["rma"], rma.as_str());
    assert_eq!(version_of(&seen), v);

    // Accept.
    let label = json!({ "label": { "carrier": "DHL", "tracking_number": "RL-1" } });
    let accepted = step(&app, &seller, &id, "accept", label).await;
    let v = assert_moved(&app, &accepted, v, "authorized").await;
    assert!(accepted["deadlines"]["ship_by"].is_string(), "{accepted}");
    assert!(accepted["deadlines"]["seller_response_due"].is_null());
    let for_buyer = view_of(app.get_return(&buyer, &id).await).await;
    assert!(strings(&for_buyer["allowed_actions"]).contains(&"ship".to_owned()));

    // Ship.
    let shipped = step(&app, &buyer, &id, "ship", ship_body()).await;
    let v = assert_moved(&app, &shipped, v, "in_transit").await;

    // The carrier delivers it to the seller.
    let arrived = step(&app, &platform, &id, "carrier-update", delivered_body()).await;
    let v = assert_moved(&app, &arrived, v, "delivered").await;
    assert!(arrived["deadlines"]["inspect_by"].is_string(), "{arrived}");
    let for_seller = view_of(app.get_return(&seller, &id).await).await;
    assert!(strings(&for_seller["allowed_actions"]).contains(&"inspect".to_owned()));

    // Inspect: the refund falls due.
    let inspection = json!({ "grade": "as_new", "refund_amount_minor": HEADPHONES_PRICE });
    let inspected = step(&app, &seller, &id, "inspect", inspection).await;
    let v = assert_moved(&app, &inspected, v, "refund_pending").await;
    assert_eq!(inspected["refund_due_minor"], HEADPHONES_PRICE);
    assert!(
        inspected["deadlines"]["refund_due"].is_string(),
        "{inspected}"
    );
    assert!(!inspected["inspection"].is_null(), "{inspected}");

    // The payment went through.
    let refunded = step(
        &app,
        &platform,
        &id,
        "refund",
        refund_body(HEADPHONES_PRICE),
    )
    .await;
    let v = assert_moved(&app, &refunded, v, "closed").await;
    assert_eq!(refunded["outcome"], "refunded");
    assert_eq!(refunded["refunded_amount_minor"], HEADPHONES_PRICE);
    assert_eq!(refunded["rma"], rma.as_str(), "the RMA never changes");
    assert!(refunded["refund_due_minor"].is_null(), "{refunded}");

    // The case history: every event, in version order, with who did it.
    let events = app.events_of(&id).await;
    assert_eq!(events.len() as u64, v);
    assert_eq!(
        event_types(&events),
        [
            "return.requested",
            "return.authorized",
            "return.shipped",
            "return.item_arrived",
            "return.inspected",
            "return.refund_approved",
            "return.refunded",
            "return.closed",
        ]
    );
    let mut last_position = None;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["version"], i as u64 + 1, "{event}");
        let position = event["position"].as_u64().expect("position");
        assert!(last_position < Some(position), "positions grow: {event}");
        last_position = Some(position);
        assert!(event["occurred_at"].is_string(), "{event}");
        assert!(event["data"].is_object(), "{event}");
    }
    let actor = |i: usize| {
        (
            events[i]["actor"]["role"].clone(),
            events[i]["actor"]["id"].clone(),
        )
    };
    assert_eq!(actor(0), (json!("buyer"), json!(BUYER)));
    assert_eq!(actor(1), (json!("seller"), json!(SELLER)));
    assert_eq!(actor(2), (json!("buyer"), json!(BUYER)));
    assert_eq!(actor(3), (json!("platform"), json!(PLATFORM)));
    assert_eq!(actor(4), (json!("seller"), json!(SELLER)));
    assert_eq!(actor(6), (json!("platform"), json!(PLATFORM)));

    // The buyer may read the history of their own return.
    let for_buyer = expect_json(app.return_events(&buyer, &id).await, 200).await;
    assert_eq!(items_of(&for_buyer).len(), events.len());
}

#[tokio::test]
async fn allowed_actions_are_those_of_the_caller() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let id = id_of(&opened);

    let for_buyer = view_of(app.get_return(&app.buyer(), &id).await).await;
    let for_seller = view_of(app.get_return(&app.seller(), &id).await).await;
    let for_platform = view_of(app.get_return(&app.platform(), &id).await).await;

    assert_eq!(
        strings(&for_buyer["allowed_actions"]),
        sorted(&[
            "escalate",
            "withdraw",
            "messages",
            "evidence",
            "choose-method"
        ])
    );
    assert_eq!(
        strings(&for_seller["allowed_actions"]),
        sorted(&[
            "accept",
            "decline",
            "offer",
            "escalate",
            "messages",
            "evidence",
            "grant-exception"
        ])
    );
    assert_eq!(
        strings(&for_platform["allowed_actions"]),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_buyer_lists_only_their_own_returns_page_by_page() {
    let app = TestApp::spawn().await;
    let mut own = BTreeSet::new();
    for order_id in ["o-1", "o-2", "o-3"] {
        app.given_order(&eu_order(order_id)).await;
        let opened = app
            .given_return(&app.buyer(), &headphones_return(order_id))
            .await;
        own.insert(id_of(&opened));
    }
    let mut foreign_order = eu_order("o-4");
    foreign_order["buyer_id"] = json!(OTHER_BUYER);
    app.given_order(&foreign_order).await;
    let foreign = app
        .given_return(&app.other_buyer(), &headphones_return("o-4"))
        .await;

    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = expect_json(app.list_returns(&app.buyer(), &query).await, 200).await;
        let items = items_of(&page);
        assert!(items.len() <= 2, "limit respected: {page}");
        for item in &items {
            assert!(seen.insert(id_of(item)), "listed twice: {item}");
        }
        pages += 1;
        assert!(pages <= 3, "paging does not end: {page}");
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                break;
            }
        }
    }
    assert_eq!(seen, own, "exactly the buyer's own returns");
    assert!(pages >= 2, "three returns do not fit on one page of two");
    assert!(!seen.contains(&id_of(&foreign)));

    // The seller of all four sees them all; another seller sees none.
    let for_seller = expect_json(app.list_returns(&app.seller(), &[]).await, 200).await;
    assert_eq!(items_of(&for_seller).len(), 4);
    let for_other = expect_json(app.list_returns(&app.other_seller(), &[]).await, 200).await;
    assert!(items_of(&for_other).is_empty(), "{for_other}");
    assert!(for_other["next_cursor"].is_null());
}

#[tokio::test]
async fn listing_filters_by_status_and_caps_the_limit() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let buyer = app.buyer();
    let first = app
        .given_return(
            &buyer,
            &return_request("o-1", &[(HEADPHONES, 1)], "defective"),
        )
        .await;
    let second = app
        .given_return(&buyer, &return_request("o-1", &[(SHIRT, 1)], "size_fit"))
        .await;
    let third = app
        .given_return(&buyer, &return_request("o-1", &[(SHIRT, 1)], "size_fit"))
        .await;
    app.act(&app.seller(), &id_of(&first), "accept", &json!({}))
        .await;

    let authorized = expect_json(
        app.list_returns(&buyer, &[("status", "authorized")]).await,
        200,
    )
    .await;
    let ids: Vec<String> = items_of(&authorized).iter().map(id_of).collect();
    assert_eq!(ids, [id_of(&first)]);
    let requested = expect_json(
        app.list_returns(&buyer, &[("status", "requested")]).await,
        200,
    )
    .await;
    let ids: BTreeSet<String> = items_of(&requested).iter().map(id_of).collect();
    assert_eq!(ids, BTreeSet::from([id_of(&second), id_of(&third)]));
    let by_order = expect_json(app.list_returns(&buyer, &[("order_id", "o-1")]).await, 200).await;
    assert_eq!(items_of(&by_order).len(), 3);
    let rmas: BTreeSet<String> = items_of(&by_order)
        .iter()
        .map(|r| r["rma"].as_str().expect("rma").to_owned())
        .collect();
    assert_eq!(rmas.len(), 3, "every return has its own RMA");

    // The maximum page size is 200 (docs/api.md, "Lists and cursors"); above it is refused.
    let max = app.list_returns(&buyer, &[("limit", "200")]).await;
    assert_eq!(items_of(&expect_json(max, 200).await).len(), 3);
    let above = app.list_returns(&buyer, &[("limit", "201")]).await;
    let problem = expect_problem(above, 422, "validation_failed").await;
    assert_names_field(&problem, "limit");
}

#[tokio::test]
async fn a_declined_return_can_be_escalated_by_the_buyer() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let id = id_of(&opened);

    let declined = step(
        &app,
        &app.seller(),
        &id,
        "decline",
        json!({ "reason_text": "Works fine on our bench" }),
    )
    .await;
    let v = assert_moved(&app, &declined, version_of(&opened), "declined").await;
    assert!(
        declined["deadlines"]["escalate_by"].is_string(),
        "{declined}"
    );
    let for_buyer = view_of(app.get_return(&app.buyer(), &id).await).await;
    assert!(strings(&for_buyer["allowed_actions"]).contains(&"escalate".to_owned()));

    let escalated = step(
        &app,
        &app.buyer(),
        &id,
        "escalate",
        json!({ "reason_text": "It does not turn on" }),
    )
    .await;
    assert_moved(&app, &escalated, v, "escalated").await;
    assert!(
        escalated["deadlines"]["decision_due"].is_string(),
        "{escalated}"
    );
    assert!(!escalated["dispute"].is_null(), "{escalated}");
    let types = event_types(&app.events_of(&id).await);
    assert_eq!(types.last().map(String::as_str), Some("return.escalated"));
}

#[tokio::test]
async fn an_accepted_partial_refund_offer_falls_due() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let id = id_of(&opened);

    let offered = step(
        &app,
        &app.seller(),
        &id,
        "offer",
        json!({ "kind": "partial_refund", "amount_minor": 2000 }),
    )
    .await;
    let v = assert_moved(&app, &offered, version_of(&opened), "offer_pending").await;
    assert_eq!(offered["offered_amount_minor"], 2000);
    let for_buyer = view_of(app.get_return(&app.buyer(), &id).await).await;
    let actions = strings(&for_buyer["allowed_actions"]);
    assert!(actions.contains(&"accept-offer".to_owned()), "{actions:?}");
    assert!(actions.contains(&"decline-offer".to_owned()), "{actions:?}");

    let accepted = step(&app, &app.buyer(), &id, "accept-offer", json!({})).await;
    assert_moved(&app, &accepted, v, "refund_pending").await;
    assert_eq!(accepted["refund_due_minor"], 2000);

    let refunded = step(&app, &app.platform(), &id, "refund", refund_body(2000)).await;
    assert_eq!(refunded["status"], "closed");
    assert_eq!(refunded["outcome"], "partially_refunded");
    assert_eq!(refunded["refunded_amount_minor"], 2000);
}

#[tokio::test]
async fn a_buyer_may_withdraw_before_delivery() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let id = id_of(&opened);
    let accepted = step(&app, &app.seller(), &id, "accept", json!({})).await;

    let withdrawn = step(&app, &app.buyer(), &id, "withdraw", json!({})).await;

    assert_moved(&app, &withdrawn, version_of(&accepted), "closed").await;
    assert_eq!(withdrawn["outcome"], "withdrawn");
    assert!(withdrawn["deadlines"]["ship_by"].is_null(), "{withdrawn}");
    // The items are free again: the buyer may open a new return for them.
    app.given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
}

#[tokio::test]
async fn withdrawing_after_delivery_is_an_invalid_transition() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-1")).await;
    let id = id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-1"))
            .await,
    );
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &ship_body()).await;
    app.act(&app.platform(), &id, "carrier-update", &delivered_body())
        .await;

    let res = app
        .action(&app.buyer(), &id, "withdraw", &json!({}), None, None)
        .await;

    let problem = expect_problem(res, 409, "invalid_transition").await;
    assert!(!problem["detail"].as_str().unwrap_or_default().is_empty());
    assert_eq!(app.return_view(&id).await["status"], "delivered");
}
