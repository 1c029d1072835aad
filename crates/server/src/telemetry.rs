//! Logging: JSON lines on standard output through `tracing`, filtered by `RUST_LOG`.
//!
//! Log fields name routes, codes, ids of returns and streams, never personal data: request bodies,
//! free text, names and addresses are not logged.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. Safe to call more than once (later calls do nothing).
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
}
