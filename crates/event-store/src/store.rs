//! The event store: appends, stream reads and the global feed over one PostgreSQL table.

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Pool};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;
use tracing::instrument;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::model::{
    ActorRef, AppendResult, ExpectedVersion, FeedPosition, Metadata, NewEvent, RecordedEvent,
};
use crate::upcast::Upcasters;

const APPEND_SQL: &str = include_str!("sql/append.sql");
const APPEND_ANY_SQL: &str = include_str!("sql/append_any.sql");
const READ_FEED_SQL: &str = include_str!("sql/read_feed.sql");
const READ_STREAM_SQL: &str = include_str!("sql/read_stream.sql");
const FIND_EVENTS_SQL: &str = include_str!("sql/find_events.sql");
const APPEND_CHECKED_SQL: &str = include_str!("sql/append_checked.sql");

/// SQLSTATE of `append_events` (migrations/V13) when the stream is not at the expected version.
const NOT_AT_EXPECTED_VERSION: &str = "RS409";

/// How often an `ExpectedVersion::Any` append is retried when another writer takes the same
/// version first. Each retry is a new transaction and sees the other writer's events.
const ANY_RETRIES: usize = 16;

/// The most events one append may carry (arrays travel in one message).
pub const MAX_EVENTS_PER_APPEND: usize = 1_000;

/// Why a single append statement wrote nothing.
enum Collision {
    /// The guard found the stream below the expected version.
    Behind,
    /// A unique key (stream version or event id) was taken.
    Taken,
}

/// The PostgreSQL event log. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct EventStore {
    pool: Pool,
    upcasters: Arc<Upcasters>,
    appended: Arc<Notify>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("pool", &self.pool.status())
            .field("upcasters", &self.upcasters)
            .finish()
    }
}

impl EventStore {
    pub fn new(pool: Pool) -> Self {
        EventStore {
            pool,
            upcasters: Arc::new(Upcasters::new()),
            appended: Arc::new(Notify::new()),
        }
    }

    /// Uses these upcasters on every read.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = Arc::new(upcasters);
        self
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Woken after every append made through this process's stores, so that in-process feed
    /// followers need not poll fast. Appends from other processes are found by polling.
    pub fn appended(&self) -> &Notify {
        &self.appended
    }

