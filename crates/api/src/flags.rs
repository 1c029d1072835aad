//! Abuse flags and party risk (docs/api.md, "Arbitration and abuse"): operators only.

use actix_web::{web, HttpResponse};
use returns_arbitration::abuse::{FlagStatus, PartyRole, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::openapi::{QueryProblems, ReadProblems};
use crate::problem::Problem;
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/flags", web::get().to(list_flags))
        .route("/flags/{id}", web::get().to(get_flag))
        .route("/flags/{id}/review", web::post().to(review_flag))
        .route("/parties/{role}/{id}/risk", web::get().to(party_risk))
}

// ----- abuse flags and risk -----

/// The returns a flag rests on.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FlagEvidenceView {
    return_ids: Vec<uuid::Uuid>,
    /// Global positions of the events that made those returns count.
    event_positions: Vec<i64>,
}

/// The latest review of a flag.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FlagReviewView {
    reviewed_by: String,
    reviewed_at: chrono::DateTime<chrono::Utc>,
    /// The operator's note (personal data: `"[erased]"` once erased).
    #[schema(value_type = Option<String>)]
    note: Option<serde_json::Value>,
}

/// An abuse flag: which party, which signal, the figures against the threshold, and the
/// evidence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FlagView {
    id: uuid::Uuid,
    /// `buyer` or `seller`.
    party_role: String,
    party_id: String,
    /// The signal, e.g. `serial_returner` or `seller_refusals_overturned` (see docs/abuse.md).
    kind: String,
    /// `open`, `confirmed` or `dismissed`.
    status: String,
    raised_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Object)]
    metrics: serde_json::Value,
    #[schema(value_type = Object)]
    threshold: serde_json::Value,
    evidence: FlagEvidenceView,
    review: Option<FlagReviewView>,
    /// The flag's version (`ETag`; `If-Match` of a review).
    version: u64,
}

impl From<&returns_app::Flag> for FlagView {
    fn from(f: &returns_app::Flag) -> Self {
        FlagView {
            id: f.id,
            party_role: f.party_role.as_str().to_owned(),
            party_id: f.party_id.clone(),
            kind: f.kind.as_str().to_owned(),
            status: f.status.as_str().to_owned(),
            raised_at: f.raised_at,
            metrics: f.metrics.clone(),
            threshold: f.threshold.clone(),
            evidence: FlagEvidenceView {
                return_ids: f.evidence.return_ids.clone(),
                event_positions: f.evidence.event_positions.clone(),
            },
            review: f.review.as_ref().map(|r| FlagReviewView {
                reviewed_by: r.reviewed_by.clone(),
                reviewed_at: r.reviewed_at,
                note: r.note.clone(),
            }),
            version: f.version,
        }
    }
}

