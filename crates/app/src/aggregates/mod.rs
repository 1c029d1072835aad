//! The aggregates of the service and their commands, each run by the executor
//! (`crate::executor`): per aggregate, its stream, how its state and the facts its decisions need
//! are loaded, its decisions (the domain's `decide`, without I/O), `evolve` and the views it keeps.
//!
//! | aggregate | stream | state kept in | views kept with it |
//! | --- | --- | --- | --- |
//! | order | `order-<order_id>` | `snapshots` | — |
//! | policy | `policy-<seller_id>` | `snapshots` | — |
//! | return | `return-<uuid>` | `snapshots` | `return_index`, `deadlines` |
//! | credit | `credit-<buyer_id>` | `snapshots` | — |
//! | flag | `flag-<uuid>` | its stream (raised by the abuse projection, which keeps `abuse_flags`) | — |
//! | webhook | — (configuration, not events) | `webhook_subscriptions` | — |

pub(crate) mod credit;
pub(crate) mod flag;
pub(crate) mod order;
pub(crate) mod policy;
pub(crate) mod returns;
pub(crate) mod webhook;

use returns_domain::StoredEvent;
use returns_event_store::NewEvent;
use serde::de::DeserializeOwned;
use tokio_postgres::types::Json;
use tokio_postgres::Row;

use crate::error::AppError;
use crate::personal::PersonalValue;

/// The events of an aggregate whose payloads hold no personal data, as stored.
pub(crate) fn plain_events<E: StoredEvent>(events: &[E]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
    let events = events
        .iter()
        .map(|e| NewEvent::new(e.stored_type(), e.stored_version(), e.stored_data()))
        .collect();
    (events, Vec::new())
}

/// Loads a snapshot and locks it until the command's transaction ends.
pub(crate) const SNAPSHOT_LOCKED_SQL: &str =
    "SELECT state, version FROM snapshots WHERE stream_id = $1 FOR UPDATE";

/// A `(state, version)` pair from columns `at` and `at + 1` of `row`.
pub(crate) fn snapshot_at<T: DeserializeOwned>(row: &Row, at: usize) -> Result<(T, u64), AppError> {
    let Json(state): Json<T> = row
        .try_get(at)
        .map_err(|e| AppError::Internal(format!("snapshot does not decode: {e}")))?;
    let version: i64 = row.try_get(at + 1)?;
    Ok((state, u64::try_from(version).unwrap_or(0)))
}

/// The first row of the `i`-th load statement's answer, if any.
pub(crate) fn first(rows: &[Vec<Row>], i: usize) -> Option<&Row> {
    rows.get(i).and_then(|r| r.first())
}
