//! `POST /v1/buyers/{buyer_id}/erasure`: an operator erases a buyer's personal data (docs/api.md,
//! "Erasure").

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::body::{parse_json, RawBody};
use crate::extract::Reply;
use crate::openapi::CommandProblems;
use crate::problem::Problem;
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/buyers/{buyer_id}/erasure", web::post().to(erase_buyer))
}

/// What the erasure did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErasureView {
    buyer_id: String,
    /// The buyer's returns, whose views were rebuilt without the erased values.
    returns_rebuilt: usize,
    /// Values that became tombstones now (0 when everything had been erased before).
    values_erased: u64,
    /// Stored idempotent answers dropped because they could quote what was erased.
    answers_dropped: u64,
    erased_at: DateTime<Utc>,
}

/// Erase a buyer's personal data (operators): every text they or others wrote on their returns,
/// and what identifies their parcels and refunds, becomes `"[erased]"`; the histories stay whole.
#[utoipa::path(
    post,
    path = "/v1/buyers/{buyer_id}/erasure",
    tag = "operations",
    params(("buyer_id" = String, Path, description = "The buyer whose data is erased", pattern = r"^[A-Za-z0-9._:-]{1,64}$")),
    responses(
        (status = 200, description = "The buyer's personal data is erased", body = ErasureView),
        CommandProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn erase_buyer(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    if caller.role() != Role::Operator {
        return Err(Problem::forbidden(
            "only an operator may erase personal data",
        ));
    }
    parse_json::<serde_json::Value>(&body.0)?;
    let buyer = returns_domain::BuyerId::parse(&path).map_err(|_| Problem::not_found())?;
    let erasure = state.service.erase_buyer(&caller.0, &buyer).await?;
    Ok(HttpResponse::Ok().json(ErasureView {
        buyer_id: erasure.buyer_id,
        returns_rebuilt: erasure.returns_rebuilt,
        values_erased: erasure.values_erased,
        answers_dropped: erasure.answers_dropped,
        erased_at: erasure.erased_at,
    }))
}