    /// Appends `events` to `stream_id` atomically: all of them or none.
    ///
    /// The expected version is enforced by the database in the same statement that writes. If the
    /// same event ids were appended before, nothing is written and the first result is returned
    /// with `duplicate: true`, so a retried request never stores an event twice.
    #[instrument(skip_all, fields(stream_id, events = events.len()), err(level = "debug"))]
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        metadata: &Metadata,
    ) -> Result<AppendResult> {
        let mut client = self.pool.get().await?;
        match try_append(&client, stream_id, expected, events, metadata).await? {
            Ok(result) => {
                self.appended.notify_waiters();
                Ok(result)
            }
            Err(_) if expected == ExpectedVersion::Any => {
                self.append_any_serialised(&mut client, stream_id, events, metadata)
                    .await
            }
            Err(_) => explain_collision(&client, stream_id, expected, events).await,
        }
    }

    /// The slow path of an unchecked append that lost a race: the events may be ours from the first
    /// attempt (a retried request), otherwise append again while holding a per-stream lock that
    /// every unchecked appender on this path takes, so that they stop colliding with each other.
    async fn append_any_serialised(
        &self,
        client: &mut deadpool_postgres::Client,
        stream_id: &str,
        events: &[NewEvent],
        metadata: &Metadata,
    ) -> Result<AppendResult> {
        for _ in 0..ANY_RETRIES {
            if let Some(found) = find_appended(client, stream_id, events).await? {
                return Ok(found);
            }
            let tx = client.transaction().await?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&stream_id],
            )
            .await?;
            // The append's snapshot is taken after the lock, so it sees every earlier holder's
            // events; only a checked append committing at this moment can still collide.
            match try_append(&tx, stream_id, ExpectedVersion::Any, events, metadata).await? {
                Ok(result) => {
                    tx.commit().await?;
                    self.appended.notify_waiters();
                    return Ok(result);
                }
                Err(_) => tx.rollback().await?,
            }
        }
        explain_collision(client, stream_id, ExpectedVersion::Any, events).await
    }

    /// Appends within a transaction (or on a connection) that the caller controls, so that the
    /// events commit together with the caller's other writes.
    ///
    /// On a collision the statement's error aborts the caller's transaction; this returns
    /// [`StoreError::Conflict`] (with the version the stream was expected to pass) and the caller
    /// rolls back and may call [`EventStore::explain_collision`] to learn whether the append had
    /// already been made.
    pub async fn append_in<C: GenericClient + Sync>(
        &self,
        client: &C,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        metadata: &Metadata,
    ) -> Result<AppendResult> {
        let result = append_on(client, stream_id, expected, events, metadata).await?;
        self.appended.notify_waiters();
        Ok(result)
    }

    /// After a collision: the first result if these events were already appended, otherwise the
    /// conflict with the stream's actual version.
    pub async fn explain_collision(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        let client = self.pool.get().await?;
        explain_collision(&client, stream_id, expected, events).await
    }

    /// The events of one stream with version ≥ `from_version`, at most `limit` of them.
    #[instrument(skip(self), err(level = "debug"))]
    pub async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let client = self.pool.get().await?;
        self.read_stream_in(&client, stream_id, from_version, limit)
            .await
    }

    /// [`EventStore::read_stream`] on a connection or transaction of the caller's.
    pub async fn read_stream_in<C: GenericClient + Sync>(
        &self,
        client: &C,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let stmt = client.prepare_cached(READ_STREAM_SQL).await?;
        let rows = client
            .query(
                &stmt,
                &[&stream_id, &to_i64(from_version)?, &to_i64(limit as u64)?],
            )
            .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// The stream's current version (0 when it has no events).
    pub async fn stream_version(&self, stream_id: &str) -> Result<u64> {
        let client = self.pool.get().await?;
        stream_version(&client, stream_id).await
    }

    /// The next batch of the global feed after `after`: at most `limit` events, in feed order.
    ///
    /// Every committed event appears exactly once in the feed and per-stream versions ascend in
    /// it. An empty batch means the reader has caught up with every transaction that has ended.
    #[instrument(skip(self), err(level = "debug"))]
    pub async fn read_feed(&self, after: FeedPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(READ_FEED_SQL).await?;
        let rows = client
            .query(
                &stmt,
                &[&after.tx_id, &after.position, &to_i64(limit as u64)?],
            )
            .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// A reader that follows the feed from `after` in batches of `batch` events.
    pub fn feed(&self, after: FeedPosition, batch: usize) -> FeedReader {
        FeedReader {
            store: self.clone(),
            after,
            batch: batch.max(1),
        }
    }

    fn decode(&self, row: &Row) -> Result<RecordedEvent> {
        let event_type: String = row.try_get(5)?;
        let stored_version: i32 = row.try_get(6)?;
        let Json(data): Json<Box<RawValue>> = row.try_get(7)?;
        let stored_version = u32::try_from(stored_version)
            .map_err(|_| StoreError::Invalid(format!("schema version {stored_version}")))?;
        let (schema_version, data) =
            self.upcasters
                .upcast_raw(&event_type, stored_version, data)?;
        let version: i64 = row.try_get(4)?;
        Ok(RecordedEvent {
            position: row.try_get(0)?,
            tx_id: row.try_get(1)?,
            event_id: row.try_get(2)?,
            stream_id: row.try_get(3)?,
            version: u64::try_from(version)
                .map_err(|_| StoreError::Invalid(format!("stream version {version}")))?,
            event_type,
            schema_version,
            data,
            metadata: Metadata {
                actor: ActorRef {
                    role: row.try_get(8)?,
                    id: row.try_get(9)?,
                },
                correlation_id: row.try_get(10)?,
                causation_id: row.try_get(11)?,
                occurred_at: row.try_get(12)?,
            },
            recorded_at: row.try_get(13)?,
        })
    }
}

/// Follows the global feed in batches, remembering where it is.
#[derive(Debug, Clone)]
pub struct FeedReader {
    store: EventStore,
    after: FeedPosition,
    batch: usize,
}

impl FeedReader {
    /// The next batch (empty when caught up); the reader moves past what it returns.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>> {
        let events = self.store.read_feed(self.after, self.batch).await?;
        if let Some(last) = events.last() {
            self.after = last.feed_position();
        }
        Ok(events)
    }

    /// The position of the last event returned (where the next batch starts after).
    pub fn position(&self) -> FeedPosition {
        self.after
    }
}

fn describe(expected: ExpectedVersion) -> String {
    match expected {
        ExpectedVersion::NoStream => "no stream".to_owned(),
        ExpectedVersion::Exact(v) => v.to_string(),
        ExpectedVersion::Any => "any".to_owned(),
    }
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is out of range")))
}

