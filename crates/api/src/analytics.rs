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
    scope
        .route("/analytics/summary", web::get().to(analytics_summary))
        .route(
            "/analytics/satisfaction/sellers",
            web::get().to(satisfaction_by_seller),
        )
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
    /// Buyers' ratings of closed returns given in the range: the figures over all of them, and
    /// by reason and by outcome.
    satisfaction: SatisfactionView,
    /// Appeals of operators' decisions on those returns.
    appeals: AppealsView,
}

/// Decided disputes, their appeals, and appeals that reversed the first decision.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AppealsView {
    decisions: i64,
    appeals: i64,
    /// Appeals per decided dispute, from 0 to 1.
    appeal_rate: f64,
    appeals_decided: i64,
    overturned: i64,
    /// Reversed decisions per decided appeal, from 0 to 1.
    overturn_rate: f64,
}

impl From<returns_app::Appeals> for AppealsView {
    fn from(a: returns_app::Appeals) -> Self {
        AppealsView {
            decisions: a.decisions,
            appeals: a.appeals,
            appeal_rate: a.appeal_rate,
            appeals_decided: a.appeals_decided,
            overturned: a.overturned,
            overturn_rate: a.overturn_rate,
        }
    }
}

/// Figures over a set of ratings (1 to 5).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScoresView {
    ratings: i64,
    /// The mean score; `null` without ratings.
    average_score: Option<f64>,
    /// The CSAT score: the share of ratings of 4 or 5, from 0 to 1; `null` without ratings.
    csat: Option<f64>,
}

impl From<returns_app::Scores> for ScoresView {
    fn from(s: returns_app::Scores) -> Self {
        let returns_app::Scores {
            ratings,
            average_score,
            csat,
        } = s;
        ScoresView {
            ratings,
            average_score,
            csat,
        }
    }
}

/// Satisfaction over ratings given in the range.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SatisfactionView {
    #[serde(flatten)]
    all: ScoresView,
    by_reason: BTreeMap<String, ScoresView>,
    /// By outcome (`refunded`, `denied`...).
    by_outcome: BTreeMap<String, ScoresView>,
}

fn scores_by(map: BTreeMap<String, returns_app::Scores>) -> BTreeMap<String, ScoresView> {
    map.into_iter().map(|(k, v)| (k, v.into())).collect()
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
            satisfaction,
            appeals,
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
            satisfaction: SatisfactionView {
                all: satisfaction.all.into(),
                by_reason: scores_by(satisfaction.by_reason),
                by_outcome: scores_by(satisfaction.by_outcome),
            },
            appeals: appeals.into(),
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
    let seller = summary_scope(&caller, query.seller_id)?;
    let (from, to) = range(&state, query.from, query.to)?;
    let summary = state
        .service
        .analytics_summary(seller.as_deref(), from, to)
        .await?;
    Ok(HttpResponse::Ok().json(SummaryView::from(summary)))
}

/// Whose figures a summary asked for with `seller_id` covers: for an operator that seller, or the
/// whole marketplace (`None`); for a seller itself, and another seller is refused; anyone else is
/// refused.
pub(crate) fn summary_scope(
    caller: &Caller,
    seller_id: Option<String>,
) -> Result<Option<String>, Problem> {
    match caller.role() {
        Role::Operator => Ok(seller_id),
        Role::Seller => match seller_id {
            Some(id) if id != caller.0.id => {
                Err(Problem::forbidden("a seller sees its own analytics only"))
            }
            _ => Ok(Some(caller.0.id.clone())),
        },
        Role::Buyer | Role::Platform => Err(Problem::forbidden(
            "analytics are for operators and sellers",
        )),
    }
}

/// `[from, to)`: `to` defaults to now in service time, `from` to 30 days before `to`.
pub(crate) fn range(
    state: &ApiState,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Problem> {
    let to = to.unwrap_or_else(|| state.service.now());
    let from = match from {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::days(30))
            .ok_or_else(|| Problem::invalid("to", "is too early for a 30-day range"))?,
    };
    if from >= to {
        return Err(Problem::invalid("from", "must be before `to`"));
    }
    Ok((from, to))
}

/// The range and page of the satisfaction list by seller.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SatisfactionQuery {
    /// Start of the range of rating times (inclusive), RFC 3339; 30 days before `to` by default.
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    from: Option<DateTime<Utc>>,
    /// End of the range (exclusive), RFC 3339; now by default.
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    to: Option<DateTime<Utc>>,
    /// Sellers per page, 1 to 200 (50 by default).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One seller's satisfaction figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SellerScoresView {
    seller_id: String,
    #[serde(flatten)]
    scores: ScoresView,
}

/// A page of sellers with the ratings their buyers gave in the range, in seller id order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SellerScoresPage {
    items: Vec<SellerScoresView>,
    /// Present when there may be more: pass it as `cursor`.
    next_cursor: Option<String>,
}

/// Buyers' satisfaction (CSAT) by seller, for operators: every seller rated in the range.
#[utoipa::path(
    get,
    path = "/v1/analytics/satisfaction/sellers",
    tag = "analytics",
    params(SatisfactionQuery),
    responses(
        (status = 200, description = "A page of sellers", body = SellerScoresPage),
        ReportProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn satisfaction_by_seller(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<SatisfactionQuery>,
) -> Result<HttpResponse, Problem> {
    if caller.role() != Role::Operator {
        return Err(Problem::forbidden(
            "satisfaction by seller is for operators (a seller finds its own in the summary)",
        ));
    }
    let query = query.into_inner();
    let (from, to) = range(&state, query.from, query.to)?;
    let limit = crate::extract::page_limit(query.limit.as_deref())?;
    // The cursor is the last seller id of the previous page (ids are URL-safe).
    let after = match query.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(
            returns_domain::SellerId::parse(cursor)
                .map_err(|_| Problem::invalid("cursor", "not a cursor this service returned"))?,
        ),
    };
    let sellers = state
        .service
        .satisfaction_by_seller(
            from,
            to,
            after.as_ref().map(|id| id.as_str()),
            i64::try_from(limit).unwrap_or(200),
        )
        .await?;
    let next_cursor = (sellers.len() == limit)
        .then(|| sellers.last().map(|s| s.seller_id.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(SellerScoresPage {
        items: sellers
            .into_iter()
            .map(|s| SellerScoresView {
                seller_id: s.seller_id,
                scores: s.scores.into(),
            })
            .collect(),
        next_cursor,
    }))
}
