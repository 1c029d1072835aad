//! What every resource module shares: the answer type, rendering a stored answer with its
//! `ETag`, and the request parts of docs/api.md's conventions (`If-Match`, `Idempotency-Key`,
//! `?limit=` and cursors, path ids).

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use returns_app::{Answered, CommandOptions, IdempotencyKey, StoredResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::problem::{FieldError, Problem};

pub(crate) type Reply = Result<HttpResponse, Problem>;

/// A JSON answer without an `ETag`.
pub(crate) fn stored(status: StatusCode, body: &impl Serialize) -> StoredResponse {
    StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_vec(body).unwrap_or_default(),
        etag: None,
    }
}

/// A JSON answer showing a resource at `version`: sent with `ETag: "<version>"`.
pub(crate) fn versioned(status: StatusCode, body: &impl Serialize, version: u64) -> StoredResponse {
    StoredResponse {
        etag: Some(version),
        ..stored(status, body)
    }
}

/// The HTTP answer of a stored answer.
pub(crate) fn reply(answer: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    if let Some(v) = answer.etag {
        builder.insert_header((header::ETAG, format!("\"{v}\"")));
    }
    if answer.body.is_empty() {
        return builder.finish();
    }
    builder.content_type("application/json");
    builder.body(answer.body)
}

/// The answer of a command, fresh or replayed: rendered once, by the command.
pub(crate) fn answered<T>(answer: Answered<T>) -> HttpResponse {
    reply(answer.response())
}

/// `If-Match`, `Idempotency-Key` and the correlation id of a command request.
pub(crate) fn command_options(req: &HttpRequest, body: &[u8]) -> Result<CommandOptions, Problem> {
    let headers = req.headers();
    Ok(CommandOptions {
        if_match: if_match(headers)?,
        idempotency: idempotency_key(req, headers, body)?,
        correlation_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok()),
    })
}

pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let unquoted = text.trim_start_matches("W/").trim_matches('"');
    unquoted
        .parse::<u64>()
        .map(Some)
        .map_err(|_| Problem::invalid("If-Match", "expected an ETag such as \"3\""))
}

/// `?limit=` of every list: 1 to 200, 50 when absent.
pub(crate) fn page_limit(limit: Option<&str>) -> Result<usize, Problem> {
    match limit {
        None => Ok(50),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => Ok(n),
            _ => Err(Problem::invalid("limit", "must be a number from 1 to 200")),
        },
    }
}

pub(crate) fn idempotency_key(
    req: &HttpRequest,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("");
    if key.is_empty() || key.len() > 255 {
        return Err(Problem::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible characters",
        ));
    }
    let mut digest = Sha256::new();
    digest.update(req.method().as_str().as_bytes());
    digest.update(b" ");
    digest.update(req.path().as_bytes());
    digest.update(b"\n");
    digest.update(body);
    let request_hash = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        request_hash,
    }))
}

pub(crate) fn parse_path<T>(
    value: &str,
    field: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, Problem> {
    parse(value).map_err(|message| {
        Problem::validation(vec![FieldError {
            field: field.into(),
            message,
        }])
    })
}

/// `?cursor=` of the lists keyed by id.
pub(crate) fn cursor_of(cursor: Option<&str>) -> Result<Option<Uuid>, Problem> {
    cursor
        .map(|c| Uuid::parse_str(c).map_err(|_| foreign_cursor()))
        .transpose()
}

fn foreign_cursor() -> Problem {
    Problem::invalid("cursor", "not a cursor this service returned")
}

/// The cursor of lists ordered by a time and an id (returns, disputes).
pub(crate) fn encode_time_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{}", at.timestamp_micros(), id.simple())
}

/// `?cursor=` of lists ordered by a time and an id.
pub(crate) fn time_cursor(cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, Uuid)>, Problem> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let decoded = cursor.split_once('.').and_then(|(micros, id)| {
        let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        Some((at, Uuid::parse_str(id).ok()?))
    });
    decoded.map(Some).ok_or_else(foreign_cursor)
}

/// The cursor of a return's history pages: the version of the page's last event.
pub(crate) fn encode_version_cursor(version: u64) -> String {
    format!("v{version}")
}

/// `?cursor=` of a return's history pages (0: from the start).
pub(crate) fn version_cursor(cursor: Option<&str>) -> Result<u64, Problem> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .strip_prefix('v')
            .and_then(|v| v.parse().ok())
            .ok_or_else(foreign_cursor),
    }
}

/// A path id that names a resource by UUID; anything else names none (404).
pub(crate) fn id_of(path: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(path).map_err(|_| Problem::not_found())
}

/// `?limit=&cursor=` of the lists paged by version (a return's history and messages, a buyer's
/// store-credit movements).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
