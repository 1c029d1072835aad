//! The command and query services over the event store and the command-side views.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use returns_domain::order::{self, OrderCommand, OrderDetails, RecordDelivery, RegisterOrder};
use returns_domain::policy::{self, PolicyState, SetPolicy};
use returns_domain::returns::{
    can_see, decide, ApplyDeadline, Context, DeadlineKind, Decision, OpenReturn,
    RecommendationShown, ReturnCommand,
};
use returns_domain::{
    Actor, BuyerId, Order, OrderEvent, OrderId, ReturnCase, ReturnEvent, ReturnId, Rma, Role,
    SellerId, SellerPolicy,
};
use returns_event_store::{
    ActorRef, EventStore, ExpectedVersion, GenericClient, Metadata, NewEvent, RecordedEvent,
    Transaction,
};
use tokio_postgres::types::Json;
use tracing::instrument;
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::personal;
use crate::views::{self, order_stream, policy_stream, return_stream};

/// How often a command is run again when a concurrent command on the same new stream won the race
/// (for example two first registrations of one order): the second run sees the first's result.
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

/// The answer of a command: new, or the stored answer of an earlier request with the same
/// idempotency key.
#[derive(Debug)]
pub enum Answered<T> {
    Fresh(T),
    Replayed(StoredResponse),
}

/// Filters of the return list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    pub status: Option<String>,
    pub order_id: Option<String>,
    pub buyer_id: Option<String>,
    pub seller_id: Option<String>,
    /// Continue after this (created_at, id), newest first.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: usize,
}

#[derive(Debug)]
pub struct ReturnPage {
    pub items: Vec<ReturnCase>,
    /// Where the next page starts, when there may be one.
    pub next: Option<(DateTime<Utc>, Uuid)>,
}

#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<RecordedEvent>,
}

/// What every command's work needs, handed to it by [`Service::command`].
pub(crate) struct Cx {
    pub(crate) store: EventStore,
    pub(crate) caller: Actor,
    pub(crate) opts: CommandOptions,
    /// The service clock when the request arrived.
    pub(crate) now: DateTime<Utc>,
}

/// The command side of the service. Cheap to clone.
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

pub(crate) fn metadata(actor: &Actor, opts: &CommandOptions, now: DateTime<Utc>) -> Metadata {
    Metadata {
        actor: ActorRef {
            role: actor.role.as_str().to_owned(),
            id: actor.id.clone(),
        },
        correlation_id: opts.correlation_id.unwrap_or_else(Uuid::now_v7),
        causation_id: None,
        occurred_at: now,
    }
}

fn to_new_events<'a>(
    events: impl IntoIterator<Item = (&'static str, u32, serde_json::Value)> + 'a,
) -> Vec<NewEvent> {
    events
        .into_iter()
        .map(|(t, v, data)| NewEvent::new(t, v, data))
        .collect()
}

