//! Response bodies: the domain's state rendered in docs/api.md's shapes, as typed views that serialize
//! to the JSON the API answers and describe themselves to the OpenAPI document (`ToSchema`).
//!
//! The views borrow from the domain state rather than copy it. Where a view mirrors a domain type
//! field by field, it is built by destructuring that type without `..`, so that a field added to the
//! domain fails to compile here instead of silently missing from the answer and the document.
//! Domain types are not `ToSchema` (the domain crate knows nothing of the API), so their fields carry
//! `#[schema(value_type = ...)]`: `String` for parsed ids and codes, the vocabulary schemas of
//! [`crate::openapi`] for closed sets of strings, `Object` for nested records the contract does not
//! pin down field by field.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use returns_app::{ActorRef, RecordedEvent};
use returns_domain::methods::{MethodTerms, ReturnMethod};
use returns_domain::order::{OrderLine, ReturnAllocation};
use returns_domain::policy::{OnSellerTimeout, RefundMethod};
use returns_domain::returns::{
    allowed_actions, dispute_for_parties, evidence_for_parties, exceptions_for_parties, next_step,
    sees_operator_data, Authorization, Deadlines, Decline, Dispute, EvidenceRecord,
    ExchangeFailure, GrantedException, Inspection, IssuedRefund, MissedDeadline, Offer, Outcome,
    PolicyView as ReturnPolicy, Rating, Replacement, ReturnItem, Shipment, Status,
    OPERATOR_SHOWN_TO_PARTIES,
};
use returns_domain::{
    Actor, BuyerId, Category, Currency, Jurisdiction, LineId, MinorUnits, Order, OrderId, Reason,
    Resolution, ReturnCase, ReturnId, Rma, SellerId, SellerPolicy, Sku,
};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// Times at the top level of a view: RFC 3339 in UTC, with microseconds.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The return view of docs/api.md, with `allowed_actions` for the caller who asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView<'a> {
    #[schema(value_type = Uuid)]
    pub id: ReturnId,
    /// The human-readable return code.
    #[schema(value_type = String, example = "RMA-7KQ3-XD2M")]
    pub rma: &'a Rma,
    #[schema(value_type = String)]
    pub order_id: &'a OrderId,
    #[schema(value_type = String)]
    pub buyer_id: &'a BuyerId,
    #[schema(value_type = String)]
    pub seller_id: &'a SellerId,
    /// ISO 4217 code of every `_minor` amount in the view.
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// ISO 3166 alpha-2 code of the order's jurisdiction.
    #[schema(value_type = String, example = "DE")]
    pub jurisdiction: Jurisdiction,
    #[schema(value_type = crate::openapi::Status)]
    pub status: Status,
    /// Set once the return is `closed`.
    #[schema(value_type = Option<crate::openapi::Outcome>, required = true)]
    pub outcome: Option<Outcome>,
    #[schema(value_type = crate::openapi::Reason)]
    pub reason: Reason,
    #[schema(value_type = Option<String>, required = true)]
    pub description: Option<&'a str>,
    #[schema(value_type = crate::openapi::Resolution)]
    pub resolution: Resolution,
    pub items: Vec<ReturnItemView<'a>>,
    /// What the buyer paid for the items: the cap of every refund of this return.
    #[schema(value_type = i64, minimum = 0)]
    pub items_total_minor: MinorUnits,
    /// What the buyer asks back: the items total minus any restocking fee.
    #[schema(value_type = i64, minimum = 0)]
    pub requested_amount_minor: MinorUnits,
    /// The amount of the latest offer, if it names one.
    #[schema(value_type = Option<i64>, required = true, minimum = 0)]
    pub offered_amount_minor: Option<MinorUnits>,
    /// The latest offer: `kind`, `amount_minor`?, `credit_minor`?, `expires_at`, `status`,
    /// `made_at`.
    #[schema(value_type = Option<Object>, required = true)]
    pub offer: &'a Option<Offer>,
    /// What the platform must refund, while `status` is `refund_pending`.
    #[schema(value_type = Option<i64>, required = true, minimum = 0)]
    pub refund_due_minor: Option<MinorUnits>,
    #[schema(value_type = i64, minimum = 0)]
    pub refunded_amount_minor: MinorUnits,
    /// The refund paid: `amount_minor`, `principal_minor`, `bonus_minor`, `method`, `reference`,
    /// `refunded_at`.
    #[schema(value_type = Option<Object>, required = true)]
    pub refund: &'a Option<IssuedRefund>,
    pub policy: ReturnPolicyView<'a>,
    pub deadlines: DeadlinesView,
    /// Deadlines that passed unmet: `kind`, `due_at`, `applied_at`.
    #[schema(value_type = Vec<Object>)]
    pub missed_deadlines: &'a [MissedDeadline],
    /// Who authorised the item's return shipment: `source`, `instructions`?, `authorized_at`.
    #[schema(value_type = Option<Object>, required = true)]
    pub authorization: &'a Option<Authorization>,
    /// `label`?, `carrier`?, `tracking_number`?, `shipped_at`?, `in_transit_at`?,
    /// `delivered_at`?, `delivery_reported_by`?.
    #[schema(value_type = Object)]
    pub shipment: &'a Shipment,
    /// The seller's inspection: `grade`, `refund_amount_minor`, `notes`?, `evidence`,
    /// `inspected_at`.
    #[schema(value_type = Option<Object>, required = true)]
    pub inspection: &'a Option<Inspection>,
    /// The seller's refusal: `stage`, `reason_text`?, `evidence`, `declined_at`.
    #[schema(value_type = Option<Object>, required = true)]
    pub decline: &'a Option<Decline>,
    /// The arbitration case: `escalated_by`, `reason_text`?, `escalated_at`, `decision_due`,
    /// `overdue`, `assignee`?, `decision`?, `escalations`.
    /// Buyers and sellers see `"operator"` for the assignee and the decider, and no
    /// `recommendation`.
    #[schema(value_type = Option<Object>, required = true)]
    pub dispute: Cow<'a, Option<Dispute>>,
    /// Policy rules waived as goodwill: `rule`, `note`, `granted_by`, `granted_at`.
    #[schema(value_type = Vec<Object>)]
    pub exceptions: Cow<'a, [GrantedException]>,
    /// Every piece of evidence: `added_by`, `evidence`, `added_at`.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Cow<'a, [EvidenceRecord]>,
    pub message_count: u32,
    /// When the return closed.
    #[schema(format = DateTime, required = true)]
    pub closed_at: Option<String>,
    /// The buyer's rating once given: `score` (1 to 5), `comment`?, `rated_at`.
    #[schema(value_type = Option<Object>, required = true)]
    pub rating: &'a Option<Rating>,
    /// How the item goes back: `method` (`mail`, `relay_point`, `pickup`, `store`) and its
    /// details (`point_id` and `drop_off_code`, `slot_start` and `slot_end`, `store_id`).
    #[schema(value_type = Object)]
    pub return_method: &'a ReturnMethod,
    /// What happens next, in words: who is to act, what to do and by when.
    pub next_step: String,
    /// The replacement of an exchange once shipped: `items` (`line_id`, `sku`, `quantity`),
    /// `carrier`, `tracking_number`, `shipped_at`, `delivered_at`?.
    #[schema(value_type = Option<Object>, required = true)]
    pub replacement: &'a Option<Replacement>,
    /// Why an exchange fell back to a refund: `out_of_stock` or `not_shipped_in_time`.
    #[schema(value_type = Option<String>, required = true)]
    pub exchange_failure: Option<ExchangeFailure>,
    /// The actions this caller may take now.
    #[schema(value_type = Vec<crate::openapi::ReturnAction>)]
    pub allowed_actions: Vec<&'static str>,
    /// The number of events of the return, also sent as `ETag: "<version>"`.
    pub version: u64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One item of a return, with the order line's facts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnItemView<'a> {
    #[schema(value_type = String)]
    pub line_id: &'a LineId,
    #[schema(value_type = String)]
    pub sku: &'a Sku,
    pub title: &'a str,
    #[schema(value_type = String)]
    pub category: &'a Category,
    #[schema(minimum = 1)]
    pub quantity: u32,
    #[schema(value_type = i64, minimum = 0)]
    pub unit_price_minor: MinorUnits,
}

