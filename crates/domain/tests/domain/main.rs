//! Given/when/then tests of the domain, in one test binary (one link, faster builds).

// A test binary: failing loudly is the point. (Clippy's allow-*-in-tests only covers `#[test]`
// functions, not the harness they share.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod appeals;
mod deadlines;
mod evaluation;
mod events;
mod flows;
mod methods;
mod opening;
mod orders;
mod permissions;
mod properties;
mod refunds;
