//! Return cases: opened by buyers, acted on by sellers, buyers, operators, the platform and the
//! deadline scheduler (docs/api.md, "Returns"). A decision may also append to the order's stream
//! (the quantities it reserves or releases), in the same transaction.

use chrono::{DateTime, Utc};
use returns_domain::credit::CreditAccount;
use returns_domain::methods::{drop_off_code, MethodRequest};
use returns_domain::order::ItemRequest;
use returns_domain::policy::PolicySet;
use returns_domain::returns::{
    can_see, decide, ApplyDeadline, Context, DeadlineKind, Decision, OpenReturn,
    RecommendationShown, ReturnCommand,
};
use returns_domain::{
    Actor, Evidence, Order, OrderId, Reason, Resolution, ReturnCase, ReturnEvent, ReturnId, Rma,
    SellerPolicy,
};
use returns_event_store::{EventStore, GenericClient, NewEvent};
use tokio_postgres::Row;
use uuid::Uuid;

use super::credit::{ledger_at, CreditAggregate, LEDGER_OF_RETURN_SQL};
use super::order::{may_see_order, OrderAggregate};
use super::{first, snapshot_at};
use crate::error::AppError;
use crate::executor::{Aggregate, Command, Cx, Sql, Writes};
use crate::personal::{self, PersonalValue};
use crate::views::{self, order_stream, return_stream};

pub(crate) struct ReturnAggregate;

impl Aggregate for ReturnAggregate {
    type State = ReturnCase;
    type Event = ReturnEvent;

    fn stream_id(state: &ReturnCase) -> String {
        return_stream(*state.id.as_uuid())
    }

    fn evolve(state: Option<ReturnCase>, event: &ReturnEvent) -> Option<ReturnCase> {
        returns_domain::evolve(state, event)
    }

    /// Free text stays out of the immutable log (see `personal`).
    fn encode(events: &[ReturnEvent]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
        personal::split(events)
    }

    fn data_subject(state: &ReturnCase) -> (&'static str, &str) {
        ("buyer", state.buyer_id.as_str())
    }

    fn views(state: &ReturnCase, writes: &mut Writes) {
        writes.extend(views::index_return(state));
    }
}

/// The policy set a return on the order in `row` is judged by, from the column `at`: the version
/// current when the order was registered (`None` in SQL for version 0, the default policy).
fn policy_at(order: &Order, row: &Row, at: usize) -> Result<SellerPolicy, AppError> {
    if order.policy_version == 0 {
        return Ok(SellerPolicy::default());
    }
    let set: Option<tokio_postgres::types::Json<PolicySet>> = row.try_get(at)?;
    match set {
        Some(tokio_postgres::types::Json(set)) if set.policy_version == order.policy_version => {
            Ok(set.policy)
        }
        _ => Err(AppError::Internal(
            "the order's policy version is missing".into(),
        )),
    }
}

/// The policy version an order is judged by, read beside the order `o` without decoding every
/// version of the seller's policy (`versions[n - 1]` is version `n`).
macro_rules! policy_of_order {
    () => {
        "(SELECT p.state -> 'versions' -> ((o.state ->> 'policy_version')::int - 1) \
          FROM snapshots p WHERE p.stream_id = 'policy-' || (o.state ->> 'seller_id') \
            AND (o.state ->> 'policy_version')::int > 0)"
    };
}

/// The order to open a return on (locked: the return reserves its quantities), the policy it is
/// judged by, and whether its buyer is under a confirmed abuse flag.
const OPEN_LOAD_SQL: &str = concat!(
    "SELECT o.state, o.version, ",
    policy_of_order!(),
    ", EXISTS (SELECT 1 FROM abuse_flags f WHERE f.party_role = 'buyer' \
         AND f.party_id = o.state ->> 'buyer_id' AND f.status = 'confirmed') \
     FROM snapshots o WHERE o.stream_id = $1 FOR UPDATE OF o"
);

/// A return, its order and the policy it is judged by.
macro_rules! case_select {
    () => {
        concat!(
            "SELECT r.state, r.version, o.state, o.version, ",
            policy_of_order!(),
            " FROM snapshots r \
              JOIN snapshots o ON o.stream_id = 'order-' || (r.state ->> 'order_id') \
              WHERE r.stream_id = $1"
        )
    };
}

/// [`case_select`] for a command: the return and the order locked.
const CASE_LOAD_SQL: &str = concat!(case_select!(), " FOR UPDATE OF r, o");

