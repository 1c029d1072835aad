//! Webhooks: subscriptions, and the outbox of deliveries that the `webhooks` projection fills
//! from the log (sending them is [`crate::dispatch`]'s).
//!
//! This module owns the `webhook_subscriptions`, `webhook_deliveries` and `webhook_attempts`
//! tables as the API reads and changes them (register, list, delete, the deliveries of a
//! subscription, re-queuing a parked delivery), the payload of a delivery, and the projection
//! that queues one delivery per live subscription and matching event of a return. It queues in
//! the projection's own transaction, together with its checkpoint: an event is queued exactly
//! once (the unique key on subscription and event backs this up), and only once it is stored.
//!
//! A subscription receives the events recorded after it was registered, while it is live. The
//! payload's `data` is the event's data as stored: personal data (free text) is never in the log,
//! so it is never in a webhook either.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, DurationRound, Utc};
use returns_event_store::{GenericClient, RecordedEvent, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::runner::{ApplyError, Projection};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "webhooks";

/// The pattern that matches every event of a return.
pub const ALL_RETURN_EVENTS: &str = "return.*";

/// Whether an event type matches a subscription's pattern: `*` (everything), `<prefix>.*`
/// (every type in that family), or the exact type.
pub fn pattern_matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') => event_type.starts_with(prefix),
        _ => pattern == event_type,
    }
}

/// The body of a delivery: docs/api.md's fields, in this order, from the event as stored.
#[allow(clippy::too_many_arguments)]
pub(crate) fn payload(
    id: Uuid,
    event_type: &str,
    occurred_at: DateTime<Utc>,
    return_id: Uuid,
    rma: &str,
    version: u64,
    data: &RawValue,
) -> serde_json::Result<String> {
    serde_json::to_string(&Payload {
        id,
        event_type,
        occurred_at: occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        return_id,
        rma,
        version,
        data,
    })
}

/// The body of a delivery (docs/api.md, "Webhooks"), in the order its fields are written.
#[derive(Serialize)]
struct Payload<'a> {
    /// The event's id: the same on every retry, so that receivers can drop duplicates.
    id: Uuid,
    #[serde(rename = "type")]
    event_type: &'a str,
    /// Service time, RFC 3339 in UTC with microseconds (as in the case history of the API).
    occurred_at: String,
    return_id: Uuid,
    rma: &'a str,
    /// The return's version after this event: 1, 2, 3, ... in the order of the return's events.
    version: u64,
    data: &'a RawValue,
}

/// The live outbox.
pub const DELIVERIES: &str = "webhook_deliveries";

/// The queue projection, writing into the live outbox or, during a rebuild, into a shadow one.
#[derive(Debug, Clone)]
pub struct Webhooks {
    name: String,
    deliveries: String,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            name: NAME.to_owned(),
            deliveries: DELIVERIES.to_owned(),
        }
    }
}

impl Projection for Webhooks {
    fn name(&self) -> &str {
        &self.name
    }

    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), ApplyError>> + Send + 'a>> {
        Box::pin(async move { enqueue(tx, &self.deliveries, events).await })
    }
}

/// The outbox records what was sent, which the log does not know: a rebuild never sends anything
/// again. It folds the log into a shadow outbox (the same rule as live: an event goes to the
/// subscriptions live now and registered before it was recorded), and at the switch only the
/// deliveries the live outbox lacks are added to it, as pending; every delivery already there
/// keeps its id, status and history of attempts.
impl crate::rebuild::Rebuildable for Webhooks {
    fn shadow(&self, suffix: &str) -> Webhooks {
        Webhooks {
            name: format!("{NAME}{suffix}"),
            deliveries: format!("{DELIVERIES}{suffix}"),
        }
    }

    fn tables(&self) -> Vec<String> {
        vec![self.deliveries.clone()]
    }

    fn switch_table(&self, live_table: &str, shadow_table: &str) -> String {
        format!(
            "INSERT INTO {live_table} SELECT * FROM {shadow_table} \
             ON CONFLICT (subscription_id, event_id) DO NOTHING; \
             DROP TABLE {shadow_table}; "
        )
    }
}

