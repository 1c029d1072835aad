//! Liveness and readiness.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::ApiState;

/// Whether the service can do its work: the database answers and its schema is current.
pub trait Readiness: Send + Sync + 'static {
    /// `Err` says what is missing, for the operator; it is not shown to callers in detail.
    fn check(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// `GET /healthz`: the process is up and serving requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 only when the database is reachable and migrations are applied.
pub async fn readyz(state: web::Data<ApiState>) -> HttpResponse {
    match state.readiness.check().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(json!({"status": "not_ready"}))
        }
    }
}
