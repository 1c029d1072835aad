//! `GET /v1/analytics/summary`: figures over the analytics tables for a time range, for one
//! seller or the whole marketplace.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use returns_event_store::GenericClient;
use serde::Serialize;

/// The summary of docs/api.md (and a little more). Returns count by their creation time, orders by
/// their placement time, both in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub seller_id: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub returns: i64,
    pub orders: i64,
    /// Returns per order (0 when there were no orders).
    pub return_rate: f64,
    pub by_reason: BTreeMap<String, i64>,
    pub by_category: BTreeMap<String, i64>,
    /// Returns escalated to a dispute.
    pub disputes: i64,
    pub dispute_rate: f64,
    /// Median hours from request to the refund being issued, over refunded returns.
    pub median_hours_to_refund: Option<f64>,
    /// Deadlines missed (seller response, inspection, refund, operator decision...).
    pub sla_breaches: i64,
    /// Refunded in the range, when every refund was in one currency (`None` otherwise: amounts
    /// are never summed across currencies).
    pub refunded_minor: Option<i64>,
    /// Refunded in the range, per ISO 4217 currency.
    pub refunded_by_currency: BTreeMap<String, i64>,
    /// For one seller: its confirmed abuse flags (whatever the range), so that the seller sees
    /// why its disputes lean toward buyers. Empty for the whole marketplace.
    pub confirmed_flags: Vec<ConfirmedSellerFlag>,
    /// The buyers' ratings given in the range.
    pub satisfaction: Satisfaction,
    /// Disputes an operator decided, those appealed, and appeals that reversed the decision.
    pub appeals: Appeals,
}

/// Appeals of operators' decisions, over returns created in the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Appeals {
    pub decisions: i64,
    pub appeals: i64,
    /// Appeals per decided dispute (0 without decisions).
    pub appeal_rate: f64,
    /// Appeals decided so far, and those that reversed the first decision.
    pub appeals_decided: i64,
    pub overturned: i64,
    /// Reversed per decided appeal (0 without decided appeals).
    pub overturn_rate: f64,
}

/// Buyers' ratings of closed returns (1 to 5), counted by when they were given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Satisfaction {
    #[serde(flatten)]
    pub all: Scores,
    /// By the return's reason.
    pub by_reason: BTreeMap<String, Scores>,
    /// By how the return ended.
    pub by_outcome: BTreeMap<String, Scores>,
}

/// Figures over a set of ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub ratings: i64,
    /// The mean score (`None` without ratings).
    pub average_score: Option<f64>,
    /// The CSAT score: the share of ratings of 4 or 5 (`None` without ratings).
    pub csat: Option<f64>,
}

impl Scores {
    fn of(row: &tokio_postgres::Row, first: usize) -> Result<Scores, tokio_postgres::Error> {
        let ratings: i64 = row.try_get(first)?;
        let satisfied: i64 = row.try_get(first + 2)?;
        Ok(Scores {
            ratings,
            average_score: row.try_get(first + 1)?,
            csat: (ratings > 0).then(|| ratio(satisfied, ratings)),
        })
    }
}

/// The figures of ratings given in `[from, to)`, for one seller or all.
async fn satisfaction<C: GenericClient + Sync>(
    client: &C,
    seller_id: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Satisfaction, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT GROUPING(reason, outcome), reason, outcome, \
                    count(*), avg(rating)::float8, count(*) FILTER (WHERE rating >= 4) \
             FROM analytics_returns \
             WHERE rated_at IS NOT NULL AND ($1::text IS NULL OR seller_id = $1) \
               AND rated_at >= $2 AND rated_at < $3 \
             GROUP BY GROUPING SETS ((), (reason), (outcome))",
            &[&seller_id, &from, &to],
        )
        .await?;
    let mut figures = Satisfaction {
        all: Scores {
            ratings: 0,
            average_score: None,
            csat: None,
        },
        by_reason: BTreeMap::new(),
        by_outcome: BTreeMap::new(),
    };
    for row in &rows {
        let grouping: i32 = row.try_get(0)?;
        let scores = Scores::of(row, 3)?;
        // GROUPING's bits say which of (reason, outcome) a row is not grouped by.
        match grouping {
            1 => {
                let reason: String = row.try_get(1)?;
                figures.by_reason.insert(reason, scores);
            }
            2 => {
                let outcome: Option<String> = row.try_get(2)?;
                figures
                    .by_outcome
                    .insert(outcome.unwrap_or_else(|| "open".to_owned()), scores);
            }
            _ => figures.all = scores,
        }
    }
    Ok(figures)
}

/// One seller's satisfaction figures, for the marketplace-wide list by seller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SellerScores {
    pub seller_id: String,
    #[serde(flatten)]
    pub scores: Scores,
}

