//! The command and query services over the event store and the command-side views.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use returns_domain::order::OrderDetails;
use returns_domain::policy::PolicyState;
use returns_domain::returns::{can_see, DeadlineKind, ReturnCommand};
use returns_domain::{
    Actor, BuyerId, Order, OrderId, ReturnCase, ReturnEvent, ReturnId, Rma, Role, SellerId,
    SellerPolicy,
};
use returns_event_store::{EventStore, ExpectedVersion, GenericClient, NewEvent, RecordedEvent};
use tokio_postgres::types::Json;
use tracing::instrument;
use uuid::Uuid;

use crate::aggregates::order::{may_see_order, RecordDeliveryCommand, RegisterOrderCommand};
use crate::aggregates::policy::SetPolicyCommand;
use crate::aggregates::returns::{
    read_case, ApplyDeadlineCommand, OpenReturnCommand, OpenReturnRequest, ReturnActionCommand,
};
use crate::clock::Clock;
use crate::error::AppError;
use crate::executor::{Answered, CommandOptions, Executor};
use crate::idempotency::StoredResponse;
use crate::personal;
use crate::views::{self, order_stream, policy_stream, return_stream};

/// Filters of the return list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    pub status: Option<String>,
    pub order_id: Option<String>,
    pub buyer_id: Option<String>,
    pub seller_id: Option<String>,
    /// The return with this RMA number (canonical form, see `returns_domain::Rma::parse`).
    pub rma: Option<String>,
    /// Continue after this (created_at, id), newest first.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: usize,
    /// Only the returns that are not closed.
    pub open_only: bool,
}

#[derive(Debug)]
pub struct ReturnPage {
    pub items: Vec<ReturnCase>,
    /// Where the next page starts, when there may be one.
    pub next: Option<(DateTime<Utc>, Uuid)>,
}

/// What an erasure did (`POST /v1/buyers/{buyer_id}/erasure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub buyer_id: String,
    /// The buyer's returns whose views were rebuilt without the erased values.
    pub returns_rebuilt: usize,
    /// Values that became tombstones now (0 when erased before).
    pub values_erased: u64,
    /// Stored idempotent answers dropped because they could quote the erased values.
    pub answers_dropped: u64,
    pub erased_at: DateTime<Utc>,
}

/// A page of a return's events, oldest first.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<RecordedEvent>,
    /// The version of the last event of this page, when more may follow.
    pub next: Option<u64>,
}

/// Which of a return's events a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKinds {
    All,
    Messages,
}

/// Events of a return read per query when looking for its messages.
const HISTORY_CHUNK: usize = 500;

/// The command and query services of the returns service. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: EventStore,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.store)
            .finish()
    }
}