struct LiveSubscription {
    id: Uuid,
    events: Vec<String>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Requested {
    rma: String,
}

async fn enqueue(
    tx: &Transaction<'_>,
    deliveries: &str,
    events: &[RecordedEvent],
) -> Result<(), ApplyError> {
    let of_returns: Vec<(&RecordedEvent, Uuid)> = events
        .iter()
        .filter_map(|e| crate::return_id_of(&e.stream_id).map(|id| (e, id)))
        .collect();
    if of_returns.is_empty() {
        return Ok(());
    }
    let db = ApplyError::from;
    let subscriptions: Vec<LiveSubscription> = tx
        .query(
            "SELECT id, events, created_at FROM webhook_subscriptions WHERE deleted_at IS NULL",
            &[],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(LiveSubscription {
                id: row.try_get(0)?,
                events: row.try_get(1)?,
                created_at: row.try_get(2)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(db)?;
    let wanted: Vec<(&RecordedEvent, Uuid, Vec<Uuid>)> = of_returns
        .into_iter()
        .filter_map(|(event, return_id)| {
            let to: Vec<Uuid> = subscriptions
                .iter()
                .filter(|s| s.created_at <= event.recorded_at)
                .filter(|s| {
                    s.events
                        .iter()
                        .any(|p| pattern_matches(p, &event.event_type))
                })
                .map(|s| s.id)
                .collect();
            (!to.is_empty()).then_some((event, return_id, to))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let rmas = rmas(tx, &wanted).await?;

    let mut ids = Vec::new();
    let mut subscription_ids = Vec::new();
    let mut event_ids = Vec::new();
    let mut types = Vec::new();
    let mut return_ids = Vec::new();
    let mut seqs = Vec::new();
    let mut rma_of = Vec::new();
    for (event, return_id, to) in &wanted {
        let Some(rma) = rmas.get(return_id) else {
            return Err(format!("no RMA found for return {return_id}").into());
        };
        let seq = i64::try_from(event.version).map_err(|e| e.to_string())?;
        for subscription in to {
            ids.push(Uuid::now_v7());
            subscription_ids.push(*subscription);
            event_ids.push(event.event_id);
            types.push(event.event_type.as_str());
            return_ids.push(*return_id);
            seqs.push(seq);
            rma_of.push(rma.as_str());
        }
    }
    // The body is built from the log when sent (see `payload`): the row refers to its event.
    tx.execute(
        &format!(
            "INSERT INTO {deliveries} \
                 (id, subscription_id, event_id, event_type, return_id, seq, rma) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], \
                                  $6::bigint[], $7::text[]) \
             ON CONFLICT (subscription_id, event_id) DO NOTHING"
        ),
        &[
            &ids,
            &subscription_ids,
            &event_ids,
            &types,
            &return_ids,
            &seqs,
            &rma_of,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// The RMA of every return in `wanted`: from a `return.requested` of the batch, else from the
/// return's index row, else from the return's first event (the log, when views are rebuilt).
async fn rmas(
    tx: &Transaction<'_>,
    wanted: &[(&RecordedEvent, Uuid, Vec<Uuid>)],
) -> Result<HashMap<Uuid, String>, ApplyError> {
    let mut found = HashMap::new();
    for (event, return_id, _) in wanted {
        if event.event_type == "return.requested" {
            let requested: Requested = event
                .decode()
                .map_err(|e| format!("{} {}: {e}", event.event_type, event.event_id))?;
            found.insert(*return_id, requested.rma);
        }
    }
    let mut missing: Vec<Uuid> = wanted
        .iter()
        .map(|(_, id, _)| *id)
        .filter(|id| !found.contains_key(id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(found);
    }
    let rows = tx
        .query(
            "SELECT x.id, coalesce(ri.rma, ( \
                 SELECT e.data->>'rma' FROM events e \
                 WHERE e.stream_id = 'return-' || x.id::text AND e.version = 1)) \
             FROM unnest($1::uuid[]) AS x(id) \
             LEFT JOIN return_index ri ON ri.return_id = x.id",
            &[&missing],
        )
        .await
        .map_err(|e| e.to_string())?;
    for row in rows {
        let id: Uuid = row.try_get(0).map_err(|e| e.to_string())?;
        let rma: Option<String> = row.try_get(1).map_err(|e| e.to_string())?;
        if let Some(rma) = rma {
            found.insert(id, rma);
        }
    }
    Ok(found)
}

// ----- subscriptions -----

/// A registered webhook, without its secret (which is only ever read to sign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: Uuid,
    pub owner_role: String,
    pub owner_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// What `POST /v1/webhooks` registers, validated by the caller.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub owner_role: &'a str,
    pub owner_id: &'a str,
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a [String],
}

/// A subscription from a row with the columns of [`LOCK_LIVE_SUBSCRIPTION_SQL`].
pub fn subscription_from_row(
    row: &tokio_postgres::Row,
) -> Result<Subscription, tokio_postgres::Error> {
    Ok(Subscription {
        id: row.try_get("id")?,
        owner_role: row.try_get("owner_role")?,
        owner_id: row.try_get("owner_id")?,
        url: row.try_get("url")?,
        events: row.try_get("events")?,
        created_at: row.try_get("created_at")?,
    })
}

const SUBSCRIPTION_COLUMNS: &str = "id, owner_role, owner_id, url, events, created_at";

/// A live subscription (`$1`: its id), locked until the transaction ends.
pub const LOCK_LIVE_SUBSCRIPTION_SQL: &str =
    "SELECT id, owner_role, owner_id, url, events, created_at FROM webhook_subscriptions \
     WHERE id = $1 AND deleted_at IS NULL FOR UPDATE";

/// Registers a subscription: `$1` id, `$2` owner role, `$3` owner id, `$4` url, `$5` secret,
/// `$6` event patterns, `$7` created at.
pub const INSERT_SUBSCRIPTION_SQL: &str =
    "INSERT INTO webhook_subscriptions (id, owner_role, owner_id, url, secret, events, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Deletes the live subscription `$1`: nothing more is queued or sent for it.
pub const DELETE_SUBSCRIPTION_SQL: &str = "UPDATE webhook_subscriptions SET deleted_at = now() \
     WHERE id = $1 AND deleted_at IS NULL";

/// Registers a webhook; it receives the events recorded from now on.
pub async fn create_subscription<C: GenericClient + Sync>(
    client: &C,
    new: &NewSubscription<'_>,
) -> Result<Subscription, tokio_postgres::Error> {
    let now = Utc::now();
    let subscription = Subscription {
        id: Uuid::now_v7(),
        owner_role: new.owner_role.to_owned(),
        owner_id: new.owner_id.to_owned(),
        url: new.url.to_owned(),
        events: new.events.to_vec(),
        created_at: now
            .duration_trunc(chrono::Duration::microseconds(1))
            .unwrap_or(now),
    };
    client
        .execute(
            INSERT_SUBSCRIPTION_SQL,
            &[
                &subscription.id,
                &subscription.owner_role,
                &subscription.owner_id,
                &subscription.url,
                &new.secret,
                &subscription.events,
                &subscription.created_at,
            ],
        )
        .await?;
    Ok(subscription)
}

/// A live subscription by id.
pub async fn get_subscription<C: GenericClient + Sync>(
    client: &C,
    id: Uuid,
) -> Result<Option<Subscription>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions \
                 WHERE id = $1 AND deleted_at IS NULL"
            ),
            &[&id],
        )
        .await?;
    row.as_ref().map(subscription_from_row).transpose()
}

/// Live subscriptions in registration order, after `after`, of one owner (role, id) or of
/// everyone; at most `limit`, and whether there are more.
pub async fn list_subscriptions<C: GenericClient + Sync>(
    client: &C,
    owner: Option<(&str, &str)>,
    after: Option<Uuid>,
    limit: usize,
) -> Result<(Vec<Subscription>, bool), tokio_postgres::Error> {
    let (role, id) = owner.unzip();
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let rows = client
        .query(
            &format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions \
                 WHERE deleted_at IS NULL \
                   AND ($1::text IS NULL OR (owner_role = $1 AND owner_id = $2)) \
                   AND ($3::uuid IS NULL OR id > $3) \
                 ORDER BY id LIMIT $4"
            ),
            &[&role, &id, &after, &fetch],
        )
        .await?;
    let mut items = rows
        .iter()
        .map(subscription_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit;
    items.truncate(limit);
    Ok((items, more))
}

/// Deletes a live subscription: nothing more is queued or sent for it. Returns whether there was
/// one to delete.
pub async fn delete_subscription<C: GenericClient + Sync>(
    client: &C,
    id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let n = client.execute(DELETE_SUBSCRIPTION_SQL, &[&id]).await?;
    Ok(n > 0)
}

// ----- deliveries -----

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt (or for an earlier delivery of the same return).
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt of its retry span failed; an operator may queue it again.
    Parked,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Parked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Parked => "parked",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One attempt to send a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// `delivered`, `retry` or `parked`.
    pub outcome: String,
}

/// A queued event for one subscription, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub return_id: Uuid,
    /// The event's version in its return's stream.
    pub seq: i64,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub parked_at: Option<DateTime<Utc>>,
    pub history: Vec<Attempt>,
}

const DELIVERY_COLUMNS: &str =
    "id, subscription_id, event_id, event_type, return_id, seq, status, \
     attempts, next_attempt_at, last_status, last_error, created_at, delivered_at, parked_at";

fn delivery(row: &tokio_postgres::Row) -> Result<Delivery, tokio_postgres::Error> {
    let status: String = row.try_get("status")?;
    // The table's CHECK allows only the three statuses; `Pending` is never reached otherwise.
    let status = DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending);
    let next: DateTime<Utc> = row.try_get("next_attempt_at")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        subscription_id: row.try_get("subscription_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        return_id: row.try_get("return_id")?,
        seq: row.try_get("seq")?,
        status,
        attempts: row.try_get("attempts")?,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next),
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
        parked_at: row.try_get("parked_at")?,
        history: Vec::new(),
    })
}

/// Fills in the attempts of `deliveries`.
async fn with_history<C: GenericClient + Sync>(
    client: &C,
    mut deliveries: Vec<Delivery>,
) -> Result<Vec<Delivery>, tokio_postgres::Error> {
    if deliveries.is_empty() {
        return Ok(deliveries);
    }
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
    let rows = client
        .query(
            "SELECT delivery_id, attempt, started_at, duration_ms, status_code, error, outcome \
             FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, id",
            &[&ids],
        )
        .await?;
    let mut by_delivery: HashMap<Uuid, Vec<Attempt>> = HashMap::new();
    for row in rows {
        let id: Uuid = row.try_get(0)?;
        by_delivery.entry(id).or_default().push(Attempt {
            attempt: row.try_get(1)?,
            at: row.try_get(2)?,
            duration_ms: row.try_get(3)?,
            status_code: row.try_get(4)?,
            error: row.try_get(5)?,
            outcome: row.try_get(6)?,
        });
    }
    for d in &mut deliveries {
        d.history = by_delivery.remove(&d.id).unwrap_or_default();
    }
    Ok(deliveries)
}

/// The deliveries of a subscription in the order of their events (event ids are time-ordered),
/// optionally of one status, after the delivery `after`; at most `limit`, and whether there are more.
pub async fn list_deliveries<C: GenericClient + Sync>(
    client: &C,
    subscription_id: Uuid,
    status: Option<DeliveryStatus>,
    after: Option<Uuid>,
    limit: usize,
) -> Result<(Vec<Delivery>, bool), tokio_postgres::Error> {
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let rows = client
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
                 WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2) \
                   AND ($3::uuid IS NULL OR event_id > ( \
                       SELECT c.event_id FROM webhook_deliveries c \
                       WHERE c.id = $3 AND c.subscription_id = $1)) \
                 ORDER BY event_id LIMIT $4"
            ),
            &[
                &subscription_id,
                &status.map(DeliveryStatus::as_str),
                &after,
                &fetch,
            ],
        )
        .await?;
    let mut items = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit;
    items.truncate(limit);
    Ok((with_history(client, items).await?, more))
}

