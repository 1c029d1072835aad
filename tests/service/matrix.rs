//! The authorisation matrix (docs/api.md, "Authentication" and "Visibility: 404 and 403"): every
//! operation of `/openapi.json` × every kind of caller, on resources of their own and of others.
//! The operations are read from the document the service serves, so a new route without a row
//! here fails the test; each return action is judged by the domain's own table of who may take it.

use std::collections::BTreeSet;

use reqwest::Method;
use returns_api::auth::Role;
use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{eu_order, expect_json, headphones_return, id_of, Api};

/// What a caller must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Let through: neither 401, 403 nor 404 (the answer may still be 409 or 422 by state or body).
    Allowed,
    /// Let through to a resource that does not exist: anything but 401 and 403.
    NotForbidden,
    /// 403: the role may never do this.
    Forbidden,
    /// 404: the resource is someone else's.
    Hidden,
}

use Expect::{Allowed as A, Forbidden as F, Hidden as H, NotForbidden as N};

/// The callers, in the order of every row's expectations.
const CALLERS: [(&str, Role, &str); 7] = [
    ("own buyer", Role::Buyer, "buyer-1"),
    ("other buyer", Role::Buyer, "buyer-2"),
    ("own seller", Role::Seller, "seller-1"),
    ("other seller", Role::Seller, "seller-2"),
    ("operator", Role::Operator, "operator-1"),
    ("own platform client", Role::Platform, "marketplace"),
    ("other platform client", Role::Platform, "other-marketplace"),
];

struct Row {
    method: Method,
    /// The path as the document names it.
    template: String,
    /// The path requested.
    path: String,
    body: Option<Value>,
    expect: [Expect; 7],
}

fn row(
    method: Method,
    template: &str,
    path: &str,
    body: Option<Value>,
    expect: [Expect; 7],
) -> Row {
    Row {
        method,
        template: template.to_owned(),
        path: path.to_owned(),
        body,
        expect,
    }
}

/// A body of the right shape for each return action (the shape is checked before the caller's
/// rights, so a wrong shape would hide them behind a 422).
fn action_body(action: &str) -> Value {
    let now = crate::support::just_now();
    match action {
        "decline" | "escalate" => json!({"reason_text": "Not as agreed"}),
        "offer" => json!({"kind": "partial_refund", "amount_minor": 100}),
        "ship" => json!({"carrier": "DHL", "tracking_number": "T-1"}),
        "carrier-update" => json!({"status": "in_transit", "at": now}),
        "inspect" => json!({"grade": "as_new", "refund_amount_minor": 100}),
        "refund" => json!({"amount_minor": 100, "method": "original_payment", "reference": "R-1"}),
        "messages" => json!({"body": "Hello"}),
        "evidence" => json!({"kind": "photo", "url": "https://cdn.example/p.jpg"}),
        "grant-exception" => json!({"rule": "return_window", "note": "Goodwill"}),
        "rate" => json!({"score": 5}),
        "appeal" => {
            json!({"reason_text": "New facts", "evidence": [{"kind": "text", "note": "Receipt"}]})
        }
        "choose-method" => json!({"method": "mail"}),
        "ship-replacement" => json!({"carrier": "UPS", "tracking_number": "T-2"}),
        "decide" => {
            json!({"outcome": "refund_buyer", "refund_amount_minor": 100, "rationale": "Fair"})
        }
        _ => json!({}),
    }
}

/// Who may take `action` (the domain's table), as expectations per caller: roles the domain
/// allows are let through where they can see the return; other roles get 403 where they can see
/// it; buyers and sellers of other returns get 404 whatever the action.
fn action_expect(action: &str) -> [Expect; 7] {
    let parsed = returns_domain::returns::Action::parse(action).unwrap_or_else(|_| {
        panic!("the document lists an action the domain does not know: {action}")
    });
    let roles = returns_domain::returns::roles_for(parsed);
    let may = |role: returns_domain::Role| if roles.contains(&role) { A } else { F };
    use returns_domain::Role as D;
    [
        may(D::Buyer),
        H,
        may(D::Seller),
        H,
        may(D::Operator),
        may(D::Platform),
        may(D::Platform),
    ]
}

