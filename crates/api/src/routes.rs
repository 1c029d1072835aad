//! The `/v1` routes: each resource module adds its own (see docs/architecture.md, "api").
//!
//! Every handler carries its `#[utoipa::path]` (see `openapi` for the document they make up).

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let scope = web::scope("/v1");
    let scope = crate::orders::configure(scope);
    let scope = crate::policies::configure(scope);
    let scope = crate::returns::configure(scope);
    let scope = crate::disputes::configure(scope);
    let scope = crate::flags::configure(scope);
    let scope = crate::returns::configure_actions(scope);
    let scope = crate::test_clock::configure(scope);
    let scope = crate::analytics::configure(scope);
    let scope = crate::webhooks::configure(scope);
    let scope = crate::erasure::configure(scope);
    cfg.service(scope);
}
