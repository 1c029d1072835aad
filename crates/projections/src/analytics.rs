//! The analytics projection: one row per order and per return, with what the summary of docs/api.md
//! counts (return rate, reasons, categories, disputes, time to refund, SLA breaches).
//!
//! It reads only the fields it needs from each event's JSON, so it neither depends on the domain's
//! full event types nor on personal data (which is not in the log). A batch is applied with a few
//! set-based statements, whatever its size.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use returns_event_store::{RecordedEvent, Transaction};
use serde::Deserialize;
use uuid::Uuid;

use crate::runner::{ApplyError, Projection};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "analytics";
/// The live tables.
pub const ORDERS: &str = "analytics_orders";
pub const RETURNS: &str = "analytics_returns";

/// The analytics projection, writing into a pair of tables: the live ones, or a shadow pair that a
/// rebuild fills before it is switched in (see `rebuild`).
#[derive(Debug, Clone)]
pub struct Analytics {
    name: String,
    orders: String,
    returns: String,
}

impl Default for Analytics {
    fn default() -> Self {
        Analytics::with_suffix("")
    }
}

impl Analytics {
    /// The projection over `analytics_orders{suffix}` and `analytics_returns{suffix}`, with its
    /// own checkpoint `analytics{suffix}`. The suffix is a constant of the code, never input.
    pub fn with_suffix(suffix: &str) -> Self {
        Analytics {
            name: format!("{NAME}{suffix}"),
            orders: format!("{ORDERS}{suffix}"),
            returns: format!("{RETURNS}{suffix}"),
        }
    }
}

impl crate::rebuild::Rebuildable for Analytics {
    fn shadow(&self, suffix: &str) -> Analytics {
        Analytics::with_suffix(suffix)
    }

    fn tables(&self) -> Vec<String> {
        vec![self.orders.clone(), self.returns.clone()]
    }
}

#[derive(Deserialize)]
struct OrderRegistered {
    order: OrderFacts,
}