/// A page of flags, the oldest raised first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FlagPage {
    items: Vec<FlagView>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FlagQuery {
    /// `open`, `confirmed` or `dismissed` (any when absent).
    status: Option<String>,
    /// At most this many (1 to 200, default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Abuse flags on buyers and sellers (operators).
#[utoipa::path(
    get,
    path = "/v1/flags",
    tag = "arbitration",
    params(FlagQuery),
    responses(
        (status = 200, description = "A page of flags", body = FlagPage),
        QueryProblems,
        (status = 403, description = "Not an operator", body = Problem,
         content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_flags(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<FlagQuery>,
) -> Result<HttpResponse, Problem> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            FlagStatus::parse(s)
                .ok_or_else(|| Problem::invalid("status", "one of open, confirmed, dismissed"))
        })
        .transpose()?;
    let limit = crate::extract::page_limit(query.limit.as_deref())?;
    let after = crate::extract::cursor_of(query.cursor.as_deref())?;
    let page = state
        .service
        .list_flags(&caller.0, status, after, limit)
        .await?;
    Ok(HttpResponse::Ok().json(FlagPage {
        items: page.items.iter().map(FlagView::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// One abuse flag (operators).
#[utoipa::path(
    get,
    path = "/v1/flags/{id}",
    tag = "arbitration",
    params(("id" = uuid::Uuid, Path, description = "The flag")),
    responses(
        (status = 200, description = "The flag", body = FlagView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        ReadProblems,
        (status = 403, description = "Not an operator", body = Problem,
         content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn get_flag(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = crate::extract::id_of(&path)?;
    let flag = state.service.get_flag(&caller.0, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::ETAG,
            format!("\"{}\"", flag.version),
        ))
        .json(FlagView::from(&flag)))
}

/// The body of a review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "FlagReview")]
pub(crate) struct ReviewBody {
    /// `confirmed` or `dismissed`.
    verdict: String,
    /// Why (kept as personal data of the flagged party).
    #[serde(default)]
    note: Option<String>,
}

/// Longest review note accepted.
pub(crate) const MAX_NOTE_CHARS: usize = 4000;

/// Review a flag (operators): confirm or dismiss an open flag, or dismiss (lift) a confirmed one.
///
/// A confirmed buyer flag turns off automatic approval and returnless refunds for that buyer; a
/// confirmed seller flag weighs toward the buyer in that seller's disputes. A dismissed flag is
/// final, and the same evidence does not raise it again.
#[utoipa::path(
    post,
    path = "/v1/flags/{id}/review",
    tag = "arbitration",
    params(("id" = uuid::Uuid, Path, description = "The flag"), crate::openapi::CommandHeaders),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "The reviewed flag", body = FlagView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        crate::openapi::CommandProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn review_flag(
    req: actix_web::HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: crate::body::RawBody,
) -> Result<HttpResponse, Problem> {
    returns_app::operator_only(&caller.0, returns_app::REVIEW_FLAGS)?;
    let id = crate::extract::id_of(&path)?;
    let review: ReviewBody = crate::body::parse_json(&body.0)?;
    let (verdict, note) = checked_review(&review.verdict, review.note)?;
    let opts = crate::extract::command_options(&req, &body.0)?;
    let answer = state
        .service
        .review_flag(&caller.0, id, verdict, note, &opts, flag_answer)
        .await?;
    Ok(crate::extract::answered(answer))
}

/// A review's verdict and note as the API accepts them: the verdict `confirmed` or `dismissed`,
/// the note at most [`MAX_NOTE_CHARS`] characters.
pub(crate) fn checked_review(
    verdict: &str,
    note: Option<String>,
) -> Result<(Verdict, Option<String>), Problem> {
    let verdict = Verdict::parse(verdict)
        .ok_or_else(|| Problem::invalid("verdict", "one of confirmed, dismissed"))?;
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(Problem::invalid("note", "must be at most 4000 characters"));
    }
    Ok((verdict, note))
}

/// The answer to a review: the flag as reviewed, with its version as `ETag`.
pub(crate) fn flag_answer(flag: &returns_app::Flag) -> returns_app::StoredResponse {
    crate::extract::versioned(
        actix_web::http::StatusCode::OK,
        &FlagView::from(flag),
        flag.version,
    )
}

/// A party's abuse figures and flags.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RiskView {
    /// `{"role", "id"}`.
    #[schema(value_type = Object)]
    party: serde_json::Value,
    /// Counts and rates over the rolling window (default 180 days of service time).
    #[schema(value_type = Object)]
    metrics: serde_json::Value,
    flags: Vec<FlagView>,
}

/// A buyer's or a seller's abuse figures over the rolling window, and its flags (operators).
#[utoipa::path(
    get,
    path = "/v1/parties/{role}/{id}/risk",
    tag = "arbitration",
    params(
        ("role" = String, Path, description = "`buyer` or `seller`"),
        ("id" = String, Path, description = "The party's marketplace id"),
    ),
    responses(
        (status = 200, description = "The party's risk", body = RiskView),
        ReadProblems,
        (status = 403, description = "Not an operator", body = Problem,
         content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn party_risk(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (role, id) = path.into_inner();
    let role = PartyRole::parse(&role).ok_or_else(Problem::not_found)?;
    let risk = state.service.party_risk(&caller.0, role, &id).await?;
    Ok(HttpResponse::Ok().json(RiskView {
        party: serde_json::json!({ "role": risk.party.role.as_str(), "id": risk.party.id }),
        metrics: risk.metrics,
        flags: risk.flags.iter().map(FlagView::from).collect(),
    }))
}
