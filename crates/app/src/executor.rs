//! The command executor: one path for every command of every aggregate.
//!
//! A command runs in two round trips to PostgreSQL in the common case:
//!
//! 1. `BEGIN`, the idempotency claim and the command's load statements, sent together (pipelined)
//!    and answered together. The load statements read the aggregate's state and every outside fact
//!    its decision needs, and lock the rows the command will write (`FOR UPDATE`), so that commands
//!    on one aggregate queue instead of racing.
//! 2. Every write, sent together and followed by `COMMIT`: the events of each stream it appends to
//!    (the append fails when the stream is not at the version the state was loaded at), the
//!    personal data taken out of them, the snapshots, the views the aggregate keeps, and the
//!    idempotent answer. A failed statement aborts the transaction, so the `COMMIT` behind it rolls
//!    back: all or nothing.
//!
//! Between the two, the command decides without I/O ([`Command::decide`]) and the caller's answer
//! is rendered once from the typed outcome, so the stored idempotent answer is the very answer sent.
//! A few commands read more before deciding ([`Command::enrich`]: a dispute decision reads the
//! case's history for the recommendation it records), which costs them one round trip more.
//!
//! Guarantees kept: expected-version concurrency (the database refuses an append at a version the
//! stream is not at), exactly-once idempotency (the key is claimed in the command's transaction; a
//! concurrent retry waits on it and gets the first answer), read-your-writes (views are written in
//! the command's transaction) and the gap-free feed (the events table is only ever appended to).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use chrono::{DateTime, Utc};
use deadpool_postgres::Object;
use futures_util::future::{maybe_done, try_join_all, MaybeDone};
use returns_domain::Actor;
use returns_event_store::{ActorRef, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError};
use serde::Serialize;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{Row, Statement};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::personal::{self, PersonalValue};

/// How often a command is run again when a concurrent command on the same new stream won the race
/// (for example two first registrations of one order): the next run sees the first's result.
const CONFLICT_RETRIES: usize = 3;

/// Per-request options of a command.
#[derive(Debug, Clone, Default)]
pub struct CommandOptions {
    /// `If-Match`: the version the caller last saw; the command fails with a version conflict if
    /// the resource has moved on.
    pub if_match: Option<u64>,
    pub idempotency: Option<IdempotencyKey>,
    /// Ties the events to the request that caused them.
    pub correlation_id: Option<Uuid>,
}

impl CommandOptions {
    /// `If-Match`: the aggregate must be at the version the caller last saw.
    pub(crate) fn expect_version(&self, version: u64) -> Result<(), AppError> {
        match self.if_match {
            Some(seen) if seen != version => Err(AppError::VersionConflict { current: version }),
            _ => Ok(()),
        }
    }
}

/// The answer of a command: new, with the answer rendered from it, or the stored answer of an
/// earlier request with the same idempotency key.
#[derive(Debug)]
pub enum Answered<T> {
    Fresh(T, StoredResponse),
    Replayed(StoredResponse),
}

impl<T> Answered<T> {
    /// The answer to send, whichever it is.
    pub fn response(self) -> StoredResponse {
        match self {
            Answered::Fresh(_, response) | Answered::Replayed(response) => response,
        }
    }

    /// The typed outcome, when the command ran now.
    pub fn fresh(self) -> Option<T> {
        match self {
            Answered::Fresh(value, _) => Some(value),
            Answered::Replayed(_) => None,
        }
    }
}

