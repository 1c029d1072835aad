//! The `/v1` routes: parse, call the service, render.

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use returns_app::{Answered, CommandOptions, IdempotencyKey, OpenReturnRequest, StoredResponse};
use returns_domain::order::{ItemRequest, OrderDetails};
use returns_domain::returns::{
    AcceptOffer, AcceptReturn, AddEvidence, AssignDispute, CarrierUpdate, DecideDispute,
    DeclineOffer, DeclineReturn, EscalateReturn, GrantException, InspectReturn, IssueRefund,
    MakeOffer, PostMessage, ReceiveReturn, ReturnCommand, ShipReturn, WithdrawReturn,
};
use returns_domain::{Evidence, OrderId, Reason, Resolution, ReturnId, SellerId, SellerPolicy};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body::{parse_json, RawBody};
use crate::problem::{FieldError, Problem};
use crate::render;
use crate::ApiState;

type Reply = Result<HttpResponse, Problem>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .route("/orders", web::post().to(register_order))
            .route("/orders/{order_id}", web::get().to(get_order))
            .route(
                "/orders/{order_id}/delivery",
                web::post().to(record_delivery),
            )
            .route("/sellers/{seller_id}/policy", web::put().to(put_policy))
            .route("/sellers/{seller_id}/policy", web::get().to(get_policy))
            .route("/returns", web::post().to(open_return))
            .route("/returns", web::get().to(list_returns))
            .route("/returns/{id}", web::get().to(get_return))
            .route("/returns/{id}/events", web::get().to(return_events))
            .route("/returns/{id}/messages", web::get().to(return_messages))
            .route("/returns/{id}/{action}", web::post().to(return_action))
            .route("/test-clock/advance", web::post().to(advance_clock)),
    );
}

fn stored(status: StatusCode, body: &Value) -> StoredResponse {
    StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// A JSON answer with `ETag: "<version>"` when the body carries a version.
fn reply(answer: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    let version = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("version").and_then(Value::as_u64));
    if let Some(v) = version {
        builder.insert_header((header::ETAG, format!("\"{v}\"")));
    }
    builder.body(answer.body)
}

fn answered<T>(answer: Answered<T>, render: impl Fn(&T) -> StoredResponse) -> HttpResponse {
    reply(match answer {
        Answered::Fresh(value) => render(&value),
        Answered::Replayed(stored) => stored,
    })
}

/// `If-Match`, `Idempotency-Key` and the correlation id of a command request.
fn command_options(req: &HttpRequest, body: &[u8]) -> Result<CommandOptions, Problem> {
    let headers = req.headers();
    Ok(CommandOptions {
        if_match: if_match(headers)?,
        idempotency: idempotency_key(req, headers, body)?,
        correlation_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok()),
    })
}

fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let unquoted = text.trim_start_matches("W/").trim_matches('"');
    unquoted.parse::<u64>().map(Some).map_err(|_| {
        Problem::validation(vec![FieldError {
            field: "If-Match".into(),
            message: "expected an ETag such as \"3\"".into(),
        }])
    })
}

fn idempotency_key(
    req: &HttpRequest,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("");
    if key.is_empty() || key.len() > 255 {
        return Err(Problem::validation(vec![FieldError {
            field: "Idempotency-Key".into(),
            message: "must be 1 to 255 visible characters".into(),
        }]));
    }
    let mut digest = Sha256::new();
    digest.update(req.method().as_str().as_bytes());
    digest.update(b" ");
    digest.update(req.path().as_bytes());
    digest.update(b"\n");
    digest.update(body);
    let request_hash = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        request_hash,
    }))
}

