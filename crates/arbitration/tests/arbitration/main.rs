//! Tests of the arbitration core, in one test binary (one link, faster builds).

// A test binary: failing loudly is the point. (Clippy's allow-*-in-tests only covers `#[test]`
// functions, not the harness they share.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod abuse;
mod determinism;
mod properties;
mod recommendations;
