//! The test clock (docs/api.md, "Test clock"): only when the service runs with
//! `RETURNS_TEST_CLOCK=1`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::body::{parse_json, RawBody};
use crate::extract::Reply;
use crate::openapi::ClockProblems;
use crate::problem::Problem;
use crate::render;
use crate::ApiState;

pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/test-clock/advance", web::post().to(advance_clock))
}

/// The most one advance may move the clock: ten years.
const MAX_ADVANCE_HOURS: i64 = 24 * 3650;
/// The most the clock may run ahead of real time in all: a hundred years.
const MAX_OFFSET_HOURS: i64 = 24 * 36500;

/// The body of `POST /v1/test-clock/advance`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AdvanceBody {
    #[schema(minimum = 0, maximum = 87600)]
    hours: i64,
}

// ----- test clock -----

/// Move the service's clock forward and apply every deadline that fell due (operator).
///
/// Only when the service runs with `RETURNS_TEST_CLOCK=1`; otherwise 404.
#[utoipa::path(
    post,
    path = "/v1/test-clock/advance",
    tag = "test-clock",
    request_body = AdvanceBody,
    responses(
        (status = 200, description = "The clock after the advance", body = render::ClockView),
        ClockProblems,
    ),
    security(("bearer" = [])),
)]
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
    if !(0..=MAX_ADVANCE_HOURS).contains(&advance.hours) {
        return Err(Problem::invalid("hours", "must be from 0 to 87600"));
    }
    if clock.offset().num_hours() + advance.hours > MAX_OFFSET_HOURS {
        return Err(Problem::invalid(
            "hours",
            "the test clock may run at most 100 years ahead in all",
        ));
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
    Ok(HttpResponse::Ok().json(render::ClockView {
        now: state.service.now(),
        offset_hours: clock.offset().num_hours(),
        deadlines_applied: applied,
    }))
}
