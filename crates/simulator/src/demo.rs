//! A demo marketplace: a small population played into a service's own database, ending at the
//! present, so that a console served on it afterwards (with the real clock) is full of cases.
//!
//! [`demo`] draws a small marketplace ([`DemoConfig`]: by default 150 buyers and 15 sellers, a
//! few of each side planted as abusers, 60 days) and plays it through the command layer like
//! [`crate::simulate`], but with the service clock starting as many days back as the run lasts:
//! its last day is now, so deadlines fall where they would in a live marketplace (some upcoming,
//! some overdue). Beside the marketplace:
//!
//! - buyers rate many of their closed returns and write to sellers now and then;
//! - a scripted set of returns, between a chosen seller, a chosen buyer and a few others, is
//!   taken through the command layer to every state a console shows: requested (waiting for the
//!   seller), an offer pending for the buyer, authorised, in transit, delivered awaiting
//!   inspection, refund pending, and disputes waiting for an operator (unassigned, assigned, and
//!   overdue ones opened a week before the end);
//! - the `abuse` projection follows the log day by day (flags are raised where they would be
//!   live), and the `analytics` projection catches up at the end; both give their leases back,
//!   so a service started on the database takes them over at once.
//!
//! The database must be migrated and hold no events: the marketplace's ids (`seller-0001`,
//! `order-0000001`, ...) are drawn from the seed and would collide with an earlier run's.
//! [`DemoReport`] says who to sign in as: an operator, a seller with returns to answer and to
//! inspect, and a buyer with an offer to answer and a return on its way.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use returns_app::{Answered, AppError, CommandOptions, OpenReturnRequest, Service, StoredResponse};
use returns_arbitration::abuse::Thresholds;
use returns_domain::order::{ItemRequest, OrderDetails, OrderLine};
use returns_domain::returns::{
    AcceptOffer, AcceptReturn, AssignDispute, CarrierStatus, CarrierUpdate, DecideDispute,
    DecisionOutcome, DeclineReturn, EscalateReturn, InspectReturn, IssueRefund, MakeOffer,
    OfferKind, Outcome, PostMessage, RateReturn, ReturnCommand, ReturnLabel, ShipReplacement,
    ShipReturn, Status, WithdrawReturn,
};
use returns_domain::{
    Actor, Evidence, EvidenceKind, Grade, MinorUnits, OrderId, Reason, Resolution, ReturnCase,
    ReturnId,
};
use returns_event_store::{EventStore, Pool};
use returns_projections::abuse::Abuse;
use returns_projections::analytics::Analytics;
use uuid::Uuid;

use crate::detect::{catch_up_once, Detector};
use crate::engine::{day_bar, progress_message, Marketplace};
use crate::population::{self, Population, CATEGORIES};
use crate::{SimConfig, SimError};

/// The operator the report proposes to sign in as (the simulated operators are `operator-1` to
/// `operator-4`).
pub const DEMO_OPERATOR: &str = "operator-1";

/// The share of closed returns (refunded, exchanged or denied) their buyer rates.
const RATING_SHARE: f64 = 0.45;
/// The share of new returns whose buyer writes to the seller.
const MESSAGE_SHARE: f64 = 0.2;

/// What to play into the database.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    pub buyers: usize,
    pub sellers: usize,
    /// The share of buyers planted as abusers (0 to 1).
    pub abusive_buyer_share: f64,
    /// The share of sellers planted as abusers (0 to 1).
    pub abusive_seller_share: f64,
    /// Days of service time, the last of which is today (at least 21).
    pub days: u32,
    pub seed: u64,
    /// Show a progress bar on standard error.
    pub progress: bool,
    /// The abuse projection's thresholds, as the service that will serve the database has them.
    pub abuse_thresholds: Thresholds,
    /// The abuse projection's rolling window in days (none: the projection's default).
    pub abuse_window_days: Option<u32>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            buyers: 150,
            sellers: 15,
            abusive_buyer_share: 0.04,
            abusive_seller_share: 0.2,
            days: 60,
            seed: 42,
            progress: false,
            abuse_thresholds: Thresholds::default(),
            abuse_window_days: None,
        }
    }
}

impl DemoConfig {
    fn simulation(&self) -> SimConfig {
        SimConfig {
            buyers: self.buyers,
            sellers: self.sellers,
            abusive_buyer_share: self.abusive_buyer_share,
            abusive_seller_share: self.abusive_seller_share,
            days: self.days,
            seed: self.seed,
            progress: self.progress,
        }
    }

