//! End-to-end tests: the real service on port 0 against its own fresh database.
//! One test binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod analytics;
mod arbitration;
mod authz;
mod browser;
mod concurrency;
mod console;
mod console_oversight;
mod credit;
mod deadlines;
mod erasure;
mod eu_rules;
mod exchanges;
mod health;
mod idempotency;
mod lifecycle;
mod limits;
mod matrix;
mod methods;
mod metrics;
mod openapi;
mod orders;
mod outage;
mod paging;
mod policy;
mod rebuild;
mod rma;
mod satisfaction;
mod support;
mod validation;
mod webhooks;
mod whatif;
