//! The projection runner: follows the feed from a projection's checkpoint and commits each batch
//! of read-model writes together with the new checkpoint, under a fenced lease.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use returns_event_store::{EventStore, FeedPosition, RecordedEvent, StoreError, Transaction};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::workers::{Backoff, WorkerBoard, WorkerState};

/// A read model fed from the log.
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the key of its checkpoint.
    fn name(&self) -> &str;

    /// Applies `events` (in feed order) inside `tx`; the runner commits them with the checkpoint.
    /// An error rolls the whole batch back; the runner then retries the events one at a time to
    /// find and report the one that fails, and stops there.
    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), ApplyError>> + Send + 'a>>;
}

/// Why a batch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The database failed under the batch (connection lost, shut down, timed out): nothing is
    /// wrong with the events, and the runner applies them again once the database is back.
    #[error("database unavailable: {0}")]
    Unavailable(StoreError),
    /// An event cannot be applied (it does not decode, or breaks a rule of the read model): the
    /// projection is parked on it until fixed.
    #[error("{0}")]
    Event(String),
}

impl From<tokio_postgres::Error> for ApplyError {
    fn from(e: tokio_postgres::Error) -> Self {
        let e = StoreError::from(e);
        if e.is_transient() {
            ApplyError::Unavailable(e)
        } else {
            ApplyError::Event(e.to_string())
        }
    }
}

impl From<String> for ApplyError {
    fn from(reason: String) -> Self {
        ApplyError::Event(reason)
    }
}

impl From<serde_json::Error> for ApplyError {
    fn from(e: serde_json::Error) -> Self {
        ApplyError::Event(e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Another runner holds the lease (or took it over): this one must stop writing.
    #[error("lease of {0} lost to another runner")]
    LeaseLost(String),
    /// The projection failed on an event; it stays stopped there until fixed.
    #[error("projection {name} failed on event {event_id}: {reason}")]
    Failed {
        name: String,
        event_id: Uuid,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<tokio_postgres::Error> for ProjectionError {
    fn from(e: tokio_postgres::Error) -> Self {
        ProjectionError::Store(e.into())
    }
}

impl From<returns_event_store::PoolError> for ProjectionError {
    fn from(e: returns_event_store::PoolError) -> Self {
        ProjectionError::Store(e.into())
    }
}

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Identifies this runner (instance) as lease owner.
    pub owner: String,
    /// How long a lease lasts without renewal; each committed batch renews it.
    pub lease: Duration,
    /// Events per batch.
    pub batch: usize,
    /// Longest pause between polls when caught up (appends in this process wake the runner at once).
    pub max_idle_poll: Duration,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings {
            owner: format!("runner-{}", Uuid::now_v7()),
            lease: Duration::from_secs(10),
            batch: 1000,
            max_idle_poll: Duration::from_millis(500),
        }
    }
}

/// What one step of the runner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Applied this many events and moved the checkpoint.
    Applied(usize),
    /// Nothing new below the feed's horizon.
    CaughtUp,
}

/// A read of the feed running on its own task.
type ReadAhead = JoinHandle<Result<Vec<RecordedEvent>, StoreError>>;

/// Feeds one projection. Each runner instance holds the lease of its projection while it works.
pub struct Runner<P: Projection> {
    store: EventStore,
    projection: Arc<P>,
    settings: RunnerSettings,
    /// The fencing generation of the lease this runner holds, once acquired.
    generation: Option<i64>,
    checkpoint: FeedPosition,
    /// The next batch, being read (on its own connection) while the current one is applied: the
    /// feed position it follows, and the read.
    ahead: Option<(FeedPosition, ReadAhead)>,
}

impl<P: Projection> Drop for Runner<P> {
    fn drop(&mut self) {
        if let Some((_, read)) = self.ahead.take() {
            read.abort();
        }
    }
}

impl<P: Projection> Runner<P> {
    pub fn new(store: EventStore, projection: Arc<P>, settings: RunnerSettings) -> Self {
        Runner {
            store,
            projection,
            settings,
            generation: None,
            checkpoint: FeedPosition::START,
            ahead: None,
        }
    }

    /// The batch after the checkpoint: the one read ahead when it follows the checkpoint and is
    /// full, otherwise read now. A full batch is what a read now would return too (the feed
    /// below its horizon never changes); a shorter one may have been cut by a horizon that has
    /// moved since, so batches never depend on when they were read.
    async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, ProjectionError> {
        if let Some((after, read)) = self.ahead.take() {
            if after == self.checkpoint {
                match read.await {
                    Ok(Ok(events)) if events.len() >= self.settings.batch => return Ok(events),
                    Ok(Ok(_)) | Err(_) => {}
                    Ok(Err(e)) => return Err(e.into()),
                }
            } else {
                read.abort();
            }
        }
        Ok(self
            .store
            .read_feed(self.checkpoint, self.settings.batch)
            .await?)
    }