/// Satisfaction by seller over ratings given in `[from, to)`: sellers in id order after `after`,
/// at most `limit` of them.
pub async fn satisfaction_by_seller<C: GenericClient + Sync>(
    client: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SellerScores>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT seller_id, count(*), avg(rating)::float8, count(*) FILTER (WHERE rating >= 4) \
             FROM analytics_returns \
             WHERE rated_at IS NOT NULL AND rated_at >= $1 AND rated_at < $2 \
               AND ($3::text IS NULL OR seller_id > $3) \
             GROUP BY seller_id ORDER BY seller_id LIMIT $4",
            &[&from, &to, &after, &limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SellerScores {
                seller_id: row.try_get(0)?,
                scores: Scores::of(row, 1)?,
            })
        })
        .collect()
}

/// A confirmed abuse flag of a seller, as its analytics show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfirmedSellerFlag {
    pub id: uuid::Uuid,
    pub kind: String,
    pub raised_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub async fn summary<C: GenericClient + Sync>(
    client: &C,
    seller_id: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Summary, tokio_postgres::Error> {
    let totals = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE disputed), \
                    coalesce(sum(sla_breaches), 0)::bigint, \
                    percentile_cont(0.5) WITHIN GROUP ( \
                        ORDER BY extract(epoch FROM refunded_at - created_at) / 3600.0) \
                        FILTER (WHERE refunded_at IS NOT NULL), \
                    count(*) FILTER (WHERE decided), count(*) FILTER (WHERE appealed), \
                    count(*) FILTER (WHERE overturned IS NOT NULL), \
                    count(*) FILTER (WHERE overturned) \
             FROM analytics_returns \
             WHERE ($1::text IS NULL OR seller_id = $1) AND created_at >= $2 AND created_at < $3",
            &[&seller_id, &from, &to],
        )
        .await?;
    let orders: i64 = client
        .query_one(
            "SELECT count(*) FROM analytics_orders \
             WHERE ($1::text IS NULL OR seller_id = $1) AND placed_at >= $2 AND placed_at < $3",
            &[&seller_id, &from, &to],
        )
        .await?
        .try_get(0)?;
    let grouped = |sql: &'static str| async move {
        let rows = client.query(sql, &[&seller_id, &from, &to]).await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)?)))
            .collect::<Result<BTreeMap<_, _>, tokio_postgres::Error>>()
    };
    let by_reason = grouped(
        "SELECT reason, count(*) FROM analytics_returns \
         WHERE ($1::text IS NULL OR seller_id = $1) AND created_at >= $2 AND created_at < $3 \
         GROUP BY reason",
    )
    .await?;
    // Rows from before the currency was kept have none; they are left out of the amounts rather
    // than counted in the wrong currency.
    let refunded_by_currency = grouped(
        "SELECT currency, sum(refunded_minor)::bigint FROM analytics_returns \
         WHERE ($1::text IS NULL OR seller_id = $1) AND created_at >= $2 AND created_at < $3 \
           AND refunded_minor IS NOT NULL AND currency IS NOT NULL \
         GROUP BY currency",
    )
    .await?;
    let by_category = grouped(
        "SELECT c, count(*) FROM analytics_returns, unnest(categories) AS c \
         WHERE ($1::text IS NULL OR seller_id = $1) AND created_at >= $2 AND created_at < $3 \
         GROUP BY c",
    )
    .await?;
    let mut confirmed_flags = Vec::new();
    if let Some(seller) = seller_id {
        let rows = client
            .query(
                "SELECT id, kind, raised_at, reviewed_at FROM abuse_flags \
                 WHERE party_role = 'seller' AND party_id = $1 AND status = 'confirmed' \
                 ORDER BY raised_at, id",
                &[&seller],
            )
            .await?;
        for row in &rows {
            confirmed_flags.push(ConfirmedSellerFlag {
                id: row.try_get(0)?,
                kind: row.try_get(1)?,
                raised_at: row.try_get(2)?,
                confirmed_at: row.try_get(3)?,
            });
        }
    }
    let satisfaction = satisfaction(client, seller_id, from, to).await?;
    let (decisions, appeals_made, appeals_decided, overturned): (i64, i64, i64, i64) = (
        totals.try_get(4)?,
        totals.try_get(5)?,
        totals.try_get(6)?,
        totals.try_get(7)?,
    );
    let appeals = Appeals {
        decisions,
        appeals: appeals_made,
        appeal_rate: ratio(appeals_made, decisions),
        appeals_decided,
        overturned,
        overturn_rate: ratio(overturned, appeals_decided),
    };
    let returns: i64 = totals.try_get(0)?;
    let disputes: i64 = totals.try_get(1)?;
    Ok(Summary {
        seller_id: seller_id.map(str::to_owned),
        from,
        to,
        returns,
        orders,
        return_rate: ratio(returns, orders),
        by_reason,
        by_category,
        disputes,
        dispute_rate: ratio(disputes, returns),
        median_hours_to_refund: totals.try_get(3)?,
        sla_breaches: totals.try_get(2)?,
        refunded_minor: match refunded_by_currency.len() {
            0 => Some(0),
            1 => refunded_by_currency.values().next().copied(),
            _ => None,
        },
        refunded_by_currency,
        confirmed_flags,
        satisfaction,
        appeals,
    })
}
