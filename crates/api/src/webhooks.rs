//! `/v1/webhooks`: registering, reading and deleting webhooks (operators and the platform), and
//! the deliveries of a webhook with their attempts, including re-queuing a parked one
//! (operators), through the app layer (`returns_app`'s webhooks).
//!
//! A webhook belongs to the party that registered it: the platform sees its own, operators see
//! every one. Buyers and sellers may never use these endpoints (403). The secret is written once
//! and never shown again.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use returns_app::{
    Answered, Delivery, DeliveryStatus, NewWebhook, Requeue, Subscription, TargetError,
    ALL_RETURN_EVENTS,
};
use returns_domain::returns::ReturnEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body::{parse_json, RawBody};
use crate::extract::{answered, command_options, cursor_of, id_of, page_limit, stored, Reply};
use crate::openapi::{ReadProblems, ReportProblems};
use crate::problem::{FieldError, Problem};
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/webhooks", web::post().to(create_webhook))
        .route("/webhooks", web::get().to(list_webhooks))
        .route("/webhooks/{id}", web::get().to(get_webhook))
        .route("/webhooks/{id}", web::delete().to(delete_webhook))
        .route("/webhooks/{id}/deliveries", web::get().to(list_deliveries))
        .route(
            "/webhooks/deliveries/{id}/retry",
            web::post().to(retry_delivery),
        )
}

/// How long registration waits for the target's host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The shortest secret accepted: 16 bytes (128 bits), so that signatures cannot be forged by
/// guessing the secret.
const MIN_SECRET_LEN: usize = 16;

/// The longest secret accepted (HMAC takes any length; this only bounds what is stored).
const MAX_SECRET_LEN: usize = 1024;

/// The most patterns one webhook may list.
const MAX_PATTERNS: usize = 64;

// ----- bodies and views -----

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct WebhookBody {
    /// Where deliveries are POSTed: an http or https URL whose host is not a loopback, private or
    /// link-local address (unless `RETURNS_WEBHOOK_ALLOW_HOSTS` names it).
    #[schema(example = "https://marketplace.example/hooks/returns")]
    url: String,
    /// The key of the `Returns-Signature` HMAC (1 to 1024 characters). Never shown again.
    #[schema(example = "whsec_3f9c0a7e5b2d41c8")]
    secret: String,
    /// Which events to receive: `return.*` (all of a return's events), `*`, or exact event
    /// types such as `return.refunded`.
    #[schema(example = json!(["return.*"]))]
    events: Vec<String>,
}

/// A registered webhook (never with its secret).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookView {
    id: Uuid,
    url: String,
    events: Vec<String>,
    created_at: DateTime<Utc>,
}

impl From<Subscription> for WebhookView {
    fn from(s: Subscription) -> Self {
        WebhookView {
            id: s.id,
            url: s.url,
            events: s.events,
            created_at: s.created_at,
        }
    }
}

/// A page of webhooks, oldest first; pass `next_cursor` as `cursor` for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookPage {
    items: Vec<WebhookView>,
    next_cursor: Option<String>,
}

/// Where a delivery stands: `pending` (waiting for its first or next attempt, or for an earlier
/// delivery of the same return), `delivered` (a 2xx answer came back) or `parked` (every attempt
/// of its retry span failed; an operator may queue it again).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeliveryStatusView {
    Pending,
    Delivered,
    Parked,
}

impl From<DeliveryStatus> for DeliveryStatusView {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => DeliveryStatusView::Pending,
            DeliveryStatus::Delivered => DeliveryStatusView::Delivered,
            DeliveryStatus::Parked => DeliveryStatusView::Parked,
        }
    }
}

/// One attempt to send a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptView {
    /// 1, 2, 3, ...
    attempt: i32,
    at: DateTime<Utc>,
    duration_ms: i32,
    /// The receiver's HTTP status, when it answered.
    status_code: Option<i32>,
    /// Why the attempt failed, when it did.
    error: Option<String>,
    /// `delivered`, `retry` (queued again) or `parked`.
    outcome: String,
}

