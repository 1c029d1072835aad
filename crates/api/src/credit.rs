//! Store credit (docs/api.md, "Store credit"): a buyer's ledger, credited by refunds paid as store
//! credit, read by the buyer, operators and the platform, spent and expired by the platform.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use returns_domain::credit::{self, CreditAccount, CreditCommand, CreditEvent};
use returns_domain::{BuyerId, Currency, MinorUnits, OrderId, ReturnId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{parse_json, RawBody};
use crate::extract::{
    answered, command_options, encode_version_cursor, page_limit, parse_path, reply,
    version_cursor, versioned, PageQuery, Reply,
};
use crate::openapi::{CommandProblems, ReadProblems};
use crate::problem::Problem;
use crate::render::time;
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route(
            "/buyers/{buyer_id}/store-credit",
            web::get().to(get_store_credit),
        )
        .route(
            "/buyers/{buyer_id}/store-credit/movements",
            web::get().to(credit_movements),
        )
        .route(
            "/buyers/{buyer_id}/store-credit/spend",
            web::post().to(spend_credit),
        )
        .route(
            "/buyers/{buyer_id}/store-credit/expire",
            web::post().to(expire_credit),
        )
}

/// One currency of a ledger.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BalanceView {
    /// ISO 4217 code.
    #[schema(value_type = String, example = "EUR")]
    currency: Currency,
    /// What the buyer may spend now.
    #[schema(value_type = i64, minimum = 0)]
    balance_minor: MinorUnits,
    /// Issued in total (refunds paid as store credit, bonuses included).
    #[schema(value_type = i64, minimum = 0)]
    issued_minor: MinorUnits,
}

/// A buyer's store credit: a balance per currency, never negative and never added across
/// currencies.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StoreCreditView {
    #[schema(value_type = String)]
    buyer_id: BuyerId,
    balances: Vec<BalanceView>,
    /// The number of movements, also sent as `ETag: "<version>"` (0: never any credit).
    version: u64,
}

fn credit_view(account: &CreditAccount, version: u64) -> StoreCreditView {
    let CreditAccount {
        buyer_id,
        balances,
        issued,
        updated_at: _,
    } = account;
    StoreCreditView {
        buyer_id: buyer_id.clone(),
        balances: balances
            .iter()
            .map(|(currency, balance)| BalanceView {
                currency: *currency,
                balance_minor: *balance,
                issued_minor: issued.get(currency).copied().unwrap_or_default(),
            })
            .collect(),
        version,
    }
}

/// One movement of the ledger.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MovementView {
    /// `credit.issued`, `credit.spent` or `credit.expired`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The ledger's version after this movement.
    version: u64,
    #[schema(format = DateTime)]
    at: String,
    #[schema(value_type = String)]
    currency: Currency,
    /// Credit in for `credit.issued`, out for the others.
    #[schema(value_type = i64, minimum = 0)]
    amount_minor: MinorUnits,
    /// For `credit.issued`: the part paying back goods, and the seller's bonus on top.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    principal_minor: Option<MinorUnits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    bonus_minor: Option<MinorUnits>,
    /// For `credit.issued`: the return whose refund it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    return_id: Option<ReturnId>,
    /// For `credit.spent`: the order it paid for, when the platform said.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    order_id: Option<OrderId>,
}

fn movement_view((version, event): &(u64, CreditEvent)) -> MovementView {
    let (currency, amount_minor, at) = match event {
        CreditEvent::CreditIssued(e) => (e.currency, e.amount_minor, e.at),
        CreditEvent::CreditSpent(e) => (e.currency, e.amount_minor, e.at),
        CreditEvent::CreditExpired(e) => (e.currency, e.amount_minor, e.at),
    };
    let issued = match event {
        CreditEvent::CreditIssued(e) => Some(e),
        CreditEvent::CreditSpent(_) | CreditEvent::CreditExpired(_) => None,
    };
    MovementView {
        kind: event.event_type(),
        version: *version,
        at: time(at),
        currency,
        amount_minor,
        principal_minor: issued.map(|e| e.principal_minor),
        bonus_minor: issued.map(|e| e.bonus_minor),
        return_id: issued.map(|e| e.return_id),
        order_id: match event {
            CreditEvent::CreditSpent(e) => e.order_id.clone(),
            CreditEvent::CreditIssued(_) | CreditEvent::CreditExpired(_) => None,
        },
    }
}

/// A page of movements, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MovementPage {
    items: Vec<MovementView>,
    /// Present when more may follow: pass it as `cursor`.
    next_cursor: Option<String>,
}

fn buyer_of(path: &str) -> Result<BuyerId, Problem> {
    parse_path(path, "buyer_id", |s| {
        BuyerId::parse(s).map_err(|e| e.to_string())
    })
}