/// A delivery by id, with its attempts.
pub async fn get_delivery<C: GenericClient + Sync>(
    client: &C,
    id: Uuid,
) -> Result<Option<Delivery>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"),
            &[&id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let found = with_history(client, vec![delivery(&row)?]).await?;
    Ok(found.into_iter().next())
}

/// What re-queuing a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeue {
    NotFound,
    /// Only a parked delivery can be queued again; this is its status.
    NotParked(DeliveryStatus),
    /// Pending again, due at once, with a new retry span and back-off from the start.
    Requeued(Box<Delivery>),
}

/// Queues a parked delivery again (an operator's decision, e.g. after the receiver was fixed).
/// Its earlier attempts stay in its history. While it is pending again, later events of the same
/// return for the same subscription wait for it, as they would have the first time.
/// Run it in a transaction: the delivery it answers with is then the re-queued one, even if a
/// dispatcher sends it right after.
pub async fn requeue_delivery<C: GenericClient + Sync>(
    client: &C,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Requeue, tokio_postgres::Error> {
    let updated = client
        .query_opt(
            "UPDATE webhook_deliveries SET status = 'pending', failures = 0, \
                 first_attempt_at = NULL, next_attempt_at = $2, parked_at = NULL, claim = NULL \
             WHERE id = $1 AND status = 'parked' RETURNING id",
            &[&id, &now],
        )
        .await?;
    match (updated, get_delivery(client, id).await?) {
        (_, None) => Ok(Requeue::NotFound),
        (Some(_), Some(d)) => Ok(Requeue::Requeued(Box::new(d))),
        (None, Some(d)) => Ok(Requeue::NotParked(d.status)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn patterns_match_families_and_exact_types() {
        assert!(pattern_matches("return.*", "return.requested"));
        assert!(pattern_matches("return.*", "return.closed"));
        assert!(!pattern_matches("return.*", "order.registered"));
        assert!(!pattern_matches("return.*", "returnx.requested"));
        assert!(pattern_matches("return.refunded", "return.refunded"));
        assert!(!pattern_matches(
            "return.refunded",
            "return.refund_approved"
        ));
        assert!(pattern_matches("*", "return.requested"));
        assert!(!pattern_matches("return*", "return.requested"));
    }

    #[test]
    fn only_return_streams_are_webhook_sources() {
        let id = Uuid::now_v7();
        assert_eq!(crate::return_id_of(&format!("return-{id}")), Some(id));
        assert_eq!(crate::return_id_of("order-o-1"), None);
        assert_eq!(crate::return_id_of("return-not-a-uuid"), None);
    }
}