impl<'a> ReturnItemView<'a> {
    fn of(item: &'a ReturnItem) -> Self {
        let ReturnItem {
            line_id,
            sku,
            title,
            category,
            quantity,
            unit_price_minor,
        } = item;
        ReturnItemView {
            line_id,
            sku,
            title,
            category,
            quantity: *quantity,
            unit_price_minor: *unit_price_minor,
        }
    }
}

/// How the return stands against the seller's policy and the legal floor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnPolicyView<'a> {
    pub eligible: bool,
    pub auto_approved: bool,
    /// The rules that applied, e.g. `eu_withdrawal_14d`, `seller_window_30d`,
    /// `outside_return_window`, `restocking_fee_10pct`, `return_shipping_fee`.
    pub rules: &'a [String],
    /// Deducted from the items total to make `requested_amount_minor`.
    #[schema(value_type = i64, minimum = 0)]
    pub restocking_fee_minor: MinorUnits,
    /// Whether the buyer pays the return shipping (the policy, for this reason).
    pub buyer_pays_return_shipping: bool,
    /// The return label's price the buyer pays, deducted from the refund.
    #[schema(value_type = i64, minimum = 0)]
    pub return_shipping_fee_minor: MinorUnits,
}

/// The deadlines running now, each as a time; a deadline that is not running is absent.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DeadlinesView {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub seller_response_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub ship_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub inspect_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub refund_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub decision_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub offer_expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub escalate_by: Option<String>,
    /// The item is to be left at the relay point or the store by then.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub drop_off_by: Option<String>,
    /// The end of the booked pickup slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub pickup_by: Option<String>,
    /// The seller ships the replacement of an exchange by then.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub replacement_ship_by: Option<String>,
}

