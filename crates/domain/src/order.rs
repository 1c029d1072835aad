//! The order aggregate (one stream per order): the marketplace's facts about a sale, and the
//! bookkeeping that keeps returns of that order within what was bought and paid.
//!
//! The platform registers orders and deliveries. Each return of the order also writes here: its
//! items are reserved when it is opened (`order.return_items_reserved`), released when it closes
//! without a refund (`order.return_items_released`), and its refund is recorded when paid
//! (`order.refund_recorded`). Because every return of an order appends to this one stream with an
//! expected version, two returns opened at the same moment cannot both take the last unit.
//!
//! Invariants: per line, the quantities of open and refunded returns never exceed the quantity
//! bought, and the refunds recorded over all returns never exceed the quantity bought times the
//! unit price.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::error::{Checks, Rejection};
use crate::ids::{BuyerId, LineId, OrderId, ReturnId, SellerId, Sku};
use crate::law::Jurisdiction;
use crate::macros::{stored_events, string_enum};
use crate::money::{Currency, MinorUnits};
use crate::taxonomy::Category;

pub const MAX_LINES: usize = 1000;
pub const MAX_TITLE_LEN: usize = 500;

/// How far in the future a reported time may lie, to absorb clock differences between the
/// marketplace and the service without letting a date from next month extend a window.
pub const CLOCK_SKEW_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// The latest time a report made at `now` may name (`now` plus the clock-skew tolerance).
pub fn latest_reportable(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_add_signed(CLOCK_SKEW_TOLERANCE).unwrap_or(now)
}

/// One line of an order, as the marketplace sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_id: LineId,
    pub sku: Sku,
    pub title: String,
    pub category: Category,
    pub quantity: u32,
    pub unit_price_minor: MinorUnits,
}

/// The body of `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    pub order_id: OrderId,
    pub buyer_id: BuyerId,
    pub seller_id: SellerId,
    pub currency: Currency,
    pub jurisdiction: Jurisdiction,
    pub placed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub lines: Vec<OrderLine>,
}

/// Register an order. `policy_version` is the seller's policy version current at registration,
/// looked up by the caller; it is not part of the body's identity (see `decide`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterOrder {
    pub order: OrderDetails,
    pub policy_version: u64,
}

/// Record (or correct) the delivery of an order to the buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDelivery {
    pub delivered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderCommand {
    Register(RegisterOrder),
    RecordDelivery(RecordDelivery),
}

/// A line and quantity named by a return.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ItemRequest {
    pub line_id: LineId,
    pub quantity: u32,
}

/// An amount attributed to one order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmount {
    pub line_id: LineId,
    pub amount_minor: MinorUnits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRegistered {
    pub order: OrderDetails,
    pub policy_version: u64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDelivered {
    pub delivered_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItemsReserved {
    pub return_id: ReturnId,
    pub items: Vec<ItemRequest>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItemsReleased {
    pub return_id: ReturnId,
    pub at: DateTime<Utc>,
}

/// A return that had released its items holds them again (an appeal reopened it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItemsReclaimed {
    pub return_id: ReturnId,
    pub at: DateTime<Utc>,
}

/// A refund of a return was paid. `amount_minor` is the part that pays back the goods (allocated
/// to lines in `lines`); `bonus_minor` is a store-credit bonus on top, which pays back nothing and
/// so is not held against what was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecorded {
    pub return_id: ReturnId,
    pub amount_minor: MinorUnits,
    pub bonus_minor: MinorUnits,
    pub lines: Vec<LineAmount>,
    pub at: DateTime<Utc>,
}

stored_events! {
    /// Events of the order stream.
    pub enum OrderEvent {
        OrderRegistered(OrderRegistered) = "order.registered",
        OrderDelivered(OrderDelivered) = "order.delivered",
        ReturnItemsReserved(ReturnItemsReserved) = "order.return_items_reserved",
        ReturnItemsReleased(ReturnItemsReleased) = "order.return_items_released",
        RefundRecorded(RefundRecorded) = "order.refund_recorded",
        ReturnItemsReclaimed(ReturnItemsReclaimed) = "order.return_items_reclaimed",
    }
}

string_enum! {
    /// Where one return stands from the order's point of view.
    pub enum AllocationStatus ("allocation status") {
        /// The return is open: its quantities are taken.
        Open = "open",
        /// The return was refunded: its quantities stay taken for good.
        Refunded = "refunded",
        /// The return closed without a refund: its quantities are free again.
        Released = "released",
    }
}

/// One return's claim on the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAllocation {
    pub items: Vec<ItemRequest>,
    pub status: AllocationStatus,
    pub refunded: Vec<LineAmount>,
    pub bonus_minor: MinorUnits,
}

