//! The analytics projection: one row per order and per return, with what the summary of API.md
//! counts (return rate, reasons, categories, disputes, time to refund, SLA breaches).
//!
//! It reads only the fields it needs from each event's JSON, so it neither depends on the domain's
//! full event types nor on personal data (which is not in the log). A batch is applied with a few
//! set-based statements, whatever its size.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use returns_event_store::{RecordedEvent, Transaction};
use serde::Deserialize;
use uuid::Uuid;

use crate::runner::Projection;

/// The projection's name (its checkpoint key).
pub const NAME: &str = "analytics";

#[derive(Debug, Default, Clone, Copy)]
pub struct Analytics;

#[derive(Deserialize)]
struct OrderRegistered {
    order: OrderFacts,
}

#[derive(Deserialize)]
struct OrderFacts {
    order_id: String,
    buyer_id: String,
    seller_id: String,
    placed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Deserialize)]
struct Requested {
    return_id: Uuid,
    order_id: String,
    buyer_id: String,
    seller_id: String,
    reason: String,
    items: Vec<Item>,
    evaluation: Evaluation,
    at: chrono::DateTime<chrono::Utc>,
}

#[derive(Deserialize)]
struct Item {
    category: String,
}

#[derive(Deserialize)]
struct Evaluation {
    requested_amount_minor: i64,
}

#[derive(Deserialize)]
struct Refunded {
    amount_minor: i64,
    at: chrono::DateTime<chrono::Utc>,
}

#[derive(Deserialize)]
struct Closed {
    outcome: String,
    at: chrono::DateTime<chrono::Utc>,
}