fn order_new_events(events: &[OrderEvent]) -> Vec<NewEvent> {
    to_new_events(
        events
            .iter()
            .map(|e| (e.event_type(), e.schema_version(), e.to_data())),
    )
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

    /// Runs `work` in a transaction with the idempotency protocol around it, retrying when a
    /// concurrent command on the same new stream won the race. `work` gets the transaction and
    /// what every command needs ([`Cx`]); it may run more than once.
    pub(crate) async fn command<T, W, R>(
        &self,
        name: &'static str,
        caller: &Actor,
        opts: &CommandOptions,
        work: W,
        render: R,
    ) -> Result<Answered<T>, AppError>
    where
        W: for<'t> Fn(
            &'t Transaction<'t>,
            Cx,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, AppError>> + Send + 't>,
        >,
        R: Fn(&T) -> StoredResponse,
    {
        let result = self.command_attempts(caller, opts, work, render).await;
        let outcome = match &result {
            Ok(Answered::Fresh(_)) => "ok",
            Ok(Answered::Replayed(_)) => "replayed",
            Err(AppError::Rejected(r)) => r.code(),
            Err(AppError::NotFound) => "not_found",
            Err(AppError::VersionConflict { .. }) => "version_conflict",
            Err(AppError::IdempotencyKeyReused) => "idempotency_key_reused",
            Err(AppError::Unavailable(_)) => "unavailable",
            Err(AppError::RmaTaken | AppError::Internal(_)) => "error",
        };
        metrics::counter!("commands_total", "command" => name, "outcome" => outcome).increment(1);
        result
    }

    async fn command_attempts<T, W, R>(
        &self,
        caller: &Actor,
        opts: &CommandOptions,
        work: W,
        render: R,
    ) -> Result<Answered<T>, AppError>
    where
        W: for<'t> Fn(
            &'t Transaction<'t>,
            Cx,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, AppError>> + Send + 't>,
        >,
        R: Fn(&T) -> StoredResponse,
    {
        let now = self.now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = self.store.pool().get().await?;
            let tx = client.transaction().await?;
            if let Some(key) = &opts.idempotency {
                if let Some(stored) = idempotency::claim(&tx, caller, key).await? {
                    tx.rollback().await?;
                    return Ok(Answered::Replayed(stored));
                }
            }
            let cx = Cx {
                store: self.store.clone(),
                caller: caller.clone(),
                opts: opts.clone(),
                now,
            };
            let outcome = match work(&tx, cx).await {
                Ok(value) => value,
                Err(e) => {
                    let _ = tx.rollback().await;
                    let retry = (matches!(e, AppError::VersionConflict { .. })
                        && opts.if_match.is_none())
                        || matches!(e, AppError::RmaTaken);
                    if retry && attempt < CONFLICT_RETRIES {
                        continue;
                    }
                    return Err(e);
                }
            };
            if let Some(key) = &opts.idempotency {
                idempotency::store(&tx, caller, key, &render(&outcome)).await?;
            }
            tx.commit().await?;
            self.store.appended().notify_waiters();
            return Ok(Answered::Fresh(outcome));
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
        R: Fn(&(Order, bool)) -> StoredResponse,
    {
        self.command(
            "register-order",
            caller,
            opts,
            move |tx, cx| {
                let Cx {
                    store,
                    caller,
                    opts,
                    now,
                } = cx;
                let details = details.clone();
                Box::pin(async move {
                    let stream = order_stream(details.order_id.as_str());
                    let existing = views::load::<Order, _>(tx, &stream, true).await?;
                    let policy_version = views::load::<PolicyState, _>(
                        tx,
                        &policy_stream(details.seller_id.as_str()),
                        false,
                    )
                    .await?
                    .map_or(0, |(p, _)| p.current_version());
                    let command = OrderCommand::Register(RegisterOrder {
                        order: details,
                        policy_version,
                    });
                    let (state, version) = match existing {
                        Some((o, v)) => (Some(o), v),
                        None => (None, 0),
                    };
                    let events = order::decide(state.as_ref(), &command, &caller, now)?;
                    if events.is_empty() {
                        let order = state.ok_or_else(|| AppError::Internal("no order".into()))?;
                        return Ok((order, false));
                    }
                    let order = append_order(
                        &store, tx, &stream, state, version, &events, &caller, &opts, now,
                    )
                    .await?;
                    Ok((order, true))
                })
            },
            render,
        )
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
        R: Fn(&Order) -> StoredResponse,
    {
        self.command(
            "record-delivery",
            caller,
            opts,
            move |tx, cx| {
                let Cx {
                    store,
                    caller,
                    opts,
                    now,
                } = cx;
                let order_id = order_id.clone();
                Box::pin(async move {
                    let stream = order_stream(order_id.as_str());
                    let (order, version) = views::load::<Order, _>(tx, &stream, true)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    if !may_see_order(&order, &caller) {
                        return Err(AppError::NotFound);
                    }
                    expect_version(&opts, version)?;
                    let command = OrderCommand::RecordDelivery(RecordDelivery { delivered_at });
                    let events = order::decide(Some(&order), &command, &caller, now)?;
                    if events.is_empty() {
                        return Ok(order);
                    }
                    append_order(
                        &store,
                        tx,
                        &stream,
                        Some(order),
                        version,
                        &events,
                        &caller,
                        &opts,
                        now,
                    )
                    .await
                })
            },
            render,
        )
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
        R: Fn(&(SellerPolicy, u64)) -> StoredResponse,
    {
        self.command(
            "set-policy",
            caller,
            opts,
            move |tx, cx| {
                let Cx {
                    store,
                    caller,
                    opts,
                    now,
                } = cx;
                let seller_id = seller_id.clone();
                let policy = policy.clone();
                Box::pin(async move {
                    let stream = policy_stream(seller_id.as_str());
                    let (state, version) =
                        match views::load::<PolicyState, _>(tx, &stream, true).await? {
                            Some((s, v)) => (Some(s), v),
                            None => (None, 0),
                        };
                    let command = SetPolicy { seller_id, policy };
                    let events = policy::decide(state.as_ref(), &command, &caller, now)?;
                    let mut state = state;
                    if !events.is_empty() {
                        let new = to_new_events(
                            events
                                .iter()
                                .map(|e| (e.event_type(), e.schema_version(), e.to_data())),
                        );
                        let written = store
                            .append_in(
                                tx,
                                &stream,
                                ExpectedVersion::from_version(version),
                                &new,
                                &metadata(&caller, &opts, now),
                            )
                            .await?;
                        state = events.iter().fold(state, policy::evolve);
                        if let Some(s) = &state {
                            views::save(tx, &stream, written.stream_version, s).await?;
                        }
                    }
                    Ok(match state {
                        Some(s) => (s.current(), s.current_version()),
                        None => (command.policy, 0),
                    })
                })
            },
            render,
        )
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
        R: Fn(&ReturnCase) -> StoredResponse,
    {
        self.command(
            "open",
            caller,
            opts,
            move |tx, cx| {
                let Cx {
                    store,
                    caller,
                    opts,
                    now,
                } = cx;
                let request = request.clone();
                Box::pin(async move {
                    let order_stream_id = order_stream(request.order_id.as_str());
                    let (order, order_version) =
                        views::load::<Order, _>(tx, &order_stream_id, true)
                            .await?
                            .ok_or(AppError::NotFound)?;
                    if !may_see_order(&order, &caller) {
                        return Err(AppError::NotFound);
                    }
                    let policy = policy_at(tx, &order).await?;
                    let buyer_flagged =
                        crate::flags::buyer_flagged(tx, order.buyer_id.as_str()).await?;
                    let command = ReturnCommand::Open(OpenReturn {
                        return_id: ReturnId::from_uuid(Uuid::now_v7()),
                        rma: Rma::from_entropy(rand::random::<u64>()),
                        order_id: request.order_id,
                        items: request.items,
                        reason: request.reason,
                        description: request.description,
                        resolution: request.resolution,
                        evidence: request.evidence,
                    });
                    let ctx = Context {
                        now,
                        actor: &caller,
                        order: &order,
                        policy: &policy,
                        buyer_flagged,
                    };
                    let decision = decide(None, &command, &ctx)?;
                    apply_return_decision(
                        &store,
                        tx,
                        None,
                        (order, order_version),
                        decision,
                        &caller,
                        &opts,
                        now,
                    )
                    .await
                })
            },
            render,
        )
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
        R: Fn(&ReturnCase) -> StoredResponse,
    {
        self.command(
            command.action().as_str(),
            caller,
            opts,
            move |tx, cx| {
                let Cx {
                    store,
                    caller,
                    opts,
                    now,
                } = cx;
                let command = command.clone();
                Box::pin(async move {
                    act_in(&store, tx, &caller, return_id, &command, &opts, now).await
                })
            },
            render,
        )
        .await
    }

    /// `GET /v1/returns/{id}`.
    pub async fn get_return(&self, caller: &Actor, id: ReturnId) -> Result<ReturnCase, AppError> {
        let client = self.store.pool().get().await?;
        let (case, _) = views::load::<ReturnCase, _>(&client, &return_stream(*id.as_uuid()), false)
            .await?
            .ok_or(AppError::NotFound)?;
        if !can_see(&case, caller) {
            return Err(AppError::NotFound);
        }
        Ok(case)
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
    pub async fn return_events(&self, caller: &Actor, id: ReturnId) -> Result<EventPage, AppError> {
        self.get_return(caller, id).await?;
        let client = self.store.pool().get().await?;
        let mut events = self
            .store
            .read_stream_in(&client, &return_stream(*id.as_uuid()), 1, 10_000)
            .await?;
        personal::rehydrate(&client, &mut events).await?;
        Ok(EventPage { events })
    }

    /// `GET /v1/disputes`: open disputes (escalated returns), the most urgent decision first.
    pub async fn disputes(
        &self,
        caller: &Actor,
        assignee: Assignee,
        limit: usize,
    ) -> Result<Vec<ReturnCase>, AppError> {
        if caller.role != Role::Operator {
            return Err(AppError::Rejected(returns_domain::Rejection::Forbidden {
                action: "list-disputes",
                role: caller.role,
            }));
        }
        let filter = match assignee {
            Assignee::Me => "me",
            Assignee::Nobody => "none",
            Assignee::Anyone => "any",
        };
        let client = self.store.pool().get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT s.state FROM return_index r \
                 JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
                 WHERE r.status = 'escalated' \
                   AND ($1 = 'any' \
                        OR ($1 = 'none' AND s.state -> 'dispute' ->> 'assignee' IS NULL) \
                        OR ($1 = 'me' AND s.state -> 'dispute' ->> 'assignee' = $2)) \
                 ORDER BY (s.state -> 'dispute' ->> 'decision_due')::timestamptz, r.return_id \
                 LIMIT $3",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&filter, &caller.id, &(limit.clamp(1, 200) as i64)])
            .await?;
        rows.iter()
            .map(|row| {
                let Json(case): Json<ReturnCase> = row.try_get(0)?;
                Ok(case)
            })
            .collect()
    }

    /// `GET /v1/returns/{id}/recommendation` (operators): what arbitration recommends for the case
    /// as it stands, computed from its history.
    pub async fn recommendation(
        &self,
        caller: &Actor,
        id: ReturnId,
    ) -> Result<returns_arbitration::Recommendation, AppError> {
        let case = self.get_return(caller, id).await?;
        if caller.role != Role::Operator {
            return Err(AppError::Rejected(returns_domain::Rejection::Forbidden {
                action: "read-recommendation",
                role: caller.role,
            }));
        }
        let client = self.store.pool().get().await?;
        let (order, _) =
            views::load::<Order, _>(&client, &order_stream(case.order_id.as_str()), false)
                .await?
                .ok_or_else(|| AppError::Internal("the return's order is missing".into()))?;
        let policy = policy_at(&client, &order).await?;
        recommend_now(&self.store, &client, &case, &policy, self.now()).await
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

    /// Erases a buyer's personal data: the free text of all their returns becomes tombstones, the
    /// views of those returns are rebuilt from the log without it, and stored idempotent answers
    /// (which may quote it) are dropped. The case histories stay whole. Returns how many returns
    /// were rebuilt.
    #[instrument(skip_all)]
    pub async fn erase_buyer(&self, buyer_id: &BuyerId) -> Result<usize, AppError> {
        let mut client = self.store.pool().get().await?;
        let tx = client.transaction().await?;
        personal::tombstone(&tx, buyer_id.as_str()).await?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE caller_role = 'buyer' AND caller_id = $1",
            &[&buyer_id.as_str()],
        )
        .await?;
        let rows = tx
            .query(
                "SELECT return_id FROM return_index WHERE buyer_id = $1 FOR UPDATE",
                &[&buyer_id.as_str()],
            )
            .await?;
        for row in &rows {
            let id: Uuid = row.try_get(0)?;
            let stream = return_stream(id);
            // Lock the snapshot so that no command updates it from the old text meanwhile.
            views::load::<serde_json::Value, _>(&tx, &stream, true).await?;
            let history = history_of(&self.store, &tx, ReturnId::from_uuid(id)).await?;
            let case = history
                .iter()
                .fold(None, |case, (_, event)| returns_domain::evolve(case, event));
            let case = case.ok_or_else(|| AppError::Internal(format!("{stream} is empty")))?;
            views::save(&tx, &stream, case.version, &case).await?;
        }
        tx.commit().await?;
        tracing::info!(returns = rows.len(), "buyer's personal data erased");
        Ok(rows.len())
    }

    /// Applies every deadline due at the service clock's `now`, one return per transaction, as
    /// the `system` actor. Safe with several instances: due rows are taken with SKIP LOCKED and
    /// the domain ignores a deadline that is no longer running. Returns how many were applied.
    pub async fn run_due_deadlines(&self, max: usize) -> Result<usize, AppError> {
        let system = Actor::system();
        let opts = CommandOptions::default();
        let mut applied = 0;
        while applied < max {
            let now = self.now();
            let mut client = self.store.pool().get().await?;
            let tx = client.transaction().await?;
            // The due time is taken from the return's own state, not from the row: the row is
            // an index at the database's precision, the state is what the domain compares.
            let due = tx
                .query_opt(
                    "SELECT d.return_id, d.kind, d.due_at, \
                            s.state -> 'deadlines' ->> d.kind \
                     FROM deadlines d \
                     JOIN snapshots s ON s.stream_id = 'return-' || d.return_id::text \
                     WHERE d.due_at <= $1 \
                     ORDER BY d.due_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
                    &[&now],
                )
                .await?;
            let Some(row) = due else {
                tx.rollback().await?;
                break;
            };
            let id: Uuid = row.try_get(0)?;
            let kind: String = row.try_get(1)?;
            let row_due_at: DateTime<Utc> = row.try_get(2)?;
            let state_due_at: Option<String> = row.try_get(3)?;
            let (Ok(kind), Some(Ok(due_at))) = (
                DeadlineKind::from_str(&kind),
                state_due_at.map(|t| t.parse::<DateTime<Utc>>()),
            ) else {
                // Not running in the state (or of a kind this binary does not know): the row is
                // stale; drop it so the scheduler does not take it again.
                tracing::warn!(return_id = %id, %kind, "stale deadline row dropped");
                drop_deadline_row(&tx, id, &kind, row_due_at).await?;
                tx.commit().await?;
                continue;
            };
            let command = ReturnCommand::ApplyDeadline(ApplyDeadline { kind, due_at });
            match act_in(
                &self.store,
                &tx,
                &system,
                ReturnId::from_uuid(id),
                &command,
                &opts,
                now,
            )
            .await
            {
                Ok(_) => {
                    // A deadline the domain found no longer running leaves its row; drop it so
                    // the scheduler does not take it again.
                    drop_deadline_row(&tx, id, kind.as_str(), row_due_at).await?;
                    tx.commit().await?;
                    applied += 1;
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    tracing::error!(return_id = %id, kind = kind.as_str(), error = %e, "deadline not applied");
                    return Err(e);
                }
            }
        }
        if applied > 0 {
            self.store.appended().notify_waiters();
        }
        Ok(applied)
    }
}

async fn drop_deadline_row(
    tx: &Transaction<'_>,
    id: Uuid,
    kind: &str,
    due_at: DateTime<Utc>,
) -> Result<(), AppError> {
    tx.execute(
        "DELETE FROM deadlines WHERE return_id = $1 AND kind = $2 AND due_at = $3",
        &[&id, &kind, &due_at],
    )
    .await?;
    Ok(())
}

/// Whose disputes to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Me,
    Nobody,
    Anyone,
}

/// `If-Match`: the aggregate must be at the version the caller last saw.
pub(crate) fn expect_version(opts: &CommandOptions, version: u64) -> Result<(), AppError> {
    match opts.if_match {
        Some(seen) if seen != version => Err(AppError::VersionConflict { current: version }),
        _ => Ok(()),
    }
}

/// What arbitration recommends for `case` now, from its history, the policy it is judged by and
/// the confirmed abuse flags of its buyer and seller.
async fn recommend_now<C: GenericClient + Sync>(
    store: &EventStore,
    client: &C,
    case: &ReturnCase,
    policy: &SellerPolicy,
    now: DateTime<Utc>,
) -> Result<returns_arbitration::Recommendation, AppError> {
    let history = history_of(store, client, case.id).await?;
    let parties = crate::flags::standing(
        client,
        case.buyer_id.as_str(),
        case.seller_id.as_str(),
        policy.returnless_refund_max_minor,
    )
    .await?;
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

/// The body of `POST /v1/returns`, parsed.
#[derive(Debug, Clone)]
pub struct OpenReturnRequest {
    pub order_id: OrderId,
    pub items: Vec<returns_domain::order::ItemRequest>,
    pub reason: returns_domain::Reason,
    pub description: Option<String>,
    pub resolution: returns_domain::Resolution,
    pub evidence: Vec<returns_domain::Evidence>,
}

fn may_see_order(order: &Order, actor: &Actor) -> bool {
    match actor.role {
        Role::Platform | Role::Operator | Role::System => true,
        Role::Buyer => order.buyer_id.as_str() == actor.id,
        Role::Seller => order.seller_id.as_str() == actor.id,
    }
}

/// The seller policy a return on `order` is judged by: the version current at registration.
async fn policy_at<C: GenericClient + Sync>(
    client: &C,
    order: &Order,
) -> Result<SellerPolicy, AppError> {
    if order.policy_version == 0 {
        return Ok(SellerPolicy::default());
    }
    let (state, _) =
        views::load::<PolicyState, _>(client, &policy_stream(order.seller_id.as_str()), false)
            .await?
            .ok_or_else(|| AppError::Internal("the order's policy is missing".into()))?;
    state
        .at_version(order.policy_version)
        .ok_or_else(|| AppError::Internal("the order's policy version is missing".into()))
}

#[allow(clippy::too_many_arguments)]
async fn append_order(
    store: &EventStore,
    tx: &Transaction<'_>,
    stream: &str,
    state: Option<Order>,
    version: u64,
    events: &[OrderEvent],
    caller: &Actor,
    opts: &CommandOptions,
    now: DateTime<Utc>,
) -> Result<Order, AppError> {
    let written = store
        .append_in(
            tx,
            stream,
            ExpectedVersion::from_version(version),
            &order_new_events(events),
            &metadata(caller, opts, now),
        )
        .await?;
    let order = events
        .iter()
        .fold(state, order::evolve)
        .ok_or_else(|| AppError::Internal("order events without an order".into()))?;
    views::save(tx, stream, written.stream_version, &order).await?;
    Ok(order)
}

/// One return command inside a transaction of the caller's.
async fn act_in(
    store: &EventStore,
    tx: &Transaction<'_>,
    caller: &Actor,
    return_id: ReturnId,
    command: &ReturnCommand,
    opts: &CommandOptions,
    now: DateTime<Utc>,
) -> Result<ReturnCase, AppError> {
    let stream = return_stream(*return_id.as_uuid());
    let (case, version) = views::load::<ReturnCase, _>(tx, &stream, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if !can_see(&case, caller) {
        return Err(AppError::NotFound);
    }
    expect_version(opts, version)?;
    let (order, order_version) =
        views::load::<Order, _>(tx, &order_stream(case.order_id.as_str()), true)
            .await?
            .ok_or_else(|| AppError::Internal("the return's order is missing".into()))?;
    let policy = policy_at(tx, &order).await?;
    // A decision records the recommendation the operator was shown, recomputed from the same
    // history, and whether the decision followed it.
    let attached;
    let command = match command {
        ReturnCommand::Decide(decide) if case.status.as_str() == "escalated" => {
            let shown = recommend_now(store, tx, &case, &policy, now).await?;
            let followed = shown.is_followed_by(
                decide.outcome,
                decide.refund_amount_minor,
                decide.return_required,
                decide.funded_by,
            );
            let mut decide = decide.clone();
            decide.recommendation = Some(RecommendationShown {
                outcome: shown.outcome,
                refund_amount_minor: shown.refund_amount_minor,
                return_required: shown.return_required,
                funded_by: shown.funded_by,
                rules: shown
                    .reasons
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r.rule).map(|v| v.as_str().unwrap_or("").to_owned())
                    })
                    .collect::<Result<_, _>>()?,
                followed,
            });
            attached = ReturnCommand::Decide(decide);
            &attached
        }
        other => other,
    };
    let ctx = Context {
        now,
        actor: caller,
        order: &order,
        policy: &policy,
        buyer_flagged: false,
    };
    let decision = decide(Some(&case), command, &ctx)?;
    apply_return_decision(
        store,
        tx,
        Some((case, version)),
        (order, order_version),
        decision,
        caller,
        opts,
        now,
    )
    .await
}

/// Appends a decision's events to the return's and the order's streams and updates their views,
/// all in the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn apply_return_decision(
    store: &EventStore,
    tx: &Transaction<'_>,
    case: Option<(ReturnCase, u64)>,
    order: (Order, u64),
    decision: Decision,
    caller: &Actor,
    opts: &CommandOptions,
    now: DateTime<Utc>,
) -> Result<ReturnCase, AppError> {
    let meta = metadata(caller, opts, now);
    let (case, version) = match case {
        Some((c, v)) => (Some(c), v),
        None => (None, 0),
    };
    let mut case = case;
    if !decision.return_events.is_empty() {
        let first = decision.return_events.first();
        let id = match (&case, first) {
            (Some(c), _) => c.id,
            (None, Some(ReturnEvent::ReturnRequested(e))) => e.return_id,
            _ => {
                return Err(AppError::Internal(
                    "a new return must start with its request".into(),
                ))
            }
        };
        let buyer = match (&case, first) {
            (Some(c), _) => c.buyer_id.clone(),
            (None, Some(ReturnEvent::ReturnRequested(e))) => e.buyer_id.clone(),
            _ => {
                return Err(AppError::Internal(
                    "a new return must start with its request".into(),
                ))
            }
        };
        let stream = return_stream(*id.as_uuid());
        // Free text stays out of the immutable log (see `personal`).
        let (new_events, personal_values) = personal::split(&decision.return_events);
        let written = store
            .append_in(
                tx,
                &stream,
                ExpectedVersion::from_version(version),
                &new_events,
                &meta,
            )
            .await?;
        personal::store(tx, buyer.as_str(), &personal_values).await?;
        case = decision
            .return_events
            .iter()
            .fold(case, returns_domain::evolve);
        let updated = case
            .as_ref()
            .ok_or_else(|| AppError::Internal("return events without a return".into()))?;
        views::save(tx, &stream, written.stream_version, updated).await?;
        views::index_return(tx, updated).await?;
    }
    if !decision.order_events.is_empty() {
        let (order_state, order_version) = order;
        let stream = order_stream(order_state.order_id.as_str());
        append_order(
            store,
            tx,
            &stream,
            Some(order_state),
            order_version,
            &decision.order_events,
            caller,
            opts,
            now,
        )
        .await?;
    }
    case.ok_or(AppError::NotFound)
}