    /// Starts reading the batch after `after` while the current batch is applied. Reading the
    /// feed beside an open projection transaction is safe: the feed only hands out events below
    /// the oldest running transaction, and those are committed and final.
    fn read_ahead(&mut self, after: FeedPosition) {
        let store = self.store.clone();
        let batch = self.settings.batch;
        self.ahead = Some((
            after,
            tokio::spawn(async move { store.read_feed(after, batch).await }),
        ));
    }

    /// The checkpoint as this runner last committed or read it.
    pub fn checkpoint(&self) -> FeedPosition {
        self.checkpoint
    }

    /// The fencing generation this runner holds, if any.
    pub fn generation(&self) -> Option<i64> {
        self.generation
    }

    /// Takes the lease if it is free, expired, or already this runner's. Returns whether this
    /// runner holds it now. Taking it over from someone else increments the generation.
    pub async fn acquire(&mut self) -> Result<bool, ProjectionError> {
        let client = self.store.pool().get().await?;
        let name = self.projection.name();
        client
            .execute(
                "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&name],
            )
            .await?;
        let lease_ms = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
        let row = client
            .query_opt(
                "UPDATE projection_checkpoints SET \
                     generation = CASE WHEN owner IS DISTINCT FROM $2 OR $3::bigint IS NULL \
                                       OR generation <> $3 THEN generation + 1 ELSE generation END, \
                     owner = $2, \
                     lease_until = now() + $4::bigint * interval '1 millisecond', \
                     updated_at = now() \
                 WHERE name = $1 \
                   AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until < now()) \
                 RETURNING generation, tx_id, position",
                &[&name, &self.settings.owner, &self.generation, &lease_ms],
            )
            .await?;
        match row {
            Some(row) => {
                self.generation = Some(row.try_get(0)?);
                self.checkpoint = FeedPosition {
                    tx_id: row.try_get(1)?,
                    position: row.try_get(2)?,
                };
                Ok(true)
            }
            None => {
                self.generation = None;
                Ok(false)
            }
        }
    }

    /// Reads the next batch after the checkpoint and commits it with the new checkpoint, fenced by
    /// this runner's generation.
    pub async fn step(&mut self) -> Result<Status, ProjectionError> {
        let name = self.projection.name().to_owned();
        let Some(generation) = self.generation else {
            return Err(ProjectionError::LeaseLost(name));
        };
        let events = self.next_batch().await?;
        let Some(last) = events.last().map(RecordedEvent::feed_position) else {
            metrics::gauge!("projection_lag_seconds", "projection" => name).set(0.0);
            return Ok(Status::CaughtUp);
        };
        // A full batch means more may follow: read it while this one is applied.
        if events.len() >= self.settings.batch {
            self.read_ahead(last);
        }
        match self.commit(generation, &events, last).await {
            Ok(()) => {
                self.checkpoint = last;
                self.report(&events);
                Ok(Status::Applied(events.len()))
            }
            Err(ProjectionError::Failed { reason, .. }) if events.len() > 1 => {
                // Find the event that fails: apply one at a time up to it, then stop there.
                tracing::warn!(projection = %name, %reason, "batch failed; retrying event by event");
                let mut applied = 0;
                for event in &events {
                    let one = std::slice::from_ref(event);
                    if let Err(e) = self.commit(generation, one, event.feed_position()).await {
                        metrics::counter!("projection_failures_total", "projection" => name.clone())
                            .increment(1);
                        return Err(e);
                    }
                    self.checkpoint = event.feed_position();
                    self.report(one);
                    applied += 1;
                }
                Ok(Status::Applied(applied))
            }
            Err(e) => Err(e),
        }
    }

    /// Events applied and how far behind the log the projection is: the age of the newest event
    /// it applied (0 once it reports being caught up).
    fn report(&self, applied: &[RecordedEvent]) {
        let name = self.projection.name().to_owned();
        metrics::counter!("projection_events_total", "projection" => name.clone())
            .increment(applied.len() as u64);
        if let Some(last) = applied.last() {
            let lag = (chrono::Utc::now() - last.recorded_at)
                .num_milliseconds()
                .max(0);
            metrics::gauge!("projection_lag_seconds", "projection" => name)
                .set(lag as f64 / 1000.0);
        }
    }

