//! The HTTP API of the returns service (see docs/api.md for the contract it implements).
//!
//! This crate owns the routes, the JSON request and response types, token authentication and the
//! one mapping from failures to `application/problem+json` answers, and the OpenAPI 3 document
//! generated from them (`GET /openapi.json`). It holds no SQL and no business rules: it parses
//! requests into domain values, calls the services it is given, and renders what they return.

mod analytics;
pub mod auth;
pub mod body;
mod console;
mod credit;
mod disputes;
mod erasure;
mod extract;
mod flags;
mod health;
pub mod limits;
pub mod openapi;
mod orders;
mod policies;
pub mod problem;
mod render;
mod returns;
mod routes;
mod test_clock;
mod time;
mod webhooks;
mod whatif;

use std::sync::Arc;

use actix_web::web;

pub use health::{Readiness, WorkerHealth};

/// What the routes need, built once at start-up and shared by every worker.
#[derive(Clone)]
pub struct ApiState {
    pub readiness: Arc<dyn Readiness>,
    pub jwt: Arc<auth::JwtKeys>,
    pub service: returns_app::Service,
    /// Present only when the service runs with `RETURNS_TEST_CLOCK=1`.
    pub test_clock: Option<Arc<returns_app::TestClock>>,
    pub body_limit: usize,
    /// Hosts and ranges webhook targets may use although they are loopback or private
    /// (`RETURNS_WEBHOOK_ALLOW_HOSTS`); checked when a webhook is registered.
    pub webhook_allow_hosts: returns_app::AllowList,
    /// Requests per caller (docs/api.md, "Rate limits").
    pub limits: Arc<limits::RateLimits>,
}

/// Registers every route of the API on an actix-web app.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let limit = body::BodyLimit(state.body_limit);
        cfg.app_data(web::Data::new(state))
            .app_data(limit)
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                problem::Problem::validation(vec![problem::FieldError {
                    field: "query".into(),
                    message: e.to_string(),
                }])
                .into()
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| problem::Problem::not_found().into()),
            )
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/openapi.json", web::get().to(openapi::serve))
            .configure(console::configure)
            .configure(routes::configure);
    }
}