fn validate(events: &[NewEvent], expected: ExpectedVersion) -> Result<()> {
    if events.is_empty() {
        return Err(StoreError::Invalid(
            "an append needs at least one event".into(),
        ));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(StoreError::Invalid(format!(
            "at most {MAX_EVENTS_PER_APPEND} events per append"
        )));
    }
    if expected == ExpectedVersion::Exact(0) {
        return Err(StoreError::Invalid(
            "expected version 0 is written ExpectedVersion::NoStream".into(),
        ));
    }
    if events
        .iter()
        .any(|e| e.event_type.is_empty() || e.schema_version == 0)
    {
        return Err(StoreError::Invalid(
            "every event needs a type name and a schema version ≥ 1".into(),
        ));
    }
    Ok(())
}

/// [`EventStore::append_in`] for a caller that holds a transaction but no store (the command
/// executor's pipelined batch; a projection that records what it concluded as events, in the
/// transaction of its checkpoint). Readers of the feed find the events by polling; nothing in this
/// process is woken.
///
/// Unlike [`EventStore::append`], a collision here is an error of the statement itself (the
/// `append_events` function of migrations/V13), so it aborts the caller's transaction: statements
/// sent after it in the same pipelined batch fail, and a COMMIT sent after them rolls back. A
/// caller may therefore send the append, its other writes and COMMIT without waiting in between.
pub async fn append_on<C: GenericClient + Sync>(
    client: &C,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
    metadata: &Metadata,
) -> Result<AppendResult> {
    let Some(version) = expected.as_version() else {
        validate(events, expected)?;
        // Appending after whatever is there cannot be refused by a guard; a collision with a
        // concurrent writer is a unique violation, which aborts the transaction too.
        return match try_append(client, stream_id, expected, events, metadata).await? {
            Ok(result) => Ok(result),
            Err(_) => Err(StoreError::Conflict {
                stream_id: stream_id.to_owned(),
                expected: describe(expected),
                actual: 0,
            }),
        };
    };
    let started = std::time::Instant::now();
    let (sql, params) = append_statement(stream_id, expected, events.to_vec(), metadata)?;
    let stmt = client.prepare_cached(sql).await?;
    let params: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&stmt, &params).await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) if is_append_conflict(&e) => {
            return Err(StoreError::Conflict {
                stream_id: stream_id.to_owned(),
                expected: describe(expected),
                actual: version,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let result = append_result(&rows)?;
    metrics::histogram!("event_store_append_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("event_store_events_appended_total").increment(rows.len() as u64);
    Ok(result)
}

/// The statement of a checked append (see [`append_on`]) and its parameters, for a caller that
/// sends it in a pipelined batch of its own. Its rows are `position, tx_id, version`.
pub fn append_statement(
    stream_id: &str,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    metadata: &Metadata,
) -> Result<(&'static str, Vec<Box<dyn ToSql + Sync + Send>>)> {
    validate(&events, expected)?;
    let version = to_i64(expected.as_version().ok_or_else(|| {
        StoreError::Invalid("a checked append names the version it expects".into())
    })?)?;
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
    let schema_versions = schema_versions(&events)?;
    let data: Vec<Json<Value>> = events.into_iter().map(|e| Json(e.data)).collect();
    let actor = &metadata.actor;
    Ok((
        APPEND_CHECKED_SQL,
        vec![
            Box::new(stream_id.to_owned()),
            Box::new(version),
            Box::new(ids),
            Box::new(types),
            Box::new(schema_versions),
            Box::new(data),
            Box::new(actor.role.clone()),
            Box::new(actor.id.clone()),
            Box::new(metadata.correlation_id),
            Box::new(metadata.causation_id),
            Box::new(metadata.occurred_at),
        ],
    ))
}

/// Whether a failed checked append failed because the stream was not at the expected version
/// (behind it, or already past it), or its events were appended before.
pub fn is_append_conflict(e: &tokio_postgres::Error) -> bool {
    let Some(db) = e.as_db_error() else {
        return false;
    };
    db.code().code() == NOT_AT_EXPECTED_VERSION
        || (db.code() == &SqlState::UNIQUE_VIOLATION && db.table() == Some("events"))
}

/// The events' schema versions as the `int4[]` of an append.
fn schema_versions(events: &[NewEvent]) -> Result<Vec<i32>> {
    events
        .iter()
        .map(|e| {
            i32::try_from(e.schema_version)
                .map_err(|_| StoreError::Invalid("schema version out of range".into()))
        })
        .collect()
}

/// What an append's `RETURNING position, tx_id, version` rows say.
fn append_result(rows: &[Row]) -> Result<AppendResult> {
    let mut positions = Vec::with_capacity(rows.len());
    let mut last = FeedPosition::START;
    let mut stream_version = 0;
    for row in rows {
        let position: i64 = row.try_get(0)?;
        last = FeedPosition {
            tx_id: row.try_get(1)?,
            position,
        };
        stream_version = row.try_get::<_, i64>(2)?;
        positions.push(position);
    }
    Ok(AppendResult {
        stream_version: u64::try_from(stream_version).unwrap_or(0),
        positions,
        last,
        duplicate: false,
    })
}

/// One append statement. `Ok(Err(_))` is a collision: nothing was written.
async fn try_append<C: GenericClient + Sync>(
    client: &C,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
    metadata: &Metadata,
) -> Result<std::result::Result<AppendResult, Collision>> {
    validate(events, expected)?;
    let started = std::time::Instant::now();
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let schema_versions = schema_versions(events)?;
    let data: Vec<&Value> = events.iter().map(|e| &e.data).collect();
    let actor = &metadata.actor;

    let rows = match expected.as_version() {
        Some(version) => {
            let stmt = client.prepare_cached(APPEND_SQL).await?;
            client
                .query(
                    &stmt,
                    &[
                        &stream_id,
                        &to_i64(version)?,
                        &ids,
                        &types,
                        &schema_versions,
                        &data,
                        &actor.role,
                        &actor.id,
                        &metadata.correlation_id,
                        &metadata.causation_id,
                        &metadata.occurred_at,
                    ],
                )
                .await
        }
        None => {
            let stmt = client.prepare_cached(APPEND_ANY_SQL).await?;
            client
                .query(
                    &stmt,
                    &[
                        &stream_id,
                        &ids,
                        &types,
                        &schema_versions,
                        &data,
                        &actor.role,
                        &actor.id,
                        &metadata.correlation_id,
                        &metadata.causation_id,
                        &metadata.occurred_at,
                    ],
                )
                .await
        }
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            return Ok(Err(Collision::Taken));
        }
        Err(e) => return Err(e.into()),
    };
    if rows.len() != events.len() {
        // The guard stopped the insert: the stream is not at the expected version.
        return Ok(Err(Collision::Behind));
    }
    let result = append_result(&rows)?;
    metrics::histogram!("event_store_append_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("event_store_events_appended_total").increment(rows.len() as u64);
    Ok(Ok(result))
}

async fn stream_version<C: GenericClient + Sync>(client: &C, stream_id: &str) -> Result<u64> {
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM events WHERE stream_id = $1",
            &[&stream_id],
        )
        .await?;
    let v: i64 = row.try_get(0)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// If every one of `events` is already stored in `stream_id`, as one contiguous append in this
/// order, the result of that append.
async fn find_appended<C: GenericClient + Sync>(
    client: &C,
    stream_id: &str,
    events: &[NewEvent],
) -> Result<Option<AppendResult>> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let stmt = client.prepare_cached(FIND_EVENTS_SQL).await?;
    let rows = client.query(&stmt, &[&ids]).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: Uuid = row.try_get(0)?;
        let stream: String = row.try_get(1)?;
        let version: i64 = row.try_get(2)?;
        let position: i64 = row.try_get(3)?;
        let tx_id: i64 = row.try_get(4)?;
        found.push((id, stream, version, position, tx_id));
    }
    let same_append = found.len() == events.len()
        && found
            .iter()
            .zip(events)
            .all(|(f, e)| f.0 == e.event_id && f.1 == stream_id)
        && found
            .windows(2)
            .all(|w| w[1].2 == w[0].2 + 1 && w[1].4 == w[0].4);
    if !same_append {
        return Err(StoreError::EventIdReused);
    }
    let Some(&(_, _, version, position, tx_id)) = found.last() else {
        return Ok(None);
    };
    Ok(Some(AppendResult {
        stream_version: u64::try_from(version).unwrap_or(0),
        positions: found.iter().map(|f| f.3).collect(),
        last: FeedPosition { tx_id, position },
        duplicate: true,
    }))
}

async fn explain_collision<C: GenericClient + Sync>(
    client: &C,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult> {
    if let Some(found) = find_appended(client, stream_id, events).await? {
        return Ok(found);
    }
    Err(StoreError::Conflict {
        stream_id: stream_id.to_owned(),
        expected: describe(expected),
        actual: stream_version(client, stream_id).await?,
    })
}
