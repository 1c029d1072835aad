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
    let scope = crate::credit::configure(scope);
    let scope = crate::whatif::configure(scope);
    // Last, so that every route above is tried first.
    let scope = method_not_allowed(scope);
    cfg.service(scope);
}

/// Every documented `/v1` path answers a method it does not have with 405 `method_not_allowed`
/// and `Allow` (RFC 9110), rather than 404: the path exists. The paths and their methods are
/// read from the OpenAPI document, which the routes above make up.
fn method_not_allowed(mut scope: actix_web::Scope) -> actix_web::Scope {
    for (path, item) in &crate::openapi::document().paths.paths {
        let Some(local) = path.strip_prefix("/v1") else {
            continue;
        };
        let allow: Vec<&str> = [
            ("GET", item.get.is_some()),
            ("PUT", item.put.is_some()),
            ("POST", item.post.is_some()),
            ("DELETE", item.delete.is_some()),
            ("PATCH", item.patch.is_some()),
        ]
        .into_iter()
        .filter_map(|(method, has)| has.then_some(method))
        .collect();
        let allow = allow.join(", ");
        scope = scope.service(web::resource(local).to(move || {
            let allow = allow.clone();
            async move {
                let problem = crate::problem::Problem::new(
                    actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("this path answers {allow} only"),
                );
                let mut answer = actix_web::ResponseError::error_response(&problem);
                if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                    answer
                        .headers_mut()
                        .insert(actix_web::http::header::ALLOW, value);
                }
                answer
            }
        }));
    }
    scope
}