impl DeadlinesView {
    fn of(deadlines: &Deadlines) -> Self {
        let Deadlines {
            seller_response_due,
            ship_by,
            inspect_by,
            refund_due,
            decision_due,
            offer_expires,
            escalate_by,
            drop_off_by,
            pickup_by,
            replacement_ship_by,
        } = deadlines;
        DeadlinesView {
            seller_response_due: seller_response_due.map(time),
            ship_by: ship_by.map(time),
            inspect_by: inspect_by.map(time),
            refund_due: refund_due.map(time),
            decision_due: decision_due.map(time),
            offer_expires: offer_expires.map(time),
            escalate_by: escalate_by.map(time),
            drop_off_by: drop_off_by.map(time),
            pickup_by: pickup_by.map(time),
            replacement_ship_by: replacement_ship_by.map(time),
        }
    }
}

/// The return view of docs/api.md, with `allowed_actions` for this caller at `now`.
pub fn return_view<'a>(case: &'a ReturnCase, caller: &Actor, now: DateTime<Utc>) -> ReturnView<'a> {
    let ReturnPolicy {
        eligible,
        auto_approved,
        rules,
        // The rest of the evaluation stays internal: the view names the rules that applied and
        // what they take off the refund.
        evaluation,
    } = &case.policy;
    let operator_data = sees_operator_data(caller);
    ReturnView {
        id: case.id,
        rma: &case.rma,
        order_id: &case.order_id,
        buyer_id: &case.buyer_id,
        seller_id: &case.seller_id,
        currency: case.currency,
        jurisdiction: case.jurisdiction,
        status: case.status,
        outcome: case.outcome,
        reason: case.reason,
        description: case.description.as_deref(),
        resolution: case.resolution,
        items: case.items.iter().map(ReturnItemView::of).collect(),
        items_total_minor: case.items_total_minor,
        requested_amount_minor: case.requested_amount_minor,
        offered_amount_minor: case.offered_amount_minor(),
        offer: &case.offer,
        refund_due_minor: case.refund_due_minor(),
        refunded_amount_minor: case.refunded_amount_minor,
        refund: &case.refund,
        policy: ReturnPolicyView {
            eligible: *eligible,
            auto_approved: *auto_approved,
            rules,
            restocking_fee_minor: evaluation.restocking_fee_minor,
            buyer_pays_return_shipping: evaluation.buyer_pays_return_shipping,
            return_shipping_fee_minor: evaluation.return_shipping_fee_minor,
        },
        deadlines: DeadlinesView::of(&case.deadlines),
        missed_deadlines: &case.missed_deadlines,
        authorization: &case.authorization,
        shipment: &case.shipment,
        inspection: &case.inspection,
        decline: &case.decline,
        dispute: if operator_data {
            Cow::Borrowed(&case.dispute)
        } else {
            Cow::Owned(case.dispute.as_ref().map(dispute_for_parties))
        },
        exceptions: if operator_data {
            Cow::Borrowed(&case.exceptions)
        } else {
            Cow::Owned(exceptions_for_parties(&case.exceptions))
        },
        evidence: if operator_data {
            Cow::Borrowed(&case.evidence)
        } else {
            Cow::Owned(evidence_for_parties(&case.evidence))
        },
        message_count: case.message_count,
        closed_at: case.closed_at.map(time),
        rating: &case.rating,
        return_method: &case.return_method,
        next_step: next_step(case),
        replacement: &case.replacement,
        exchange_failure: case.exchange_failure,
        allowed_actions: allowed_actions(case, caller, now),
        version: case.version,
        created_at: time(case.created_at),
        updated_at: time(case.updated_at),
    }
}

