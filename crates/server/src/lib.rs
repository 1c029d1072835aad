//! The service as a whole: configuration from the environment, logging, and start-up.
//!
//! This is the only crate that wires the others together. [`startup::Application::build`] turns
//! [`config::Settings`] into a bound, ready-to-run service; `main.rs` runs it until SIGTERM or
//! SIGINT, and tests build the very same value on port 0.

pub mod config;
pub mod startup;
pub mod telemetry;