/// A buyer's store credit: the buyer, operators and the platform (a seller gets 403, another
/// buyer 404).
#[utoipa::path(
    get,
    path = "/v1/buyers/{buyer_id}/store-credit",
    tag = "store-credit",
    params(("buyer_id" = String, Path, description = "The marketplace's buyer id", pattern = r"^[A-Za-z0-9._:-]{1,64}$")),
    responses(
        (status = 200, description = "The buyer's balances", body = StoreCreditView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        ReadProblems,
        (status = 403, description = "`forbidden`: sellers never read store credit",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a malformed `buyer_id`",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn get_store_credit(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    let buyer_id = buyer_of(&path)?;
    let (account, version) = state.service.store_credit(&caller.0, &buyer_id).await?;
    Ok(reply(versioned(
        StatusCode::OK,
        &credit_view(&account, version),
        version,
    )))
}

/// Every movement of a buyer's store credit, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/buyers/{buyer_id}/store-credit/movements",
    tag = "store-credit",
    params(("buyer_id" = String, Path, description = "The marketplace's buyer id", pattern = r"^[A-Za-z0-9._:-]{1,64}$"), PageQuery),
    responses(
        (status = 200, description = "A page of movements", body = MovementPage),
        ReadProblems,
        (status = 403, description = "`forbidden`: sellers never read store credit",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad `limit` or `cursor`",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn credit_movements(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Reply {
    let buyer_id = buyer_of(&path)?;
    let limit = page_limit(query.limit.as_deref())?;
    let after = version_cursor(query.cursor.as_deref())?;
    let page = state
        .service
        .credit_movements(&caller.0, &buyer_id, after, limit)
        .await?;
    Ok(HttpResponse::Ok().json(MovementPage {
        items: page.movements.iter().map(movement_view).collect(),
        next_cursor: page.next.map(encode_version_cursor),
    }))
}

/// `spend`: the platform takes credit, e.g. at checkout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "SpendCredit")]
pub(crate) struct SpendBody {
    #[schema(value_type = String, example = "EUR", pattern = r"^[A-Z]{3}$")]
    currency: Currency,
    /// Above 0 and at most the balance in `currency`.
    #[schema(value_type = i64, minimum = 1)]
    amount_minor: MinorUnits,
    /// The order the credit pays for.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    order_id: Option<OrderId>,
}

/// `expire`: the platform expires credit under its terms; without `amount_minor`, the whole
/// balance in `currency`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ExpireCredit")]
pub(crate) struct ExpireBody {
    #[schema(value_type = String, example = "EUR", pattern = r"^[A-Z]{3}$")]
    currency: Currency,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1)]
    amount_minor: Option<MinorUnits>,
}

async fn move_credit(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: &str,
    body: &[u8],
    action: &'static str,
    command: impl FnOnce(&[u8]) -> Result<CreditCommand, Problem>,
) -> Reply {
    let buyer_id = buyer_of(path)?;
    // Who may move credit is settled before the body is read.
    returns_domain::credit::authorize_move(&buyer_id, &caller.0, action).map_err(Problem::from)?;
    let command = command(body)?;
    let opts = command_options(&req, body)?;
    let render = |(account, version): &(CreditAccount, u64)| {
        versioned(StatusCode::OK, &credit_view(account, *version), *version)
    };
    let answer = state
        .service
        .move_credit(&caller.0, buyer_id, command, &opts, &render)
        .await?;
    Ok(answered(answer))
}

/// Spend a buyer's store credit (the platform). Never below 0 in any currency.
#[utoipa::path(
    post,
    path = "/v1/buyers/{buyer_id}/store-credit/spend",
    tag = "store-credit",
    request_body = SpendBody,
    params(("buyer_id" = String, Path, description = "The marketplace's buyer id", pattern = r"^[A-Za-z0-9._:-]{1,64}$"), crate::openapi::CommandHeaders),
    responses(
        (status = 200, description = "The balances after spending", body = StoreCreditView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        CommandProblems,
    ),
    security(("bearer" = [])),
)]
async fn spend_credit(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    move_credit(req, state, caller, &path, &body.0, credit::SPEND, |body| {
        let SpendBody {
            currency,
            amount_minor,
            order_id,
        } = parse_json(body)?;
        Ok(CreditCommand::Spend {
            currency,
            amount_minor,
            order_id,
        })
    })
    .await
}

/// Expire a buyer's store credit (the platform).
#[utoipa::path(
    post,
    path = "/v1/buyers/{buyer_id}/store-credit/expire",
    tag = "store-credit",
    request_body = ExpireBody,
    params(("buyer_id" = String, Path, description = "The marketplace's buyer id", pattern = r"^[A-Za-z0-9._:-]{1,64}$"), crate::openapi::CommandHeaders),
    responses(
        (status = 200, description = "The balances after expiry", body = StoreCreditView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        CommandProblems,
    ),
    security(("bearer" = [])),
)]
async fn expire_credit(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    move_credit(req, state, caller, &path, &body.0, credit::EXPIRE, |body| {
        let ExpireBody {
            currency,
            amount_minor,
        } = parse_json(body)?;
        Ok(CreditCommand::Expire {
            currency,
            amount_minor,
        })
    })
    .await
}