/// One event queued for one webhook, with every attempt to send it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    id: Uuid,
    webhook_id: Uuid,
    /// The `id` of the payload.
    event_id: Uuid,
    #[serde(rename = "type")]
    event_type: String,
    return_id: Uuid,
    /// The event's version in its return's history; a return's deliveries go out in this order.
    version: i64,
    status: DeliveryStatusView,
    attempts: i32,
    /// When it is tried next (pending deliveries only).
    next_attempt_at: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    parked_at: Option<DateTime<Utc>>,
    history: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id,
            webhook_id: d.subscription_id,
            event_id: d.event_id,
            event_type: d.event_type,
            return_id: d.return_id,
            version: d.seq,
            status: d.status.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            parked_at: d.parked_at,
            history: d
                .history
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    at: a.at,
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    error: a.error,
                    outcome: a.outcome,
                })
                .collect(),
        }
    }
}

/// A page of deliveries, oldest first; pass `next_cursor` as `cursor` for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryPage {
    items: Vec<DeliveryView>,
    next_cursor: Option<String>,
}

/// Paging of `GET /v1/webhooks`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Filter and paging of `GET /v1/webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveriesQuery {
    /// Only deliveries in this status: `pending`, `delivered` or `parked`.
    #[param(value_type = Option<DeliveryStatusView>)]
    status: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

// ----- helpers -----

/// Webhooks are the platform's and operators' business; the other roles may never touch them.
pub(crate) fn manager(caller: &Caller) -> Result<(), Problem> {
    match caller.role() {
        Role::Operator | Role::Platform => Ok(()),
        Role::Buyer | Role::Seller => Err(Problem::forbidden(
            "webhooks are for operators and the platform",
        )),
    }
}

/// Only operators queue a parked delivery again.
pub(crate) fn operator(caller: &Caller) -> Result<(), Problem> {
    match caller.role() {
        Role::Operator => Ok(()),
        _ => Err(Problem::forbidden("only operators re-queue deliveries")),
    }
}

fn check_patterns(events: &[String], errors: &mut Vec<FieldError>) {
    if events.is_empty() {
        errors.push(FieldError {
            field: "events".into(),
            message: "list at least one event type or pattern, e.g. \"return.*\"".into(),
        });
    }
    if events.len() > MAX_PATTERNS {
        errors.push(FieldError {
            field: "events".into(),
            message: format!("at most {MAX_PATTERNS} patterns"),
        });
    }
    for (i, pattern) in events.iter().enumerate() {
        let known = pattern == "*"
            || pattern == ALL_RETURN_EVENTS
            || ReturnEvent::TYPES.contains(&pattern.as_str());
        if !known {
            errors.push(FieldError {
                field: format!("events[{i}]"),
                message: format!(
                    "{:?} is not \"return.*\", \"*\" or an event type such as \"return.refunded\"",
                    pattern.chars().take(64).collect::<String>()
                ),
            });
        }
    }
}