/// An order as registered, with its returns' claims on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView<'a> {
    #[schema(value_type = String)]
    pub order_id: &'a OrderId,
    #[schema(value_type = String)]
    pub buyer_id: &'a BuyerId,
    #[schema(value_type = String)]
    pub seller_id: &'a SellerId,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    #[schema(value_type = String, example = "DE")]
    pub jurisdiction: Jurisdiction,
    #[schema(format = DateTime)]
    pub placed_at: String,
    /// The latest delivery date known.
    #[schema(format = DateTime, required = true)]
    pub delivered_at: Option<String>,
    #[schema(value_type = Vec<crate::orders::OrderLineBody>)]
    pub lines: &'a [OrderLine],
    /// The seller's policy version that judges this order's returns.
    pub policy_version: u64,
    /// Each return of the order by return id: `items`, `status` (`open`, `refunded`,
    /// `released`), `refunded`, `bonus_minor`.
    #[schema(value_type = BTreeMap<String, Object>)]
    pub returns: &'a BTreeMap<ReturnId, ReturnAllocation>,
    /// The number of events of the order, also sent as `ETag: "<version>"`.
    pub version: u64,
}

pub fn order_view(order: &Order) -> OrderView<'_> {
    OrderView {
        order_id: &order.order_id,
        buyer_id: &order.buyer_id,
        seller_id: &order.seller_id,
        currency: order.currency,
        jurisdiction: order.jurisdiction,
        placed_at: time(order.placed_at),
        delivered_at: order.delivered_at.map(time),
        lines: &order.lines,
        policy_version: order.policy_version,
        returns: &order.returns,
        version: order.version,
    }
}

