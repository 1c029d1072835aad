//! Response bodies: the domain's state rendered in API.md's shapes.

use chrono::{DateTime, SecondsFormat, Utc};
use returns_domain::returns::allowed_actions;
use returns_domain::{Actor, Order, ReturnCase, SellerPolicy};
use returns_event_store::RecordedEvent;
use serde_json::{json, Value};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The return view of API.md, with `allowed_actions` for this caller at `now`.
pub fn return_view(case: &ReturnCase, caller: &Actor, now: DateTime<Utc>) -> Value {
    let deadlines: serde_json::Map<String, Value> = case
        .deadlines
        .running()
        .into_iter()
        .map(|(kind, at)| (kind.as_str().to_owned(), Value::String(time(at))))
        .collect();
    json!({
        "id": case.id,
        "rma": case.rma,
        "order_id": case.order_id,
        "buyer_id": case.buyer_id,
        "seller_id": case.seller_id,
        "currency": case.currency,
        "jurisdiction": case.jurisdiction,
        "status": case.status,
        "outcome": case.outcome,
        "reason": case.reason,
        "description": case.description,
        "resolution": case.resolution,
        "items": case.items,
        "items_total_minor": case.items_total_minor,
        "requested_amount_minor": case.requested_amount_minor,
        "offered_amount_minor": case.offered_amount_minor(),
        "offer": case.offer,
        "refund_due_minor": case.refund_due_minor(),
        "refunded_amount_minor": case.refunded_amount_minor,
        "refund": case.refund,
        "policy": {
            "eligible": case.policy.eligible,
            "auto_approved": case.policy.auto_approved,
            "rules": case.policy.rules,
        },
        "deadlines": deadlines,
        "missed_deadlines": case.missed_deadlines,
        "authorization": case.authorization,
        "shipment": case.shipment,
        "inspection": case.inspection,
        "decline": case.decline,
        "dispute": case.dispute,
        "exceptions": case.exceptions,
        "evidence": case.evidence,
        "message_count": case.message_count,
        "allowed_actions": allowed_actions(case, caller, now),
        "version": case.version,
        "created_at": time(case.created_at),
        "updated_at": time(case.updated_at),
    })
}

pub fn order_view(order: &Order) -> Value {
    json!({
        "order_id": order.order_id,
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "currency": order.currency,
        "jurisdiction": order.jurisdiction,
        "placed_at": time(order.placed_at),
        "delivered_at": order.delivered_at.map(time),
        "lines": order.lines,
        "policy_version": order.policy_version,
        "returns": order.returns,
        "version": order.version,
    })
}

pub fn policy_view(seller_id: &str, policy: &SellerPolicy, version: u64) -> Value {
    let mut body = serde_json::to_value(policy).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        map.insert("seller_id".into(), json!(seller_id));
        map.insert("policy_version".into(), json!(version));
    }
    body
}

/// One entry of `GET /v1/returns/{id}/events`.
pub fn event_view(event: &RecordedEvent) -> Value {
    json!({
        "id": event.event_id,
        "position": event.position,
        "version": event.version,
        "type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": time(event.metadata.occurred_at),
        "recorded_at": time(event.recorded_at),
        "actor": { "role": event.metadata.actor.role, "id": event.metadata.actor.id },
        "correlation_id": event.metadata.correlation_id,
        "data": event.data,
    })
}
