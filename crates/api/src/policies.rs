//! Seller return policies (docs/api.md, "Seller return policy").

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde_json::Value;

use crate::auth::Caller;
use crate::body::{parse_json, RawBody};
use crate::extract::{answered, command_options, parse_path, reply, stored, Reply};
use crate::openapi::{CommandHeaders, CreateProblems, QueryProblems};
use crate::problem::{FieldError, Problem};
use crate::render;
use crate::ApiState;
use returns_domain::{SellerId, SellerPolicy};

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/sellers/{seller_id}/policy", web::put().to(put_policy))
        .route("/sellers/{seller_id}/policy", web::get().to(get_policy))
}

// ----- policies -----

/// The `{seller_id}` of a path.
pub(crate) fn seller_of(path: &str) -> Result<SellerId, Problem> {
    parse_path(path, "seller_id", |s| {
        SellerId::parse(s).map_err(|e| e.to_string())
    })
}

/// A policy document, its field errors named under `prefix` (e.g. `policy.`).
pub(crate) fn parse_policy(document: &Value, prefix: &str) -> Result<SellerPolicy, Problem> {
    SellerPolicy::parse(document).map_err(|errors| {
        Problem::validation(
            errors
                .into_iter()
                .map(|e| FieldError {
                    field: format!("{prefix}{}", e.field),
                    message: e.message,
                })
                .collect(),
        )
    })
}

/// Set a seller's return policy (that seller, or an operator).
///
/// Each change is a new `policy_version`. Returns are judged by the version that was current when
/// their order was registered, never below the legal floor of the order's jurisdiction.
#[utoipa::path(
    put,
    path = "/v1/sellers/{seller_id}/policy",
    tag = "policies",
    request_body = crate::openapi::PolicyBody,
    params(("seller_id" = String, Path, description = "The marketplace's seller id", pattern = r"^[A-Za-z0-9._:-]{1,64}$"), CommandHeaders),
    responses(
        (status = 200, description = "The stored policy", body = render::PolicyView),
        CreateProblems,
    ),
    security(("bearer" = [])),
)]
async fn put_policy(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    let seller_id = seller_of(&path)?;
    returns_domain::policy::authorize(&caller.0, &seller_id).map_err(Problem::from)?;
    let document: Value = parse_json(&body.0)?;
    let policy = parse_policy(&document, "")?;
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
    Ok(answered(answer))
}

/// A seller's current return policy (any authenticated caller); version 0 is the defaults.
#[utoipa::path(
    get,
    path = "/v1/sellers/{seller_id}/policy",
    tag = "policies",
    params(("seller_id" = String, Path, description = "The marketplace's seller id", pattern = r"^[A-Za-z0-9._:-]{1,64}$")),
    responses(
        (status = 200, description = "The current policy", body = render::PolicyView),
        QueryProblems,
    ),
    security(("bearer" = [])),
)]
async fn get_policy(state: web::Data<ApiState>, _caller: Caller, path: web::Path<String>) -> Reply {
    let seller_id = seller_of(&path)?;
    let (policy, version) = state.service.get_policy(seller_id.as_str()).await?;
    Ok(reply(stored(
        StatusCode::OK,
        &render::policy_view(seller_id.as_str(), &policy, version),
    )))
}
