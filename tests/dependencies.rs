//! The map of docs/architecture.md, enforced: a crate may depend only on the crates its layer
//! allows. Reads `cargo metadata` (normal dependencies, not dev-dependencies) and fails naming
//! every dependency that points the wrong way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Crates that do I/O (network, database, files, HTTP) or run an async runtime: the pure crates
/// may not depend on any of them.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-postgres",
    "deadpool-postgres",
    "postgres-types",
    "reqwest",
    "actix-web",
    "hyper",
    "refinery",
    "returns-event-store",
    "returns-app",
    "returns-projections",
    "returns-api",
    "returns-server",
];

/// Each crate and the crates it must never depend on.
fn forbidden() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut rules = BTreeMap::new();
    // The pure core: business rules and arbitration do no I/O.
    rules.insert("returns-domain", IO_CRATES.to_vec());
    rules.insert("returns-arbitration", IO_CRATES.to_vec());
    // The store knows nothing of returns, nor of who reads it.
    rules.insert(
        "returns-event-store",
        vec![
            "returns-domain",
            "returns-arbitration",
            "returns-app",
            "returns-projections",
            "returns-api",
            "returns-server",
        ],
    );
    // Read models never run commands, nor serve HTTP.
    rules.insert(
        "returns-projections",
        vec!["returns-app", "returns-api", "returns-server", "actix-web"],
    );
    // The command path holds no HTTP.
    rules.insert(
        "returns-app",
        vec!["returns-api", "returns-server", "actix-web"],
    );
    // The api reaches data only through the app layer.
    rules.insert(
        "returns-api",
        vec![
            "returns-event-store",
            "returns-projections",
            "tokio-postgres",
            "deadpool-postgres",
            "returns-server",
        ],
    );
    rules
}

#[test]
fn dependencies_point_inward() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let rules = forbidden();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(banned) = rules.get(name) else {
            continue;
        };
        checked += 1;
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            // `kind` is null for normal dependencies, "dev" or "build" otherwise.
            if !dependency["kind"].is_null() {
                continue;
            }
            let dep = dependency["name"].as_str().unwrap_or_default();
            if banned.contains(&dep) {
                wrong.push(format!("{name} depends on {dep}"));
            }
        }
    }
    assert_eq!(checked, rules.len(), "every crate with rules was found");
    assert!(
        wrong.is_empty(),
        "dependencies pointing the wrong way (see docs/architecture.md):\n{}",
        wrong.join("\n")
    );
}
