//! Test support, used as a dev-dependency only.
//!
//! [`TestDb`] creates a fresh PostgreSQL database with a random name for one test, migrates it,
//! and drops it when the test ends, so tests run in parallel against a real server and leave
//! nothing behind. [`TestApp`] starts the whole service exactly as production does, on port 0,
//! against such a database.
//!
//! The server is the one `DATABASE_URL` names, or `postgres://postgres@127.0.0.1:5432/postgres`.
//! Set `TEST_LOG=1` to see the service's logs.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod app;
mod db;

pub use app::{mint, TestApp};
pub use db::{admin_url, init_test_logging, TestDb};
