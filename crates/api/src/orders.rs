//! Orders (docs/api.md, "Orders"): the facts the marketplace registers, and their delivery.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{parse_json, RawBody};
use crate::extract::{answered, command_options, parse_path, reply, versioned, Reply};
use crate::openapi::{CommandHeaders, CommandProblems, CreateProblems, ReadProblems};
use crate::problem::Problem;
use crate::render;
use crate::ApiState;
use returns_domain::order::{OrderDetails, OrderLine};
use returns_domain::{
    BuyerId, Category, Currency, Jurisdiction, LineId, MinorUnits, OrderId, SellerId, Sku,
};

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/orders", web::post().to(register_order))
        .route("/orders/{order_id}", web::get().to(get_order))
        .route(
            "/orders/{order_id}/delivery",
            web::post().to(record_delivery),
        )
}

// ----- request bodies -----
//
// Each body is parsed into the struct that documents it and then converted into the domain's
// value or command. Field types are the domain's parsed types, so validation stays the domain's;
// the conversions name every field on both sides without `..`, so that a field added to a domain
// command breaks the build here instead of going unparsed and undocumented. `#[serde(rename)]` on a
// struct keeps the domain type's name in serde's messages ("expected struct OrderDetails").

/// The body of `POST /v1/orders`: an order as the marketplace knows it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "OrderDetails")]
pub(crate) struct RegisterOrderBody {
    /// The marketplace's id: 1 to 64 characters of `A-Za-z0-9._:-`.
    #[schema(value_type = String, example = "ORD-1001", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    order_id: OrderId,
    #[schema(value_type = String, example = "buyer-1", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    buyer_id: BuyerId,
    #[schema(value_type = String, example = "seller-1", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    seller_id: SellerId,
    /// ISO 4217 code of every `_minor` amount of the order.
    #[schema(value_type = String, example = "EUR", pattern = r"^[A-Z]{3}$")]
    currency: Currency,
    /// ISO 3166 alpha-2 code: whose consumer law applies.
    #[schema(value_type = String, example = "DE", pattern = r"^[A-Z]{2}$")]
    jurisdiction: Jurisdiction,
    #[serde(deserialize_with = "crate::time::bounded")]
    placed_at: DateTime<Utc>,
    /// When the order reached the buyer, if it has; return windows count from it.
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    delivered_at: Option<DateTime<Utc>>,
    lines: Vec<OrderLineBody>,
}

impl From<RegisterOrderBody> for OrderDetails {
    fn from(body: RegisterOrderBody) -> Self {
        let RegisterOrderBody {
            order_id,
            buyer_id,
            seller_id,
            currency,
            jurisdiction,
            placed_at,
            delivered_at,
            lines,
        } = body;
        OrderDetails {
            order_id,
            buyer_id,
            seller_id,
            currency,
            jurisdiction,
            placed_at,
            delivered_at,
            lines: lines.into_iter().map(OrderLine::from).collect(),
        }
    }
}

/// One line of an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "OrderLine")]
#[schema(as = OrderLine)]
pub(crate) struct OrderLineBody {
    /// Unique within the order.
    #[schema(value_type = String, example = "line-1", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    line_id: LineId,
    #[schema(value_type = String, example = "SKU-HP-100", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    sku: Sku,
    #[schema(min_length = 1, max_length = 500)]
    title: String,
    /// The marketplace's product category.
    #[schema(value_type = String, example = "electronics")]
    category: Category,
    #[schema(minimum = 1)]
    quantity: u32,
    #[schema(value_type = i64, minimum = 0, example = 4999)]
    unit_price_minor: MinorUnits,
}

impl From<OrderLineBody> for OrderLine {
    fn from(body: OrderLineBody) -> Self {
        let OrderLineBody {
            line_id,
            sku,
            title,
            category,
            quantity,
            unit_price_minor,
        } = body;
        OrderLine {
            line_id,
            sku,
            title,
            category,
            quantity,
            unit_price_minor,
        }
    }
}

/// The body of `POST /v1/orders/{order_id}/delivery`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DeliveryBody {
    #[serde(deserialize_with = "crate::time::bounded")]
    delivered_at: DateTime<Utc>,
}

// ----- orders -----

/// Register an order (platform).
///
/// The same body again answers 200 with the order as registered; another body for an existing
/// `order_id` is 409 `version_conflict`. The seller's policy version current now judges the
/// order's returns.
#[utoipa::path(
    post,
    path = "/v1/orders",
    tag = "orders",
    request_body = RegisterOrderBody,
    params(CommandHeaders),
    responses(
        (status = 201, description = "The order, registered", body = render::OrderView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        (status = 200, description = "The same body was registered before", body = render::OrderView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        CreateProblems,
    ),
    security(("bearer" = [])),
)]
async fn register_order(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    body: RawBody,
) -> Reply {
    returns_domain::order::authorize(&caller.0, "register-order").map_err(Problem::from)?;
    let details = OrderDetails::from(parse_json::<RegisterOrderBody>(&body.0)?);
    let opts = command_options(&req, &body.0)?;
    let render = |(order, created): &(returns_domain::Order, bool)| {
        let status = if *created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        versioned(status, &render::order_view(order), order.version)
    };
    let answer = state
        .service
        .register_order(&caller.0, details, &opts, render)
        .await?;
    Ok(answered(answer))
}

/// Record or correct the order's delivery to the buyer (platform).
#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/delivery",
    tag = "orders",
    request_body = DeliveryBody,
    params(("order_id" = String, Path, description = "The marketplace's order id", pattern = r"^[A-Za-z0-9._:-]{1,64}$"), CommandHeaders),
    responses(
        (status = 200, description = "The order", body = render::OrderView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        CommandProblems,
    ),
    security(("bearer" = [])),
)]
async fn record_delivery(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    returns_domain::order::authorize(&caller.0, "record-delivery").map_err(Problem::from)?;
    let order_id = parse_path(&path, "order_id", |s| {
        OrderId::parse(s).map_err(|e| e.to_string())
    })?;
    let delivery: DeliveryBody = parse_json(&body.0)?;
    let opts = command_options(&req, &body.0)?;
    let render = |order: &returns_domain::Order| {
        versioned(StatusCode::OK, &render::order_view(order), order.version)
    };
    let answer = state
        .service
        .record_delivery(&caller.0, order_id, delivery.delivered_at, &opts, render)
        .await?;
    Ok(answered(answer))
}

/// An order (platform, operator, its buyer, its seller).
#[utoipa::path(
    get,
    path = "/v1/orders/{order_id}",
    tag = "orders",
    params(("order_id" = String, Path, description = "The marketplace's order id", pattern = r"^[A-Za-z0-9._:-]{1,64}$")),
    responses(
        (status = 200, description = "The order", body = render::OrderView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        ReadProblems,
    ),
    security(("bearer" = [])),
)]
async fn get_order(state: web::Data<ApiState>, caller: Caller, path: web::Path<String>) -> Reply {
    let order = state.service.get_order(&caller.0, &path).await?;
    Ok(reply(versioned(
        StatusCode::OK,
        &render::order_view(&order),
        order.version,
    )))
}
