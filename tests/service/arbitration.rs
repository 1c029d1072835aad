//! The dispute queue and recommendations (operators only).

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{eu_order, expect_json, expect_problem, headphones_return, Api};
use returns_testkit::TestApp;

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap()
}

/// A defective item declined without evidence, then escalated by the buyer.
async fn disputed(app: &TestApp) -> String {
    app.given_order(&eu_order("o-d")).await;
    let view = app
        .given_return(&app.buyer(), &headphones_return("o-d"))
        .await;
    let id = view["id"].as_str().unwrap().to_owned();
    app.act(
        &app.seller(),
        &id,
        "decline",
        &json!({"reason_text": "Works for us"}),
    )
    .await;
    app.act(
        &app.buyer(),
        &id,
        "escalate",
        &json!({"reason_text": "It does not"}),
    )
    .await;
    id
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn operators_work_a_queue_of_open_disputes() {
    let app = TestApp::spawn().await;
    let id = disputed(&app).await;
    let op = app.operator();

    let all = expect_json(get(&app, &op, "/v1/disputes").await, 200).await;
    assert_eq!(ids(&all), vec![id.clone()]);
    assert!(all["items"][0]["deadlines"]["decision_due"].is_string());
    let unassigned = expect_json(get(&app, &op, "/v1/disputes?assignee=none").await, 200).await;
    assert_eq!(ids(&unassigned), vec![id.clone()]);
    let mine = expect_json(get(&app, &op, "/v1/disputes?assignee=me").await, 200).await;
    assert!(ids(&mine).is_empty());

    app.act(&op, &id, "assign", &json!({})).await;
    let mine = expect_json(get(&app, &op, "/v1/disputes?assignee=me").await, 200).await;
    assert_eq!(ids(&mine), vec![id.clone()]);
    let unassigned = expect_json(get(&app, &op, "/v1/disputes?assignee=none").await, 200).await;
    assert!(ids(&unassigned).is_empty());

    expect_problem(
        get(&app, &app.buyer(), "/v1/disputes").await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        get(&app, &app.seller(), "/v1/disputes").await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        get(&app, &op, "/v1/disputes?assignee=someone").await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_recommendation_explains_itself_and_only_operators_read_it() {
    let app = TestApp::spawn().await;
    let id = disputed(&app).await;
    let op = app.operator();
    let path = format!("/v1/returns/{id}/recommendation");

    let first = expect_json(get(&app, &op, &path).await, 200).await;
    // A refusal without evidence of a defective item under the EU guarantee: the buyer's case.
    assert_eq!(first["outcome"], "refund_buyer", "{first}");
    assert!(first["refund_amount_minor"].as_i64().unwrap() > 0);
    let reasons = first["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty());
    let positions: Vec<i64> = app
        .events_of(&id)
        .await
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    for reason in reasons {
        assert!(
            reason["rule"].is_string() && reason["detail"].is_string(),
            "{reason}"
        );
        for p in reason["event_positions"].as_array().unwrap() {
            assert!(
                positions.contains(&p.as_i64().unwrap()),
                "{p} is not in the history"
            );
        }
    }
    // Deterministic: the same history gives the same answer.
    assert_eq!(expect_json(get(&app, &op, &path).await, 200).await, first);

    expect_problem(get(&app, &app.buyer(), &path).await, 403, "forbidden").await;
    expect_problem(get(&app, &app.seller(), &path).await, 403, "forbidden").await;
    expect_problem(get(&app, &app.other_buyer(), &path).await, 404, "not_found").await;
}

#[tokio::test]
async fn a_decision_records_the_recommendation_shown_and_whether_it_was_followed() {
    let app = TestApp::spawn().await;
    let id = disputed(&app).await;
    let op = app.operator();
    let shown = expect_json(
        get(&app, &op, &format!("/v1/returns/{id}/recommendation")).await,
        200,
    )
    .await;
    // The operator decides otherwise: siding with the seller.
    let view = app
        .act(
            &op,
            &id,
            "decide",
            &json!({"outcome": "side_with_seller", "refund_amount_minor": 0,
                    "rationale": "The seller's test report convinces"}),
        )
        .await;
    assert_eq!(view["status"], "closed");
    assert_eq!(view["outcome"], "denied");
    let recorded = &view["dispute"]["decision"]["recommendation"];
    assert_eq!(recorded["outcome"], shown["outcome"], "{view}");
    assert_eq!(
        recorded["refund_amount_minor"],
        shown["refund_amount_minor"]
    );
    assert_eq!(recorded["followed"], false);
    let rules: Vec<&Value> = shown["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["rule"])
        .collect();
    let recorded_rules: Vec<&Value> = recorded["rules"].as_array().unwrap().iter().collect();
    assert_eq!(recorded_rules, rules);
    // It is in the log itself, with the decision.
    let events = app.events_of(&id).await;
    let decided = events
        .iter()
        .find(|e| e["type"] == "return.dispute_decided")
        .unwrap();
    assert_eq!(decided["data"]["recommendation"]["followed"], false);
}

/// What only the platform's side may see (docs/api.md, "Visibility"): a buyer or seller never
/// sees which operator handles or decided a case, nor the recommendation recorded with the
/// decision, in the view, the history or the messages; operators and the platform see all.
#[tokio::test]
async fn parties_never_see_operator_identities_or_the_recorded_recommendation() {
    let app = TestApp::spawn().await;
    let id = disputed(&app).await;
    let op = app.operator();
    app.act(&op, &id, "assign", &json!({})).await;
    app.act(&op, &id, "messages", &json!({"body": "Looking into it"}))
        .await;
    app.act(
        &op,
        &id,
        "decide",
        &json!({"outcome": "refund_buyer", "refund_amount_minor": 4999,
                "return_required": false, "funded_by": "seller",
                "rationale": "The defect is plausible"}),
    )
    .await;

    for party in [app.buyer(), app.seller()] {
        let view = expect_json(get(&app, &party, &format!("/v1/returns/{id}")).await, 200).await;
        let dispute = &view["dispute"];
        assert_eq!(dispute["assignee"], "operator", "{dispute}");
        assert_eq!(dispute["decision"]["decided_by"], "operator", "{dispute}");
        assert!(
            dispute["decision"].get("recommendation").is_none(),
            "{dispute}"
        );
        assert_eq!(dispute["decision"]["outcome"], "refund_buyer");

        let events = expect_json(
            get(&app, &party, &format!("/v1/returns/{id}/events?limit=200")).await,
            200,
        )
        .await;
        let messages = expect_json(
            get(&app, &party, &format!("/v1/returns/{id}/messages")).await,
            200,
        )
        .await;
        for (what, body) in [
            ("view", &view),
            ("events", &events),
            ("messages", &messages),
        ] {
            let text = body.to_string();
            assert!(
                !text.contains(crate::support::OPERATOR),
                "{what} names the operator: {text}"
            );
            assert!(
                !text.contains("recommendation"),
                "{what} shows the recommendation: {text}"
            );
        }
        let decided = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "return.dispute_decided")
            .unwrap();
        assert_eq!(
            decided["actor"],
            json!({"role": "operator", "id": "operator"})
        );
        assert_eq!(decided["data"]["outcome"], "refund_buyer");
        assert_eq!(messages["items"][0]["author"]["id"], "operator");
    }

    // The platform's side sees everything.
    for viewer in [op.clone(), app.platform()] {
        let view = expect_json(get(&app, &viewer, &format!("/v1/returns/{id}")).await, 200).await;
        assert_eq!(
            view["dispute"]["decision"]["decided_by"],
            crate::support::OPERATOR
        );
        assert!(
            view["dispute"]["decision"]["recommendation"].is_object(),
            "{view}"
        );
    }
}

/// The rules of docs/arbitration.md over HTTP: what the operator is recommended for each.
async fn recommended(app: &TestApp, id: &str) -> Value {
    expect_json(
        get(
            app,
            &app.operator(),
            &format!("/v1/returns/{id}/recommendation"),
        )
        .await,
        200,
    )
    .await
}

fn first_rule(rec: &Value) -> &str {
    rec["reasons"][0]["rule"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_not_received_claim_without_a_recorded_delivery_is_refunded_whatever_the_tracking() {
    let app = TestApp::spawn().await;
    app.given_order(&crate::support::order("o-nr", "DE", "EUR", None))
        .await;
    let mut claim = headphones_return("o-nr");
    claim["reason"] = json!("not_received");
    let id = crate::support::id_of(&app.given_return(&app.buyer(), &claim).await);
    let tracking = json!({"kind": "tracking", "note": "In transit at the hub"});
    app.act(
        &app.seller(),
        &id,
        "decline",
        &json!({"reason_text": "Shipped", "evidence": [tracking]}),
    )
    .await;
    app.act(
        &app.buyer(),
        &id,
        "escalate",
        &json!({"reason_text": "Never came"}),
    )
    .await;
    let rec = recommended(&app, &id).await;
    assert_eq!(rec["outcome"], "refund_buyer", "{rec}");
    assert_eq!(rec["return_required"], false);
    assert_eq!(first_rule(&rec), "no_recorded_delivery", "{rec}");
}

#[tokio::test]
async fn a_lost_return_parcel_the_carrier_scanned_is_escalated_and_refunded_without_a_return() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-lost")).await;
    let id = crate::support::id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-lost"))
            .await,
    );
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(&app.buyer(), &id, "ship", &crate::support::ship_body())
        .await;
    let scan = |status: &str| json!({"status": status, "at": crate::support::just_now()});
    let scanned = app
        .act(&app.platform(), &id, "carrier-update", &scan("in_transit"))
        .await;
    assert!(scanned["shipment"]["accepted_at"].is_string(), "{scanned}");
    let lost = app
        .act(&app.platform(), &id, "carrier-update", &scan("lost"))
        .await;
    assert_eq!(lost["status"], "escalated");
    assert_eq!(lost["dispute"]["escalated_by"], "parcel_lost");
    let rec = recommended(&app, &id).await;
    assert_eq!(rec["outcome"], "refund_buyer", "{rec}");
    assert_eq!(rec["return_required"], false);
    assert_eq!(rec["funded_by"], "seller");
    assert_eq!(first_rule(&rec), "return_parcel_lost", "{rec}");
}

#[tokio::test]
async fn a_buyer_who_never_ships_while_the_case_is_escalated_is_not_refunded() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-ns")).await;
    let id = crate::support::id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-ns"))
            .await,
    );
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    app.act(
        &app.buyer(),
        &id,
        "escalate",
        &json!({"reason_text": "Label?"}),
    )
    .await;
    // Ten days to ship; eleven pass with nothing sent.
    app.given_time_passes(24 * 11).await;
    let rec = recommended(&app, &id).await;
    assert_eq!(rec["outcome"], "side_with_seller", "{rec}");
    assert_eq!(first_rule(&rec), "buyer_never_shipped", "{rec}");
}

#[tokio::test]
async fn a_silent_seller_loses_the_case_and_funds_the_refund() {
    let app = TestApp::spawn().await;
    app.given_order(&eu_order("o-ss")).await;
    let id = crate::support::id_of(
        &app.given_return(&app.buyer(), &headphones_return("o-ss"))
            .await,
    );
    app.given_time_passes(24 * 7).await;
    let view = app.return_view(&id).await;
    assert_eq!(view["status"], "escalated");
    let rec = recommended(&app, &id).await;
    assert_eq!(rec["outcome"], "refund_buyer", "{rec}");
    assert_eq!(rec["funded_by"], "seller");
    assert_eq!(first_rule(&rec), "seller_silence", "{rec}");
}

/// Appeals (docs/api.md, "Actions"): the party the decision went against appeals once, within 7
/// days, with new evidence; the case returns to the queue; another operator decides, finally.
#[tokio::test]
async fn a_denied_buyer_appeals_and_another_operator_decides_for_good() {
    let app = TestApp::spawn().await;
    let id = disputed(&app).await;
    let first = app.operator();
    let second = app.token(returns_api::auth::Role::Operator, "operator-2");
    app.act(
        &first,
        &id,
        "decide",
        &json!({"outcome": "side_with_seller", "refund_amount_minor": 0, "rationale": "No defect shown"}),
    )
    .await;
    let appeal = json!({
        "reason_text": "Here is a video of the fault",
        "evidence": [{"kind": "video", "url": "https://cdn.example/fault.mp4"}],
    });
    // The seller won: it has nothing to appeal. Without new evidence, no appeal.
    let res = app
        .action(&app.seller(), &id, "appeal", &appeal, None, None)
        .await;
    expect_problem(res, 409, "invalid_transition").await;
    let bare = json!({"reason_text": "Look again", "evidence": []});
    let res = app
        .action(&app.buyer(), &id, "appeal", &bare, None, None)
        .await;
    let problem = expect_problem(res, 422, "validation_failed").await;
    crate::support::assert_names_field(&problem, "evidence");

    let appealed = app.act(&app.buyer(), &id, "appeal", &appeal).await;
    assert_eq!(appealed["status"], "escalated");
    assert_eq!(
        appealed["dispute"]["appeal"]["first_decision"]["outcome"],
        "side_with_seller"
    );
    // Back in the queue.
    let queue = expect_json(get(&app, &first, "/v1/disputes").await, 200).await;
    assert_eq!(ids(&queue), vec![id.clone()]);

    let overturn = json!({"outcome": "refund_buyer", "refund_amount_minor": 4999,
                          "funded_by": "seller", "rationale": "The video shows the fault"});
    let res = app
        .action(&first, &id, "decide", &overturn, None, None)
        .await;
    let problem = expect_problem(res, 409, "invalid_transition").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("other than"),
        "{problem}"
    );
    let decided = app.act(&second, &id, "decide", &overturn).await;
    assert_eq!(decided["status"], "refund_pending");
    assert_eq!(decided["dispute"]["appeal"]["overturned"], true);
    // Final.
    for token in [app.buyer(), app.seller()] {
        let res = app.action(&token, &id, "appeal", &appeal, None, None).await;
        expect_problem(res, 409, "invalid_transition").await;
    }
    let types = crate::support::event_types(&app.events_of(&id).await);
    assert!(types.contains(&"return.appealed".to_owned()), "{types:?}");

    // Analytics count the decision, the appeal and the reversal.
    let range = [
        ("from", "2000-01-01T00:00:00Z"),
        ("to", "2100-01-01T00:00:00Z"),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let appeals = loop {
        let body = expect_json(
            app.request(Method::GET, "/v1/analytics/summary", Some(&first))
                .query(&range)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        if body["appeals"]["overturned"] == 1 {
            break body["appeals"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never settled: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        appeals,
        json!({"decisions": 1, "appeals": 1, "appeal_rate": 1.0, "appeals_decided": 1,
               "overturned": 1, "overturn_rate": 1.0})
    );
}