    fn check(&self) -> Result<(), SimError> {
        self.simulation().check()?;
        if self.days < SCRIPT_DAYS {
            return Err(SimError::Config(format!(
                "a demo needs at least {SCRIPT_DAYS} days (its scripted orders are placed up to \
                 {SCRIPT_DAYS} days before the end)"
            )));
        }
        if self.buyers < 12 || self.sellers < 4 {
            return Err(SimError::Config(
                "a demo needs at least 12 buyers and 4 sellers".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A seller to sign in as, with returns waiting for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerPersona {
    pub id: String,
    /// RMAs of requests waiting for the seller's answer.
    pub to_answer: Vec<String>,
    /// RMAs of returns delivered back, waiting for the seller's inspection.
    pub to_inspect: Vec<String>,
}

/// A buyer to sign in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerPersona {
    pub id: String,
    /// The RMA of a return with the seller's offer waiting for the buyer's answer.
    pub offer: String,
    /// The RMA of a return on its way back to the seller.
    pub in_transit: String,
}

/// What the demo left in the database, and who to sign in as.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoReport {
    /// Service time of the first day.
    pub started_at: DateTime<Utc>,
    /// Service time at the end (the present).
    pub ended_at: DateTime<Utc>,
    pub days: u32,
    pub orders: i64,
    pub returns: i64,
    pub events: i64,
    /// Returns by status.
    pub by_status: BTreeMap<String, i64>,
    /// Closed returns by outcome.
    pub by_outcome: BTreeMap<String, i64>,
    /// Open disputes (escalated returns), those without an operator, and those whose decision is
    /// late.
    pub disputes: i64,
    pub unassigned_disputes: i64,
    pub overdue_disputes: i64,
    pub abuse_flags: i64,
    pub ratings: i64,
    pub messages: i64,
    pub operator: String,
    pub seller: SellerPersona,
    pub buyer: BuyerPersona,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open: i64 = self
            .by_status
            .iter()
            .filter(|(status, _)| status.as_str() != Status::Closed.as_str())
            .map(|(_, n)| n)
            .sum();
        writeln!(
            f,
            "{} days of a marketplace, {} to {}: {} orders, {} returns ({} open), {} events",
            self.days,
            self.started_at.format("%Y-%m-%d"),
            self.ended_at.format("%Y-%m-%d %H:%M UTC"),
            self.orders,
            self.returns,
            open,
            self.events
        )?;
        let list = |counts: &BTreeMap<String, i64>| {
            counts
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "  returns by status: {}", list(&self.by_status))?;
        writeln!(f, "  closed by outcome: {}", list(&self.by_outcome))?;
        write!(
            f,
            "  open disputes: {} ({} unassigned, {} overdue); abuse flags: {}; ratings: {}; \
             messages: {}",
            self.disputes,
            self.unassigned_disputes,
            self.overdue_disputes,
            self.abuse_flags,
            self.ratings,
            self.messages
        )
    }
}

/// Plays a demo marketplace into `pool`'s database (migrated, without events), ending at the
/// present, and reports what it holds and who to sign in as.
pub async fn demo(pool: Pool, config: &DemoConfig) -> Result<DemoReport, SimError> {
    config.check()?;
    crate::ensure_empty(&pool).await?;
    let client = pool.get().await?;
    let held: Option<String> = client
        .query_opt(
            "SELECT name FROM projection_checkpoints \
             WHERE owner IS NOT NULL AND lease_until > now() ORDER BY name LIMIT 1",
            &[],
        )
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    drop(client);
    if let Some(name) = held {
        return Err(SimError::InUse(name));
    }

    let simulation = config.simulation();
    let population = population::draw(&simulation)?;
    let store = EventStore::new(pool);
    let mut abuse = Abuse::new(config.abuse_thresholds.clone());
    if let Some(days) = config.abuse_window_days {
        abuse = abuse.with_window_days(days);
    }
    let mut detector = Detector::start_with(&store, abuse).await?;

    // The last day is today: the run starts as many days back as it lasts.
    let started_at = Utc::now() - Duration::days(i64::from(config.days) - 1);
    let mut market = Marketplace::new(store.clone(), &population, &simulation, started_at);
    let mut script = Script::new(&population, config)?;
    let mut chatter = Chatter {
        rng: StdRng::seed_from_u64(config.seed ^ 0x0d3e_5a11),
        since: started_at - Duration::days(1),
    };
    let bar = day_bar(&simulation, "demo marketplace,");
    for _ in 0..config.days {
        let day = market.play_day().await?;
        script.on_day(day, market.service()).await?;
        chatter.on_day(market.service()).await?;
        detector.catch_up().await?;
        bar.inc(1);
        bar.set_message(progress_message(market.stats()));
    }
    script.on_day(config.days, market.service()).await?;
    chatter.on_day(market.service()).await?;
    let ended_at = market.service().now();
    bar.finish_and_clear();
    market.finish().await?;
    detector.finish().await?;
    catch_up_once(&store, Analytics::default(), "demo").await?;

    let (seller, buyer) = script.personas()?;
    let mut report = read_report(&store, ended_at).await?;
    report.started_at = started_at;
    report.days = config.days;
    report.seller = seller;
    report.buyer = buyer;
    Ok(report)
}

/// What the database holds at the end.
async fn read_report(store: &EventStore, now: DateTime<Utc>) -> Result<DemoReport, SimError> {
    let client = store.pool().get().await?;
    let count = |sql: &'static str| {
        let client = &client;
        async move {
            let n: i64 = client.query_one(sql, &[]).await?.try_get(0)?;
            Ok::<i64, SimError>(n)
        }
    };
    let orders = count("SELECT count(*) FROM events WHERE event_type = 'order.registered'").await?;
    let events = count("SELECT count(*) FROM events").await?;
    let returns = count("SELECT count(*) FROM return_index").await?;
    let abuse_flags = count("SELECT count(*) FROM abuse_flags").await?;
    let ratings = count("SELECT count(*) FROM events WHERE event_type = 'return.rated'").await?;
    let messages =
        count("SELECT count(*) FROM events WHERE event_type = 'return.message_posted'").await?;
    let mut by_status = BTreeMap::new();
    for row in client
        .query(
            "SELECT status, count(*) FROM return_index GROUP BY status ORDER BY status",
            &[],
        )
        .await?
    {
        by_status.insert(row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)?);
    }
    let mut by_outcome = BTreeMap::new();
    for row in client
        .query(
            "SELECT s.state ->> 'outcome', count(*) FROM return_index r \
             JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
             WHERE r.status = 'closed' GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await?
    {
        let outcome: Option<String> = row.try_get(0)?;
        by_outcome.insert(
            outcome.unwrap_or_else(|| "unknown".to_owned()),
            row.try_get::<_, i64>(1)?,
        );
    }
    let disputes = client
        .query_one(
            "SELECT count(*), \
                    count(*) FILTER (WHERE s.state -> 'dispute' ->> 'assignee' IS NULL), \
                    count(*) FILTER (WHERE (s.state -> 'dispute' ->> 'overdue')::boolean \
                                        OR (s.state -> 'dispute' ->> 'decision_due')::timestamptz \
                                           < $1) \
             FROM return_index r JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
             WHERE r.status = 'escalated'",
            &[&now],
        )
        .await?;
    Ok(DemoReport {
        started_at: now,
        ended_at: now,
        days: 0,
        orders,
        returns,
        events,
        by_status,
        by_outcome,
        disputes: disputes.try_get(0)?,
        unassigned_disputes: disputes.try_get(1)?,
        overdue_disputes: disputes.try_get(2)?,
        abuse_flags,
        ratings,
        messages,
        operator: DEMO_OPERATOR.to_owned(),
        seller: SellerPersona {
            id: String::new(),
            to_answer: Vec::new(),
            to_inspect: Vec::new(),
        },
        buyer: BuyerPersona {
            id: String::new(),
            offer: String::new(),
            in_transit: String::new(),
        },
    })
}

fn no_render<T>(_: &T) -> StoredResponse {
    StoredResponse {
        status: 200,
        body: Vec::new(),
        etag: None,
    }
}

/// A command of the script must go through: a refusal means the script no longer fits the
/// service, and the demo stops with it.
fn fresh<T>(action: &str, result: Result<Answered<T>, AppError>) -> Result<T, SimError> {
    match result {
        Ok(Answered::Fresh(value, _)) => Ok(value),
        Ok(Answered::Replayed(_)) => Err(SimError::Data(format!(
            "{action}: answered from an earlier request"
        ))),
        Err(source) => Err(SimError::Command {
            action: action.to_owned(),
            source,
        }),
    }
}

/// A refusal the service answered with a rejection rather than a failure.
fn refused(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Rejected(_) | AppError::NotFound | AppError::VersionConflict { .. }
    )
}