/// [`case_select`] for a query.
const CASE_READ_SQL: &str = case_select!();

/// The body of `POST /v1/returns`, parsed.
#[derive(Debug, Clone)]
pub struct OpenReturnRequest {
    pub order_id: OrderId,
    pub items: Vec<ItemRequest>,
    pub reason: Reason,
    pub description: Option<String>,
    pub resolution: Resolution,
    pub evidence: Vec<Evidence>,
    /// How the item is to go back; the policy's default when absent.
    pub return_method: Option<MethodRequest>,
}

/// What a decision on a return needs.
pub(crate) struct CaseFacts {
    case: Option<(ReturnCase, u64)>,
    order: (Order, u64),
    policy: SellerPolicy,
    buyer_flagged: bool,
    /// The buyer's store-credit ledger, loaded (and locked) for a refund only.
    ledger: Option<(CreditAccount, u64)>,
}

impl CaseFacts {
    /// What the domain decides with.
    fn context<'a>(&'a self, cx: &'a Cx) -> Context<'a> {
        Context {
            now: cx.now,
            actor: &cx.caller,
            order: &self.order.0,
            policy: &self.policy,
            buyer_flagged: self.buyer_flagged,
        }
    }
}

/// Records a return decision: the return's events and the order's, each on its stream.
fn record(
    facts: CaseFacts,
    decision: Decision,
    cx: &Cx,
    writes: &mut Writes,
) -> Result<Option<ReturnCase>, AppError> {
    let (case, version) = facts.case.map_or((None, 0), |(c, v)| (Some(c), v));
    let case = writes.record::<ReturnAggregate>(cx, case, version, &decision.return_events)?;
    let (order, order_version) = facts.order;
    writes.record::<OrderAggregate>(cx, Some(order), order_version, &decision.order_events)?;
    let (ledger, ledger_version) = facts.ledger.map_or((None, 0), |(l, v)| (Some(l), v));
    writes.record::<CreditAggregate>(cx, ledger, ledger_version, &decision.credit_events)?;
    Ok(case)
}

/// `POST /v1/returns`.
pub(crate) struct OpenReturnCommand {
    pub request: OpenReturnRequest,
}

impl Command for OpenReturnCommand {
    type Loaded = CaseFacts;
    type Outcome = ReturnCase;

    fn name(&self) -> &'static str {
        "open"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![Sql::new(
            OPEN_LOAD_SQL,
            vec![Box::new(order_stream(self.request.order_id.as_str()))],
        )]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, cx: &Cx) -> Result<CaseFacts, AppError> {
        let row = first(&rows, 0).ok_or(AppError::NotFound)?;
        let (order, version): (Order, u64) = snapshot_at(row, 0)?;
        if !may_see_order(&order, &cx.caller) {
            return Err(AppError::NotFound);
        }
        let policy = policy_at(&order, row, 2)?;
        let buyer_flagged: bool = row.try_get(3)?;
        Ok(CaseFacts {
            case: None,
            order: (order, version),
            policy,
            buyer_flagged,
            ledger: None,
        })
    }

    fn decide(
        &self,
        facts: CaseFacts,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<ReturnCase, AppError> {
        let request = self.request.clone();
        let command = ReturnCommand::Open(OpenReturn {
            return_id: ReturnId::from_uuid(Uuid::now_v7()),
            rma: Rma::from_entropy(rand::random::<u64>()),
            order_id: request.order_id,
            items: request.items,
            reason: request.reason,
            description: request.description,
            resolution: request.resolution,
            evidence: request.evidence,
            return_method: request.return_method,
            drop_off_code: drop_off_code(rand::random::<u64>()),
        });
        let decision = decide(None, &command, &facts.context(cx))?;
        record(facts, decision, cx, writes)?.ok_or(AppError::NotFound)
    }
}

/// The facts of an existing case as `caller` may see it, from a row of [`case_select`].
fn case_facts(row: Option<&Row>, caller: &Actor) -> Result<CaseFacts, AppError> {
    let row = row.ok_or(AppError::NotFound)?;
    let (case, version): (ReturnCase, u64) = snapshot_at(row, 0)?;
    if !can_see(&case, caller) {
        return Err(AppError::NotFound);
    }
    let (order, order_version): (Order, u64) = snapshot_at(row, 2)?;
    let policy = policy_at(&order, row, 4)?;
    Ok(CaseFacts {
        case: Some((case, version)),
        order: (order, order_version),
        policy,
        buyer_flagged: false,
        ledger: None,
    })
}

