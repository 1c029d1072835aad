//! Orders: facts the marketplace registers (`POST /v1/orders`) and their delivery.

use chrono::{DateTime, Utc};
use returns_domain::order::{self, OrderCommand, OrderDetails, RecordDelivery, RegisterOrder};
use returns_domain::{Actor, Order, OrderEvent, OrderId, Role};
use returns_event_store::NewEvent;
use tokio_postgres::Row;

use super::{first, snapshot_at, SNAPSHOT_LOCKED_SQL};
use crate::error::AppError;
use crate::executor::{Aggregate, Command, Cx, Sql, Writes};
use crate::personal::PersonalValue;
use crate::views::{order_stream, policy_stream};

pub(crate) struct OrderAggregate;

impl Aggregate for OrderAggregate {
    type State = Order;
    type Event = OrderEvent;

    fn stream_id(state: &Order) -> String {
        order_stream(state.order_id.as_str())
    }

    fn evolve(state: Option<Order>, event: &OrderEvent) -> Option<Order> {
        order::evolve(state, event)
    }

    fn encode(events: &[OrderEvent]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
        super::plain_events(events)
    }

    fn data_subject(state: &Order) -> (&'static str, &str) {
        ("buyer", state.buyer_id.as_str())
    }
}

/// Who may see an order: the platform, operators, its buyer and its seller.
pub(crate) fn may_see_order(order: &Order, actor: &Actor) -> bool {
    match actor.role {
        Role::Platform | Role::Operator | Role::System => true,
        Role::Buyer => order.buyer_id.as_str() == actor.id,
        Role::Seller => order.seller_id.as_str() == actor.id,
    }
}

/// The version of a seller's policy in force now (0: never set), without decoding the policies.
const POLICY_VERSION_SQL: &str =
    "SELECT (state -> 'versions' -> -1 ->> 'policy_version')::bigint FROM snapshots \
     WHERE stream_id = $1";

/// `POST /v1/orders`. The outcome's `bool` is true when the order was registered now (201), false
/// when the same body had been registered before (200).
pub(crate) struct RegisterOrderCommand {
    pub details: OrderDetails,
}

impl Command for RegisterOrderCommand {
    type Loaded = (Option<(Order, u64)>, u64);
    type Outcome = (Order, bool);

    fn name(&self) -> &'static str {
        "register-order"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![
            Sql::new(
                SNAPSHOT_LOCKED_SQL,
                vec![Box::new(order_stream(self.details.order_id.as_str()))],
            ),
            Sql::new(
                POLICY_VERSION_SQL,
                vec![Box::new(policy_stream(self.details.seller_id.as_str()))],
            ),
        ]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, _cx: &Cx) -> Result<Self::Loaded, AppError> {
        let order = first(&rows, 0).map(|r| snapshot_at(r, 0)).transpose()?;
        let policy_version = match first(&rows, 1) {
            Some(row) => row.try_get::<_, Option<i64>>(0)?.unwrap_or(0),
            None => 0,
        };
        Ok((order, u64::try_from(policy_version).unwrap_or(0)))
    }

    fn decide(
        &self,
        (existing, policy_version): Self::Loaded,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<Self::Outcome, AppError> {
        let (state, version) = existing.map_or((None, 0), |(o, v)| (Some(o), v));
        let command = OrderCommand::Register(RegisterOrder {
            order: self.details.clone(),
            policy_version,
        });
        let events = order::decide(state.as_ref(), &command, &cx.caller, cx.now)?;
        if events.is_empty() {
            let order = state.ok_or_else(|| AppError::Internal("no order".into()))?;
            return Ok((order, false));
        }
        let order = writes
            .record::<OrderAggregate>(cx, state, version, &events)?
            .ok_or_else(|| AppError::Internal("no order".into()))?;
        Ok((order, true))
    }
}

/// `POST /v1/orders/{order_id}/delivery`.
pub(crate) struct RecordDeliveryCommand {
    pub order_id: OrderId,
    pub delivered_at: DateTime<Utc>,
}

impl Command for RecordDeliveryCommand {
    type Loaded = (Order, u64);
    type Outcome = Order;

    fn name(&self) -> &'static str {
        "record-delivery"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![Sql::new(
            SNAPSHOT_LOCKED_SQL,
            vec![Box::new(order_stream(self.order_id.as_str()))],
        )]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, cx: &Cx) -> Result<Self::Loaded, AppError> {
        let (order, version): (Order, u64) = first(&rows, 0)
            .map(|r| snapshot_at(r, 0))
            .transpose()?
            .ok_or(AppError::NotFound)?;
        if !may_see_order(&order, &cx.caller) {
            return Err(AppError::NotFound);
        }
        Ok((order, version))
    }

    fn decide(
        &self,
        (order, version): Self::Loaded,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<Order, AppError> {
        cx.opts.expect_version(version)?;
        let command = OrderCommand::RecordDelivery(RecordDelivery {
            delivered_at: self.delivered_at,
        });
        let events = order::decide(Some(&order), &command, &cx.caller, cx.now)?;
        writes
            .record::<OrderAggregate>(cx, Some(order), version, &events)?
            .ok_or_else(|| AppError::Internal("no order".into()))
    }
}