    async fn commit(
        &self,
        generation: i64,
        events: &[RecordedEvent],
        last: FeedPosition,
    ) -> Result<(), ProjectionError> {
        let name = self.projection.name();
        let mut client = self.store.pool().get().await?;
        let tx = client.transaction().await?;
        // The fence: the checkpoint row, locked, must still carry this runner's generation and
        // the checkpoint it read from.
        let fence = tx
            .query_opt(
                "SELECT 1 FROM projection_checkpoints \
                 WHERE name = $1 AND owner = $2 AND generation = $3 \
                   AND tx_id = $4 AND position = $5 FOR UPDATE",
                &[
                    &name,
                    &self.settings.owner,
                    &generation,
                    &self.checkpoint.tx_id,
                    &self.checkpoint.position,
                ],
            )
            .await?;
        if fence.is_none() {
            tx.rollback().await?;
            return Err(ProjectionError::LeaseLost(name.to_owned()));
        }
        if let Err(e) = self.projection.apply(&tx, events).await {
            let reason = match e {
                ApplyError::Unavailable(e) => return Err(ProjectionError::Store(e)),
                ApplyError::Event(reason) => reason,
            };
            tx.rollback().await?;
            let event_id = events.first().map_or(Uuid::nil(), |e| e.event_id);
            if events.len() == 1 {
                self.record_failure(event_id, &reason).await?;
                tracing::error!(projection = name, %event_id, %reason, "projection stopped");
            }
            return Err(ProjectionError::Failed {
                name: name.to_owned(),
                event_id,
                reason,
            });
        }
        let lease_ms = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE projection_checkpoints SET tx_id = $2, position = $3, events = events + $4, \
                 lease_until = now() + $5::bigint * interval '1 millisecond', \
                 failed_event = NULL, failure = NULL, updated_at = now() \
             WHERE name = $1",
            &[&name, &last.tx_id, &last.position, &count, &lease_ms],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_failure(&self, event_id: Uuid, reason: &str) -> Result<(), ProjectionError> {
        let client = self.store.pool().get().await?;
        client
            .execute(
                "UPDATE projection_checkpoints SET failed_event = $2, failure = $3, updated_at = now() \
                 WHERE name = $1",
                &[&self.projection.name(), &event_id, &reason],
            )
            .await?;
        Ok(())
    }

    /// Runs until `stop` turns true: takes the lease when it can, applies batches, waits for new
    /// events (woken by appends in this process, else polling with back-off). A database failure
    /// (the connection lost, the server restarting, a timeout) is waited out with a capped
    /// back-off and the runner goes on by itself from its last committed checkpoint; only an event
    /// the projection cannot apply stops it (parked), and that error is returned. Its state is on
    /// `board` under the projection's name.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        board: WorkerBoard,
    ) -> Result<(), ProjectionError> {
        let name = self.projection.name().to_owned();
        let mut idle = Duration::from_millis(10);
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                board.set(&name, WorkerState::Stopped);
                return Ok(());
            }
            match self.turn(&mut idle, &mut stop).await {
                Ok(true) => {
                    backoff.reset();
                    board.set(&name, WorkerState::Running);
                }
                Ok(false) => {
                    backoff.reset();
                    board.set(&name, WorkerState::Standby);
                    // Someone else owns it: try again after a lease period.
                    tokio::select! {
                        _ = tokio::time::sleep(self.settings.lease) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(ProjectionError::LeaseLost(_)) => {
                    tracing::warn!(projection = %name, "lease lost; standing by");
                    self.generation = None;
                    board.set(&name, WorkerState::Standby);
                }
                Err(e @ ProjectionError::Failed { .. }) => {
                    if let ProjectionError::Failed { event_id, .. } = &e {
                        board.set(
                            &name,
                            WorkerState::Parked {
                                event_id: *event_id,
                            },
                        );
                    }
                    return Err(e);
                }
                Err(ProjectionError::Store(e)) => {
                    metrics::counter!("projection_retries_total", "projection" => name.clone())
                        .increment(1);
                    let wait = board.retrying(&name, &mut backoff, &e);
                    if let Some((_, read)) = self.ahead.take() {
                        read.abort();
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    /// One turn of [`run`](Self::run): takes the lease if it has none (`Ok(false)`: someone else
    /// holds it), then applies a batch, or waits a while for new events when caught up.
    async fn turn(
        &mut self,
        idle: &mut Duration,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool, ProjectionError> {
        if self.generation.is_none() && !self.acquire().await? {
            return Ok(false);
        }
        match self.step().await? {
            Status::Applied(_) => *idle = Duration::from_millis(10),
            Status::CaughtUp => {
                let appended = self.store.appended().notified();
                tokio::select! {
                    _ = appended => {}
                    _ = tokio::time::sleep(*idle) => {}
                    _ = stop.changed() => {}
                }
                *idle = (*idle * 2).min(self.settings.max_idle_poll);
                // Renew the lease while idle.
                if !self.acquire().await? {
                    tracing::warn!(projection = self.projection.name(), "lease lost");
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