/// A case and the policy it is judged by, for a query by `caller` (someone else's case: not found).
pub(crate) async fn read_case<C: GenericClient + Sync>(
    client: &C,
    caller: &Actor,
    return_id: ReturnId,
) -> Result<(ReturnCase, Order, SellerPolicy), AppError> {
    let stmt = client.prepare_cached(CASE_READ_SQL).await?;
    let row = client
        .query_opt(&stmt, &[&return_stream(*return_id.as_uuid())])
        .await?;
    let facts = case_facts(row.as_ref(), caller)?;
    let (case, _) = facts.case.ok_or(AppError::NotFound)?;
    Ok((case, facts.order.0, facts.policy))
}

/// A page of a seller's returns created in `[$2, $3)`, after the `(created_at, return_id)` cursor
/// `($4, $5)` when given, oldest first, each with its order and the policy it is judged by (the
/// columns of [`case_select`]), then its `created_at` and id.
const SELLER_CASES_SQL: &str = concat!(
    "SELECT r.state, r.version, o.state, o.version, ",
    policy_of_order!(),
    ", i.created_at, i.return_id \
     FROM return_index i \
     JOIN snapshots r ON r.stream_id = 'return-' || i.return_id::text \
     JOIN snapshots o ON o.stream_id = 'order-' || i.order_id \
     WHERE i.seller_id = $1 AND i.created_at >= $2 AND i.created_at < $3 \
       AND ($4::timestamptz IS NULL OR (i.created_at, i.return_id) > ($4, $5)) \
     ORDER BY i.created_at, i.return_id LIMIT $6"
);