/// One SQL statement and its parameters, sent in a pipelined batch.
pub(crate) struct Sql {
    pub sql: &'static str,
    pub params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    pub(crate) fn new(sql: &'static str, params: Vec<Box<dyn ToSql + Sync + Send>>) -> Self {
        Sql { sql, params }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// What a command's transaction needs besides the decision's inputs.
#[derive(Debug, Clone)]
pub(crate) struct Cx {
    pub caller: Actor,
    pub opts: CommandOptions,
    /// The service clock when the command started.
    pub now: DateTime<Utc>,
}

impl Cx {
    pub(crate) fn metadata(&self) -> Metadata {
        metadata(&self.caller, self.opts.correlation_id, self.now)
    }
}

/// The metadata of events `caller` causes at `now` (a new correlation id when none is given).
pub(crate) fn metadata(
    caller: &Actor,
    correlation_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Metadata {
    Metadata {
        actor: ActorRef {
            role: caller.role.as_str().to_owned(),
            id: caller.id.clone(),
        },
        correlation_id: correlation_id.unwrap_or_else(Uuid::now_v7),
        causation_id: None,
        occurred_at: now,
    }
}

/// An event-sourced aggregate: a stream of events, the state folded from them, and the views kept
/// in step with that state in the command's transaction.
pub(crate) trait Aggregate {
    type State: Serialize;
    type Event;

    /// The aggregate's stream.
    fn stream_id(state: &Self::State) -> String;

    /// Folds one event into the state (`None` before the first event).
    fn evolve(state: Option<Self::State>, event: &Self::Event) -> Option<Self::State>;

    /// The events as stored, with the free text that is personal data taken out of them.
    fn encode(events: &[Self::Event]) -> (Vec<NewEvent>, Vec<PersonalValue>);

    /// Whose personal data the free text of this aggregate's events is: a party's role
    /// (`buyer` or `seller`) and id.
    fn data_subject(state: &Self::State) -> (&'static str, &str);

    /// Whether the state is kept in `snapshots` (a flag keeps its state in its own row).
    const SNAPSHOT: bool = true;

    /// The views kept in the command's transaction besides the snapshot.
    fn views(_state: &Self::State, _writes: &mut Writes) {}
}

/// Everything a decision writes, sent as one pipelined batch before `COMMIT`.
#[derive(Default)]
pub(crate) struct Writes {
    statements: Vec<Sql>,
    /// Events appended, over all streams.
    events: usize,
}

const SAVE_SNAPSHOT_SQL: &str = "INSERT INTO snapshots (stream_id, version, state) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state";

impl Writes {
    /// Records `events` of aggregate `A`, whose stream is at `version` with `state`: the append,
    /// the personal data taken out of them, the snapshot and the views. Returns the new state.
    pub(crate) fn record<A: Aggregate>(
        &mut self,
        cx: &Cx,
        state: Option<A::State>,
        version: u64,
        events: &[A::Event],
    ) -> Result<Option<A::State>, AppError> {
        if events.is_empty() {
            return Ok(state);
        }
        let state = events
            .iter()
            .fold(state, A::evolve)
            .ok_or_else(|| AppError::Internal("events without a state".into()))?;
        let stream = A::stream_id(&state);
        let (new_events, personal) = A::encode(events);
        let new_version = version + new_events.len() as u64;
        let (sql, params) = returns_event_store::append_statement(
            &stream,
            ExpectedVersion::from_version(version),
            new_events,
            &cx.metadata(),
        )?;
        self.statements.push(Sql::new(sql, params));
        self.events += events.len();
        let (subject_role, subject_id) = A::data_subject(&state);
        if let Some(sql) = personal::store_statement(subject_role, subject_id, &personal) {
            self.statements.push(sql);
        }
        if A::SNAPSHOT {
            // Serialised once, straight to the text that is stored.
            let json = serde_json::value::to_raw_value(&state)?;
            self.statements.push(Sql::new(
                SAVE_SNAPSHOT_SQL,
                vec![
                    Box::new(stream),
                    Box::new(to_i64(new_version)?),
                    Box::new(Json(json)),
                ],
            ));
        }
        A::views(&state, self);
        Ok(Some(state))
    }

    /// A view write of its own.
    pub(crate) fn push(&mut self, sql: Sql) {
        self.statements.push(sql);
    }

    /// View writes of their own.
    pub(crate) fn extend(&mut self, sqls: impl IntoIterator<Item = Sql>) {
        self.statements.extend(sqls);
    }
}

pub(crate) fn to_i64(v: u64) -> Result<i64, AppError> {
    i64::try_from(v).map_err(|_| AppError::Internal(format!("{v} is out of range")))
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Makes the caller's answer from a command's outcome.
pub(crate) type Render<'a, T> = &'a (dyn Fn(&T) -> StoredResponse + Sync);

/// A command as the executor runs it.
pub(crate) trait Command: Send + Sync {
    /// The aggregate's state and the outside facts the decision needs.
    type Loaded: Send;
    /// What the caller gets.
    type Outcome: Send;

    /// The command's name in metrics.
    fn name(&self) -> &'static str;

    /// The statements that load what the decision needs, locking what it will write. They are
    /// sent in the first round trip, so none may depend on another's answer (join instead).
    fn load(&self, cx: &Cx) -> Vec<Sql>;

    /// The loaded rows, one list per load statement, as the decision's input.
    fn parse(&self, rows: Vec<Vec<Row>>, cx: &Cx) -> Result<Self::Loaded, AppError>;

    /// Further reads, for the few commands whose facts depend on what was loaded.
    fn enrich<'a>(
        &'a self,
        _client: &'a deadpool_postgres::Client,
        _store: &'a EventStore,
        loaded: Self::Loaded,
        _cx: &'a Cx,
    ) -> BoxFuture<'a, Result<Self::Loaded, AppError>> {
        Box::pin(async move { Ok(loaded) })
    }

    /// Decides without I/O: records what to write and returns the outcome.
    fn decide(
        &self,
        loaded: Self::Loaded,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<Self::Outcome, AppError>;
}

/// A pooled connection inside a transaction that this module opened with a plain `BEGIN`. If it
/// is dropped before the transaction ended (a cancelled request), the connection is closed rather
/// than returned to the pool mid-transaction; the server then rolls back.
struct Conn {
    object: Option<Object>,
    in_transaction: AtomicBool,
}

impl Conn {
    fn client(&self) -> Result<&deadpool_postgres::Client, AppError> {
        self.object
            .as_ref()
            .ok_or_else(|| AppError::Internal("connection already released".into()))
    }

    async fn rollback(self) {
        if let Some(object) = &self.object {
            if object.batch_execute("ROLLBACK").await.is_ok() {
                self.in_transaction.store(false, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.in_transaction.load(Ordering::Relaxed) {
            if let Some(object) = self.object.take() {
                drop(Object::take(object));
            }
        }
    }
}

/// Runs futures to completion, polling them first in the order given. Each future below sends its
/// request on its first poll, so the requests reach the server in this order, in one batch.
async fn in_order<'a, T>(futures: Vec<BoxFuture<'a, T>>) -> Vec<T> {
    let mut slots: Vec<MaybeDone<BoxFuture<'a, T>>> = futures.into_iter().map(maybe_done).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for slot in slots.iter_mut() {
            if Pin::new(slot).poll(cx).is_pending() {
                done = false;
            }
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    slots
        .iter_mut()
        .filter_map(|slot| Pin::new(slot).take_output())
        .collect()
}

/// Sends `before`, every statement and `after` as one pipelined batch and answers each one's rows
/// (none for `before` and `after`) in the order sent. The statements are prepared first (found in
/// the connection's cache after their first use, otherwise prepared together), so that each
/// request goes out on its future's first poll. `Err` only when preparing failed, before anything
/// of the batch was sent.
async fn batch(
    client: &deadpool_postgres::Client,
    before: Option<&'static str>,
    statements: &[Sql],
    after: Option<&'static str>,
) -> Result<Vec<Result<Vec<Row>, tokio_postgres::Error>>, AppError> {
    let prepared: Vec<Statement> =
        try_join_all(statements.iter().map(|s| client.prepare_cached(s.sql))).await?;
    let params: Vec<_> = statements.iter().map(Sql::params).collect();
    let simple = |sql: &'static str| -> BoxFuture<'_, Result<Vec<Row>, tokio_postgres::Error>> {
        Box::pin(async move { client.batch_execute(sql).await.map(|()| Vec::new()) })
    };
    let mut futures = Vec::with_capacity(statements.len() + 2);
    futures.extend(before.map(simple));
    for (stmt, params) in prepared.iter().zip(&params) {
        futures.push(Box::pin(client.query(stmt, params)) as BoxFuture<'_, _>);
    }
    futures.extend(after.map(simple));
    Ok(in_order(futures).await)
}

/// How far a failed run got: whether its writes had been sent (and so may have committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Nothing,
    Writes,
}

/// Where a run stands once it has decided, before it writes.
enum Step<T> {
    /// An earlier request with the same idempotency key answered already.
    Replayed(StoredResponse),
    /// Decided: what to write, the outcome and the answer rendered from it.
    Decided {
        outcome: T,
        response: StoredResponse,
        writes: Writes,
    },
}

/// The executor: the store and the clock it runs commands with.
#[derive(Clone)]
pub(crate) struct Executor {
    pub store: EventStore,
    pub clock: Arc<dyn Clock>,
}

impl Executor {
    /// Runs `command` for `caller`: claim the idempotency key, load, decide, write, commit; see the
    /// module documentation. `render` makes the caller's answer from the outcome, once per run.
    pub(crate) async fn execute<C: Command>(
        &self,
        caller: &Actor,
        opts: &CommandOptions,
        command: &C,
        render: Render<'_, C::Outcome>,
    ) -> Result<Answered<C::Outcome>, AppError> {
        let result = self.attempts(caller, opts, command, render).await;
        let outcome = match &result {
            Ok(Answered::Fresh(..)) => "ok",
            Ok(Answered::Replayed(_)) => "replayed",
            Err(e) => e.code(),
        };
        metrics::counter!("commands_total", "command" => command.name(), "outcome" => outcome)
            .increment(1);
        result
    }

    async fn attempts<C: Command>(
        &self,
        caller: &Actor,
        opts: &CommandOptions,
        command: &C,
        render: Render<'_, C::Outcome>,
    ) -> Result<Answered<C::Outcome>, AppError> {
        let cx = Cx {
            caller: caller.clone(),
            opts: opts.clone(),
            now: self.clock.now(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(&cx, command, render).await {
                Ok(answered) => return Ok(answered),
                // A connection found broken before the writes went out (the database restarted,
                // or cut it): nothing was written, so the command runs again on another.
                Err((e @ AppError::Unavailable(_), Sent::Nothing))
                    if attempt < CONFLICT_RETRIES =>
                {
                    tracing::debug!(error = %e, "connection lost before writing; running again");
                }
                Err((e, _)) if attempt < CONFLICT_RETRIES && retryable(&e, opts) => {}
                Err((e, _)) => return Err(e),
            }
        }
    }

    async fn once<C: Command>(
        &self,
        cx: &Cx,
        command: &C,
        render: Render<'_, C::Outcome>,
    ) -> Result<Answered<C::Outcome>, (AppError, Sent)> {
        let object = self
            .store
            .pool()
            .get()
            .await
            .map_err(|e| (AppError::from(e), Sent::Nothing))?;
        let conn = Conn {
            object: Some(object),
            in_transaction: AtomicBool::new(false),
        };
        match self.decide(&conn, cx, command, render).await {
            Err(e) => {
                conn.rollback().await;
                Err((e, Sent::Nothing))
            }
            Ok(Step::Replayed(stored)) => {
                conn.rollback().await;
                Ok(Answered::Replayed(stored))
            }
            Ok(Step::Decided {
                outcome,
                response,
                writes,
            }) => {
                self.commit(conn, writes)
                    .await
                    .map_err(|e| (e, Sent::Writes))?;
                Ok(Answered::Fresh(outcome, response))
            }
        }
    }

    /// Round trip 1 (`BEGIN`, the idempotency claim, the loads), any further reads, then the
    /// decision without I/O and the answer rendered once from it.
    async fn decide<C: Command>(
        &self,
        conn: &Conn,
        cx: &Cx,
        command: &C,
        render: Render<'_, C::Outcome>,
    ) -> Result<Step<C::Outcome>, AppError> {
        let client = conn.client()?;
        let key = cx.opts.idempotency.as_ref();
        let mut reads: Vec<Sql> = key
            .map(|k| idempotency::claim_statement(&cx.caller, k))
            .into_iter()
            .collect();
        reads.extend(command.load(cx));
        conn.in_transaction.store(true, Ordering::Relaxed);
        let mut answers = Vec::with_capacity(reads.len() + 1);
        for answer in batch(client, Some("BEGIN"), &reads, None).await? {
            answers.push(answer?);
        }
        // Past BEGIN's (empty) answer: the claim's, then the loads'.
        let mut answers = answers.into_iter().skip(1);
        if let Some(key) = key {
            let claim = answers.next().unwrap_or_default();
            if let Some(stored) = idempotency::claimed(&claim, key)? {
                return Ok(Step::Replayed(stored));
            }
        }
        let loaded = command.parse(answers.collect(), cx)?;
        // Only some commands read more (one round trip more).
        let loaded = command.enrich(client, &self.store, loaded, cx).await?;
        let mut writes = Writes::default();
        let outcome = command.decide(loaded, cx, &mut writes)?;
        let response = render(&outcome);
        if let Some(key) = key {
            writes.push(idempotency::store_statement(&cx.caller, key, &response));
        }
        Ok(Step::Decided {
            outcome,
            response,
            writes,
        })
    }

    /// Round trip 2: every write, then `COMMIT`. The time it takes is the command's append time
    /// in `/metrics` (`event_store_append_seconds`, as for the store's own appends).
    async fn commit(&self, conn: Conn, writes: Writes) -> Result<(), AppError> {
        let started = std::time::Instant::now();
        let results = match batch(conn.client()?, None, &writes.statements, Some("COMMIT")).await {
            Ok(results) => results,
            Err(e) => {
                conn.rollback().await;
                return Err(e);
            }
        };
        conn.in_transaction.store(false, Ordering::Relaxed);
        // The first failure tells why; the statements after it failed because the transaction was
        // aborted, and the COMMIT after them rolled back.
        if let Some(e) = results.into_iter().find_map(Result::err) {
            return Err(write_error(e));
        }
        if writes.events > 0 {
            metrics::histogram!("event_store_append_seconds")
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("event_store_events_appended_total").increment(writes.events as u64);
            self.store.appended().notify_waiters();
        }
        Ok(())
    }
}

/// Whether a failed run may be run again: it lost a race on a new stream (and the caller named no
/// version), drew a taken RMA number, or was aborted by the database to break a deadlock or a
/// serialization conflict (nothing was written; `If-Match` is checked again on the next run).
fn retryable(e: &AppError, opts: &CommandOptions) -> bool {
    (matches!(e, AppError::VersionConflict { .. }) && opts.if_match.is_none())
        || matches!(e, AppError::RmaTaken | AppError::Contended)
}

/// What a failed write means to the caller.
fn write_error(e: tokio_postgres::Error) -> AppError {
    if returns_event_store::is_append_conflict(&e) {
        return AppError::VersionConflict { current: 0 };
    }
    let rma_taken = e
        .as_db_error()
        .is_some_and(|db| db.constraint() == Some("return_index_rma_key"));
    if rma_taken {
        return AppError::RmaTaken;
    }
    AppError::from(StoreError::from(e))
}
