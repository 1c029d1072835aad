//! The operators' oversight pages: abuse flags with their review, a party's risk, the analytics
//! dashboard and webhook deliveries (docs/console.md).

use actix_web::web;

/// Registers the oversight pages under the console's scope.
pub(super) fn routes(_cfg: &mut web::ServiceConfig) {}