/// The state of a registered order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub buyer_id: BuyerId,
    pub seller_id: SellerId,
    pub currency: Currency,
    pub jurisdiction: Jurisdiction,
    pub placed_at: DateTime<Utc>,
    /// The latest delivery date known (from registration or `order.delivered`).
    pub delivered_at: Option<DateTime<Utc>>,
    pub lines: Vec<OrderLine>,
    pub policy_version: u64,
    /// The body as first registered, to recognise a repeated registration.
    pub registered: OrderDetails,
    pub returns: BTreeMap<ReturnId, ReturnAllocation>,
    /// The number of events in the stream.
    pub version: u64,
}

impl Order {
    fn from_registration(event: &OrderRegistered) -> Order {
        let order = &event.order;
        Order {
            order_id: order.order_id.clone(),
            buyer_id: order.buyer_id.clone(),
            seller_id: order.seller_id.clone(),
            currency: order.currency,
            jurisdiction: order.jurisdiction,
            placed_at: order.placed_at,
            delivered_at: order.delivered_at,
            lines: order.lines.clone(),
            policy_version: event.policy_version,
            registered: order.clone(),
            returns: BTreeMap::new(),
            version: 1,
        }
    }

    /// Replays a whole stream.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a OrderEvent>) -> Option<Order> {
        events.into_iter().fold(None, evolve)
    }

    pub fn line(&self, line_id: &LineId) -> Option<&OrderLine> {
        self.lines.iter().find(|line| &line.line_id == line_id)
    }

    fn taken_quantity(&self, line_id: &LineId, except: Option<&ReturnId>) -> u64 {
        self.returns
            .iter()
            .filter(|(id, allocation)| {
                Some(*id) != except && allocation.status != AllocationStatus::Released
            })
            .flat_map(|(_, allocation)| allocation.items.iter())
            .filter(|item| &item.line_id == line_id)
            .map(|item| u64::from(item.quantity))
            .sum()
    }

    /// The quantity of a line that a new return may still claim: bought minus what open and
    /// refunded returns hold.
    pub fn available_quantity(&self, line_id: &LineId) -> u32 {
        self.line(line_id).map_or(0, |line| {
            let free = u64::from(line.quantity).saturating_sub(self.taken_quantity(line_id, None));
            u32::try_from(free).unwrap_or(u32::MAX)
        })
    }

    /// What the buyer paid for a line in total.
    pub fn paid_for_line(&self, line_id: &LineId) -> MinorUnits {
        self.line(line_id)
            .and_then(|line| line.unit_price_minor.checked_mul(line.quantity).ok())
            .unwrap_or(MinorUnits::ZERO)
    }

    /// What has been refunded on a line over all returns (bonuses excluded).
    pub fn refunded_for_line(&self, line_id: &LineId) -> MinorUnits {
        let amounts = self
            .returns
            .values()
            .flat_map(|allocation| allocation.refunded.iter())
            .filter(|refund| &refund.line_id == line_id)
            .map(|refund| refund.amount_minor);
        MinorUnits::sum(amounts).unwrap_or(MinorUnits::ZERO)
    }

    /// Checks that a new return may claim `items`, and yields the reservation event. Field errors
    /// name the request's `items[i]`.
    pub fn reserve(
        &self,
        return_id: ReturnId,
        items: &[ItemRequest],
        at: DateTime<Utc>,
    ) -> Result<OrderEvent, Rejection> {
        if self.returns.contains_key(&return_id) {
            return Err(Rejection::AlreadyExists(format!(
                "return {return_id} already holds items of order {}",
                self.order_id
            )));
        }
        let mut checks = Checks::new();
        if items.is_empty() {
            checks.fail("items", "must name at least one order line");
        }
        // Each line at most once: a longer list cannot be valid, and is refused before any work.
        if items.len() > self.lines.len() {
            checks.fail(
                "items",
                format!(
                    "lists {} items; the order has {} lines",
                    items.len(),
                    self.lines.len()
                ),
            );
            return Err(Rejection::Validation(checks.into_errors()));
        }
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if !seen.insert(&item.line_id) {
                checks.fail(format!("items[{i}].line_id"), "is listed twice");
                continue;
            }
            if self.line(&item.line_id).is_none() {
                checks.fail(format!("items[{i}].line_id"), "is not a line of this order");
                continue;
            }
            let available = self.available_quantity(&item.line_id);
            if item.quantity == 0 {
                checks.fail(format!("items[{i}].quantity"), "must be at least 1");
            } else if item.quantity > available {
                checks.fail(
                    format!("items[{i}].quantity"),
                    format!(
                        "only {available} left to return on this line (bought minus open or \
                         refunded returns)"
                    ),
                );
            }
        }
        checks.finish()?;
        Ok(OrderEvent::ReturnItemsReserved(ReturnItemsReserved {
            return_id,
            items: items.to_vec(),
            at,
        }))
    }

    /// The release event for a return that closes without a refund, if it still holds items.
    pub fn release(&self, return_id: ReturnId, at: DateTime<Utc>) -> Option<OrderEvent> {
        self.returns
            .get(&return_id)
            .filter(|allocation| allocation.status == AllocationStatus::Open)
            .map(|_| OrderEvent::ReturnItemsReleased(ReturnItemsReleased { return_id, at }))
    }

    /// The event by which a return that released its items holds them again, if they are still
    /// free (no other return took them meanwhile); `None` when it holds them already.
    pub fn reclaim(
        &self,
        return_id: ReturnId,
        at: DateTime<Utc>,
    ) -> Result<Option<OrderEvent>, Rejection> {
        let Some(allocation) = self.returns.get(&return_id) else {
            return Err(Rejection::NotFound(format!(
                "return {return_id} holds no items of this order"
            )));
        };
        if allocation.status != AllocationStatus::Released {
            return Ok(None);
        }
        let taken = allocation.items.iter().any(|item| {
            let bought = self.line(&item.line_id).map_or(0, |line| line.quantity);
            let others = self.taken_quantity(&item.line_id, Some(&return_id));
            u64::from(item.quantity) + others > u64::from(bought)
        });
        if taken {
            return Err(Rejection::field(
                "items",
                "another return holds these items now",
            ));
        }
        Ok(Some(OrderEvent::ReturnItemsReclaimed(
            ReturnItemsReclaimed { return_id, at },
        )))
    }

    /// Records a paid refund, attributing `amount` to the return's lines in order, each up to what
    /// its returned quantity cost and what is still unrefunded on the line over all returns.
    /// Refuses (422 on `amount_minor`) a refund that does not fit.
    pub fn record_refund(
        &self,
        return_id: ReturnId,
        amount: MinorUnits,
        bonus: MinorUnits,
        at: DateTime<Utc>,
    ) -> Result<OrderEvent, Rejection> {
        let allocation = self
            .returns
            .get(&return_id)
            .filter(|allocation| allocation.status == AllocationStatus::Open)
            .ok_or_else(|| {
                Rejection::NotFound(format!("return {return_id} holds no items of this order"))
            })?;
        let mut left = amount;
        let mut lines = Vec::new();
        for item in &allocation.items {
            if left.is_zero() {
                break;
            }
            let Some(line) = self.line(&item.line_id) else {
                continue;
            };
            let returned_value = line
                .unit_price_minor
                .checked_mul(item.quantity)
                .unwrap_or(MinorUnits::ZERO);
            let unrefunded = self
                .paid_for_line(&item.line_id)
                .saturating_sub(self.refunded_for_line(&item.line_id));
            let share = left.min(returned_value).min(unrefunded);
            if !share.is_zero() {
                lines.push(LineAmount {
                    line_id: item.line_id.clone(),
                    amount_minor: share,
                });
                left = left.saturating_sub(share);
            }
        }
        if !left.is_zero() {
            return Err(Rejection::field(
                "amount_minor",
                "exceeds what was paid for the returned items, counting refunds of other returns",
            ));
        }
        Ok(OrderEvent::RefundRecorded(RefundRecorded {
            return_id,
            amount_minor: amount,
            bonus_minor: bonus,
            lines,
            at,
        }))
    }

    pub fn apply(&mut self, event: &OrderEvent) {
        self.version = self.version.saturating_add(1);
        match event {
            // A second registration never gets past `decide`; ignoring it keeps `apply` total.
            OrderEvent::OrderRegistered(_) => {}
            OrderEvent::OrderDelivered(e) => self.delivered_at = Some(e.delivered_at),
            OrderEvent::ReturnItemsReserved(e) => {
                self.returns.insert(
                    e.return_id,
                    ReturnAllocation {
                        items: e.items.clone(),
                        status: AllocationStatus::Open,
                        refunded: Vec::new(),
                        bonus_minor: MinorUnits::ZERO,
                    },
                );
            }
            OrderEvent::ReturnItemsReleased(e) => {
                if let Some(allocation) = self.returns.get_mut(&e.return_id) {
                    allocation.status = AllocationStatus::Released;
                }
            }
            OrderEvent::ReturnItemsReclaimed(e) => {
                if let Some(allocation) = self.returns.get_mut(&e.return_id) {
                    allocation.status = AllocationStatus::Open;
                }
            }
            OrderEvent::RefundRecorded(e) => {
                if let Some(allocation) = self.returns.get_mut(&e.return_id) {
                    allocation.status = AllocationStatus::Refunded;
                    allocation.refunded.extend(e.lines.iter().cloned());
                    allocation.bonus_minor = allocation
                        .bonus_minor
                        .checked_add(e.bonus_minor)
                        .unwrap_or(MinorUnits::ZERO);
                }
            }
        }
    }
}

