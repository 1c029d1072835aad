//! Logging: JSON lines on standard output through `tracing`, filtered by `RUST_LOG`.
//!
//! Log fields name routes, codes, ids of returns and streams, never personal data: request bodies,
//! free text, names and addresses are not logged.

use tracing_subscriber::EnvFilter;

/// Targets that print the data they carry at `debug` or below (tokio-postgres logs every
/// statement's parameters, which hold descriptions, messages and the rest): held at `info`
/// whatever `RUST_LOG` says, so that personal data never reaches the logs.
const DATA_CARRYING_TARGETS: [&str; 1] = ["tokio_postgres=info"];

/// Installs the JSON subscriber. Safe to call more than once (later calls do nothing).
pub fn init(default_filter: &str) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    for directive in DATA_CARRYING_TARGETS {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
}
