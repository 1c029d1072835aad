//! The dispute queue and recommendations (docs/api.md, "Arbitration and abuse"): operators only.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::openapi::{QueryProblems, ReadProblems};
use crate::problem::Problem;
use crate::render::{self, ReturnPage};
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route(
            "/returns/{id}/recommendation",
            web::get().to(recommendation),
        )
        .route("/disputes", web::get().to(list_disputes))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DisputeQuery {
    /// `me` (assigned to the caller), `none` (unassigned) or `any` (the default).
    assignee: Option<String>,
    /// One seller's disputes only.
    seller_id: Option<String>,
    /// At most this many (1 to 200, default 50).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Open disputes (escalated returns), the earliest `decision_due` first (operators).
#[utoipa::path(
    get,
    path = "/v1/disputes",
    tag = "arbitration",
    params(DisputeQuery),
    responses(
        (status = 200, description = "Open disputes as return views", body = ReturnPage),
        QueryProblems,
        (status = 403, description = "Not an operator", body = Problem,
         content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_disputes(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<DisputeQuery>,
) -> Result<HttpResponse, Problem> {
    let assignee = match query.assignee.as_deref() {
        None | Some("any") => returns_app::Assignee::Anyone,
        Some("me") => returns_app::Assignee::Me,
        Some("none") => returns_app::Assignee::Nobody,
        Some(_) => return Err(Problem::invalid("assignee", "one of me, none, any")),
    };
    let seller_id = match query.seller_id.as_deref() {
        None | Some("") => None,
        Some(id) => Some(crate::policies::seller_of(id)?.as_str().to_owned()),
    };
    let limit = crate::extract::page_limit(query.limit.as_deref())?;
    let after = crate::extract::time_cursor(query.cursor.as_deref())?;
    let filter = returns_app::DisputeFilter {
        seller_id,
        ..returns_app::DisputeFilter::assigned(assignee)
    };
    let page = state
        .service
        .disputes(&caller.0, &filter, after, limit)
        .await?;
    let now = state.service.now();
    let items = page
        .items
        .iter()
        .map(|case| render::return_view(case, &caller.0, now))
        .collect();
    Ok(HttpResponse::Ok().json(ReturnPage {
        items,
        next_cursor: page
            .next
            .map(|(due, id)| crate::extract::encode_time_cursor(due, id)),
    }))
}

/// One reason of a recommendation: the rule, a sentence, and the events it rests on.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReasonView {
    rule: String,
    detail: String,
    event_positions: Vec<i64>,
    /// `buyer` or `seller`: whom the finding favours (absent for terms).
    #[serde(skip_serializing_if = "Option::is_none")]
    favours: Option<String>,
}

/// What arbitration recommends for a dispute, deterministic for a given history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecommendationView {
    /// `refund_buyer` or `side_with_seller`.
    outcome: String,
    refund_amount_minor: i64,
    return_required: bool,
    /// `seller` or `platform`.
    funded_by: String,
    reasons: Vec<ReasonView>,
}

fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl From<returns_arbitration::Recommendation> for RecommendationView {
    fn from(r: returns_arbitration::Recommendation) -> Self {
        RecommendationView {
            outcome: text(&r.outcome),
            refund_amount_minor: r.refund_amount_minor.get(),
            return_required: r.return_required,
            funded_by: text(&r.funded_by),
            reasons: r
                .reasons
                .into_iter()
                .map(|reason| ReasonView {
                    rule: text(&reason.rule),
                    detail: reason.detail,
                    event_positions: reason.event_positions,
                    favours: reason.favours.map(|side| text(&side)),
                })
                .collect(),
        }
    }
}

/// The recommendation for a return's dispute (operators; buyers and sellers may not read it).
#[utoipa::path(
    get,
    path = "/v1/returns/{id}/recommendation",
    tag = "arbitration",
    params(("id" = uuid::Uuid, Path, description = "The return")),
    responses(
        (status = 200, description = "The recommendation", body = RecommendationView),
        ReadProblems,
        (status = 403, description = "Not an operator", body = Problem,
         content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn recommendation(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = returns_domain::ReturnId::parse(&path).map_err(|_| Problem::not_found())?;
    let recommendation = state.service.recommendation(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(RecommendationView::from(recommendation)))
}