/// A webhook to register, once its secret, event patterns and address pass the checks of
/// `POST /v1/webhooks` (every bad field reported at once); the console's form uses them too.
pub(crate) async fn checked_webhook(
    state: &ApiState,
    url: String,
    secret: String,
    events: Vec<String>,
) -> Result<NewWebhook, Problem> {
    let mut errors = Vec::new();
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len()) {
        errors.push(FieldError {
            field: "secret".into(),
            message: format!("must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes"),
        });
    }
    check_patterns(&events, &mut errors);
    if let Err(e) = state
        .service
        .check_webhook_target(&url, &state.webhook_allow_hosts, RESOLVE_TIMEOUT)
        .await
    {
        errors.push(FieldError {
            field: "url".into(),
            message: e.to_string(),
        });
        if e == TargetError::Restricted {
            tracing::info!("webhook registration refused: restricted target address");
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(NewWebhook {
        url,
        secret,
        events,
    })
}

// ----- handlers -----

/// Register a webhook (operator or platform).
///
/// Deliveries are `POST url` with `{"id", "type", "occurred_at", "return_id", "rma", "version",
/// "data"}` and `Returns-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, for
/// every matching event recorded from now on; at-least-once, in order per return, retried with
/// back-off for at least 24 hours. `id` (the event's) is the same on every retry.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookBody,
    params(crate::openapi::CommandHeaders),
    responses(
        (status = 201, description = "The webhook, registered", body = WebhookView),
        (status = 413, description = "`payload_too_large`: the body is over the limit",
            body = Problem, content_type = "application/problem+json"),
        ReportProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn create_webhook(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    body: RawBody,
) -> Reply {
    manager(&caller)?;
    let parsed = parse_json::<WebhookBody>(&body.0)?;
    let opts = command_options(&req, &body.0)?;
    let webhook = checked_webhook(&state, parsed.url, parsed.secret, parsed.events).await?;
    let render = |s: &Subscription| stored(StatusCode::CREATED, &WebhookView::from(s.clone()));
    let answer = state
        .service
        .register_webhook(&caller.0, webhook, &opts, render)
        .await?;
    if let Answered::Fresh(s, _) = &answer {
        tracing::info!(webhook_id = %s.id, "webhook registered");
    }
    Ok(answered(answer))
}

/// The webhooks the caller may see: the platform its own, operators every one.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of webhooks", body = WebhookPage),
        ReportProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_webhooks(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Reply {
    manager(&caller)?;
    let limit = page_limit(query.limit.as_deref())?;
    let after = cursor_of(query.cursor.as_deref())?;
    let (items, more) = state.service.list_webhooks(&caller.0, after, limit).await?;
    let next_cursor = more
        .then(|| items.last().map(|s| s.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(WebhookPage {
        items: items.into_iter().map(WebhookView::from).collect(),
        next_cursor,
    }))
}

/// One webhook (its owner or an operator).
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 403, description = "`forbidden`: buyers and sellers have no webhooks",
            body = Problem, content_type = "application/problem+json"),
        ReadProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn get_webhook(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    manager(&caller)?;
    let id = id_of(&path)?;
    let subscription = state.service.get_webhook(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(subscription)))
}

/// Delete a webhook (its owner or an operator): nothing more is queued or sent for it.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`: buyers and sellers have no webhooks",
            body = Problem, content_type = "application/problem+json"),
        ReadProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn delete_webhook(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    manager(&caller)?;
    let id = id_of(&path)?;
    state.service.delete_webhook(&caller.0, id).await?;
    tracing::info!(webhook_id = %id, "webhook deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// The deliveries of a webhook with their attempts (its owner or an operator), oldest first;
/// `?status=parked` lists the ones given up on.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The webhook's id"), DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 403, description = "`forbidden`: buyers and sellers have no webhooks",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad `status`, `limit` or `cursor`",
            body = Problem, content_type = "application/problem+json"),
        ReadProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_deliveries(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> Reply {
    manager(&caller)?;
    let id = id_of(&path)?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s)
                .ok_or_else(|| Problem::invalid("status", "must be pending, delivered or parked"))
        })
        .transpose()?;
    let limit = page_limit(query.limit.as_deref())?;
    let after = cursor_of(query.cursor.as_deref())?;
    let (items, more) = state
        .service
        .webhook_deliveries(&caller.0, id, status, after, limit)
        .await?;
    let next_cursor = more
        .then(|| items.last().map(|d| d.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(DeliveryPage {
        items: items.into_iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}

/// Queue a parked delivery again (operator), e.g. once the receiver is fixed: it is due at once,
/// with a new retry span. Later events of the same return for the same webhook wait for it.
#[utoipa::path(
    post,
    path = "/v1/webhooks/deliveries/{id}/retry",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The delivery, pending again", body = DeliveryView),
        (status = 403, description = "`forbidden`: only operators re-queue deliveries",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the delivery is not parked",
            body = Problem, content_type = "application/problem+json"),
        ReadProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn retry_delivery(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    operator(&caller)?;
    let id = id_of(&path)?;
    let delivery = requeued(state.service.requeue_delivery(id).await?)?;
    Ok(HttpResponse::Ok().json(DeliveryView::from(delivery)))
}

/// The delivery queued again, or the problem of a delivery that is not there (404) or not parked
/// (409 `invalid_transition`).
pub(crate) fn requeued(outcome: Requeue) -> Result<Delivery, Problem> {
    match outcome {
        Requeue::NotFound => Err(Problem::not_found()),
        Requeue::NotParked(status) => Err(Problem::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!(
                "the delivery is {}; only a parked delivery can be queued again",
                status.as_str()
            ),
        )),
        Requeue::Requeued(delivery) => {
            tracing::info!(delivery_id = %delivery.id, "webhook delivery re-queued");
            Ok(*delivery)
        }
    }
}