impl Service {
    pub fn new(store: EventStore, clock: Arc<dyn Clock>) -> Self {
        Service { store, clock }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub(crate) fn executor(&self) -> Executor {
        Executor {
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }

    // ----- orders -----

    /// `POST /v1/orders`. The `bool` is true when the order was registered now (201), false when
    /// the same body had been registered before (200).
    #[instrument(skip_all, fields(order_id = %details.order_id))]
    pub async fn register_order<R>(
        &self,
        caller: &Actor,
        details: OrderDetails,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<(Order, bool)>, AppError>
    where
        R: Fn(&(Order, bool)) -> StoredResponse + Sync,
    {
        let command = RegisterOrderCommand { details };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }

    /// `POST /v1/orders/{order_id}/delivery`.
    pub async fn record_delivery<R>(
        &self,
        caller: &Actor,
        order_id: OrderId,
        delivered_at: DateTime<Utc>,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<Order>, AppError>
    where
        R: Fn(&Order) -> StoredResponse + Sync,
    {
        let command = RecordDeliveryCommand {
            order_id,
            delivered_at,
        };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }

    /// `GET /v1/orders/{order_id}`: platform, operators, the order's buyer and seller.
    pub async fn get_order(&self, caller: &Actor, order_id: &str) -> Result<Order, AppError> {
        let client = self.store.pool().get().await?;
        let (order, _) = views::load::<Order, _>(&client, &order_stream(order_id), false)
            .await?
            .ok_or(AppError::NotFound)?;
        if !may_see_order(&order, caller) {
            return Err(AppError::NotFound);
        }
        Ok(order)
    }

    // ----- policies -----

    /// `PUT /v1/sellers/{seller_id}/policy`: the stored policy and its version.
    pub async fn set_policy<R>(
        &self,
        caller: &Actor,
        seller_id: SellerId,
        policy: SellerPolicy,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<(SellerPolicy, u64)>, AppError>
    where
        R: Fn(&(SellerPolicy, u64)) -> StoredResponse + Sync,
    {
        let command = SetPolicyCommand { seller_id, policy };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }

    /// `GET /v1/sellers/{seller_id}/policy`: the policy in force and its version (0: the default
    /// policy, never set by the seller).
    pub async fn get_policy(&self, seller_id: &str) -> Result<(SellerPolicy, u64), AppError> {
        let client = self.store.pool().get().await?;
        Ok(
            match views::load::<PolicyState, _>(&client, &policy_stream(seller_id), false).await? {
                Some((state, _)) => (state.current(), state.current_version()),
                None => (SellerPolicy::default(), 0),
            },
        )
    }

    // ----- returns -----

    /// `POST /v1/returns`.
    #[instrument(skip_all, fields(order_id = %request.order_id))]
    pub async fn open_return<R>(
        &self,
        caller: &Actor,
        request: OpenReturnRequest,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<ReturnCase>, AppError>
    where
        R: Fn(&ReturnCase) -> StoredResponse + Sync,
    {
        let command = OpenReturnCommand { request };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }

    /// `POST /v1/returns/{id}/<action>`.
    #[instrument(skip_all, fields(return_id = %return_id, action = command.action().as_str()))]
    pub async fn act_on_return<R>(
        &self,
        caller: &Actor,
        return_id: ReturnId,
        command: ReturnCommand,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<ReturnCase>, AppError>
    where
        R: Fn(&ReturnCase) -> StoredResponse + Sync,
    {
        let command = ReturnActionCommand { return_id, command };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }

    /// `GET /v1/returns/{id}`.
    pub async fn get_return(&self, caller: &Actor, id: ReturnId) -> Result<ReturnCase, AppError> {
        let client = self.store.pool().get().await?;
        visible_return(&client, caller, id).await
    }

    /// `GET /v1/rma/{rma}`: the return with this RMA number, if the caller may see it (someone
    /// else's is not found, exactly like an unknown number).
    pub async fn return_by_rma(&self, caller: &Actor, rma: &Rma) -> Result<ReturnCase, AppError> {
        let client = self.store.pool().get().await?;
        let stmt = client
            .prepare_cached("SELECT return_id FROM return_index WHERE rma = $1")
            .await?;
        let row = client
            .query_opt(&stmt, &[&rma.as_str()])
            .await?
            .ok_or(AppError::NotFound)?;
        let id: Uuid = row.try_get(0)?;
        visible_return(&client, caller, ReturnId::from_uuid(id)).await
    }

    /// `GET /v1/returns`: newest first, scoped to what the caller may see.
    pub async fn list_returns(
        &self,
        caller: &Actor,
        mut filter: ReturnFilter,
    ) -> Result<ReturnPage, AppError> {
        match caller.role {
            Role::Buyer => filter.buyer_id = Some(caller.id.clone()),
            Role::Seller => filter.seller_id = Some(caller.id.clone()),
            Role::Operator | Role::Platform | Role::System => {}
        }
        let limit = filter.limit.clamp(1, 200);
        let (after_at, after_id) = match filter.after {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        let client = self.store.pool().get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT s.state, r.created_at, r.return_id \
                 FROM return_index r JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
                 WHERE ($1::text IS NULL OR r.buyer_id = $1) \
                   AND ($2::text IS NULL OR r.seller_id = $2) \
                   AND ($3::text IS NULL OR r.status = $3) \
                   AND ($4::text IS NULL OR r.order_id = $4) \
                   AND ($5::timestamptz IS NULL OR (r.created_at, r.return_id) < ($5, $6)) \
                   AND ($8::text IS NULL OR r.rma = $8) \
                   AND (NOT $9 OR r.status <> 'closed') \
                 ORDER BY r.created_at DESC, r.return_id DESC \
                 LIMIT $7",
            )
            .await?;
        let rows = client
            .query(
                &stmt,
                &[
                    &filter.buyer_id,
                    &filter.seller_id,
                    &filter.status,
                    &filter.order_id,
                    &after_at,
                    &after_id,
                    &(limit as i64 + 1),
                    &filter.rma,
                    &filter.open_only,
                ],
            )
            .await?;
        let mut items = Vec::with_capacity(rows.len().min(limit));
        let mut next = None;
        for (i, row) in rows.iter().enumerate() {
            if i == limit {
                break;
            }
            let Json(case): Json<ReturnCase> = row.try_get(0)?;
            if i + 1 == limit && rows.len() > limit {
                next = Some((row.try_get(1)?, row.try_get(2)?));
            }
            items.push(case);
        }
        Ok(ReturnPage { items, next })
    }

    /// `GET /v1/returns/{id}/events`: the case history, oldest first.
    /// `GET /v1/returns/{id}/events` and `/messages`: the return's events of `kinds` after version
    /// `after` (0: from the start), at most `limit` of them (1 to 200).
    pub async fn return_events(
        &self,
        caller: &Actor,
        id: ReturnId,
        kinds: EventKinds,
        after: u64,
        limit: usize,
    ) -> Result<EventPage, AppError> {
        let client = self.store.pool().get().await?;
        visible_return(&client, caller, id).await?;
        let limit = limit.clamp(1, 200);
        let stream = return_stream(*id.as_uuid());
        let mut events = Vec::with_capacity(limit + 1);
        let mut from = after.saturating_add(1);
        // One more than the page, to know whether another follows.
        while events.len() <= limit {
            let chunk = match kinds {
                EventKinds::All => limit + 1 - events.len(),
                EventKinds::Messages => HISTORY_CHUNK,
            };
            let read = self
                .store
                .read_stream_in(&client, &stream, from, chunk)
                .await?;
            let Some(last) = read.last() else {
                break;
            };
            from = last.version.saturating_add(1);
            let full = read.len() >= chunk;
            events.extend(read.into_iter().filter(|e| match kinds {
                EventKinds::All => true,
                EventKinds::Messages => e.event_type == "return.message_posted",
            }));
            if !full {
                break;
            }
        }
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.version)
        } else {
            None
        };
        personal::rehydrate(&client, &mut events).await?;
        Ok(EventPage { events, next })
    }

    /// `GET /v1/disputes`: open disputes (escalated returns), the most urgent decision first.
    pub async fn disputes(
        &self,
        caller: &Actor,
        filter: &DisputeFilter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: usize,
    ) -> Result<ReturnPage, AppError> {
        if caller.role != Role::Operator {
            return Err(AppError::Rejected(returns_domain::Rejection::Forbidden {
                action: "list-disputes",
                role: caller.role,
            }));
        }
        let assignee = match filter.assignee {
            Assignee::Me => "me",
            Assignee::Nobody => "none",
            Assignee::Anyone => "any",
        };
        let client = self.store.pool().get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT s.state, (s.state -> 'dispute' ->> 'decision_due')::timestamptz, \
                        r.return_id \
                 FROM return_index r \
                 JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
                 WHERE r.status = 'escalated' \
                   AND ($1 = 'any' \
                        OR ($1 = 'none' AND s.state -> 'dispute' ->> 'assignee' IS NULL) \
                        OR ($1 = 'me' AND s.state -> 'dispute' ->> 'assignee' = $2)) \
                   AND ($4::timestamptz IS NULL \
                        OR ((s.state -> 'dispute' ->> 'decision_due')::timestamptz, r.return_id) \
                           > ($4::timestamptz, $5::uuid)) \
                   AND ($6::text IS NULL OR r.seller_id = $6) \
                   AND ($7::timestamptz IS NULL \
                        OR GREATEST((s.state -> 'dispute' ->> 'escalated_at')::timestamptz, \
                                    (s.state -> 'dispute' -> 'appeal' ->> 'appealed_at')::timestamptz) \
                           < $7) \
                   AND ($8::timestamptz IS NULL \
                        OR (s.state -> 'dispute' ->> 'decision_due')::timestamptz < $8) \
                 ORDER BY (s.state -> 'dispute' ->> 'decision_due')::timestamptz, r.return_id \
                 LIMIT $3",
            )
            .await?;
        let limit = limit.clamp(1, 200);
        let (after_due, after_id) = after.unzip();
        let rows = client
            .query(
                &stmt,
                &[
                    &assignee,
                    &caller.id,
                    &(limit as i64 + 1),
                    &after_due,
                    &after_id,
                    &filter.seller_id,
                    &filter.escalated_before,
                    &filter.due_before,
                ],
            )
            .await?;
        // The cursor is the order key as the database compares it (its own precision).
        let next = match rows.get(limit.saturating_sub(1)) {
            Some(last) if rows.len() > limit => Some((last.try_get(1)?, last.try_get(2)?)),
            _ => None,
        };
        let items = rows
            .iter()
            .take(limit)
            .map(|row| {
                let Json(case): Json<ReturnCase> = row.try_get(0)?;
                Ok(case)
            })
            .collect::<Result<Vec<ReturnCase>, AppError>>()?;
        Ok(ReturnPage { items, next })
    }

    /// `GET /v1/returns/{id}/recommendation` (operators): what arbitration recommends for the case
    /// as it stands, computed from its history.
    pub async fn recommendation(
        &self,
        caller: &Actor,
        id: ReturnId,
    ) -> Result<returns_arbitration::Recommendation, AppError> {
        let client = self.store.pool().get().await?;
        let (case, order, policy) = read_case(&client, caller, id).await?;
        if caller.role != Role::Operator {
            return Err(AppError::Rejected(returns_domain::Rejection::Forbidden {
                action: "read-recommendation",
                role: caller.role,
            }));
        }
        recommend_now(&self.store, &client, &case, &order, &policy, self.now()).await
    }

    /// Deletes stored idempotent answers older than their 24-hour retention, at most `max` rows a
    /// call so that one sweep never holds locks for long. Returns how many were deleted.
    pub async fn purge_idempotency_keys(&self, max: i64) -> Result<u64, AppError> {
        let client = self.store.pool().get().await?;
        let n = client
            .execute(
                "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY( \
                     SELECT ctid FROM idempotency_keys \
                     WHERE created_at < now() - make_interval(hours => $1) LIMIT $2))",
                &[&(crate::idempotency::RETENTION_HOURS as i32), &max],
            )
            .await?;
        Ok(n)
    }

    /// Records the use of the console sign-in link `jti`, valid until `expires_at`: `true` the
    /// first time, `false` when it was used already (docs/console.md, "Signing in"). Rows of links
    /// that expired an hour ago are cleared in the same statement (the hour is far above any clock
    /// skew between the service and the database, so a link cannot be used again).
    pub async fn redeem_login_link(
        &self,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let client = self.store.pool().get().await?;
        let stmt = client
            .prepare_cached(
                "WITH expired AS (DELETE FROM console_login_links WHERE expires_at < now() - interval '1 hour') \
                 INSERT INTO console_login_links (jti, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO NOTHING",
            )
            .await?;
        let inserted = client.execute(&stmt, &[&jti, &expires_at]).await?;
        Ok(inserted == 1)
    }

    /// Erases a buyer's personal data (docs/api.md, "Erasure"): every value kept for them becomes
    /// a tombstone, the views of their returns are rebuilt from the log without it, stored
    /// idempotent answers that may quote it (their own, and any answer about one of their returns)
    /// are dropped, and a `personal_data.erased` event on the `erasure-buyer-<id>` stream records
    /// who asked and how much was erased. The case histories stay whole and replay. Operators (and
    /// the `system` actor of the CLI) only.
    #[instrument(skip_all)]
    pub async fn erase_buyer(
        &self,
        caller: &Actor,
        buyer_id: &BuyerId,
    ) -> Result<Erasure, AppError> {
        if !matches!(caller.role, Role::Operator | Role::System) {
            return Err(AppError::Rejected(returns_domain::Rejection::Forbidden {
                action: "erase-personal-data",
                role: caller.role,
            }));
        }
        let now = self.now();
        let mut client = self.store.pool().get().await?;
        let tx = client.transaction().await?;
        let values_erased = personal::tombstone(&tx, "buyer", buyer_id.as_str()).await?;
        // Only the snapshots are locked (commands lock a snapshot first, then write its index
        // row), so erasure and commands never wait on each other in opposite orders.
        let rows = tx
            .query(
                "SELECT return_id FROM return_index WHERE buyer_id = $1 ORDER BY return_id",
                &[&buyer_id.as_str()],
            )
            .await?;
        let return_ids = rows
            .iter()
            .map(|row| row.try_get::<_, Uuid>(0))
            .collect::<Result<Vec<Uuid>, _>>()?;
        for &id in &return_ids {
            let stream = return_stream(id);
            // Lock the snapshot so that no command updates it from the old text meanwhile.
            views::load::<serde_json::Value, _>(&tx, &stream, true).await?;
            let history = history_of(&self.store, &tx, ReturnId::from_uuid(id)).await?;
            let case = history
                .iter()
                .fold(None, |case, (_, event)| returns_domain::evolve(case, event));
            let case = case.ok_or_else(|| AppError::Internal(format!("{stream} is empty")))?;
            tx.execute(
                "UPDATE snapshots SET version = $2, state = $3 WHERE stream_id = $1",
                &[
                    &stream,
                    &crate::executor::to_i64(case.version)?,
                    &Json(&case),
                ],
            )
            .await?;
        }
        let texts: Vec<String> = return_ids.iter().map(|id| id.to_string()).collect();
        let answers_dropped = tx
            .execute(
                "DELETE FROM idempotency_keys \
                 WHERE (caller_role = 'buyer' AND caller_id = $1) \
                    OR EXISTS (SELECT 1 FROM unnest($2::text[]) AS r(id) \
                               WHERE position(convert_to(r.id, 'UTF8') IN body) > 0)",
                &[&buyer_id.as_str(), &texts],
            )
            .await?;
        let erasure = Erasure {
            buyer_id: buyer_id.as_str().to_owned(),
            returns_rebuilt: return_ids.len(),
            values_erased,
            answers_dropped,
            erased_at: now,
        };
        let event = NewEvent::new(
            "personal_data.erased",
            1,
            serde_json::json!({
                "subject_role": "buyer",
                "subject_id": erasure.buyer_id,
                "returns_rebuilt": erasure.returns_rebuilt,
                "values_erased": erasure.values_erased,
                "answers_dropped": erasure.answers_dropped,
            }),
        );
        let metadata = crate::executor::metadata(caller, None, now);
        returns_event_store::append_on(
            &tx,
            &format!("erasure-buyer-{}", buyer_id.as_str()),
            ExpectedVersion::Any,
            &[event],
            &metadata,
        )
        .await?;
        tx.commit().await?;
        self.store.appended().notify_waiters();
        tracing::info!(
            returns = erasure.returns_rebuilt,
            values = erasure.values_erased,
            answers = erasure.answers_dropped,
            "buyer's personal data erased"
        );
        Ok(erasure)
    }

    /// Applies every deadline due at the service clock's `now`, one return per command, as the
    /// `system` actor. Safe with several instances: a command on a return holds its row, and the
    /// domain ignores a deadline that is no longer running. Returns how many were applied.
    pub async fn run_due_deadlines(&self, max: usize) -> Result<usize, AppError> {
        const BATCH: i64 = 100;
        let system = Actor::system();
        let opts = CommandOptions::default();
        let executor = self.executor();
        let mut applied = 0;
        let mut set_aside = 0;
        while applied < max {
            let now = self.now();
            let due = {
                let client = self.store.pool().get().await?;
                client
                    .query(
                        "SELECT return_id, kind FROM deadlines WHERE due_at <= $1 \
                           AND (retry_at IS NULL OR retry_at <= $1) \
                         ORDER BY due_at, return_id, kind LIMIT $2",
                        &[&now, &BATCH],
                    )
                    .await?
            };
            let progress = applied + set_aside;
            for row in &due {
                if applied >= max {
                    break;
                }
                let id: Uuid = row.try_get(0)?;
                let kind: String = row.try_get(1)?;
                let Ok(kind) = DeadlineKind::from_str(&kind) else {
                    // Of a kind this binary does not know: left for the binary that wrote it.
                    tracing::warn!(return_id = %id, %kind, "deadline of an unknown kind skipped");
                    continue;
                };
                let command = ApplyDeadlineCommand {
                    return_id: ReturnId::from_uuid(id),
                    kind,
                };
                match executor
                    .execute(&system, &opts, &command, &|_: &bool| {
                        StoredResponse::default()
                    })
                    .await
                {
                    Ok(answer) => applied += usize::from(answer.fresh() == Some(true)),
                    // The database is away: the whole round stops and the scheduler backs off.
                    Err(e @ AppError::Unavailable(_)) => return Err(e),
                    // Anything else is this deadline's own failure: it is set aside with a
                    // back-off, and the others go on.
                    Err(e) => {
                        tracing::error!(return_id = %id, kind = kind.as_str(), error = %e, "deadline not applied; set aside");
                        metrics::counter!("deadline_failures_total", "kind" => kind.as_str())
                            .increment(1);
                        self.set_deadline_aside(id, kind, now, e.code()).await?;
                        set_aside += 1;
                    }
                }
            }
            // Another batch only while this one was full and something happened: rows that were
            // stale are gone now, and rows not yet due by their return's own time wait for the
            // next call.
            if due.len() < BATCH as usize || applied + set_aside == progress {
                break;
            }
        }
        Ok(applied)
    }

    /// Records that a deadline's command failed: it is tried again after one minute, doubling
    /// with each failure up to six hours (service time).
    async fn set_deadline_aside(
        &self,
        return_id: Uuid,
        kind: DeadlineKind,
        now: DateTime<Utc>,
        code: &str,
    ) -> Result<(), AppError> {
        let client = self.store.pool().get().await?;
        client
            .execute(
                "UPDATE deadlines SET attempts = attempts + 1, last_error = $4, \
                     retry_at = $3::timestamptz + least(interval '1 minute' * power(2, least(attempts, 20)), \
                                          interval '6 hours') \
                 WHERE return_id = $1 AND kind = $2",
                &[&return_id, &kind.as_str(), &now, &code],
            )
            .await?;
        Ok(())
    }
}

/// A return's current state, when `caller` may see it (someone else's is not found, exactly like
/// an unknown id).
async fn visible_return<C: GenericClient + Sync>(
    client: &C,
    caller: &Actor,
    id: ReturnId,
) -> Result<ReturnCase, AppError> {
    let (case, _) = views::load::<ReturnCase, _>(client, &return_stream(*id.as_uuid()), false)
        .await?
        .ok_or(AppError::NotFound)?;
    if !can_see(&case, caller) {
        return Err(AppError::NotFound);
    }
    Ok(case)
}

/// Whose disputes to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Me,
    Nobody,
    Anyone,
}

/// Which open disputes to list (`GET /v1/disputes`).
#[derive(Debug, Clone)]
pub struct DisputeFilter {
    pub assignee: Assignee,
    /// One seller's disputes only.
    pub seller_id: Option<String>,
    /// Only disputes escalated (or, when appealed, appealed) before this time: older than an age.
    pub escalated_before: Option<DateTime<Utc>>,
    /// Only disputes whose decision was due before this time (overdue at that time).
    pub due_before: Option<DateTime<Utc>>,
}

impl DisputeFilter {
    /// The disputes of `assignee`, of any seller and age.
    pub fn assigned(assignee: Assignee) -> DisputeFilter {
        DisputeFilter {
            assignee,
            seller_id: None,
            escalated_before: None,
            due_before: None,
        }
    }
}

/// What arbitration recommends for `case` now, from its history, the policy it is judged by and
/// the confirmed abuse flags of its buyer and seller.
pub(crate) async fn recommend_now<C: GenericClient + Sync>(
    store: &EventStore,
    client: &C,
    case: &ReturnCase,
    order: &Order,
    policy: &SellerPolicy,
    now: DateTime<Utc>,
) -> Result<returns_arbitration::Recommendation, AppError> {
    let history = history_of(store, client, case.id).await?;
    let mut parties = crate::flags::standing(
        client,
        case.buyer_id.as_str(),
        case.seller_id.as_str(),
        policy.returnless_refund_max_minor,
    )
    .await?;
    parties.order_delivered_at = order.delivered_at;
    Ok(returns_arbitration::recommend(
        &history, case, &parties, now,
    ))
}

/// A return's events with their global positions, personal data put back, as domain events.
async fn history_of<C: GenericClient + Sync>(
    store: &EventStore,
    client: &C,
    id: ReturnId,
) -> Result<Vec<(i64, ReturnEvent)>, AppError> {
    let stream = return_stream(*id.as_uuid());
    let mut recorded = store.read_stream_in(client, &stream, 1, 100_000).await?;
    personal::rehydrate(client, &mut recorded).await?;
    recorded
        .iter()
        .map(|e| {
            let event = ReturnEvent::from_stored(&e.event_type, e.schema_version, e.json()?)
                .map_err(|err| AppError::Internal(format!("{stream} v{}: {err}", e.version)))?;
            Ok((e.position, event))
        })
        .collect()
}
