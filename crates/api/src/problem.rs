//! `application/problem+json` answers (RFC 9457) with a stable `code`: the one place where a
//! failure becomes a status and a body.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// A field-level validation failure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct FieldError {
    /// The path of the offending field, e.g. `items[1].quantity` (empty: the body as a whole).
    #[schema(example = "items[1].quantity")]
    pub field: String,
    pub message: String,
}

/// An error answer (`application/problem+json`). `code` is stable and machine-readable; `detail`
/// is for people.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "https://returns.example/problems/not-found")]
    pub kind: String,
    #[schema(example = "Not Found")]
    pub title: &'static str,
    #[schema(example = 404)]
    pub status: u16,
    pub detail: String,
    /// A stable snake_case code: `unauthorized`, `forbidden`, `not_found`, `validation_failed`,
    /// `invalid_transition`, `version_conflict`, `contended`, `idempotency_key_reused`,
    /// `payload_too_large`, `method_not_allowed`, `rate_limited`, `unavailable`.
    #[schema(example = "not_found")]
    pub code: &'static str,
    /// With `validation_failed`: each field that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying, sent as the `Retry-After` header (429, 503).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

/// The `Retry-After` of a 503: long enough for a restart of the database or a failover.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u32 = 5;

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!(
                "https://returns.example/problems/{}",
                code.replace('_', "-")
            ),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn not_found() -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        );
        problem.errors = errors;
        problem
    }

    /// A validation failure of one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Problem::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn version_conflict(current: u64) -> Self {
        Problem::new(
            StatusCode::CONFLICT,
            "version_conflict",
            format!("the resource is at version {current}; read it again and retry"),
        )
    }

    /// 503 with `Retry-After`: the database cannot be reached, is restarting, or timed out.
    pub fn unavailable() -> Self {
        let mut problem = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service cannot reach its database; retry later",
        );
        problem.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECONDS);
        problem
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if self.status == 401 {
            // RFC 6750: the scheme the caller must authenticate with.
            response.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                "Bearer realm=\"returns\"",
            ));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(self)
    }
}

impl From<returns_domain::Rejection> for Problem {
    fn from(r: returns_domain::Rejection) -> Self {
        use returns_domain::Rejection;
        let status = match &r {
            Rejection::Forbidden { .. } => StatusCode::FORBIDDEN,
            Rejection::InvalidTransition { .. } | Rejection::AlreadyExists(_) => {
                StatusCode::CONFLICT
            }
            Rejection::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Rejection::NotFound(_) => StatusCode::NOT_FOUND,
        };
        let mut problem = Problem::new(status, r.code(), r.detail());
        problem.errors = r
            .field_errors()
            .iter()
            .map(|e| FieldError {
                field: e.field.clone(),
                message: e.message.clone(),
            })
            .collect();
        problem
    }
}

impl From<returns_app::AppError> for Problem {
    fn from(e: returns_app::AppError) -> Self {
        use returns_app::AppError;
        match e {
            AppError::Rejected(r) => r.into(),
            AppError::NotFound => Problem::not_found(),
            AppError::VersionConflict { current } => Problem::version_conflict(current),
            AppError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ),
            AppError::Contended => Problem::new(
                StatusCode::CONFLICT,
                "contended",
                "concurrent commands on the same resources kept colliding; nothing was written, retry",
            ),
            AppError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable");
                Problem::unavailable()
            }
            e @ (AppError::Internal(_) | AppError::RmaTaken) => {
                tracing::error!(error = %e, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the service failed; the failure is logged",
                )
            }
        }
    }
}

#[cfg(test)]
mod retry_after_tests {
    use super::*;

    #[test]
    fn unavailable_answers_say_when_to_retry_and_others_do_not() {
        let answer =
            Problem::from(returns_app::AppError::Unavailable("down".into())).error_response();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        let retry = answer.headers().get(actix_web::http::header::RETRY_AFTER);
        assert_eq!(retry.and_then(|v| v.to_str().ok()), Some("5"));

        let answer = Problem::from(returns_app::AppError::Contended).error_response();
        assert_eq!(answer.status(), StatusCode::CONFLICT);
        assert!(answer
            .headers()
            .get(actix_web::http::header::RETRY_AFTER)
            .is_none());
    }
}
