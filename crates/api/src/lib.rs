//! The HTTP API of the returns service (see `API.md` for the contract it implements).
//!
//! This crate owns the routes, the JSON request and response types, token authentication and the
//! one mapping from failures to `application/problem+json` answers. It holds no SQL and no business
//! rules: it parses requests into domain values, calls the services it is given, and renders what
//! they return.

pub mod auth;
mod health;
pub mod problem;

use std::sync::Arc;

use actix_web::web;

pub use health::Readiness;

/// What the routes need, built once at start-up and shared by every worker.
#[derive(Clone)]
pub struct ApiState {
    pub readiness: Arc<dyn Readiness>,
    pub jwt: Arc<auth::JwtKeys>,
}

/// Registers every route of the API on an actix-web app.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz));
    }
}