/// Buyers' ratings of their closed returns and their notes to sellers on new ones, day by day.
struct Chatter {
    rng: StdRng,
    /// Returns changed after this (service time) are looked at next.
    since: DateTime<Utc>,
}

impl Chatter {
    async fn on_day(&mut self, service: &Service) -> Result<(), SimError> {
        let now = service.now();
        let rows = service
            .store()
            .pool()
            .get()
            .await?
            .query(
                "SELECT r.return_id, r.buyer_id, r.status, s.state ->> 'outcome', \
                        s.state ->> 'reason', r.created_at > $1 \
                 FROM return_index r \
                 JOIN snapshots s ON s.stream_id = 'return-' || r.return_id::text \
                 WHERE r.updated_at > $1 \
                   AND json_typeof(s.state -> 'rating') IS DISTINCT FROM 'object' \
                 ORDER BY r.order_id, r.created_at",
                &[&self.since],
            )
            .await?;
        self.since = now;
        for row in rows {
            let id = ReturnId::from_uuid(row.try_get::<_, Uuid>(0)?);
            let buyer = Actor::buyer(row.try_get::<_, String>(1)?);
            let status: String = row.try_get(2)?;
            let outcome: Option<String> = row.try_get(3)?;
            let reason: Option<String> = row.try_get(4)?;
            let new: bool = row.try_get(5)?;
            let command = if status == Status::Closed.as_str() {
                let Some(rating) = self.rating(outcome.as_deref()) else {
                    continue;
                };
                ReturnCommand::Rate(rating)
            } else if new && self.rng.random_bool(MESSAGE_SHARE) {
                ReturnCommand::PostMessage(PostMessage {
                    body: note(reason.as_deref(), &mut self.rng).to_owned(),
                })
            } else {
                continue;
            };
            match service
                .act_on_return(&buyer, id, command, &CommandOptions::default(), no_render)
                .await
            {
                Ok(_) => {}
                // Too late to rate, say: the buyer lets it be.
                Err(e) if refused(&e) => {}
                Err(source) => {
                    return Err(SimError::Command {
                        action: "rate or write".to_owned(),
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    /// A buyer's rating of a closed return, if they give one: happier with money back than
    /// without.
    fn rating(&mut self, outcome: Option<&str>) -> Option<RateReturn> {
        let scores: &[(u8, u32)] = match outcome? {
            "refunded" | "exchanged" => &[(5, 55), (4, 30), (3, 10), (2, 5)],
            "partially_refunded" => &[(5, 15), (4, 35), (3, 35), (2, 15)],
            "denied" => &[(1, 50), (2, 30), (3, 15), (4, 5)],
            _ => return None,
        };
        if !self.rng.random_bool(RATING_SHARE) {
            return None;
        }
        let total: u32 = scores.iter().map(|(_, w)| w).sum();
        let mut point = self.rng.random_range(0..total.max(1));
        let mut score = 3;
        for (s, w) in scores {
            if point < *w {
                score = *s;
                break;
            }
            point -= w;
        }
        let comment = self.rng.random_bool(0.4).then(|| {
            match score {
                5 => "Quick and painless, thank you.",
                4 => "Sorted out fine, if a little slowly.",
                3 => "It took a while to get an answer.",
                2 => "Too much back and forth for a simple return.",
                _ => "I do not agree with how this was decided.",
            }
            .to_owned()
        });
        Some(RateReturn { score, comment })
    }
}

/// What a buyer writes to the seller on opening a return.
fn note(reason: Option<&str>, rng: &mut StdRng) -> &'static str {
    let notes: &[&str] = match reason {
        Some("size_fit") => &[
            "It runs a size small; could I get the next size up instead?",
            "Lovely, but it does not fit. I will send it back as soon as I have a label.",
        ],
        Some("defective") => &[
            "It stopped working after a couple of days. I have kept all the packaging.",
            "The item does not switch on any more; photos attached to the request.",
        ],
        Some("not_as_described") => &[
            "The colour and material are not what the listing shows.",
            "This is not the model in the listing; please have a look at my photos.",
        ],
        Some("not_received") => {
            &["The tracking says delivered but nothing arrived, and the neighbours have nothing."]
        }
        _ => &[
            "Hello, I would like to return this; please let me know how to send it.",
            "Unused and in its box. Thank you for your help.",
        ],
    };
    notes
        .get(rng.random_range(0..notes.len().max(1)))
        .copied()
        .unwrap_or("Hello, I would like to return this.")
}

/// The fewest days a demo lasts: its earliest scripted order is placed this many days before the
/// end.
const SCRIPT_DAYS: u32 = 28;
/// A scripted order is placed this many days before its return is opened (at least
/// [`PLACED_AT_LEAST_DAYS_BEFORE_END`] before the end), and delivered three days later: every
/// return is opened within the shortest return window (14 days from delivery).
const PLACED_DAYS_BEFORE_OPENING: u32 = 7;
const PLACED_AT_LEAST_DAYS_BEFORE_END: u32 = 14;
const DELIVERY_DAYS: u32 = 3;

/// Where a scripted return is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Waiting for the seller's answer.
    Requested,
    /// The seller's offer, waiting for the buyer.
    OfferPending,
    /// Authorised, the label sent; the buyer is to ship.
    Authorized,
    /// On its way back to the seller.
    InTransit,
    /// Back with the seller, waiting for the inspection.
    Delivered,
    /// Inspected; the refund is due.
    RefundPending,
    /// Declined and escalated; with the operator assigned, if any.
    Disputed(Option<&'static str>),
    /// Closed with this outcome.
    Closed(Outcome),
}

/// Who in the script plays a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The buyer or seller the report proposes to sign in as.
    Persona,
    /// The `n`th other honest buyer or seller.
    Other(usize),
}

struct Scripted {
    goal: Goal,
    buyer: Who,
    seller: Who,
    /// Days before the end on which the return is opened (0: at the end).
    opens_days_before_end: u32,
    reason: Reason,
    resolution: Resolution,
    description: &'static str,
    /// Filled in as the script goes.
    order: Option<(OrderId, Vec<OrderLine>)>,
    case: Option<ReturnCase>,
}

fn scripted(
    goal: Goal,
    buyer: Who,
    seller: Who,
    opens_days_before_end: u32,
    reason: Reason,
    description: &'static str,
) -> Scripted {
    Scripted {
        goal,
        buyer,
        seller,
        opens_days_before_end,
        reason,
        resolution: Resolution::Refund,
        description,
        order: None,
        case: None,
    }
}

impl Scripted {
    fn exchange(mut self) -> Scripted {
        self.resolution = Resolution::Exchange;
        self
    }

    fn placed_days_before_end(&self) -> u32 {
        (self.opens_days_before_end + PLACED_DAYS_BEFORE_OPENING)
            .max(PLACED_AT_LEAST_DAYS_BEFORE_END)
    }

    fn delivered_days_before_end(&self) -> u32 {
        self.placed_days_before_end() - DELIVERY_DAYS
    }
}

/// The scripted returns: each state a console shows, between the personas and a few others.
fn cases(sized: bool) -> Vec<Scripted> {
    use Goal::*;
    use Who::*;
    let fit = if sized {
        (Reason::SizeFit, "It runs a size small.")
    } else {
        (Reason::ChangedMind, "Not what I expected once unpacked.")
    };
    vec![
        // A week old and undecided: overdue in the queue, one unassigned, one assigned.
        scripted(
            Disputed(None),
            Other(0),
            Other(0),
            7,
            Reason::NotAsDescribed,
            "The fabric is much thinner than the listing says and the seams are coming apart.",
        ),
        scripted(
            Disputed(Some("operator-2")),
            Other(1),
            Persona,
            6,
            Reason::Defective,
            "The zip broke the first time I used it.",
        ),
        scripted(
            Requested,
            Other(2),
            Persona,
            0,
            Reason::Defective,
            "Stopped working after three days.",
        ),
        scripted(Requested, Other(3), Persona, 0, fit.0, fit.1),
        scripted(
            OfferPending,
            Persona,
            Persona,
            0,
            Reason::NotAsDescribed,
            "The colour is much darker than in the photos.",
        ),
        scripted(
            InTransit,
            Persona,
            Persona,
            0,
            Reason::ChangedMind,
            "Changed my mind; unused, in its box.",
        ),
        scripted(
            Delivered,
            Other(4),
            Persona,
            0,
            Reason::Defective,
            "One of the buttons does not work.",
        ),
        scripted(
            Authorized,
            Other(5),
            Other(1),
            0,
            Reason::ChangedMind,
            "Bought two by mistake.",
        ),
        scripted(
            RefundPending,
            Other(6),
            Other(1),
            0,
            Reason::ChangedMind,
            "No longer needed.",
        ),
        scripted(
            Disputed(None),
            Other(7),
            Other(2),
            0,
            Reason::NotAsDescribed,
            "This is an older model than the one in the listing.",
        ),
        scripted(
            Disputed(Some(DEMO_OPERATOR)),
            Other(0),
            Other(2),
            0,
            Reason::Defective,
            "Arrived with a cracked casing.",
        ),
        // One of each outcome, whatever the marketplace's own returns came to.
        scripted(
            Closed(Outcome::Lapsed),
            Other(8),
            Other(3),
            17,
            Reason::ChangedMind,
            "Found it cheaper elsewhere.",
        ),
        scripted(
            Closed(Outcome::Refunded),
            Other(9),
            Other(1),
            5,
            Reason::Defective,
            "The screen flickers.",
        ),
        scripted(
            Closed(Outcome::PartiallyRefunded),
            Other(10),
            Persona,
            4,
            Reason::NotAsDescribed,
            "A small stain on the front that the photos do not show.",
        ),
        scripted(
            Closed(Outcome::Denied),
            Other(11),
            Other(2),
            3,
            Reason::NotAsDescribed,
            "It looks different from the listing.",
        ),
        scripted(
            Closed(Outcome::Withdrawn),
            Other(12),
            Other(0),
            2,
            Reason::ChangedMind,
            "Ordered the wrong one.",
        ),
        scripted(
            Closed(Outcome::Exchanged),
            Persona,
            Persona,
            6,
            fit.0,
            fit.1,
        )
        .exchange(),
    ]
}

/// The scripted part of the demo: chosen parties, their orders and returns.
struct Script<'p> {
    population: &'p Population,
    days: u32,
    /// Population indexes of the persona seller and the other honest sellers, by size.
    seller: usize,
    other_sellers: Vec<usize>,
    buyer: usize,
    other_buyers: Vec<usize>,
    cases: Vec<Scripted>,
    rng: StdRng,
    platform: Actor,
    opts: CommandOptions,
}

impl<'p> Script<'p> {
    /// Chooses the parties: the persona seller is the largest honest shop selling sized goods
    /// (any honest shop if none does), the persona buyer the honest buyer with the most orders;
    /// the others are honest too, the sellers among those with returnable goods.
    fn new(population: &'p Population, config: &DemoConfig) -> Result<Script<'p>, SimError> {
        let category = |s: usize| {
            population
                .sellers
                .get(s)
                .and_then(|seller| CATEGORIES.get(seller.category))
        };
        let mut honest_sellers: Vec<usize> = (0..population.sellers.len())
            .filter(|&s| {
                population.sellers.get(s).is_some_and(|x| x.abuse.is_none())
                    && category(s).is_some_and(|c| c.name != "beauty")
            })
            .collect();
        honest_sellers.sort_by(|&a, &b| {
            let weight = |s: usize| population.sellers.get(s).map_or(0.0, |x| x.weight);
            weight(b).total_cmp(&weight(a)).then(a.cmp(&b))
        });
        let seller = honest_sellers
            .iter()
            .copied()
            .find(|&s| category(s).is_some_and(|c| c.sized))
            .or_else(|| honest_sellers.first().copied())
            .ok_or_else(|| SimError::Config("the demo needs an honest seller".to_owned()))?;
        let other_sellers: Vec<usize> = honest_sellers
            .iter()
            .copied()
            .filter(|&s| s != seller)
            .collect();

        let mut orders_of = vec![0usize; population.buyers.len()];
        for order in &population.orders {
            if let Some(n) = orders_of.get_mut(order.buyer) {
                *n += 1;
            }
        }
        let honest: Vec<usize> = (0..population.buyers.len())
            .filter(|&b| population.buyers.get(b).is_some_and(|x| x.abuse.is_none()))
            .collect();
        let buyer = honest
            .iter()
            .copied()
            .max_by(|&a, &b| {
                let n = |x: usize| orders_of.get(x).copied().unwrap_or(0);
                n(a).cmp(&n(b)).then(b.cmp(&a))
            })
            .ok_or_else(|| SimError::Config("the demo needs an honest buyer".to_owned()))?;
        let other_buyers: Vec<usize> = honest.into_iter().filter(|&b| b != buyer).collect();
        let sized = category(seller).is_some_and(|c| c.sized);
        Ok(Script {
            population,
            days: config.days,
            seller,
            other_sellers,
            buyer,
            other_buyers,
            cases: cases(sized),
            rng: StdRng::seed_from_u64(config.seed ^ 0x5c21_97ed),
            platform: Actor::platform("marketplace"),
            opts: CommandOptions::default(),
        })
    }

    fn seller_of(&self, who: Who) -> usize {
        match who {
            Who::Persona => self.seller,
            Who::Other(n) if !self.other_sellers.is_empty() => self
                .other_sellers
                .get(n % self.other_sellers.len())
                .copied()
                .unwrap_or(self.seller),
            Who::Other(_) => self.seller,
        }
    }

    fn buyer_of(&self, who: Who) -> usize {
        match who {
            Who::Persona => self.buyer,
            Who::Other(n) if !self.other_buyers.is_empty() => self
                .other_buyers
                .get(n % self.other_buyers.len())
                .copied()
                .unwrap_or(self.buyer),
            Who::Other(_) => self.buyer,
        }
    }

    /// Does today's part: `day` is the simulated day just played, or `days` for the end.
    async fn on_day(&mut self, day: u32, service: &Service) -> Result<(), SimError> {
        let before_end = self.days.saturating_sub(day);
        for i in 0..self.cases.len() {
            let Some(case) = self.cases.get(i) else {
                continue;
            };
            let (placed, delivered, opens) = (
                case.placed_days_before_end(),
                case.delivered_days_before_end(),
                case.opens_days_before_end,
            );
            if placed == before_end {
                self.place_order(i, day, service).await?;
            }
            if delivered == before_end {
                let Some((order_id, _)) = self.cases.get(i).and_then(|c| c.order.clone()) else {
                    continue;
                };
                let delivered_at = service.now() - Duration::hours(3);
                let result = service
                    .record_delivery(
                        &self.platform,
                        order_id,
                        delivered_at,
                        &self.opts,
                        no_render,
                    )
                    .await;
                fresh("record-delivery", result)?;
            }
            if opens == before_end {
                self.play(i, service).await?;
            }
        }
        Ok(())
    }

    /// Registers the order of scripted return `i`, priced above what the seller's policy settles
    /// without the seller (so that the request waits for its seller).
    async fn place_order(&mut self, i: usize, day: u32, service: &Service) -> Result<(), SimError> {
        let population = self.population;
        let Some(case) = self.cases.get(i) else {
            return Ok(());
        };
        let (b, s) = (self.buyer_of(case.buyer), self.seller_of(case.seller));
        let (Some(buyer), Some(seller)) = (population.buyers.get(b), population.sellers.get(s))
        else {
            return Err(SimError::Data("a scripted party is missing".to_owned()));
        };
        let policy = seller.policy_on(day);
        let floor = policy
            .auto_approve_max_minor
            .get()
            .max(policy.returnless_refund_max_minor.get())
            + 1500;
        let mut lines = population::draw_lines(&mut self.rng, seller, s)?;
        lines.truncate(1);
        for line in &mut lines {
            line.quantity = 1;
            if line.unit_price_minor.get() < floor {
                let price = floor / 100 * 100 + 99;
                line.unit_price_minor = MinorUnits::new(price)
                    .map_err(|e| SimError::Data(format!("amount {price}: {e}")))?;
            }
        }
        let order_id = OrderId::parse(&format!("order-{:07}", population.orders.len() + i + 1))
            .map_err(|e| SimError::Data(format!("order id: {e}")))?;
        let details = OrderDetails {
            order_id: order_id.clone(),
            buyer_id: buyer.id.clone(),
            seller_id: seller.id.clone(),
            currency: buyer.country.currency,
            jurisdiction: buyer.country.jurisdiction,
            placed_at: service.now() - Duration::minutes(20 + 7 * i as i64),
            delivered_at: None,
            lines: lines.clone(),
        };
        let result = service
            .register_order(&self.platform, details, &self.opts, no_render)
            .await;
        fresh("register-order", result)?;
        if let Some(case) = self.cases.get_mut(i) {
            case.order = Some((order_id, lines));
        }
        Ok(())
    }

    async fn act(
        &self,
        service: &Service,
        actor: &Actor,
        id: ReturnId,
        command: ReturnCommand,
    ) -> Result<ReturnCase, SimError> {
        let action = command.action().as_str();
        let result = service
            .act_on_return(actor, id, command, &self.opts, no_render)
            .await;
        fresh(action, result)
    }

    /// Opens scripted return `i` and takes it to its goal.
    async fn play(&mut self, i: usize, service: &Service) -> Result<(), SimError> {
        let population = self.population;
        let Some(plan) = self.cases.get(i) else {
            return Ok(());
        };
        let Some((order_id, lines)) = plan.order.clone() else {
            return Err(SimError::Data(
                "a scripted return without its order".to_owned(),
            ));
        };
        let (b, s) = (self.buyer_of(plan.buyer), self.seller_of(plan.seller));
        let (Some(buyer), Some(seller)) = (population.buyers.get(b), population.sellers.get(s))
        else {
            return Err(SimError::Data("a scripted party is missing".to_owned()));
        };
        let (goal, reason, resolution, description) =
            (plan.goal, plan.reason, plan.resolution, plan.description);
        let buyer = Actor::buyer(buyer.id.as_str());
        let seller = Actor::seller(seller.id.as_str());
        let no = population.orders.len() + i + 1;
        let request = OpenReturnRequest {
            order_id,
            items: lines
                .iter()
                .map(|line| ItemRequest {
                    line_id: line.line_id.clone(),
                    quantity: line.quantity,
                })
                .collect(),
            reason,
            description: Some(description.to_owned()),
            resolution,
            evidence: if reason.is_conformity() {
                vec![photo(no, "claim")]
            } else {
                Vec::new()
            },
            return_method: None,
        };
        let result = service
            .open_return(&buyer, request, &self.opts, no_render)
            .await;
        let mut case = fresh("open", result)?;
        if case.status != Status::Requested {
            return Err(SimError::Data(format!(
                "a scripted return opened as {} rather than requested",
                case.status
            )));
        }
        let id = case.id;
        let message = |body: &str| {
            ReturnCommand::PostMessage(PostMessage {
                body: body.to_owned(),
            })
        };
        let accept = |label: bool| accepted(no, label);
        let ship = shipped(no);
        match goal {
            // Taken to its close below.
            Goal::Closed(_) => {}
            Goal::Requested => {
                case = self
                    .act(
                        service,
                        &buyer,
                        id,
                        message("Hello, could you tell me how to send it back?"),
                    )
                    .await?;
            }
            Goal::OfferPending => {
                let amount = (case.requested_amount_minor.get() / 4).max(1);
                let offer = ReturnCommand::Offer(MakeOffer {
                    kind: OfferKind::PartialRefund,
                    amount_minor: Some(
                        MinorUnits::new(amount)
                            .map_err(|e| SimError::Data(format!("amount {amount}: {e}")))?,
                    ),
                });
                self.act(service, &seller, id, offer).await?;
                case = self
                    .act(
                        service,
                        &seller,
                        id,
                        message(
                            "Sorry about the colour. If you keep the item, we refund part of the \
                             price right away.",
                        ),
                    )
                    .await?;
            }
            Goal::Authorized => {
                case = self.act(service, &seller, id, accept(true)).await?;
            }
            Goal::InTransit | Goal::Delivered | Goal::RefundPending => {
                self.act(service, &seller, id, accept(true)).await?;
                case = self.act(service, &buyer, id, ship).await?;
                if goal == Goal::InTransit {
                    case = self
                        .act(
                            service,
                            &buyer,
                            id,
                            message("Sent today with your label; thanks for the quick answer."),
                        )
                        .await?;
                } else {
                    let delivered = ReturnCommand::CarrierUpdate(CarrierUpdate {
                        status: CarrierStatus::Delivered,
                        at: service.now().max(case.updated_at),
                    });
                    case = self.act(service, &self.platform, id, delivered).await?;
                }
                if goal == Goal::RefundPending {
                    let inspect = ReturnCommand::Inspect(InspectReturn {
                        grade: Grade::AsNew,
                        refund_amount_minor: case.requested_amount_minor,
                        notes: Some("Back in its original packaging, unused.".to_owned()),
                        evidence: Vec::new(),
                    });
                    case = self.act(service, &seller, id, inspect).await?;
                }
            }
            Goal::Disputed(assignee) => {
                let decline = ReturnCommand::Decline(DeclineReturn {
                    reason_text: "The item matches the listing; no fault was reported before."
                        .to_owned(),
                    evidence: vec![photo(no, "listing")],
                });
                self.act(service, &seller, id, decline).await?;
                let escalate = ReturnCommand::Escalate(EscalateReturn {
                    reason_text: "The seller refuses a return the photos clearly justify."
                        .to_owned(),
                });
                self.act(service, &buyer, id, escalate).await?;
                case = self
                    .act(
                        service,
                        &seller,
                        id,
                        message("Our listing photos show the item exactly as it was sent."),
                    )
                    .await?;
                if let Some(operator) = assignee {
                    let operator = Actor::operator(operator);
                    self.act(service, &operator, id, ReturnCommand::Assign(AssignDispute))
                        .await?;
                    case = self
                        .act(
                            service,
                            &operator,
                            id,
                            message(
                                "I am looking into this case. Could the seller add the photos \
                                 taken before shipping?",
                            ),
                        )
                        .await?;
                }
            }
        }
        if let Goal::Closed(outcome) = goal {
            case = self
                .close(service, &buyer, &seller, case, outcome, no)
                .await?;
        }
        let reached = match goal {
            Goal::Requested => Status::Requested,
            Goal::OfferPending => Status::OfferPending,
            Goal::Authorized => Status::Authorized,
            Goal::InTransit => Status::InTransit,
            Goal::Delivered => Status::Delivered,
            Goal::RefundPending => Status::RefundPending,
            Goal::Disputed(_) => Status::Escalated,
            // Closed by the service once its `ship_by` passes.
            Goal::Closed(Outcome::Lapsed) => Status::Authorized,
            Goal::Closed(_) => Status::Closed,
        };
        let outcome = match goal {
            Goal::Closed(outcome) if outcome != Outcome::Lapsed => Some(outcome),
            _ => None,
        };
        if case.status != reached || (outcome.is_some() && case.outcome != outcome) {
            return Err(SimError::Data(format!(
                "a scripted return meant to be {reached} is {}",
                case.status
            )));
        }
        if let Some(plan) = self.cases.get_mut(i) {
            plan.case = Some(case);
        }
        Ok(())
    }

    /// Takes a new request to its close with `outcome`. A lapsed one is only authorised here:
    /// the buyer never ships, and the service closes it when its `ship_by` passes (before the
    /// end: it is opened long enough before).
    async fn close(
        &self,
        service: &Service,
        buyer: &Actor,
        seller: &Actor,
        case: ReturnCase,
        outcome: Outcome,
        no: usize,
    ) -> Result<ReturnCase, SimError> {
        let id = case.id;
        let label = accepted(no, true);
        let ship = shipped(no);
        let delivered = |case: &ReturnCase| {
            ReturnCommand::CarrierUpdate(CarrierUpdate {
                status: CarrierStatus::Delivered,
                at: service.now().max(case.updated_at),
            })
        };
        let refund = |case: &ReturnCase| -> Result<ReturnCommand, SimError> {
            let due = case.pending_refund.as_ref().ok_or_else(|| {
                SimError::Data("a scripted return has no refund pending".to_owned())
            })?;
            Ok(ReturnCommand::Refund(IssueRefund {
                amount_minor: due.amount_minor,
                method: due.method,
                reference: format!("psp-{no:07}-{}", case.version),
            }))
        };
        let case = match outcome {
            Outcome::Lapsed => self.act(service, seller, id, label).await?,
            Outcome::Withdrawn => {
                self.act(service, buyer, id, ReturnCommand::Withdraw(WithdrawReturn))
                    .await?
            }
            Outcome::Refunded | Outcome::Exchanged => {
                self.act(service, seller, id, label).await?;
                let case = self.act(service, buyer, id, ship).await?;
                let case = self
                    .act(service, &self.platform, id, delivered(&case))
                    .await?;
                let inspect = ReturnCommand::Inspect(InspectReturn {
                    grade: Grade::AsNew,
                    refund_amount_minor: if outcome == Outcome::Refunded {
                        case.requested_amount_minor
                    } else {
                        MinorUnits::ZERO
                    },
                    notes: Some("Unused, with all its labels.".to_owned()),
                    evidence: Vec::new(),
                });
                let case = self.act(service, seller, id, inspect).await?;
                if outcome == Outcome::Refunded {
                    self.act(service, &self.platform, id, refund(&case)?)
                        .await?
                } else {
                    let replacement = ReturnCommand::ShipReplacement(ShipReplacement {
                        items: None,
                        carrier: "UPS".to_owned(),
                        tracking_number: format!("1Z{no:010}R"),
                    });
                    let case = self.act(service, seller, id, replacement).await?;
                    self.act(service, &self.platform, id, delivered(&case))
                        .await?
                }
            }
            Outcome::PartiallyRefunded => {
                let amount = (case.requested_amount_minor.get() * 3 / 10).max(1);
                let offer = ReturnCommand::Offer(MakeOffer {
                    kind: OfferKind::PartialRefund,
                    amount_minor: Some(
                        MinorUnits::new(amount)
                            .map_err(|e| SimError::Data(format!("amount {amount}: {e}")))?,
                    ),
                });
                self.act(service, seller, id, offer).await?;
                let case = self
                    .act(service, buyer, id, ReturnCommand::AcceptOffer(AcceptOffer))
                    .await?;
                self.act(service, &self.platform, id, refund(&case)?)
                    .await?
            }
            Outcome::Denied => {
                let decline = ReturnCommand::Decline(DeclineReturn {
                    reason_text: "The item matches the listing; no fault was reported before."
                        .to_owned(),
                    evidence: vec![photo(no, "listing")],
                });
                self.act(service, seller, id, decline).await?;
                let escalate = ReturnCommand::Escalate(EscalateReturn {
                    reason_text: "The seller will not take it back.".to_owned(),
                });
                self.act(service, buyer, id, escalate).await?;
                let operator = Actor::operator("operator-3");
                self.act(service, &operator, id, ReturnCommand::Assign(AssignDispute))
                    .await?;
                let decide = ReturnCommand::Decide(DecideDispute {
                    outcome: DecisionOutcome::SideWithSeller,
                    refund_amount_minor: MinorUnits::ZERO,
                    return_required: false,
                    funded_by: None,
                    rationale: "The listing's photos show the item as delivered.".to_owned(),
                    recommendation: None,
                });
                self.act(service, &operator, id, decide).await?
            }
        };
        Ok(case)
    }

    /// The personas and the RMAs of their scripted returns.
    fn personas(&self) -> Result<(SellerPersona, BuyerPersona), SimError> {
        let rma = |goal: Goal, buyer: Option<Who>| {
            self.cases
                .iter()
                .filter(|c| c.goal == goal && c.seller == Who::Persona)
                .filter(|c| buyer.is_none_or(|b| c.buyer == b))
                .filter_map(|c| c.case.as_ref().map(|case| case.rma.to_string()))
                .collect::<Vec<_>>()
        };
        let seller = self
            .population
            .sellers
            .get(self.seller)
            .ok_or_else(|| SimError::Data("the persona seller is missing".to_owned()))?;
        let buyer = self
            .population
            .buyers
            .get(self.buyer)
            .ok_or_else(|| SimError::Data("the persona buyer is missing".to_owned()))?;
        let one = |rmas: Vec<String>, what: &str| {
            rmas.into_iter()
                .next()
                .ok_or_else(|| SimError::Data(format!("the persona buyer has no {what}")))
        };
        Ok((
            SellerPersona {
                id: seller.id.as_str().to_owned(),
                to_answer: rma(Goal::Requested, None),
                to_inspect: rma(Goal::Delivered, None),
            },
            BuyerPersona {
                id: buyer.id.as_str().to_owned(),
                offer: one(rma(Goal::OfferPending, Some(Who::Persona)), "offer")?,
                in_transit: one(
                    rma(Goal::InTransit, Some(Who::Persona)),
                    "return in transit",
                )?,
            },
        ))
    }
}

fn photo(no: usize, what: &str) -> Evidence {
    Evidence::new(EvidenceKind::Photo).with_url(format!(
        "https://evidence.example/orders/{no:07}/{what}.jpg"
    ))
}

/// The seller's acceptance of the demo's return number `no`, with a DHL label or without.
fn accepted(no: usize, label: bool) -> ReturnCommand {
    ReturnCommand::Accept(AcceptReturn {
        label: label.then(|| ReturnLabel {
            carrier: "DHL".to_owned(),
            tracking_number: format!("JD{no:012}"),
            label_url: None,
        }),
        instructions: None,
        returnless: false,
    })
}

/// The buyer's shipping of the demo's return number `no`, by DHL.
fn shipped(no: usize) -> ReturnCommand {
    ReturnCommand::Ship(ShipReturn {
        carrier: "DHL".to_owned(),
        tracking_number: format!("JD{no:012}"),
    })
}
