//! `POST /v1/sellers/{seller_id}/policy/what-if` (docs/api.md, "Policy what-if"): a seller's past
//! returns judged again under a proposed policy. Read only. The answer is one JSON document,
//! streamed as it is computed, a page of returns at a time, with the totals at its end.

use actix_web::web::{self, Bytes};
use chrono::{DateTime, Utc};
use futures_util::stream;
use returns_domain::whatif::{ReturnWhatIf, WhatIfTotals};
use returns_domain::{Actor, SellerId, SellerPolicy};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::body::{parse_json, RawBody};
use crate::extract::Reply;
use crate::openapi::ReportProblems;
use crate::problem::Problem;
use crate::render::time;
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route(
        "/sellers/{seller_id}/policy/what-if",
        web::post().to(policy_what_if),
    )
}

/// A proposed policy and the period of returns to judge under it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "PolicyWhatIf")]
pub(crate) struct WhatIfBody {
    /// The proposed policy, in the shape of `PUT /v1/sellers/{seller_id}/policy`.
    #[schema(value_type = crate::openapi::PolicyBody)]
    policy: Value,
    /// Returns requested from this time (inclusive), RFC 3339.
    #[serde(deserialize_with = "crate::time::bounded")]
    from: DateTime<Utc>,
    /// Up to this time (exclusive); at most 366 days after `from`.
    #[serde(deserialize_with = "crate::time::bounded")]
    to: DateTime<Utc>,
}

/// How a return fared, or would have.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct SettlementDoc {
    eligible: bool,
    /// `returnless`, `auto_approved` or `to_seller`.
    intake: String,
    rules: Vec<String>,
    restocking_fee_minor: i64,
    return_shipping_fee_minor: i64,
    requested_amount_minor: i64,
    /// Refunded (`actual`), or expected to be (`proposed`).
    refund_minor: i64,
    /// Disputed (`actual`), or expected to be (`proposed`).
    disputed: bool,
}

/// One return as it was and as it would have been.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct WhatIfReturnDoc {
    return_id: Uuid,
    rma: String,
    #[schema(format = DateTime)]
    created_at: String,
    currency: String,
    reason: crate::openapi::Reason,
    outcome: Option<crate::openapi::Outcome>,
    actual: SettlementDoc,
    proposed: SettlementDoc,
    /// What differs: `eligibility`, `intake`, `fees`, `refund`, `dispute`.
    changes: Vec<String>,
}

/// Counts and per-currency amounts over the returns.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct FiguresDoc {
    eligible: u64,
    settled_without_seller: u64,
    returnless: u64,
    disputes: u64,
    fees_by_currency: std::collections::BTreeMap<String, i64>,
    refunds_by_currency: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct WhatIfTotalsDoc {
    returns: u64,
    changed: u64,
    actual: FiguresDoc,
    proposed: FiguresDoc,
}

/// The answer, streamed: the returns in the order they were requested, then the totals.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct WhatIfDoc {
    seller_id: String,
    #[schema(format = DateTime)]
    from: String,
    #[schema(format = DateTime)]
    to: String,
    returns: Vec<WhatIfReturnDoc>,
    totals: WhatIfTotalsDoc,
}

/// Where the streamed answer stands.
enum Phase {
    Head,
    Page(Option<(DateTime<Utc>, Uuid)>),
    Tail,
    Done,
}

struct Streamed {
    state: web::Data<ApiState>,
    caller: Actor,
    seller_id: SellerId,
    policy: SellerPolicy,
    period: (DateTime<Utc>, DateTime<Utc>),
    totals: WhatIfTotals,
    written: u64,
    phase: Phase,
}

impl Streamed {
    async fn next(mut self) -> Result<Option<(Bytes, Streamed)>, actix_web::Error> {
        let chunk = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Head => {
                self.phase = Phase::Page(None);
                let head = serde_json::json!({
                    "seller_id": self.seller_id.as_str(),
                    "from": time(self.period.0),
                    "to": time(self.period.1),
                });
                let mut text = head.to_string();
                // The object stays open for the list of returns.
                text.pop();
                text.push_str(",\"returns\":[");
                text.into_bytes()
            }
            Phase::Page(after) => {
                let page = self
                    .state
                    .service
                    .what_if_page(
                        &self.caller,
                        &self.seller_id,
                        &self.policy,
                        self.period,
                        after,
                    )
                    .await
                    .map_err(|e| {
                        // The answer has begun: all that is left is to cut it short.
                        tracing::error!(error = %e, "policy what-if failed while streaming");
                        actix_web::error::ErrorInternalServerError("what-if failed")
                    })?;
                let mut out = Vec::new();
                for r in &page.returns {
                    self.totals.add(r);
                    if self.written > 0 {
                        out.push(b',');
                    }
                    self.written += 1;
                    write_return(&mut out, r)?;
                }
                self.phase = match page.next {
                    Some(cursor) => Phase::Page(Some(cursor)),
                    None => Phase::Tail,
                };
                out
            }
            Phase::Tail => {
                let mut out = b"],\"totals\":".to_vec();
                serde_json::to_writer(&mut out, &self.totals)
                    .map_err(actix_web::error::ErrorInternalServerError)?;
                out.push(b'}');
                out
            }
            Phase::Done => return Ok(None),
        };
        Ok(Some((Bytes::from(chunk), self)))
    }
}

fn write_return(out: &mut Vec<u8>, r: &ReturnWhatIf) -> Result<(), actix_web::Error> {
    serde_json::to_writer(out, r).map_err(actix_web::error::ErrorInternalServerError)
}

/// How the seller's returns of a period would have fared under a proposed policy (the seller
/// itself, or an operator). Read only: nothing is written.
///
/// Each return is judged as it was requested (order, items, reason, time, goodwill exceptions)
/// under the proposed policy and the law of its jurisdiction; the refund and the dispute are
/// estimated (docs/product.md, "Policy what-if"). At most 366 days and 50,000 returns; the
/// answer is streamed a page of returns at a time.
#[utoipa::path(
    post,
    path = "/v1/sellers/{seller_id}/policy/what-if",
    tag = "policies",
    request_body = WhatIfBody,
    params(("seller_id" = String, Path, description = "The marketplace's seller id", pattern = r"^[A-Za-z0-9._:-]{1,64}$")),
    responses(
        (status = 200, description = "Each return as it was and as it would have been, then the totals", body = WhatIfDoc),
        ReportProblems,
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn policy_what_if(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    body: RawBody,
) -> Reply {
    let seller_id = crate::policies::seller_of(&path)?;
    // Who may ask is settled before the body is read.
    returns_domain::policy::authorize_action(&caller.0, &seller_id, "ask a policy what-if")
        .map_err(Problem::from)?;
    let WhatIfBody { policy, from, to } = parse_json(&body.0)?;
    let policy = crate::policies::parse_policy(&policy, "policy.")?;
    state
        .service
        .what_if_check(&caller.0, &seller_id, from, to)
        .await?;
    let streamed = Streamed {
        state: state.clone(),
        caller: caller.0.clone(),
        seller_id,
        policy,
        period: (from, to),
        totals: WhatIfTotals::default(),
        written: 0,
        phase: Phase::Head,
    };
    Ok(actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream::try_unfold(streamed, Streamed::next)))
}
