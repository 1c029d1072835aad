//! Liveness and readiness.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;

/// Whether the service can do its work: the database answers and its schema is current.
pub trait Readiness: Send + Sync + 'static {
    /// `Err` says what is missing, for the operator; it is not shown to callers in detail.
    fn check(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;

    /// How each background worker of this instance is doing, by name.
    fn workers(&self) -> BTreeMap<String, WorkerHealth> {
        BTreeMap::new()
    }
}

/// A background worker of the instance in `/readyz` (docs/operations.md, "Workers").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerHealth {
    /// `running`, `standby` (another instance holds the projection's lease), `retrying` (the
    /// database failed under it; it goes on by itself), `parked` (a projection stopped on an
    /// event it cannot apply) or `stopped`.
    #[schema(example = "running")]
    pub state: &'static str,
    /// Since when it has been in this state.
    pub since: DateTime<Utc>,
    /// `retrying`: failures in a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// `parked`: the event it stopped on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
}

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` (`/healthz`), `ready` or `not_ready` (`/readyz`).
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `/readyz`: the instance's background workers (projections, webhook sending, the deadline
    /// scheduler), by name; empty when it runs none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub workers: BTreeMap<String, WorkerHealth>,
}

/// The process is up and serving requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = HealthStatus)),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok",
        workers: BTreeMap::new(),
    })
}

/// 200 only when the database is reachable and migrations are applied; either way the body shows
/// each background worker's state. A worker that is retrying or parked does not make the instance
/// unready: it still serves commands and queries (watch `worker_state` in `/metrics`).
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
    let workers = state.readiness.workers();
    match state.readiness.check().await {
        Ok(()) => HttpResponse::Ok().json(HealthStatus {
            status: "ready",
            workers,
        }),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(HealthStatus {
                status: "not_ready",
                workers,
            })
        }
    }
}