/// A seller's return policy as stored, with its version (0: the defaults, never set).
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView<'a> {
    pub return_window_days: u32,
    #[schema(value_type = Vec<String>)]
    pub non_returnable_categories: &'a [Category],
    /// Applies to `changed_mind` only.
    pub restocking_fee_percent: u32,
    #[schema(value_type = Vec<crate::openapi::Reason>)]
    pub buyer_pays_return_shipping_for: &'a [Reason],
    /// Deducted from the refund where the buyer pays return shipping.
    #[schema(value_type = i64, minimum = 0)]
    pub return_shipping_fee_minor: MinorUnits,
    #[schema(value_type = i64, minimum = 0)]
    pub auto_approve_max_minor: MinorUnits,
    #[schema(value_type = i64, minimum = 0)]
    pub returnless_refund_max_minor: MinorUnits,
    pub seller_response_business_days: u32,
    #[schema(value_type = crate::openapi::OnSellerTimeout)]
    pub on_seller_timeout: OnSellerTimeout,
    pub ship_by_days: u32,
    pub inspect_business_days: u32,
    #[schema(value_type = Vec<crate::openapi::RefundMethod>)]
    pub refund_methods: &'a [RefundMethod],
    pub store_credit_bonus_percent: u32,
    /// The ways the item may go back: `method`, `buyer_pays`, `fee_minor`.
    #[schema(value_type = Vec<crate::openapi::MethodTermsBody>)]
    pub return_methods: &'a [MethodTerms],
    pub seller_id: &'a str,
    pub policy_version: u64,
}

pub fn policy_view<'a>(
    seller_id: &'a str,
    policy: &'a SellerPolicy,
    version: u64,
) -> PolicyView<'a> {
    let SellerPolicy {
        return_window_days,
        non_returnable_categories,
        restocking_fee_percent,
        buyer_pays_return_shipping_for,
        return_shipping_fee_minor,
        auto_approve_max_minor,
        returnless_refund_max_minor,
        seller_response_business_days,
        on_seller_timeout,
        ship_by_days,
        inspect_business_days,
        refund_methods,
        store_credit_bonus_percent,
        return_methods,
    } = policy;
    PolicyView {
        return_window_days: *return_window_days,
        non_returnable_categories,
        restocking_fee_percent: *restocking_fee_percent,
        buyer_pays_return_shipping_for,
        return_shipping_fee_minor: *return_shipping_fee_minor,
        auto_approve_max_minor: *auto_approve_max_minor,
        returnless_refund_max_minor: *returnless_refund_max_minor,
        seller_response_business_days: *seller_response_business_days,
        on_seller_timeout: *on_seller_timeout,
        ship_by_days: *ship_by_days,
        inspect_business_days: *inspect_business_days,
        refund_methods,
        store_credit_bonus_percent: *store_credit_bonus_percent,
        return_methods,
        seller_id,
        policy_version: version,
    }
}

/// Who did something: a role and the party id (`system` is the service's deadline scheduler).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView<'a> {
    #[schema(value_type = crate::openapi::Role)]
    pub role: &'a str,
    pub id: &'a str,
}

impl<'a> ActorView<'a> {
    /// `actor` as `viewer` may see it: parties see an operator without its id.
    fn of(actor: &'a ActorRef, viewer: &Actor) -> Self {
        let id = if actor.role == "operator" && !sees_operator_data(viewer) {
            OPERATOR_SHOWN_TO_PARTIES
        } else {
            &actor.id
        };
        ActorView {
            role: &actor.role,
            id,
        }
    }
}

/// One entry of the case history (`GET /v1/returns/{id}/events`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView<'a> {
    pub id: Uuid,
    /// The event's place in the service's global feed.
    pub position: i64,
    /// The version of the return after this event.
    pub version: u64,
    /// The stored event type, e.g. `return.requested`.
    #[serde(rename = "type")]
    #[schema(example = "return.requested")]
    pub event_type: &'a str,
    pub schema_version: u32,
    /// Service time (the test clock moves it in tests).
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// When the database stored it (real time).
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub actor: ActorView<'a>,
    pub correlation_id: Uuid,
    /// The event's payload; its shape depends on `type`. Buyers and sellers see `"operator"`
    /// for an operator's id and no `recommendation`.
    #[schema(value_type = Object)]
    pub data: Cow<'a, RawValue>,
}