/// The return a `return-<uuid>` stream belongs to.
fn return_id_of(stream_id: &str) -> Option<Uuid> {
    stream_id
        .strip_prefix("return-")
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// The changes one batch makes, gathered before they are written.
#[derive(Default)]
struct Changes {
    orders: Vec<OrderFacts>,
    returns: Vec<Requested>,
    disputed: Vec<Uuid>,
    breaches: HashMap<Uuid, i32>,
    refunds: Vec<(Uuid, Refunded)>,
    closes: Vec<(Uuid, Closed)>,
}

fn gather(events: &[RecordedEvent]) -> Result<Changes, String> {
    let mut c = Changes::default();
    for e in events {
        let bad = |err: serde_json::Error| format!("{} {}: {err}", e.event_type, e.event_id);
        match e.event_type.as_str() {
            "order.registered" => c
                .orders
                .push(e.decode::<OrderRegistered>().map_err(bad)?.order),
            "return.requested" => c.returns.push(e.decode::<Requested>().map_err(bad)?),
            "return.escalated" | "return.refunded" | "return.closed" | "return.deadline_missed" => {
                let Some(id) = return_id_of(&e.stream_id) else {
                    return Err(format!("{} is not a return stream", e.stream_id));
                };
                match e.event_type.as_str() {
                    "return.escalated" => c.disputed.push(id),
                    "return.refunded" => c.refunds.push((id, e.decode().map_err(bad)?)),
                    "return.closed" => c.closes.push((id, e.decode().map_err(bad)?)),
                    _ => *c.breaches.entry(id).or_default() += 1,
                }
            }
            _ => {}
        }
    }
    Ok(c)
}

async fn write(tx: &Transaction<'_>, c: Changes) -> Result<(), tokio_postgres::Error> {
    if !c.orders.is_empty() {
        let ids: Vec<&str> = c.orders.iter().map(|o| o.order_id.as_str()).collect();
        let sellers: Vec<&str> = c.orders.iter().map(|o| o.seller_id.as_str()).collect();
        let buyers: Vec<&str> = c.orders.iter().map(|o| o.buyer_id.as_str()).collect();
        let placed: Vec<_> = c.orders.iter().map(|o| o.placed_at).collect();
        tx.execute(
            "INSERT INTO analytics_orders (order_id, seller_id, buyer_id, placed_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) \
             ON CONFLICT (order_id) DO NOTHING",
            &[&ids, &sellers, &buyers, &placed],
        )
        .await?;
    }
    if !c.returns.is_empty() {
        let ids: Vec<Uuid> = c.returns.iter().map(|r| r.return_id).collect();
        let orders: Vec<&str> = c.returns.iter().map(|r| r.order_id.as_str()).collect();
        let sellers: Vec<&str> = c.returns.iter().map(|r| r.seller_id.as_str()).collect();
        let buyers: Vec<&str> = c.returns.iter().map(|r| r.buyer_id.as_str()).collect();
        let reasons: Vec<&str> = c.returns.iter().map(|r| r.reason.as_str()).collect();
        // Arrays of arrays must be rectangular in PostgreSQL: categories travel joined.
        let categories: Vec<String> = c
            .returns
            .iter()
            .map(|r| {
                let mut cats: Vec<&str> = r.items.iter().map(|i| i.category.as_str()).collect();
                cats.sort_unstable();
                cats.dedup();
                cats.join("\u{1f}")
            })
            .collect();
        let requested: Vec<i64> = c
            .returns
            .iter()
            .map(|r| r.evaluation.requested_amount_minor)
            .collect();
        let at: Vec<_> = c.returns.iter().map(|r| r.at).collect();
        tx.execute(
            "INSERT INTO analytics_returns (return_id, order_id, seller_id, buyer_id, reason, \
                                            categories, requested_minor, created_at) \
             SELECT id, o, s, b, r, string_to_array(c, E'\\x1f'), m, t \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                         $7::bigint[], $8::timestamptz[]) AS x(id, o, s, b, r, c, m, t) \
             ON CONFLICT (return_id) DO NOTHING",
            &[
                &ids,
                &orders,
                &sellers,
                &buyers,
                &reasons,
                &categories,
                &requested,
                &at,
            ],
        )
        .await?;
    }
    if !c.disputed.is_empty() {
        tx.execute(
            "UPDATE analytics_returns SET disputed = true WHERE return_id = ANY($1::uuid[])",
            &[&c.disputed],
        )
        .await?;
    }
    if !c.breaches.is_empty() {
        let (ids, counts): (Vec<Uuid>, Vec<i32>) = c.breaches.into_iter().unzip();
        tx.execute(
            "UPDATE analytics_returns a SET sla_breaches = a.sla_breaches + x.n \
             FROM unnest($1::uuid[], $2::int4[]) AS x(id, n) WHERE a.return_id = x.id",
            &[&ids, &counts],
        )
        .await?;
    }
    if !c.refunds.is_empty() {
        let ids: Vec<Uuid> = c.refunds.iter().map(|(id, _)| *id).collect();
        let amounts: Vec<i64> = c.refunds.iter().map(|(_, r)| r.amount_minor).collect();
        let at: Vec<_> = c.refunds.iter().map(|(_, r)| r.at).collect();
        tx.execute(
            "UPDATE analytics_returns a SET refunded_minor = coalesce(a.refunded_minor, 0) + x.m, \
                                           refunded_at = coalesce(a.refunded_at, x.t) \
             FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS x(id, m, t) \
             WHERE a.return_id = x.id",
            &[&ids, &amounts, &at],
        )
        .await?;
    }
    if !c.closes.is_empty() {
        let ids: Vec<Uuid> = c.closes.iter().map(|(id, _)| *id).collect();
        let outcomes: Vec<&str> = c.closes.iter().map(|(_, x)| x.outcome.as_str()).collect();
        let at: Vec<_> = c.closes.iter().map(|(_, x)| x.at).collect();
        tx.execute(
            "UPDATE analytics_returns a SET outcome = x.o, closed_at = x.t \
             FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS x(id, o, t) \
             WHERE a.return_id = x.id",
            &[&ids, &outcomes, &at],
        )
        .await?;
    }
    Ok(())
}

impl Projection for Analytics {
    fn name(&self) -> &str {
        NAME
    }

    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let changes = gather(events)?;
            write(tx, changes).await.map_err(|e| e.to_string())
        })
    }
}
