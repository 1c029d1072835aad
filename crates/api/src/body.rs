//! Request bodies: read with a size limit (413 above it), parsed as JSON with the path of the
//! offending field in the error (422), and kept as bytes for idempotency digests.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::problem::{FieldError, Problem};

/// The default request body limit (docs/api.md: 1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The size limit in force, as app data (tests and operators may change it).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A whole request body, at most [`BodyLimit`] bytes.
pub struct RawBody(pub web::Bytes);

fn too_large(limit: usize) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
}

impl FromRequest for RawBody {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        "the request body could not be read",
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(RawBody(body.freeze()))
        })
    }
}

/// Parses `bytes` as JSON into `T`; an empty body counts as `{}`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    match parsed {
        Ok(value) => {
            if de.end().is_err() {
                return Err(Problem::validation(vec![FieldError {
                    field: String::new(),
                    message: "trailing characters after the JSON body".into(),
                }]));
            }
            Ok(value)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let mut field = if path == "." { String::new() } else { path };
            // A missing field is reported at its parent's path; name the field itself.
            let text = inner.to_string();
            if let Some(name) = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                field = if field.is_empty() {
                    name.to_owned()
                } else {
                    format!("{field}.{name}")
                };
            }
            let message = match inner.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    format!("the body is not valid JSON: {inner}")
                }
                _ => strip_position(&inner.to_string()),
            };
            Err(Problem::validation(vec![FieldError { field, message }]))
        }
    }
}

/// serde's messages end with " at line 1 column 42", which says nothing to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        quantity: u32,
    }

    #[test]
    fn names_the_field_that_failed() {
        let err =
            parse_json::<Outer>(br#"{"items": [{"quantity": 1}, {"quantity": -2}]}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "items[1].quantity");
        assert_eq!(err.status, 422);
        assert!(!err.errors[0].message.contains("line"), "{:?}", err.errors);
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse_json::<Outer>(br#"{"items": [{}]}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "items[0].quantity");
        let err = parse_json::<Outer>(b"{}").unwrap_err();
        assert_eq!(err.errors[0].field, "items");
    }

    #[test]
    fn malformed_json_is_a_validation_failure() {
        let err = parse_json::<Outer>(b"{\"items\": [").unwrap_err();
        assert_eq!(err.code, "validation_failed");
        assert!(err.errors[0].message.contains("not valid JSON"));
    }
}