#[derive(Deserialize)]
struct OrderFacts {
    order_id: String,
    buyer_id: String,
    seller_id: String,
    placed_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Requested {
    return_id: Uuid,
    order_id: String,
    buyer_id: String,
    seller_id: String,
    currency: String,
    reason: String,
    items: Vec<Item>,
    evaluation: Evaluation,
    at: DateTime<Utc>,
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
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Decided {
    #[serde(default)]
    overturns: Option<bool>,
}

#[derive(Deserialize)]
struct Rated {
    score: i16,
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Closed {
    outcome: String,
    at: DateTime<Utc>,
}

/// What one batch does to one return, folded so that each return costs one row write per
/// batch however many of its events the batch holds (updating a row several times in one
/// transaction would leave a dead row version per update).
#[derive(Default)]
struct ReturnDelta {
    requested: Option<Requested>,
    disputed: bool,
    breaches: i32,
    refunded: Option<(i64, DateTime<Utc>)>,
    closed: Option<(String, DateTime<Utc>)>,
    rated: Option<(i16, DateTime<Utc>)>,
    decided: bool,
    appealed: bool,
    overturned: Option<bool>,
}

/// The changes one batch makes, gathered before they are written.
#[derive(Default)]
struct Changes {
    orders: Vec<OrderFacts>,
    /// In first-seen order, so that writes are deterministic.
    returns: Vec<(Uuid, ReturnDelta)>,
    index: HashMap<Uuid, usize>,
}

impl Changes {
    fn delta(&mut self, id: Uuid) -> &mut ReturnDelta {
        let i = *self.index.entry(id).or_insert_with(|| {
            self.returns.push((id, ReturnDelta::default()));
            self.returns.len() - 1
        });
        &mut self.returns[i].1
    }
}

fn gather(events: &[RecordedEvent]) -> Result<Changes, String> {
    let mut c = Changes::default();
    for e in events {
        let bad = |err: serde_json::Error| format!("{} {}: {err}", e.event_type, e.event_id);
        match e.event_type.as_str() {
            "order.registered" => c
                .orders
                .push(e.decode::<OrderRegistered>().map_err(bad)?.order),
            "return.requested" => {
                let requested: Requested = e.decode().map_err(bad)?;
                let id = requested.return_id;
                c.delta(id).requested = Some(requested);
            }
            "return.escalated"
            | "return.refunded"
            | "return.closed"
            | "return.deadline_missed"
            | "return.rated"
            | "return.dispute_decided"
            | "return.appealed" => {
                let Some(id) = crate::return_id_of(&e.stream_id) else {
                    return Err(format!("{} is not a return stream", e.stream_id));
                };
                match e.event_type.as_str() {
                    "return.escalated" => c.delta(id).disputed = true,
                    "return.refunded" => {
                        let r: Refunded = e.decode().map_err(bad)?;
                        let d = c.delta(id);
                        d.refunded = Some(match d.refunded {
                            Some((m, at)) => (m + r.amount_minor, at),
                            None => (r.amount_minor, r.at),
                        });
                    }
                    "return.closed" => {
                        let x: Closed = e.decode().map_err(bad)?;
                        c.delta(id).closed = Some((x.outcome, x.at));
                    }
                    "return.rated" => {
                        let x: Rated = e.decode().map_err(bad)?;
                        c.delta(id).rated = Some((x.score, x.at));
                    }
                    "return.dispute_decided" => {
                        let x: Decided = e.decode().map_err(bad)?;
                        let d = c.delta(id);
                        d.decided = true;
                        d.overturned = x.overturns.or(d.overturned);
                    }
                    "return.appealed" => c.delta(id).appealed = true,
                    _ => c.delta(id).breaches += 1,
                }
            }
            _ => {}
        }
    }
    Ok(c)
}

async fn write(
    tx: &Transaction<'_>,
    tables: &Analytics,
    c: Changes,
) -> Result<(), tokio_postgres::Error> {
    if !c.orders.is_empty() {
        let ids: Vec<&str> = c.orders.iter().map(|o| o.order_id.as_str()).collect();
        let sellers: Vec<&str> = c.orders.iter().map(|o| o.seller_id.as_str()).collect();
        let buyers: Vec<&str> = c.orders.iter().map(|o| o.buyer_id.as_str()).collect();
        let placed: Vec<_> = c.orders.iter().map(|o| o.placed_at).collect();
        tx.execute(
            &format!(
                "INSERT INTO {} (order_id, seller_id, buyer_id, placed_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) \
                 ON CONFLICT (order_id) DO NOTHING",
                tables.orders
            ),
            &[&ids, &sellers, &buyers, &placed],
        )
        .await?;
    }
    let (new, known): (Vec<_>, Vec<_>) = c.returns.iter().partition(|(_, d)| d.requested.is_some());
    if !new.is_empty() {
        let requested: Vec<&Requested> = new
            .iter()
            .filter_map(|(_, d)| d.requested.as_ref())
            .collect();
        let ids: Vec<Uuid> = requested.iter().map(|r| r.return_id).collect();
        let orders: Vec<&str> = requested.iter().map(|r| r.order_id.as_str()).collect();
        let sellers: Vec<&str> = requested.iter().map(|r| r.seller_id.as_str()).collect();
        let buyers: Vec<&str> = requested.iter().map(|r| r.buyer_id.as_str()).collect();
        let reasons: Vec<&str> = requested.iter().map(|r| r.reason.as_str()).collect();
        let currencies: Vec<&str> = requested.iter().map(|r| r.currency.as_str()).collect();
        // Arrays of arrays must be rectangular in PostgreSQL: categories travel joined.
        let categories: Vec<String> = requested
            .iter()
            .map(|r| {
                let mut cats: Vec<&str> = r.items.iter().map(|i| i.category.as_str()).collect();
                cats.sort_unstable();
                cats.dedup();
                cats.join("\u{1f}")
            })
            .collect();
        let amounts: Vec<i64> = requested
            .iter()
            .map(|r| r.evaluation.requested_amount_minor)
            .collect();
        let at: Vec<DateTime<Utc>> = requested.iter().map(|r| r.at).collect();
        let f = folded(&new);
        tx.execute(
            &format!(
                "INSERT INTO {} (return_id, order_id, seller_id, buyer_id, reason, \
                 categories, requested_minor, created_at, disputed, sla_breaches, refunded_minor, \
                 refunded_at, outcome, closed_at, currency, rating, rated_at, decided, appealed, \
                 overturned) \
             SELECT id, o, s, b, r, string_to_array(c, E'\\x1f'), m, t, d, n, rm, rt, oc, ct, cu, \
                    sc, st, dd, ap, ov \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                         $7::bigint[], $8::timestamptz[], $9::bool[], $10::int4[], $11::bigint[], \
                         $12::timestamptz[], $13::text[], $14::timestamptz[], $15::text[], \
                         $16::int2[], $17::timestamptz[], $18::bool[], $19::bool[], $20::bool[]) \
                  AS x(id, o, s, b, r, c, m, t, d, n, rm, rt, oc, ct, cu, sc, st, dd, ap, ov) \
             ON CONFLICT (return_id) DO NOTHING",
                tables.returns
            ),
            &[
                &ids,
                &orders,
                &sellers,
                &buyers,
                &reasons,
                &categories,
                &amounts,
                &at,
                &f.disputed,
                &f.breaches,
                &f.refunded,
                &f.refunded_at,
                &f.outcome,
                &f.closed_at,
                &currencies,
                &f.rating,
                &f.rated_at,
                &f.decided,
                &f.appealed,
                &f.overturned,
            ],
        )
        .await?;
    }
    if !known.is_empty() {
        let ids: Vec<Uuid> = known.iter().map(|(id, _)| *id).collect();
        let f = folded(&known);
        tx.execute(
            &format!(
                "UPDATE {} a SET \
                 disputed = a.disputed OR x.d, \
                 sla_breaches = a.sla_breaches + x.n, \
                 refunded_minor = CASE WHEN x.rm IS NULL THEN a.refunded_minor \
                                       ELSE coalesce(a.refunded_minor, 0) + x.rm END, \
                 refunded_at = coalesce(a.refunded_at, x.rt), \
                 outcome = coalesce(x.oc, a.outcome), \
                 closed_at = coalesce(x.ct, a.closed_at), \
                 rating = coalesce(x.sc, a.rating), \
                 rated_at = coalesce(x.st, a.rated_at), \
                 decided = a.decided OR x.dd, \
                 appealed = a.appealed OR x.ap, \
                 overturned = coalesce(x.ov, a.overturned) \
             FROM unnest($1::uuid[], $2::bool[], $3::int4[], $4::bigint[], $5::timestamptz[], \
                         $6::text[], $7::timestamptz[], $8::int2[], $9::timestamptz[], \
                         $10::bool[], $11::bool[], $12::bool[]) \
                  AS x(id, d, n, rm, rt, oc, ct, sc, st, dd, ap, ov) \
             WHERE a.return_id = x.id",
                tables.returns
            ),
            &[
                &ids,
                &f.disputed,
                &f.breaches,
                &f.refunded,
                &f.refunded_at,
                &f.outcome,
                &f.closed_at,
                &f.rating,
                &f.rated_at,
                &f.decided,
                &f.appealed,
                &f.overturned,
            ],
        )
        .await?;
    }
    Ok(())
}

/// The per-return columns of a batch's deltas, as parallel arrays.
struct Folded<'a> {
    disputed: Vec<bool>,
    breaches: Vec<i32>,
    refunded: Vec<Option<i64>>,
    refunded_at: Vec<Option<DateTime<Utc>>>,
    outcome: Vec<Option<&'a str>>,
    closed_at: Vec<Option<DateTime<Utc>>>,
    rating: Vec<Option<i16>>,
    rated_at: Vec<Option<DateTime<Utc>>>,
    decided: Vec<bool>,
    appealed: Vec<bool>,
    overturned: Vec<Option<bool>>,
}

fn folded<'a>(deltas: &[&'a (Uuid, ReturnDelta)]) -> Folded<'a> {
    let column = |f: &dyn Fn(&'a ReturnDelta) -> Option<DateTime<Utc>>| {
        deltas.iter().map(|(_, d)| f(d)).collect::<Vec<_>>()
    };
    Folded {
        disputed: deltas.iter().map(|(_, d)| d.disputed).collect(),
        breaches: deltas.iter().map(|(_, d)| d.breaches).collect(),
        refunded: deltas
            .iter()
            .map(|(_, d)| d.refunded.map(|(m, _)| m))
            .collect(),
        refunded_at: column(&|d| d.refunded.map(|(_, t)| t)),
        outcome: deltas
            .iter()
            .map(|(_, d)| d.closed.as_ref().map(|(o, _)| o.as_str()))
            .collect(),
        closed_at: column(&|d| d.closed.as_ref().map(|(_, t)| *t)),
        rating: deltas
            .iter()
            .map(|(_, d)| d.rated.map(|(s, _)| s))
            .collect(),
        rated_at: column(&|d| d.rated.map(|(_, t)| t)),
        decided: deltas.iter().map(|(_, d)| d.decided).collect(),
        appealed: deltas.iter().map(|(_, d)| d.appealed).collect(),
        overturned: deltas.iter().map(|(_, d)| d.overturned).collect(),
    }
}

impl Projection for Analytics {
    fn name(&self) -> &str {
        &self.name
    }

    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), ApplyError>> + Send + 'a>> {
        Box::pin(async move {
            let changes = gather(events)?;
            Ok(write(tx, self, changes).await?)
        })
    }
}
