//! Personal data stays out of the log and can be erased without breaking a case's history.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use returns_app::{
    Answered, CommandOptions, OpenReturnRequest, Service, StoredResponse, SystemClock,
};
use returns_domain::order::{ItemRequest, OrderDetails};
use returns_domain::returns::{DeclineReturn, EscalateReturn, PostMessage, ReturnCommand};
use returns_domain::{Actor, BuyerId, ReturnCase};
use returns_testkit::TestDb;
use serde_json::json;

const SECRET_TEXT: &str = "Alice Example, 12 Rose Lane";

fn no_render<T>(_: &T) -> StoredResponse {
    StoredResponse {
        status: 200,
        body: Vec::new(),
        etag: None,
    }
}

fn fresh<T: std::fmt::Debug>(answer: Answered<T>) -> T {
    match answer {
        Answered::Fresh(v, _) => v,
        other => panic!("expected a fresh answer, got {other:?}"),
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let client = db.pool().get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn free_text_never_enters_the_log_and_erasure_keeps_the_history() {
    let db = TestDb::new().await;
    let service = Service::new(db.store(), Arc::new(SystemClock));
    let opts = CommandOptions::default();
    let platform = Actor::platform("marketplace");
    let buyer = Actor::buyer("buyer-1");
    let seller = Actor::seller("seller-1");

    let delivered = Utc::now() - Duration::days(3);
    let order: OrderDetails = serde_json::from_value(json!({
        "order_id": "o-1", "buyer_id": "buyer-1", "seller_id": "seller-1", "currency": "EUR",
        "jurisdiction": "DE", "placed_at": delivered - Duration::days(2), "delivered_at": delivered,
        "lines": [{"line_id": "l1", "sku": "S1", "title": "Lamp", "category": "home",
                   "quantity": 1, "unit_price_minor": 2500}]
    }))
    .unwrap();
    fresh(
        service
            .register_order(&platform, order, &opts, no_render)
            .await
            .unwrap(),
    );

    let opened: ReturnCase = fresh(
        service
            .open_return(
                &buyer,
                OpenReturnRequest {
                    order_id: "o-1".parse().unwrap(),
                    items: vec![ItemRequest {
                        line_id: "l1".parse().unwrap(),
                        quantity: 1,
                    }],
                    reason: "defective".parse().unwrap(),
                    description: Some(format!("Broken on arrival. {SECRET_TEXT}")),
                    resolution: "refund".parse().unwrap(),
                    evidence: Vec::new(),
                    return_method: None,
                },
                &opts,
                no_render,
            )
            .await
            .unwrap(),
    );
    let id = opened.id;
    let act = |actor: Actor, command: ReturnCommand| {
        let service = service.clone();
        let opts = opts.clone();
        async move {
            fresh(
                service
                    .act_on_return(&actor, id, command, &opts, no_render)
                    .await
                    .unwrap(),
            )
        }
    };
    act(
        buyer.clone(),
        ReturnCommand::PostMessage(PostMessage {
            body: format!("Please call {SECRET_TEXT}"),
        }),
    )
    .await;
    act(
        seller.clone(),
        ReturnCommand::Decline(DeclineReturn {
            reason_text: "Signs of misuse".into(),
            evidence: Vec::new(),
        }),
    )
    .await;

    // The log never holds the text; the views and the history (rehydrated) do.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM events WHERE data::text LIKE '%Alice%'"
        )
        .await,
        0
    );
    assert!(count(&db, "SELECT count(*) FROM events").await >= 4);
    let case = service.get_return(&buyer, id).await.unwrap();
    assert!(case.description.as_deref().unwrap().contains(SECRET_TEXT));
    let history = service
        .return_events(&buyer, id, returns_app::EventKinds::All, 0, 200)
        .await
        .unwrap()
        .events;
    let text: String = history.iter().map(|e| e.data.get().to_owned()).collect();
    assert!(text.contains(SECRET_TEXT), "{text}");
    assert!(text.contains("Signs of misuse"));

    // Only operators (and the CLI's system actor) may erase.
    let refused = service
        .erase_buyer(&seller, &BuyerId::parse("buyer-1").unwrap())
        .await;
    assert!(
        matches!(refused, Err(returns_app::AppError::Rejected(_))),
        "{refused:?}"
    );
    let operator = returns_domain::Actor::new(returns_domain::Role::Operator, "operator-1");
    let erasure = service
        .erase_buyer(&operator, &BuyerId::parse("buyer-1").unwrap())
        .await
        .unwrap();
    assert_eq!(erasure.returns_rebuilt, 1);
    assert!(erasure.values_erased >= 2, "{erasure:?}");
    // The erasure is itself on record, naming no erased text.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM events WHERE stream_id = 'erasure-buyer-buyer-1' \
             AND event_type = 'personal_data.erased' AND actor_id = 'operator-1'"
        )
        .await,
        1
    );

    // Nothing of it is left anywhere; the case reads and replays as before, text tombstoned.
    for table in ["events", "snapshots", "personal_data"] {
        let sql = format!("SELECT count(*) FROM {table} t WHERE t::text LIKE '%Alice%'");
        assert_eq!(count(&db, &sql).await, 0, "{table}");
    }
    let case = service.get_return(&buyer, id).await.unwrap();
    assert_eq!(case.description.as_deref(), Some("[erased]"));
    assert_eq!(case.status.as_str(), "declined");
    let after = service
        .return_events(&buyer, id, returns_app::EventKinds::All, 0, 200)
        .await
        .unwrap()
        .events;
    assert_eq!(after.len(), history.len());
    assert!(after
        .iter()
        .zip(&history)
        .all(|(a, b)| a.event_id == b.event_id));

    // The case goes on: the buyer can still escalate the decline.
    let escalated = act(
        buyer.clone(),
        ReturnCommand::Escalate(EscalateReturn {
            reason_text: "It was broken when it arrived".into(),
        }),
    )
    .await;
    assert_eq!(escalated.status.as_str(), "escalated");
}