/// An event's data as `viewer` may see it: for parties, operators' ids are replaced and the
/// recommendation recorded with a decision is left out, wherever they are in the payload.
fn data_for<'a>(event: &'a RecordedEvent, viewer: &Actor) -> Cow<'a, RawValue> {
    let raw = event.data.as_ref();
    let text = raw.get();
    if sees_operator_data(viewer)
        || !(text.contains("operator")
            || text.contains("recommendation")
            || text.contains("assignee")
            || text.contains("decided_by"))
    {
        return Cow::Borrowed(raw);
    }
    let Ok(mut data) = serde_json::from_str::<Value>(text) else {
        return Cow::Borrowed(raw);
    };
    hide_operator_data(&mut data);
    match serde_json::value::to_raw_value(&data) {
        Ok(redacted) => Cow::Owned(redacted),
        Err(_) => Cow::Borrowed(raw),
    }
}

fn hide_operator_data(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("recommendation");
            for key in ["decided_by", "assignee"] {
                if let Some(Value::String(id)) = map.get_mut(key) {
                    *id = OPERATOR_SHOWN_TO_PARTIES.to_owned();
                }
            }
            if map.get("role").and_then(Value::as_str) == Some("operator") {
                if let Some(Value::String(id)) = map.get_mut("id") {
                    *id = OPERATOR_SHOWN_TO_PARTIES.to_owned();
                }
            }
            map.values_mut().for_each(hide_operator_data);
        }
        Value::Array(items) => items.iter_mut().for_each(hide_operator_data),
        _ => {}
    }
}

/// One entry of `GET /v1/returns/{id}/events`, as `viewer` may see it.
pub fn event_view<'a>(event: &'a RecordedEvent, viewer: &Actor) -> EventView<'a> {
    EventView {
        id: event.event_id,
        position: event.position,
        version: event.version,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        occurred_at: time(event.metadata.occurred_at),
        recorded_at: time(event.recorded_at),
        actor: ActorView::of(&event.metadata.actor, viewer),
        correlation_id: event.metadata.correlation_id,
        data: data_for(event, viewer),
    }
}

/// One message of a return's conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView<'a> {
    #[schema(value_type = Option<String>, required = true)]
    pub body: Value,
    pub author: ActorView<'a>,
    pub posted_at: DateTime<Utc>,
    /// The version of the return after the message.
    pub version: u64,
}

/// One entry of `GET /v1/returns/{id}/messages`, from a `return.message_posted` event, as
/// `viewer` may see it.
pub fn message_view<'a>(event: &'a RecordedEvent, viewer: &Actor) -> MessageView<'a> {
    let data = event.json().unwrap_or(Value::Null);
    MessageView {
        body: data.get("body").cloned().unwrap_or(Value::Null),
        author: ActorView::of(&event.metadata.actor, viewer),
        posted_at: event.metadata.occurred_at,
        version: event.version,
    }
}

/// A page of returns; pass `next_cursor` as `cursor` for the next one (null: the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnPage<'a> {
    pub items: Vec<ReturnView<'a>>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A page of a return's case history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage<'a> {
    pub items: Vec<EventView<'a>>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A page of a return's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage<'a> {
    pub items: Vec<MessageView<'a>>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The answer of `POST /v1/test-clock/advance`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// The service's clock after the advance.
    pub now: DateTime<Utc>,
    /// The sum of all advances so far.
    pub offset_hours: i64,
    /// How many deadlines fell due and were applied.
    pub deadlines_applied: usize,
}