fn parse_path<T>(
    value: &str,
    field: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, Problem> {
    parse(value).map_err(|message| {
        Problem::validation(vec![FieldError {
            field: field.into(),
            message,
        }])
    })
}

// ----- orders -----

async fn register_order(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    body: RawBody,
) -> Reply {
    let details: OrderDetails = parse_json(&body.0)?;
    let opts = command_options(&req, &body.0)?;
    let answer = state
        .service
        .register_order(&caller.0, details, &opts, |(order, created)| {
            let status = if *created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            stored(status, &render::order_view(order))
        })
        .await?;
    Ok(answered(answer, |(order, created)| {
        let status = if *created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        stored(status, &render::order_view(order))
    }))
}

#[derive(Deserialize)]
struct DeliveryBody {
    delivered_at: DateTime<Utc>,
}

async fn record_delivery(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    let order_id = parse_path(&path, "order_id", |s| {
        OrderId::parse(s).map_err(|e| e.to_string())
    })?;
    let delivery: DeliveryBody = parse_json(&body.0)?;
    let opts = command_options(&req, &body.0)?;
    let render = |order: &returns_domain::Order| stored(StatusCode::OK, &render::order_view(order));
    let answer = state
        .service
        .record_delivery(&caller.0, order_id, delivery.delivered_at, &opts, render)
        .await?;
    Ok(answered(answer, render))
}

async fn get_order(state: web::Data<ApiState>, caller: Caller, path: web::Path<String>) -> Reply {
    let order = state.service.get_order(&caller.0, &path).await?;
    Ok(reply(stored(StatusCode::OK, &render::order_view(&order))))
}

// ----- policies -----

async fn put_policy(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    let seller_id = parse_path(&path, "seller_id", |s| {
        SellerId::parse(s).map_err(|e| e.to_string())
    })?;
    let document: Value = parse_json(&body.0)?;
    let policy = SellerPolicy::parse(&document).map_err(|errors| {
        Problem::validation(
            errors
                .into_iter()
                .map(|e| FieldError {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    })?;
    let opts = command_options(&req, &body.0)?;
    let seller = seller_id.as_str().to_owned();
    let render = move |(policy, version): &(SellerPolicy, u64)| {
        stored(
            StatusCode::OK,
            &render::policy_view(&seller, policy, *version),
        )
    };
    let answer = state
        .service
        .set_policy(&caller.0, seller_id, policy, &opts, &render)
        .await?;
    Ok(answered(answer, render))
}

async fn get_policy(state: web::Data<ApiState>, _caller: Caller, path: web::Path<String>) -> Reply {
    let seller_id = parse_path(&path, "seller_id", |s| {
        SellerId::parse(s).map_err(|e| e.to_string())
    })?;
    let (policy, version) = state.service.get_policy(seller_id.as_str()).await?;
    Ok(reply(stored(
        StatusCode::OK,
        &render::policy_view(seller_id.as_str(), &policy, version),
    )))
}

// ----- returns -----

#[derive(Deserialize)]
struct OpenReturnBody {
    order_id: OrderId,
    items: Vec<ItemRequest>,
    reason: Reason,
    #[serde(default)]
    description: Option<String>,
    resolution: Resolution,
    #[serde(default)]
    evidence: Vec<Evidence>,
}

async fn open_return(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    body: RawBody,
) -> Reply {
    let parsed: OpenReturnBody = parse_json(&body.0)?;
    let opts = command_options(&req, &body.0)?;
    let request = OpenReturnRequest {
        order_id: parsed.order_id,
        items: parsed.items,
        reason: parsed.reason,
        description: parsed.description,
        resolution: parsed.resolution,
        evidence: parsed.evidence,
    };
    let service = state.service.clone();
    let actor = caller.0.clone();
    let render = move |case: &returns_domain::ReturnCase| {
        stored(
            StatusCode::CREATED,
            &render::return_view(case, &actor, service.now()),
        )
    };
    let answer = state
        .service
        .open_return(&caller.0, request, &opts, &render)
        .await?;
    Ok(answered(answer, render))
}

fn return_id(path: &str) -> Result<ReturnId, Problem> {
    // An id that is not a UUID names no return: 404, like any unknown id.
    ReturnId::parse(path).map_err(|_| Problem::not_found())
}

async fn get_return(state: web::Data<ApiState>, caller: Caller, path: web::Path<String>) -> Reply {
    let id = return_id(&path)?;
    let case = state.service.get_return(&caller.0, id).await?;
    Ok(reply(stored(
        StatusCode::OK,
        &render::return_view(&case, &caller.0, state.service.now()),
    )))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    order_id: Option<String>,
    buyer_id: Option<String>,
    seller_id: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{}", at.timestamp_micros(), id.simple())
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (micros, id) = cursor.split_once('.')?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, Uuid::parse_str(id).ok()?))
}

async fn list_returns(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Reply {
    let query = query.into_inner();
    let limit = match &query.limit {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                return Err(Problem::validation(vec![FieldError {
                    field: "limit".into(),
                    message: "must be a number from 1 to 200".into(),
                }]))
            }
        },
    };
    let after = match &query.cursor {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            Problem::validation(vec![FieldError {
                field: "cursor".into(),
                message: "not a cursor this service returned".into(),
            }])
        })?),
    };
    let filter = returns_app::ReturnFilter {
        status: query.status,
        order_id: query.order_id,
        buyer_id: query.buyer_id,
        seller_id: query.seller_id,
        after,
        limit,
    };
    let page = state.service.list_returns(&caller.0, filter).await?;
    let now = state.service.now();
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|case| render::return_view(case, &caller.0, now))
        .collect();
    let next = page.next.map(|(at, id)| encode_cursor(at, id));
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next })))
}

