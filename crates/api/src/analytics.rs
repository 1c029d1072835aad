//! `GET /v1/analytics/summary`: operators for any seller or the whole marketplace, a seller for
//! itself only.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role};
use crate::openapi::ReportProblems;
use crate::problem::Problem;
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/analytics/summary", web::get().to(analytics_summary))
}

/// The range and scope of a summary. Without `from`/`to`, the last 30 days of service time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SummaryQuery {
    /// One seller (a seller's own id is implied for seller tokens).
    seller_id: Option<String>,
    /// Start of the range (inclusive), RFC 3339.
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    from: Option<DateTime<Utc>>,
    /// End of the range (exclusive), RFC 3339.
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    to: Option<DateTime<Utc>>,
}

/// Figures over returns created, and orders placed, in `[from, to)`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SummaryView {
    seller_id: Option<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    returns: i64,
    orders: i64,
    return_rate: f64,
    by_reason: BTreeMap<String, i64>,
    by_category: BTreeMap<String, i64>,
    disputes: i64,
    dispute_rate: f64,
    median_hours_to_refund: Option<f64>,
    sla_breaches: i64,
    /// Refunded in the range, when all of it was in one currency; `null` when refunds were made
    /// in several (amounts are never summed across currencies: see `refunded_by_currency`).
    refunded_minor: Option<i64>,
    /// Refunded in the range, per ISO 4217 currency code.
    refunded_by_currency: BTreeMap<String, i64>,
    /// For one seller: its confirmed abuse flags.
    confirmed_flags: Vec<ConfirmedFlagView>,
}

/// A confirmed abuse flag of the seller (see `GET /v1/flags` for operators).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfirmedFlagView {
    id: uuid::Uuid,
    kind: String,
    raised_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
}

impl From<returns_app::Summary> for SummaryView {
    fn from(s: returns_app::Summary) -> Self {
        let returns_app::Summary {
            seller_id,
            from,
            to,
            returns,
            orders,
            return_rate,
            by_reason,
            by_category,
            disputes,
            dispute_rate,
            median_hours_to_refund,
            sla_breaches,
            refunded_minor,
            refunded_by_currency,
            confirmed_flags,
        } = s;
        SummaryView {
            seller_id,
            from,
            to,
            returns,
            orders,
            return_rate,
            by_reason,
            by_category,
            disputes,
            dispute_rate,
            median_hours_to_refund,
            sla_breaches,
            refunded_minor,
            refunded_by_currency,
            confirmed_flags: confirmed_flags
                .into_iter()
                .map(|f| ConfirmedFlagView {
                    id: f.id,
                    kind: f.kind,
                    raised_at: f.raised_at,
                    confirmed_at: f.confirmed_at,
                })
                .collect(),
        }
    }
}

/// Return analytics from the `analytics` projection (it follows the log, so figures may trail the
/// newest commands by a moment).
#[utoipa::path(
    get,
    path = "/v1/analytics/summary",
    tag = "analytics",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = SummaryView),
        ReportProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn analytics_summary(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let seller = match caller.role() {
        Role::Operator => query.seller_id,
        Role::Seller => match query.seller_id {
            Some(id) if id != caller.0.id => {
                return Err(Problem::forbidden("a seller sees its own analytics only"))
            }
            _ => Some(caller.0.id.clone()),
        },
        Role::Buyer | Role::Platform => {
            return Err(Problem::forbidden(
                "analytics are for operators and sellers",
            ))
        }
    };
    let to = query.to.unwrap_or_else(|| state.service.now());
    let from = match query.from {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::days(30))
            .ok_or_else(|| Problem::invalid("to", "is too early for a 30-day range"))?,
    };
    if from >= to {
        return Err(Problem::invalid("from", "must be before `to`"));
    }
    let summary = state
        .service
        .analytics_summary(seller.as_deref(), from, to)
        .await?;
    Ok(HttpResponse::Ok().json(SummaryView::from(summary)))
}
