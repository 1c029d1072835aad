//! Liveness and readiness.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;

/// Whether the service can do its work: the database answers and its schema is current.
pub trait Readiness: Send + Sync + 'static {
    /// `Err` says what is missing, for the operator; it is not shown to callers in detail.
    fn check(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` (`/healthz`), `ready` or `not_ready` (`/readyz`).
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up and serving requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = HealthStatus)),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// 200 only when the database is reachable and migrations are applied.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`ready`: the service can do its work", body = HealthStatus),
        (status = 503, description = "`not_ready`: the database is unreachable or its schema \
            is not current", body = HealthStatus),
    ),
)]
pub async fn readyz(state: web::Data<ApiState>) -> HttpResponse {
    match state.readiness.check().await {
        Ok(()) => HttpResponse::Ok().json(HealthStatus { status: "ready" }),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(HealthStatus {
                status: "not_ready",
            })
        }
    }
}