async fn return_events(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    let id = return_id(&path)?;
    let page = state.service.return_events(&caller.0, id).await?;
    let items: Vec<Value> = page.events.iter().map(render::event_view).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": null })))
}

async fn return_messages(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    let id = return_id(&path)?;
    let page = state.service.return_events(&caller.0, id).await?;
    let items: Vec<Value> = page
        .events
        .iter()
        .filter(|e| e.event_type == "return.message_posted")
        .map(|e| {
            let data = e.json().unwrap_or(Value::Null);
            json!({
                "body": data.get("body").cloned().unwrap_or(Value::Null),
                "author": { "role": e.metadata.actor.role, "id": e.metadata.actor.id },
                "posted_at": e.metadata.occurred_at,
                "version": e.version,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": null })))
}

fn parse_action(action: &str, body: &[u8]) -> Result<ReturnCommand, Problem> {
    Ok(match action {
        "accept" => ReturnCommand::Accept(parse_json::<AcceptReturn>(body)?),
        "decline" => ReturnCommand::Decline(parse_json::<DeclineReturn>(body)?),
        "offer" => ReturnCommand::Offer(parse_json::<MakeOffer>(body)?),
        "accept-offer" => {
            parse_json::<Value>(body)?;
            ReturnCommand::AcceptOffer(AcceptOffer)
        }
        "decline-offer" => {
            parse_json::<Value>(body)?;
            ReturnCommand::DeclineOffer(DeclineOffer)
        }
        "ship" => ReturnCommand::Ship(parse_json::<ShipReturn>(body)?),
        "carrier-update" => ReturnCommand::CarrierUpdate(parse_json::<CarrierUpdate>(body)?),
        "receive" => ReturnCommand::Receive(parse_json::<ReceiveReturn>(body)?),
        "inspect" => ReturnCommand::Inspect(parse_json::<InspectReturn>(body)?),
        "refund" => ReturnCommand::Refund(parse_json::<IssueRefund>(body)?),
        "escalate" => ReturnCommand::Escalate(parse_json::<EscalateReturn>(body)?),
        "withdraw" => {
            parse_json::<Value>(body)?;
            ReturnCommand::Withdraw(WithdrawReturn)
        }
        "messages" => ReturnCommand::PostMessage(parse_json::<PostMessage>(body)?),
        "evidence" => ReturnCommand::AddEvidence(AddEvidence {
            evidence: parse_json::<Evidence>(body)?,
        }),
        "grant-exception" => ReturnCommand::GrantException(parse_json::<GrantException>(body)?),
        "assign" => {
            parse_json::<Value>(body)?;
            ReturnCommand::Assign(AssignDispute)
        }
        "decide" => ReturnCommand::Decide(parse_json::<DecideDispute>(body)?),
        _ => return Err(Problem::not_found()),
    })
}

async fn return_action(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: RawBody,
) -> Reply {
    let (id, action) = path.into_inner();
    let id = return_id(&id)?;
    let command = parse_action(&action, &body.0)?;
    let opts = command_options(&req, &body.0)?;
    let service = state.service.clone();
    let actor = caller.0.clone();
    let render = move |case: &returns_domain::ReturnCase| {
        stored(
            StatusCode::OK,
            &render::return_view(case, &actor, service.now()),
        )
    };
    let answer = state
        .service
        .act_on_return(&caller.0, id, command, &opts, &render)
        .await?;
    Ok(answered(answer, render))
}

// ----- test clock -----

#[derive(Deserialize)]
struct AdvanceBody {
    hours: i64,
}

async fn advance_clock(state: web::Data<ApiState>, caller: Caller, body: RawBody) -> Reply {
    let Some(clock) = &state.test_clock else {
        return Err(Problem::not_found());
    };
    if caller.role() != Role::Operator {
        return Err(Problem::forbidden(
            "only an operator may move the test clock",
        ));
    }
    let advance: AdvanceBody = parse_json(&body.0)?;
    if !(0..=24 * 3650).contains(&advance.hours) {
        return Err(Problem::validation(vec![FieldError {
            field: "hours".into(),
            message: "must be from 0 to 87600".into(),
        }]));
    }
    clock.advance(chrono::Duration::hours(advance.hours));
    // Every deadline that fell due is applied before answering.
    let mut applied = 0;
    loop {
        let n = state.service.run_due_deadlines(500).await?;
        applied += n;
        if n < 500 {
            break;
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "now": state.service.now(),
        "offset_hours": clock.offset().num_hours(),
        "deadlines_applied": applied,
    })))
}