/// Folds one event into the state (`None` before registration).
pub fn evolve(state: Option<Order>, event: &OrderEvent) -> Option<Order> {
    match (state, event) {
        (Some(mut order), event) => {
            order.apply(event);
            Some(order)
        }
        (None, OrderEvent::OrderRegistered(registered)) => {
            Some(Order::from_registration(registered))
        }
        // Anything before the registration is a broken stream; it is not an order.
        (None, _) => None,
    }
}

fn check_details(order: &OrderDetails, now: DateTime<Utc>) -> Result<(), Rejection> {
    let mut checks = Checks::new();
    let latest = latest_reportable(now);
    checks.check(
        order.placed_at <= latest,
        "placed_at",
        "must not be in the future",
    );
    if let Some(delivered_at) = order.delivered_at {
        checks.check(
            delivered_at >= order.placed_at,
            "delivered_at",
            "must not precede placed_at",
        );
        checks.check(
            delivered_at <= latest,
            "delivered_at",
            "must not be in the future",
        );
    }
    if order.lines.is_empty() {
        checks.fail("lines", "must have at least one line");
    }
    if order.lines.len() > MAX_LINES {
        checks.fail("lines", format!("must have at most {MAX_LINES} lines"));
    }
    let mut total = Some(MinorUnits::ZERO);
    for (i, line) in order.lines.iter().enumerate() {
        if order
            .lines
            .iter()
            .take(i)
            .any(|earlier| earlier.line_id == line.line_id)
        {
            checks.fail(format!("lines[{i}].line_id"), "is used by another line");
        }
        checks.text(&format!("lines[{i}].title"), &line.title, MAX_TITLE_LEN);
        checks.check(
            line.quantity >= 1,
            format!("lines[{i}].quantity"),
            "must be at least 1",
        );
        total = total.and_then(|sum| {
            line.unit_price_minor
                .checked_mul(line.quantity)
                .and_then(|v| sum.checked_add(v))
                .ok()
        });
    }
    if total.is_none() {
        checks.fail("lines", "the order total is too large");
    }
    checks.finish()
}

