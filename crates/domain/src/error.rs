//! Rejections: why the domain refused a command, in a form the API maps to one status code each.
//!
//! The domain never knows about HTTP, but each variant documents the answer docs/api.md gives for it, and
//! `code()` is the stable snake_case `code` of the problem+json body. Store failures (including the
//! optimistic-concurrency `version_conflict`) are not the domain's and are not here.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::actor::Role;

/// One invalid field of a command, reported as `{"field", "message"}` in a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's path in the request body, e.g. `items[1].quantity`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a command was refused. No events were produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The caller's role may never take this action (403 `forbidden`).
    #[error("a {role} may never {action}")]
    Forbidden { action: &'static str, role: Role },
    /// The role may take this action, but not in the current state (409 `invalid_transition`).
    /// `allowed` lists what this caller may do now.
    #[error(
        "cannot {action} now: {reason}; allowed now: {}",
        list_or_none(allowed)
    )]
    InvalidTransition {
        action: &'static str,
        status: &'static str,
        reason: String,
        allowed: Vec<&'static str>,
    },
    /// One or more values are unacceptable (422 `validation_failed` with `errors`).
    #[error("validation failed: {}", join_fields(.0))]
    Validation(Vec<FieldError>),
    /// The thing does not exist, or the caller may not see it (404 `not_found`: docs/api.md answers 404,
    /// never 403, for someone else's order or return so that ids do not leak).
    #[error("{0}")]
    NotFound(String),
    /// The thing already exists with different content, e.g. an order registered again with a
    /// different body. docs/api.md answers this with 409 `version_conflict`, hence the code.
    #[error("{0}")]
    AlreadyExists(String),
}

fn list_or_none(actions: &[&'static str]) -> String {
    if actions.is_empty() {
        "none".to_owned()
    } else {
        actions.join(", ")
    }
}

fn join_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Rejection {
    /// The stable problem+json `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Forbidden { .. } => "forbidden",
            Rejection::InvalidTransition { .. } => "invalid_transition",
            Rejection::Validation(_) => "validation_failed",
            Rejection::NotFound(_) => "not_found",
            Rejection::AlreadyExists(_) => "version_conflict",
        }
    }

    /// A human sentence for the problem+json `detail`.
    pub fn detail(&self) -> String {
        self.to_string()
    }

    /// The field errors of a validation rejection (empty for the other kinds).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Rejection::Validation(errors) => errors,
            _ => &[],
        }
    }

    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Rejection::Validation(vec![FieldError::new(field, message)])
    }
}

/// Why a stored event could not be turned back into a domain event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("event type {event_type:?} has no schema version {schema_version}")]
    UnknownSchemaVersion {
        event_type: String,
        schema_version: u32,
    },
    #[error("event {event_type:?} has invalid data: {message}")]
    InvalidData { event_type: String, message: String },
}

/// Collects field errors so that one 422 answer reports every bad field at once.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    errors: Vec<FieldError>,
}

/// Control characters other than line breaks and tabs have no business in free text and tend to
/// break the logs and e-mails the text ends up in.
fn has_forbidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

impl Checks {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub(crate) fn check(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.fail(field, message);
        }
    }

    /// Required free text: not blank, at most `max` characters, no control characters.
    pub(crate) fn text(&mut self, field: &str, text: &str, max: usize) {
        if text.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else {
            self.bounded(field, text, max);
        }
    }

    /// Optional free text: when present, the same rules as `text`.
    pub(crate) fn optional_text(&mut self, field: &str, text: Option<&str>, max: usize) {
        if let Some(text) = text {
            self.text(field, text, max);
        }
    }

    fn bounded(&mut self, field: &str, text: &str, max: usize) {
        if text.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters long"));
        } else if has_forbidden_control(text) {
            self.fail(field, "must not contain control characters");
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn finish(self) -> Result<(), Rejection> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Rejection::Validation(self.errors))
        }
    }

    pub(crate) fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}