#[tokio::test]
async fn every_operation_answers_every_caller_as_documented() {
    let app = TestApp::spawn().await;
    // buyer-1 bought from seller-1; the return is theirs, not buyer-2's or seller-2's.
    app.given_order(&eu_order("o-1")).await;
    app.given_order(&eu_order("o-2")).await;
    let opened = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let id = id_of(&opened);
    let rma = opened["rma"].as_str().unwrap().to_owned();
    let token = |role: Role, sub: &str| app.token(role, sub);
    let webhook =
        json!({"url": "http://127.0.0.1:9/hook", "secret": "sixteen-bytes!!!", "events": ["*"]});
    let hook = |what: &str| {
        let app = &app;
        let webhook = webhook.clone();
        let what = what.to_owned();
        async move {
            let res = app
                .request(Method::POST, "/v1/webhooks", Some(&app.platform()))
                .json(&webhook)
                .send()
                .await
                .unwrap();
            let created = expect_json(res, 201).await;
            println!("webhook for {what}: {created}");
            id_of(&created)
        }
    };
    let hook_id = hook("reads").await;
    let doomed = hook("delete").await;
    let nil = "00000000-0000-0000-0000-000000000000";
    let new_order = json!({
        "order_id": "o-new", "buyer_id": "buyer-1", "seller_id": "seller-1", "currency": "EUR",
        "jurisdiction": "DE", "placed_at": "2026-11-01T10:00:00Z",
        "lines": [{"line_id": "L1", "sku": "S", "title": "T", "category": "electronics",
                   "quantity": 1, "unit_price_minor": 100}]
    });

    let mut rows = vec![
        row(Method::GET, "/healthz", "/healthz", None, [A; 7]),
        row(Method::GET, "/readyz", "/readyz", None, [A; 7]),
        row(Method::GET, "/openapi.json", "/openapi.json", None, [A; 7]),
        row(
            Method::GET,
            "/v1/analytics/summary",
            "/v1/analytics/summary",
            None,
            [F, F, A, A, A, F, F],
        ),
        row(
            Method::POST,
            "/v1/sellers/{seller_id}/policy/what-if",
            "/v1/sellers/seller-1/policy/what-if",
            Some(
                json!({"policy": {}, "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}),
            ),
            [F, F, A, F, A, F, F],
        ),
        row(
            Method::GET,
            "/v1/buyers/{buyer_id}/store-credit",
            "/v1/buyers/buyer-1/store-credit",
            None,
            [A, H, F, F, A, A, A],
        ),
        row(
            Method::GET,
            "/v1/buyers/{buyer_id}/store-credit/movements",
            "/v1/buyers/buyer-1/store-credit/movements",
            None,
            [A, H, F, F, A, A, A],
        ),
        row(
            Method::POST,
            "/v1/buyers/{buyer_id}/store-credit/spend",
            "/v1/buyers/buyer-1/store-credit/spend",
            Some(json!({"currency": "EUR", "amount_minor": 1})),
            [F, H, F, F, F, A, A],
        ),
        row(
            Method::POST,
            "/v1/buyers/{buyer_id}/store-credit/expire",
            "/v1/buyers/buyer-1/store-credit/expire",
            Some(json!({"currency": "EUR"})),
            [F, H, F, F, F, A, A],
        ),
        row(
            Method::GET,
            "/v1/analytics/satisfaction/sellers",
            "/v1/analytics/satisfaction/sellers",
            None,
            [F, F, F, F, A, F, F],
        ),
        row(
            Method::GET,
            "/v1/disputes",
            "/v1/disputes",
            None,
            [F, F, F, F, A, F, F],
        ),
        row(
            Method::GET,
            "/v1/flags",
            "/v1/flags",
            None,
            [F, F, F, F, A, F, F],
        ),
        row(
            Method::GET,
            "/v1/flags/{id}",
            &format!("/v1/flags/{nil}"),
            None,
            [F, F, F, F, N, F, F],
        ),
        row(
            Method::POST,
            "/v1/flags/{id}/review",
            &format!("/v1/flags/{nil}/review"),
            Some(json!({"verdict": "confirmed"})),
            [F, F, F, F, N, F, F],
        ),
        row(
            Method::POST,
            "/v1/orders",
            "/v1/orders",
            Some(new_order),
            [F, F, F, F, F, A, A],
        ),
        row(
            Method::GET,
            "/v1/orders/{order_id}",
            "/v1/orders/o-1",
            None,
            [A, H, A, H, A, A, A],
        ),
        row(
            Method::GET,
            "/v1/rma/{rma}",
            &format!("/v1/rma/{rma}"),
            None,
            [A, H, A, H, A, A, A],
        ),
        row(
            Method::POST,
            "/v1/orders/{order_id}/delivery",
            "/v1/orders/o-1/delivery",
            Some(json!({"delivered_at": "2026-11-03T10:00:00Z"})),
            [F, F, F, F, F, A, A],
        ),
        row(
            Method::GET,
            "/v1/parties/{role}/{id}/risk",
            "/v1/parties/buyer/buyer-1/risk",
            None,
            [F, F, F, F, A, F, F],
        ),
        row(Method::GET, "/v1/returns", "/v1/returns", None, [A; 7]),
        row(
            Method::POST,
            "/v1/returns",
            "/v1/returns",
            Some(headphones_return("o-2")),
            [A, H, F, H, F, F, F],
        ),
        row(
            Method::GET,
            "/v1/returns/{id}",
            &format!("/v1/returns/{id}"),
            None,
            [A, H, A, H, A, A, A],
        ),
        row(
            Method::GET,
            "/v1/returns/{id}/events",
            &format!("/v1/returns/{id}/events"),
            None,
            [A, H, A, H, A, A, A],
        ),
        row(
            Method::GET,
            "/v1/returns/{id}/messages",
            &format!("/v1/returns/{id}/messages"),
            None,
            [A, H, A, H, A, A, A],
        ),
        row(
            Method::GET,
            "/v1/returns/{id}/recommendation",
            &format!("/v1/returns/{id}/recommendation"),
            None,
            [F, H, F, H, A, F, F],
        ),
        row(
            Method::GET,
            "/v1/sellers/{seller_id}/policy",
            "/v1/sellers/seller-1/policy",
            None,
            [A; 7],
        ),
        row(
            Method::PUT,
            "/v1/sellers/{seller_id}/policy",
            "/v1/sellers/seller-1/policy",
            Some(json!({})),
            [F, F, A, F, A, F, F],
        ),
        row(
            Method::POST,
            "/v1/test-clock/advance",
            "/v1/test-clock/advance",
            Some(json!({"hours": 0})),
            [F, F, F, F, A, F, F],
        ),
        row(
            Method::GET,
            "/v1/webhooks",
            "/v1/webhooks",
            None,
            [F, F, F, F, A, A, A],
        ),
        row(
            Method::POST,
            "/v1/webhooks",
            "/v1/webhooks",
            Some(webhook.clone()),
            [F, F, F, F, A, A, A],
        ),
        row(
            Method::GET,
            "/v1/webhooks/{id}",
            &format!("/v1/webhooks/{hook_id}"),
            None,
            [F, F, F, F, A, A, H],
        ),
        row(
            Method::GET,
            "/v1/webhooks/{id}/deliveries",
            &format!("/v1/webhooks/{hook_id}/deliveries"),
            None,
            [F, F, F, F, A, A, H],
        ),
        row(
            Method::POST,
            "/v1/webhooks/deliveries/{id}/retry",
            &format!("/v1/webhooks/deliveries/{nil}/retry"),
            Some(json!({})),
            [F, F, F, F, N, F, F],
        ),
        row(
            Method::POST,
            "/v1/buyers/{buyer_id}/erasure",
            "/v1/buyers/buyer-9/erasure",
            Some(json!({})),
            [F, F, F, F, A, F, F],
        ),
    ];
    // The return actions: every `POST /v1/returns/{id}/<action>` the document has.
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let actions: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, operations)| operations.get("post").is_some())
        .filter_map(|(path, _)| path.strip_prefix("/v1/returns/{id}/"))
        .map(str::to_owned)
        .collect();
    assert!(actions.len() >= 17, "{actions:?}");
    for action in &actions {
        rows.push(row(
            Method::POST,
            &format!("/v1/returns/{{id}}/{action}"),
            &format!("/v1/returns/{id}/{action}"),
            Some(action_body(action)),
            action_expect(action),
        ));
    }
    // Deleting last: the other rows read the webhook it would remove.
    rows.push(row(
        Method::DELETE,
        "/v1/webhooks/{id}",
        &format!("/v1/webhooks/{doomed}"),
        None,
        [F, F, F, F, A, A, H],
    ));

    // Every documented operation has a row.
    let mut documented = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let covered: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.template.clone()))
        .collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "operations without a row in the matrix: {missing:?}"
    );

    let mut cells = 0;
    let mut failures = Vec::new();
    for r in &rows {
        // The delete row: every caller but the ones let through is tried first, then those.
        let mut order: Vec<usize> = (0..CALLERS.len()).collect();
        order.sort_by_key(|&i| r.expect[i] == A);
        for i in order {
            let (who, role, sub) = CALLERS[i];
            let mut request = app.request(r.method.clone(), &r.path, Some(&token(role, sub)));
            if let Some(body) = &r.body {
                request = request.json(body);
            }
            let status = request.send().await.unwrap().status().as_u16();
            let ok = match r.expect[i] {
                A => !matches!(status, 401 | 403 | 404),
                N => !matches!(status, 401 | 403),
                F => status == 403,
                H => status == 404,
            };
            cells += 1;
            if !ok {
                failures.push(format!(
                    "{} {} as {who}: {status}, expected {:?}",
                    r.method, r.path, r.expect[i]
                ));
            }
            // Once deleted, the webhook is gone for the callers after.
            if r.method == Method::DELETE && (200..300).contains(&status) {
                break;
            }
        }
    }
    println!("{cells} cells of the matrix checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