/// Decides an order command. Only the platform reports orders and deliveries.
///
/// Only the platform registers orders and their deliveries: anyone else is refused whatever the
/// command says, so callers check this before they parse a command's body.
pub fn authorize(actor: &Actor, action: &'static str) -> Result<(), Rejection> {
    if actor.role == Role::Platform {
        Ok(())
    } else {
        Err(Rejection::Forbidden {
            action,
            role: actor.role,
        })
    }
}

/// Registering an order again with the same body (whatever the `policy_version`, which may have
/// moved on since) yields no events, so the caller can answer 200; a different body for an existing
/// order is refused as `AlreadyExists`.
pub fn decide(
    state: Option<&Order>,
    command: &OrderCommand,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<OrderEvent>, Rejection> {
    let action = match command {
        OrderCommand::Register(_) => "register-order",
        OrderCommand::RecordDelivery(_) => "record-delivery",
    };
    authorize(actor, action)?;
    match (state, command) {
        (None, OrderCommand::Register(register)) => {
            check_details(&register.order, now)?;
            Ok(vec![OrderEvent::OrderRegistered(OrderRegistered {
                order: register.order.clone(),
                policy_version: register.policy_version,
                at: now,
            })])
        }
        (Some(order), OrderCommand::Register(register)) => {
            if order.registered == register.order {
                Ok(Vec::new())
            } else {
                Err(Rejection::AlreadyExists(format!(
                    "order {} is already registered with a different body",
                    order.order_id
                )))
            }
        }
        (None, OrderCommand::RecordDelivery(_)) => {
            Err(Rejection::NotFound("no such order".to_owned()))
        }
        (Some(order), OrderCommand::RecordDelivery(delivery)) => {
            let mut checks = Checks::new();
            checks.check(
                delivery.delivered_at >= order.placed_at,
                "delivered_at",
                "must not precede placed_at",
            );
            checks.check(
                delivery.delivered_at <= latest_reportable(now),
                "delivered_at",
                "must not be in the future",
            );
            checks.finish()?;
            if order.delivered_at == Some(delivery.delivered_at) {
                return Ok(Vec::new());
            }
            // A different date corrects the earlier one; returns already opened keep the
            // evaluation they were given.
            Ok(vec![OrderEvent::OrderDelivered(OrderDelivered {
                delivered_at: delivery.delivered_at,
                at: now,
            })])
        }
    }
}