/// A seller's returns created in `[from, to)`, oldest first, a page at a time: each case with its
/// order and the policy it is judged by, and the cursor of the next page when one may follow.
pub(crate) async fn seller_cases<C: GenericClient + Sync>(
    client: &C,
    caller: &Actor,
    seller_id: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<SellerCases, AppError> {
    let stmt = client.prepare_cached(SELLER_CASES_SQL).await?;
    let (after_at, after_id) = after.map_or((None, Uuid::nil()), |(t, id)| (Some(t), id));
    let rows = client
        .query(
            &stmt,
            &[&seller_id, &from, &to, &after_at, &after_id, &limit],
        )
        .await?;
    let mut cases = Vec::with_capacity(rows.len());
    let mut next = None;
    for row in &rows {
        let facts = case_facts(Some(row), caller)?;
        let (case, _) = facts.case.ok_or(AppError::NotFound)?;
        next = Some((row.try_get(5)?, row.try_get(6)?));
        cases.push((case, facts.order.0, facts.policy));
    }
    let full = i64::try_from(rows.len()).is_ok_and(|n| n >= limit);
    Ok(SellerCases {
        cases,
        next: if full { next } else { None },
    })
}

/// A page of [`seller_cases`].
pub(crate) struct SellerCases {
    pub cases: Vec<(ReturnCase, Order, SellerPolicy)>,
    pub next: Option<(DateTime<Utc>, Uuid)>,
}

fn case_load(return_id: ReturnId) -> Vec<Sql> {
    vec![Sql::new(
        CASE_LOAD_SQL,
        vec![Box::new(return_stream(*return_id.as_uuid()))],
    )]
}

/// `POST /v1/returns/{id}/<action>`.
pub(crate) struct ReturnActionCommand {
    pub return_id: ReturnId,
    pub command: ReturnCommand,
}

impl Command for ReturnActionCommand {
    type Loaded = (CaseFacts, Option<RecommendationShown>);
    type Outcome = ReturnCase;

    fn name(&self) -> &'static str {
        self.command.action().as_str()
    }

    /// A refund may credit the buyer's store-credit ledger: it is read (and locked) in the same
    /// round trip.
    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        let mut load = case_load(self.return_id);
        if matches!(self.command, ReturnCommand::Refund(_)) {
            load.push(Sql::new(
                LEDGER_OF_RETURN_SQL,
                vec![Box::new(return_stream(*self.return_id.as_uuid()))],
            ));
        }
        load
    }

    fn parse(&self, rows: Vec<Vec<Row>>, cx: &Cx) -> Result<Self::Loaded, AppError> {
        let mut facts = case_facts(first(&rows, 0), &cx.caller)?;
        facts.ledger = ledger_at(first(&rows, 1))?;
        Ok((facts, None))
    }

    /// A dispute decision records the recommendation the operator was shown, recomputed from the
    /// same history, and whether the decision followed it.
    fn enrich<'a>(
        &'a self,
        client: &'a deadpool_postgres::Client,
        store: &'a EventStore,
        (facts, _): Self::Loaded,
        cx: &'a Cx,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Loaded, AppError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let ReturnCommand::Decide(decide) = &self.command else {
                return Ok((facts, None));
            };
            let Some((case, _)) = &facts.case else {
                return Ok((facts, None));
            };
            if case.status.as_str() != "escalated" {
                return Ok((facts, None));
            }
            let shown = crate::service::recommend_now(
                store,
                client,
                case,
                &facts.order.0,
                &facts.policy,
                cx.now,
            )
            .await?;
            let followed = shown.is_followed_by(
                decide.outcome,
                decide.refund_amount_minor,
                decide.return_required,
                decide.funded_by,
            );
            let rules = shown
                .reasons
                .iter()
                .map(|r| serde_json::to_value(r.rule).map(|v| v.as_str().unwrap_or("").to_owned()))
                .collect::<Result<_, _>>()?;
            let recorded = RecommendationShown {
                outcome: shown.outcome,
                refund_amount_minor: shown.refund_amount_minor,
                return_required: shown.return_required,
                funded_by: shown.funded_by,
                rules,
                followed,
            };
            Ok((facts, Some(recorded)))
        })
    }

    fn decide(
        &self,
        (facts, shown): Self::Loaded,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<ReturnCase, AppError> {
        let version = facts.case.as_ref().map_or(0, |(_, v)| *v);
        cx.opts.expect_version(version)?;
        // What the service adds to a command: the recommendation a decision was shown, the
        // drop-off code of a relay point.
        let attached;
        let command = match (&self.command, shown) {
            (ReturnCommand::Decide(decide), Some(shown)) => {
                let mut decide = decide.clone();
                decide.recommendation = Some(shown);
                attached = ReturnCommand::Decide(decide);
                &attached
            }
            (ReturnCommand::ChooseMethod(choose), _) => {
                let mut choose = choose.clone();
                choose.drop_off_code = drop_off_code(rand::random::<u64>());
                attached = ReturnCommand::ChooseMethod(choose);
                &attached
            }
            (command, _) => command,
        };
        let case = facts.case.as_ref().map(|(c, _)| c);
        let decision = decide(case, command, &facts.context(cx))?;
        if decision.is_empty() {
            return facts.case.map(|(c, _)| c).ok_or(AppError::NotFound);
        }
        record(facts, decision, cx, writes)?.ok_or(AppError::NotFound)
    }
}

/// A deadline of `kind` that fell due on a return, applied by the scheduler. The due time is taken
/// from the return's own state: the `deadlines` row is an index at the database's precision, the
/// state is what the domain compares. A deadline that is no longer running changes nothing but the
/// return's rows in `deadlines`, which are brought in step with its state.
pub(crate) struct ApplyDeadlineCommand {
    pub return_id: ReturnId,
    pub kind: DeadlineKind,
}

impl Command for ApplyDeadlineCommand {
    type Loaded = CaseFacts;
    type Outcome = bool;

    fn name(&self) -> &'static str {
        "apply-deadline"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        case_load(self.return_id)
    }

    fn parse(&self, rows: Vec<Vec<Row>>, cx: &Cx) -> Result<CaseFacts, AppError> {
        case_facts(first(&rows, 0), &cx.caller)
    }

    fn decide(&self, facts: CaseFacts, cx: &Cx, writes: &mut Writes) -> Result<bool, AppError> {
        let Some((case, _)) = &facts.case else {
            return Err(AppError::NotFound);
        };
        let decision = match case.deadlines.get(self.kind) {
            Some(due_at) => {
                let command = ReturnCommand::ApplyDeadline(ApplyDeadline {
                    kind: self.kind,
                    due_at,
                });
                decide(Some(case), &command, &facts.context(cx))?
            }
            None => Decision::default(),
        };
        if decision.is_empty() {
            // No longer running, or not yet due by the state's own time: the return's rows in
            // `deadlines` are brought in step with its state.
            ReturnAggregate::views(case, writes);
            return Ok(false);
        }
        record(facts, decision, cx, writes)?;
        Ok(true)
    }
}
