//! Plays the drawn marketplace through the command layer, one day of service time at a time.
//!
//! The service clock ([`SimClock`]) starts at the first day's moment and moves on by one day per
//! simulated day. A simulation starts on the next Monday 06:00 UTC, so that business days and day
//! boundaries fall the same way in every run; a demo (`crate::demo`) starts as many days back as
//! it lasts, so that its last day is the present. Each day:
//!
//! 1. the service applies every deadline that fell due (`run_due_deadlines`);
//! 2. sellers set their policies (on the first day, and on the day a seller changes it);
//! 3. the platform registers the day's orders and reports the day's deliveries;
//! 4. buyers open the day's returns;
//! 5. every return waiting for someone today is looked at as the service shows it, and the party
//!    whose turn it is acts: or lets the deadline pass, which the service then applies on a later
//!    day like any other missed deadline.
//!
//! What a party does is drawn from the return's own random stream (seeded by the plan), so one
//! return's course never shifts another's draws. A command the service refuses (say, an answer
//! that crossed a deadline) is counted and the return looked at again the next day.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use returns_app::{
    Answered, AppError, Clock, CommandOptions, OpenReturnRequest, Service, StoredResponse,
    SystemClock,
};
use returns_domain::order::OrderDetails;
use returns_domain::returns::{
    AcceptOffer, AcceptReturn, AssignDispute, CarrierStatus, CarrierUpdate, DecideDispute,
    DecisionOutcome, DeclineOffer, DeclineReturn, EscalateReturn, EscalationTrigger, FundedBy,
    InspectReturn, IssueRefund, MakeOffer, OfferKind, OnArrival, ReceiveReturn, ReturnCommand,
    ReturnLabel, ShipReplacement, ShipReturn, Status, WithdrawReturn,
};
use returns_domain::{
    Actor, Evidence, EvidenceKind, Grade, MinorUnits, Reason, Resolution, ReturnCase, ReturnId,
};
use returns_event_store::EventStore;

use crate::population::{OrderPlan, Population, ReturnPlan, Seller};
use crate::report::GenerationStats;
use crate::{SimConfig, SimError};

/// The operators who decide disputes.
const OPERATORS: u32 = 4;
/// How often a fair operator decides a dispute the other way than its merits call for.
const OPERATOR_NOISE: f64 = 0.12;
/// Steps one return may take in one day (a guard: a day's chain is a few steps at most).
const MAX_STEPS_PER_DAY: usize = 8;

fn no_render<T>(_: &T) -> StoredResponse {
    StoredResponse {
        status: 200,
        body: Vec::new(),
        etag: None,
    }
}

/// The next Monday 06:00 UTC at least a minute after `now`.
fn next_monday_morning(now: DateTime<Utc>) -> DateTime<Utc> {
    let ahead = (7 - i64::from(now.weekday().num_days_from_monday())) % 7;
    let date = now.date_naive() + Duration::days(ahead);
    let Some(morning) = date.and_hms_opt(6, 0, 0) else {
        return now;
    };
    let morning = Utc.from_utc_datetime(&morning);
    if morning <= now + Duration::minutes(1) {
        morning + Duration::days(7)
    } else {
        morning
    }
}

/// Where a party stands when deciding what to do: the simulated day and the service clock.
struct Moment {
    today: u32,
    now: DateTime<Utc>,
}

impl Moment {
    /// The first day on which the service will have applied a deadline due at `t` (deadlines are
    /// applied at the start of each day, before anyone acts).
    fn fire_day(&self, t: DateTime<Utc>) -> u32 {
        let seconds = (t - self.now).num_seconds();
        let days = if seconds <= 0 {
            1
        } else {
            (seconds + 86_399) / 86_400
        };
        self.today + u32::try_from(days).unwrap_or(u32::MAX / 2)
    }

    /// The last day on which acting still beats a deadline due at `t` (with an hour to spare).
    fn last_safe_day(&self, t: DateTime<Utc>) -> u32 {
        let seconds = (t - self.now).num_seconds() - 3_600;
        if seconds < 0 {
            return self.today;
        }
        self.today + u32::try_from(seconds / 86_400).unwrap_or(u32::MAX / 2)
    }

    /// A day `lo` to `hi` days from today, but no later than `deadline` allows.
    fn pick(&self, rng: &mut StdRng, lo: u32, hi: u32, deadline: Option<DateTime<Utc>>) -> u32 {
        let offset = if hi <= lo {
            lo
        } else {
            rng.random_range(lo..=hi)
        };
        let day = self.today + offset;
        match deadline {
            Some(t) => day.min(self.last_safe_day(t)).max(self.today),
            None => day,
        }
    }
}

/// Why a seller says no, with what it shows for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Any reason at all.
    Unwilling,
    /// The carrier confirms delivery.
    Delivered,
    /// Outside the window or a non-returnable item.
    OutsidePolicy,
    /// The item matches the listing; nothing was wrong with it.
    NoFault,
}

impl Why {
    fn text(self) -> &'static str {
        match self {
            Why::Unwilling => "We do not accept this return.",
            Why::Delivered => "The carrier confirms delivery to the buyer's address.",
            Why::OutsidePolicy => "The item is outside our return policy.",
            Why::NoFault => "The item matches the listing; no fault was reported before.",
        }
    }

    fn evidence(self, no: usize) -> Vec<Evidence> {
        match self {
            Why::Delivered => vec![Evidence::new(EvidenceKind::Tracking)
                .with_url(format!("https://tracking.example/parcels/{no:07}"))
                .with_note("Delivered, signed at the door")],
            Why::NoFault => vec![photo(no, "listing")],
            Why::Unwilling | Why::OutsidePolicy => Vec::new(),
        }
    }
}

/// What a party does next.
#[derive(Debug, Clone, PartialEq)]
enum Act {
    /// Nothing: look again on the planned day.
    Wait,
    Accept {
        returnless: bool,
        label: bool,
    },
    Decline(Why),
    Offer {
        kind: OfferKind,
        amount: Option<i64>,
    },
    AcceptOffer,
    DeclineOffer,
    Ship,
    Withdraw,
    InTransit,
    Arrived {
        by_seller: bool,
    },
    Inspect {
        grade: Grade,
        amount: i64,
    },
    Refund,
    /// The seller sends the replacement of an exchange.
    ShipReplacement,
    Escalate,
    Assign,
    Decide {
        refund: bool,
        funded_by: FundedBy,
    },
}

#[derive(Debug, Clone)]
struct Planned {
    day: u32,
    /// The return as it stood when planned: the plan holds only while nothing else happened.
    status: Status,
    version: u64,
    act: Act,
}

/// A return that is open, with what its parties have in mind.
struct Active {
    order: usize,
    id: ReturnId,
    rng: StdRng,
    next_day: u32,
    plan: Option<Planned>,
    /// A deadline the party whose turn it is chose to let pass.
    letting_pass: Option<DateTime<Utc>>,
    arrival_day: Option<u32>,
    transit_reported: bool,
}

/// Which days things happen on.
struct Schedule {
    placements: Vec<Vec<usize>>,
    deliveries: Vec<Vec<usize>>,
    openings: Vec<Vec<usize>>,
    policy_changes: Vec<Vec<usize>>,
}

impl Schedule {
    fn of(population: &Population, days: u32) -> Schedule {
        let len = days as usize;
        let mut schedule = Schedule {
            placements: vec![Vec::new(); len],
            deliveries: vec![Vec::new(); len],
            openings: vec![Vec::new(); len],
            policy_changes: vec![Vec::new(); len],
        };
        let put = |list: &mut Vec<Vec<usize>>, day: u32, what: usize| {
            if let Some(slot) = list.get_mut(day as usize) {
                slot.push(what);
            }
        };
        for (i, order) in population.orders.iter().enumerate() {
            put(&mut schedule.placements, order.placed_day, i);
            if let Some(day) = order.delivery_day {
                put(&mut schedule.deliveries, day, i);
            }
            if let Some(ret) = &order.ret {
                put(&mut schedule.openings, ret.open_day, i);
            }
        }
        for (i, seller) in population.sellers.iter().enumerate() {
            if let Some((day, _)) = &seller.change {
                put(&mut schedule.policy_changes, *day, i);
            }
        }
        schedule
    }
}

struct Engine<'p> {
    service: Service,
    population: &'p Population,
    active: BTreeMap<usize, Active>,
    stats: GenerationStats,
    platform: Actor,
    opts: CommandOptions,
}

/// The service clock of a run: real time shifted by an offset, so that a run can start at any
/// moment (the next Monday morning, or some weeks back so that it ends at the present) and
/// moves on by a day at a time while real time still flows within each day.
#[derive(Debug)]
pub(crate) struct SimClock {
    offset_microseconds: AtomicI64,
}

impl SimClock {
    /// A clock that reads `start` now.
    pub(crate) fn starting_at(start: DateTime<Utc>) -> SimClock {
        let offset = (start - SystemClock.now()).num_microseconds().unwrap_or(0);
        SimClock {
            offset_microseconds: AtomicI64::new(offset),
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        let by = by.num_microseconds().unwrap_or(0).max(0);
        self.offset_microseconds.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + Duration::microseconds(self.offset_microseconds.load(Ordering::SeqCst))
    }
}

/// A marketplace played one day at a time: the service clock starts at the first day's moment
/// and moves on by a day before each further day.
pub(crate) struct Marketplace<'p> {
    engine: Engine<'p>,
    clock: Arc<SimClock>,
    schedule: Schedule,
    store: EventStore,
    /// The next day to play.
    day: u32,
}

impl<'p> Marketplace<'p> {
    /// A marketplace whose first day starts at `start` (service time) and that lasts
    /// `config.days` days.
    pub(crate) fn new(
        store: EventStore,
        population: &'p Population,
        config: &SimConfig,
        start: DateTime<Utc>,
    ) -> Marketplace<'p> {
        let clock = Arc::new(SimClock::starting_at(start));
        let service = Service::new(store.clone(), clock.clone());
        Marketplace {
            engine: Engine {
                service,
                population,
                active: BTreeMap::new(),
                stats: GenerationStats::default(),
                platform: Actor::platform("marketplace"),
                opts: CommandOptions::default(),
            },
            clock,
            schedule: Schedule::of(population, config.days),
            store,
            day: 0,
        }
    }

    /// The service the marketplace runs on, at its clock.
    pub(crate) fn service(&self) -> &Service {
        &self.engine.service
    }

    pub(crate) fn stats(&self) -> &GenerationStats {
        &self.engine.stats
    }

    /// Plays the next day (moving the clock on a day first, but for the first); returns which
    /// day it was.
    pub(crate) async fn play_day(&mut self) -> Result<u32, SimError> {
        let day = self.day;
        if day > 0 {
            self.clock.advance(Duration::days(1));
        }
        self.engine.day(day, &self.schedule).await?;
        self.day += 1;
        Ok(day)
    }

    /// The run's figures, once its days are played.
    pub(crate) async fn finish(mut self) -> Result<GenerationStats, SimError> {
        self.engine.stats.returns_open_at_end = self.engine.active.len();
        self.engine.stats.events = self
            .store
            .pool()
            .get()
            .await?
            // The marketplace's events, not the flags detection raised meanwhile.
            .query_one(
                "SELECT count(*) FROM events WHERE stream_id NOT LIKE 'flag-%'",
                &[],
            )
            .await?
            .try_get::<_, i64>(0)
            .map(|n| u64::try_from(n).unwrap_or(0))?;
        Ok(self.engine.stats)
    }
}

/// A progress bar over the days of a run (hidden unless asked for).
pub(crate) fn day_bar(config: &SimConfig, what: &str) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(config.days));
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} day {{pos}}/{{len}} [{{bar:40}}] {{msg}} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The progress bar's message: what the run has done so far.
pub(crate) fn progress_message(stats: &GenerationStats) -> String {
    format!(
        "{} orders, {} returns, {} commands",
        stats.orders, stats.returns_opened, stats.commands
    )
}

/// Plays `population` through a [`Service`] over `store` for `config.days` days, from the next
/// Monday morning on. Abuse detection follows the log: `detector` catches up at the end of every
/// day.
pub(crate) async fn run(
    store: EventStore,
    population: &Population,
    config: &SimConfig,
    detector: &mut crate::detect::Detector,
) -> Result<GenerationStats, SimError> {
    let start = next_monday_morning(SystemClock.now()) + Duration::seconds(1);
    let mut market = Marketplace::new(store, population, config, start);
    let bar = day_bar(config, "simulating");
    for _ in 0..config.days {
        market.play_day().await?;
        detector.catch_up().await?;
        bar.inc(1);
        bar.set_message(progress_message(market.stats()));
    }
    bar.finish_and_clear();
    market.finish().await
}

fn photo(no: usize, what: &str) -> Evidence {
    Evidence::new(EvidenceKind::Photo).with_url(format!(
        "https://evidence.example/orders/{no:07}/{what}.jpg"
    ))
}

fn minor(amount: i64) -> Result<MinorUnits, SimError> {
    MinorUnits::new(amount).map_err(|e| SimError::Data(format!("amount {amount}: {e}")))
}

/// A refusal the service answered with a rejection rather than a failure.
fn refused(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Rejected(_) | AppError::NotFound | AppError::VersionConflict { .. }
    )
}

impl Engine<'_> {
    async fn day(&mut self, day: u32, schedule: &Schedule) -> Result<(), SimError> {
        let applied = self.service.run_due_deadlines(usize::MAX).await?;
        self.stats.deadlines_applied += applied as u64;
        let population = self.population;
        if day == 0 {
            for seller in &population.sellers {
                if let Some(policy) = &seller.policy {
                    self.set_policy(seller, policy).await?;
                }
            }
        }
        let at = |list: &Vec<Vec<usize>>| list.get(day as usize).cloned().unwrap_or_default();
        for s in at(&schedule.policy_changes) {
            if let Some(seller) = population.sellers.get(s) {
                if let Some((_, policy)) = &seller.change {
                    self.set_policy(seller, policy).await?;
                }
            }
        }
        for o in at(&schedule.placements) {
            if let Some(order) = population.orders.get(o) {
                self.register_order(order).await?;
            }
        }
        for o in at(&schedule.deliveries) {
            if let Some(order) = population.orders.get(o) {
                self.record_delivery(order).await?;
            }
        }
        for o in at(&schedule.openings) {
            if let Some(order) = population.orders.get(o) {
                self.open_return(order, day).await?;
            }
        }
        let due: Vec<usize> = self
            .active
            .iter()
            .filter(|(_, a)| a.next_day <= day)
            .map(|(order, _)| *order)
            .collect();
        for order in due {
            if let Some(active) = self.active.remove(&order) {
                let case = self
                    .service
                    .get_return(&Actor::operator("operator-1"), active.id)
                    .await?;
                self.drive(active, case, day).await?;
            }
        }
        Ok(())
    }

    /// Counts a command's answer; a refusal is counted and tolerated, a failure ends the run.
    fn tally<T>(
        &mut self,
        action: &str,
        result: Result<Answered<T>, AppError>,
    ) -> Result<Option<T>, SimError> {
        match result {
            Ok(Answered::Fresh(value, _)) => {
                self.stats.commands += 1;
                Ok(Some(value))
            }
            Ok(Answered::Replayed(_)) => Ok(None),
            Err(e) if refused(&e) => {
                self.stats.refused += 1;
                *self
                    .stats
                    .refused_by_action
                    .entry(action.to_owned())
                    .or_default() += 1;
                Ok(None)
            }
            Err(source) => Err(SimError::Command {
                action: action.to_owned(),
                source,
            }),
        }
    }

    async fn set_policy(
        &mut self,
        seller: &Seller,
        policy: &returns_domain::SellerPolicy,
    ) -> Result<(), SimError> {
        let result = self
            .service
            .set_policy(
                &Actor::seller(seller.id.as_str()),
                seller.id.clone(),
                policy.clone(),
                &self.opts,
                no_render,
            )
            .await;
        if self.tally("set-policy", result)?.is_some() {
            self.stats.policies_set += 1;
        }
        Ok(())
    }

    async fn register_order(&mut self, order: &OrderPlan) -> Result<(), SimError> {
        let (Some(buyer), Some(seller)) = (
            self.population.buyers.get(order.buyer),
            self.population.sellers.get(order.seller),
        ) else {
            return Ok(());
        };
        let minutes = i64::try_from(order.no * 37 % 300).unwrap_or(0);
        let details = OrderDetails {
            order_id: order.id.clone(),
            buyer_id: buyer.id.clone(),
            seller_id: seller.id.clone(),
            currency: buyer.country.currency,
            jurisdiction: buyer.country.jurisdiction,
            placed_at: self.service.now() - Duration::minutes(minutes),
            delivered_at: None,
            lines: order.lines.clone(),
        };
        let result = self
            .service
            .register_order(&self.platform, details, &self.opts, no_render)
            .await;
        if self.tally("register-order", result)?.is_some() {
            self.stats.orders += 1;
        }
        Ok(())
    }

    async fn record_delivery(&mut self, order: &OrderPlan) -> Result<(), SimError> {
        let minutes = 60 + i64::try_from(order.no * 13 % 240).unwrap_or(0);
        let delivered_at = self.service.now() - Duration::minutes(minutes);
        let result = self
            .service
            .record_delivery(
                &self.platform,
                order.id.clone(),
                delivered_at,
                &self.opts,
                no_render,
            )
            .await;
        if self.tally("record-delivery", result)?.is_some() {
            self.stats.deliveries += 1;
        }
        Ok(())
    }

    async fn open_return(&mut self, order: &OrderPlan, day: u32) -> Result<(), SimError> {
        let (Some(plan), Some(buyer)) = (&order.ret, self.population.buyers.get(order.buyer))
        else {
            return Ok(());
        };
        let request = OpenReturnRequest {
            order_id: order.id.clone(),
            items: plan.items.clone(),
            reason: plan.reason,
            description: plan.description.clone(),
            resolution: plan.resolution,
            evidence: if plan.evidence {
                vec![photo(order.no + 1, "claim")]
            } else {
                Vec::new()
            },
            return_method: None,
        };
        let result = self
            .service
            .open_return(
                &Actor::buyer(buyer.id.as_str()),
                request,
                &self.opts,
                no_render,
            )
            .await;
        let Some(case) = self.tally("open", result)? else {
            return Ok(());
        };
        self.stats.returns_opened += 1;
        let active = Active {
            order: order.no,
            id: case.id,
            rng: StdRng::seed_from_u64(plan.seed),
            next_day: day,
            plan: None,
            letting_pass: None,
            arrival_day: None,
            transit_reported: false,
        };
        self.drive(active, case, day).await
    }

    /// Lets the parties act on one return for today: as long as it is someone's turn today.
    async fn drive(
        &mut self,
        mut active: Active,
        mut case: ReturnCase,
        day: u32,
    ) -> Result<(), SimError> {
        let population = self.population;
        let Some(order) = population.orders.get(active.order) else {
            return Ok(());
        };
        for _ in 0..MAX_STEPS_PER_DAY {
            if case.status == Status::Closed {
                self.stats.returns_closed += 1;
                return Ok(());
            }
            let moment = Moment {
                today: day,
                now: self.service.now(),
            };
            let planned = match active.plan.take() {
                Some(p) if p.status == case.status && p.version == case.version => p,
                _ => plan(population, order, &mut active, &case, &moment),
            };
            if planned.day > day || planned.act == Act::Wait {
                active.next_day = planned.day.max(day + 1);
                if planned.act != Act::Wait {
                    active.plan = Some(planned);
                }
                self.active.insert(active.order, active);
                return Ok(());
            }
            match self.perform(order, &case, &planned.act).await? {
                Some(next) => case = next,
                None => break,
            }
        }
        active.next_day = day + 1;
        self.active.insert(active.order, active);
        Ok(())
    }

    /// Sends the command for `act`; the return as it is afterwards, or none when refused.
    async fn perform(
        &mut self,
        order: &OrderPlan,
        case: &ReturnCase,
        act: &Act,
    ) -> Result<Option<ReturnCase>, SimError> {
        let no = order.no + 1;
        let buyer = Actor::buyer(case.buyer_id.as_str());
        let seller = Actor::seller(case.seller_id.as_str());
        let operator = Actor::operator(
            case.dispute
                .as_ref()
                .and_then(|d| d.assignee.clone())
                .unwrap_or_else(|| format!("operator-{}", no as u32 % OPERATORS + 1)),
        );
        let now = self.service.now();
        // Carrier scans are reported a little after they happen, never before the last event.
        let scanned = |hours: i64| (now - Duration::hours(hours)).max(case.updated_at);
        let (actor, command) = match act {
            Act::Wait => return Ok(Some(case.clone())),
            Act::Accept { returnless, label } => (
                seller,
                ReturnCommand::Accept(AcceptReturn {
                    label: (*label && !*returnless).then(|| ReturnLabel {
                        carrier: "DHL".to_owned(),
                        tracking_number: format!("JD{no:012}"),
                        label_url: None,
                    }),
                    instructions: None,
                    returnless: *returnless,
                }),
            ),
            Act::Decline(why) => (
                seller,
                ReturnCommand::Decline(DeclineReturn {
                    reason_text: why.text().to_owned(),
                    evidence: why.evidence(no),
                }),
            ),
            Act::Offer { kind, amount } => (
                seller,
                ReturnCommand::Offer(MakeOffer {
                    kind: *kind,
                    amount_minor: amount.map(minor).transpose()?,
                }),
            ),
            Act::AcceptOffer => (buyer, ReturnCommand::AcceptOffer(AcceptOffer)),
            Act::DeclineOffer => (buyer, ReturnCommand::DeclineOffer(DeclineOffer)),
            Act::Ship => {
                let (carrier, tracking_number) = match &case.shipment.label {
                    Some(label) => (label.carrier.clone(), label.tracking_number.clone()),
                    None => ("UPS".to_owned(), format!("1Z{no:010}")),
                };
                (
                    buyer,
                    ReturnCommand::Ship(ShipReturn {
                        carrier,
                        tracking_number,
                    }),
                )
            }
            Act::Withdraw => (buyer, ReturnCommand::Withdraw(WithdrawReturn)),
            Act::ShipReplacement => (
                seller,
                ReturnCommand::ShipReplacement(ShipReplacement {
                    items: None,
                    carrier: "UPS".to_owned(),
                    tracking_number: format!("1Z{no:010}R"),
                }),
            ),
            Act::InTransit => (
                self.platform.clone(),
                ReturnCommand::CarrierUpdate(CarrierUpdate {
                    status: CarrierStatus::InTransit,
                    at: scanned(3),
                }),
            ),
            Act::Arrived { by_seller: true } => (
                seller,
                ReturnCommand::Receive(ReceiveReturn { received_at: None }),
            ),
            Act::Arrived { by_seller: false } => (
                self.platform.clone(),
                ReturnCommand::CarrierUpdate(CarrierUpdate {
                    status: CarrierStatus::Delivered,
                    at: scanned(2),
                }),
            ),
            Act::Inspect { grade, amount } => (
                seller,
                ReturnCommand::Inspect(InspectReturn {
                    grade: *grade,
                    refund_amount_minor: minor(*amount)?,
                    notes: Some(format!("Graded {grade}.")),
                    evidence: if *amount == 0 {
                        vec![photo(no, "inspection")]
                    } else {
                        Vec::new()
                    },
                }),
            ),
            Act::Refund => {
                let Some(due) = &case.pending_refund else {
                    return Ok(None);
                };
                (
                    self.platform.clone(),
                    ReturnCommand::Refund(IssueRefund {
                        amount_minor: due.amount_minor,
                        method: due.method,
                        reference: format!("psp-{no:07}-{}", case.version),
                    }),
                )
            }
            Act::Escalate => (
                buyer,
                ReturnCommand::Escalate(EscalateReturn {
                    reason_text: "The seller turned down a valid return.".to_owned(),
                }),
            ),
            Act::Assign => (operator, ReturnCommand::Assign(AssignDispute)),
            Act::Decide { refund, funded_by } => {
                let amount = if *refund { refund_amount(case) } else { 0 };
                let command = if amount > 0 {
                    DecideDispute {
                        outcome: DecisionOutcome::RefundBuyer,
                        refund_amount_minor: minor(amount)?,
                        return_required: !case.item_is_back()
                            && case.reason != Reason::NotReceived
                            && amount >= 1500,
                        funded_by: Some(*funded_by),
                        rationale: "The buyer's claim holds.".to_owned(),
                        recommendation: None,
                    }
                } else {
                    DecideDispute {
                        outcome: DecisionOutcome::SideWithSeller,
                        refund_amount_minor: MinorUnits::ZERO,
                        return_required: false,
                        funded_by: None,
                        rationale: "The claim is not supported.".to_owned(),
                        recommendation: None,
                    }
                };
                (operator, ReturnCommand::Decide(command))
            }
        };
        let action = command.action().as_str();
        let result = self
            .service
            .act_on_return(&actor, case.id, command, &self.opts, no_render)
            .await;
        let next = self.tally(action, result)?;
        if next.is_some() {
            match act {
                Act::Decide { .. } => self.stats.disputes_decided += 1,
                Act::Refund => self.stats.refunds_issued += 1,
                _ => {}
            }
        }
        Ok(next)
    }
}

/// What an operator refunds: what the seller's inspection granted if anything, else what the buyer
/// asked for.
fn refund_amount(case: &ReturnCase) -> i64 {
    case.inspection
        .as_ref()
        .map(|i| i.refund_amount_minor.get())
        .filter(|amount| *amount > 0)
        .unwrap_or_else(|| case.requested_amount_minor.get())
}

/// Whether the buyer deserves the refund: a true claim, within the policy, and no damage the buyer
/// did not explain.
fn buyer_is_right(truth: &ReturnPlan, order: &OrderPlan, case: &ReturnCase) -> bool {
    if case.reason == Reason::NotReceived {
        return order.delivery_day.is_none();
    }
    let explained = case.reason.is_conformity() || case.reason == Reason::DamagedInTransit;
    let bad_item = match truth.condition {
        Grade::EmptyBox | Grade::WrongItem => true,
        Grade::Damaged => !explained,
        Grade::MissingParts => case.reason != Reason::MissingParts,
        Grade::AsNew | Grade::Opened | Grade::Used => false,
    };
    truth.legit && case.policy.eligible && !bad_item
}

/// Decides what the party whose turn it is does next, and when.
fn plan(
    population: &Population,
    order: &OrderPlan,
    active: &mut Active,
    case: &ReturnCase,
    moment: &Moment,
) -> Planned {
    let at = |day: u32, act: Act| Planned {
        day,
        status: case.status,
        version: case.version,
        act,
    };
    let (Some(truth), Some(seller), Some(buyer)) = (
        &order.ret,
        population.sellers.get(order.seller),
        population.buyers.get(order.buyer),
    ) else {
        return at(moment.today + 30, Act::Wait);
    };
    let running = case.deadlines.running().first().map(|(_, t)| *t);
    if let (Some(t), Some(passing)) = (running, active.letting_pass) {
        if t == passing {
            return at(moment.fire_day(t), Act::Wait);
        }
    }
    let let_pass = |active: &mut Active, deadline: Option<DateTime<Utc>>| match deadline {
        Some(t) => {
            active.letting_pass = Some(t);
            at(moment.fire_day(t), Act::Wait)
        }
        None => at(moment.today + 3, Act::Wait),
    };
    let habits = seller.habits;
    let rng = &mut active.rng;
    match case.status {
        Status::Requested => {
            let due = case.deadlines.seller_response_due;
            if rng.random_bool(habits.ignore_request) {
                return let_pass(active, due);
            }
            let day = moment.pick(rng, 0, 2, due);
            let act = seller_response(rng, seller, truth, order, case);
            at(day, act)
        }
        Status::OfferPending => {
            let expires = case.deadlines.offer_expires;
            let answer = rng.random::<f64>();
            let day = moment.pick(rng, 0, 1, expires);
            if answer < 0.6 {
                at(day, Act::AcceptOffer)
            } else if answer < 0.9 {
                at(day, Act::DeclineOffer)
            } else {
                let_pass(active, expires)
            }
        }
        Status::Authorized => {
            let ship_by = case.deadlines.ship_by;
            if case.reason == Reason::NotReceived {
                // Nothing to send back.
                return at(moment.today, Act::Withdraw);
            }
            let ships = if matches!(case.on_arrival, OnArrival::Refund { .. }) {
                0.97
            } else {
                truth.ship
            };
            if rng.random_bool(ships.clamp(0.0, 1.0)) {
                let day = moment.pick(rng, 0, 3, ship_by);
                at(day, Act::Ship)
            } else if rng.random_bool(0.5) {
                let day = moment.pick(rng, 1, 3, ship_by);
                at(day, Act::Withdraw)
            } else {
                let_pass(active, ship_by)
            }
        }
        Status::InTransit => {
            let arrival = match active.arrival_day {
                Some(day) => day,
                None => {
                    let day = moment.today + rng.random_range(2..=5);
                    active.arrival_day = Some(day);
                    day
                }
            };
            let scan = !active.transit_reported
                && case.shipment.in_transit_at.is_none()
                && moment.today + 1 < arrival
                && active.rng.random_bool(0.7);
            active.transit_reported = true;
            if scan {
                at(moment.today + 1, Act::InTransit)
            } else {
                let by_seller = active.rng.random_bool(0.1);
                at(arrival.max(moment.today), Act::Arrived { by_seller })
            }
        }
        Status::Delivered => {
            let inspect_by = case.deadlines.inspect_by;
            if rng.random_bool(habits.late_inspection) {
                return let_pass(active, inspect_by);
            }
            let day = moment.pick(rng, 0, 2, inspect_by);
            let act = inspection(rng, seller, truth, case);
            at(day, act)
        }
        Status::RefundPending => {
            let due = case.deadlines.refund_due;
            if rng.random_bool(0.005) {
                return let_pass(active, due);
            }
            let day = moment.pick(rng, 0, 2, due);
            at(day, Act::Refund)
        }
        Status::Declined => {
            let escalate_by = case.deadlines.escalate_by;
            // Abusers escalate as is their habit; honest buyers mostly when they are right.
            let likely = if buyer.abuse.is_some() || buyer_is_right(truth, order, case) {
                truth.escalate
            } else {
                0.1
            };
            if rng.random_bool(likely.clamp(0.0, 1.0)) {
                let day = moment.pick(rng, 0, 3, escalate_by);
                at(day, Act::Escalate)
            } else {
                let_pass(active, escalate_by)
            }
        }
        Status::Escalated => {
            let assigned = case.dispute.as_ref().is_some_and(|d| d.assignee.is_some());
            let day = if assigned {
                moment.today
            } else {
                moment.today + rng.random_range(1..=2)
            };
            if !assigned && rng.random_bool(0.7) {
                return at(day, Act::Assign);
            }
            at(day, decision(rng, truth, order, case))
        }
        Status::ExchangePending => {
            let due = case.deadlines.replacement_ship_by;
            if rng.random_bool(habits.late_inspection) {
                return let_pass(active, due);
            }
            let day = moment.pick(rng, 0, 2, due);
            at(day, Act::ShipReplacement)
        }
        // The carrier delivers the replacement to the buyer.
        Status::ReplacementShipped => {
            let day = moment.today + rng.random_range(1..=3);
            at(day, Act::Arrived { by_seller: false })
        }
        Status::Closed => at(moment.today + 30, Act::Wait),
    }
}

/// How a seller answers a request.
fn seller_response(
    rng: &mut StdRng,
    seller: &Seller,
    truth: &ReturnPlan,
    order: &OrderPlan,
    case: &ReturnCase,
) -> Act {
    let habits = seller.habits;
    let requested = case.requested_amount_minor.get();
    if rng.random_bool(habits.decline_any) {
        return Act::Decline(Why::Unwilling);
    }
    if case.reason == Reason::NotReceived {
        return if order.delivery_day.is_some() && rng.random_bool(0.65) {
            Act::Decline(Why::Delivered)
        } else {
            Act::Accept {
                returnless: true,
                label: false,
            }
        };
    }
    if !case.policy.eligible {
        return if rng.random_bool(0.85) {
            Act::Decline(Why::OutsidePolicy)
        } else {
            Act::Accept {
                returnless: false,
                label: rng.random_bool(0.5),
            }
        };
    }
    if truth.weak && rng.random_bool(0.6) {
        return Act::Decline(Why::NoFault);
    }
    if case.offer.is_none()
        && case.resolution == Resolution::Refund
        && rng.random_bool(habits.offer)
    {
        return if case.reason == Reason::SizeFit {
            Act::Offer {
                kind: OfferKind::Exchange,
                amount: None,
            }
        } else {
            Act::Offer {
                kind: OfferKind::PartialRefund,
                amount: Some((requested * 3 / 10).max(1)),
            }
        };
    }
    Act::Accept {
        // Cheap items are sometimes not worth the trip back.
        returnless: requested <= 1000 && rng.random_bool(0.15),
        label: rng.random_bool(0.5),
    }
}

/// How a seller grades the item that came back, and what it refunds.
fn inspection(rng: &mut StdRng, seller: &Seller, truth: &ReturnPlan, case: &ReturnCase) -> Act {
    let requested = case.requested_amount_minor.get();
    let explained = case.reason.is_conformity() || case.reason == Reason::DamagedInTransit;
    let good = matches!(truth.condition, Grade::AsNew | Grade::Opened | Grade::Used);
    if good && rng.random_bool(seller.habits.refuse_good_item) {
        let grade = if !explained && rng.random_bool(0.3) {
            Grade::Used
        } else {
            Grade::Damaged
        };
        return Act::Inspect { grade, amount: 0 };
    }
    // Honest graders slip a notch now and then.
    let grade = if rng.random_bool(0.03) {
        match truth.condition {
            Grade::AsNew => Grade::Opened,
            Grade::Opened => Grade::AsNew,
            Grade::Used => Grade::Opened,
            other => other,
        }
    } else {
        truth.condition
    };
    let explained_damage = (grade == Grade::Damaged && explained)
        || (grade == Grade::MissingParts && case.reason == Reason::MissingParts);
    if case.on_arrival == OnArrival::Exchange {
        // A replacement goes out (refund 0) unless the item is refused.
        let grade = if explained_damage {
            Grade::Opened
        } else {
            grade
        };
        return Act::Inspect { grade, amount: 0 };
    }
    let amount = match grade {
        Grade::EmptyBox | Grade::WrongItem => 0,
        Grade::AsNew | Grade::Opened => {
            if truth.weak && rng.random_bool(0.6) {
                0
            } else {
                requested
            }
        }
        Grade::Used if explained => requested,
        Grade::Used => requested / 2,
        Grade::Damaged if explained_damage => requested,
        Grade::Damaged => {
            if rng.random_bool(0.5) {
                0
            } else {
                requested * 3 / 10
            }
        }
        Grade::MissingParts if explained_damage => requested,
        Grade::MissingParts => requested * 6 / 10,
    };
    Act::Inspect { grade, amount }
}

/// How a fair operator decides a dispute: on its merits, with some noise.
fn decision(rng: &mut StdRng, truth: &ReturnPlan, order: &OrderPlan, case: &ReturnCase) -> Act {
    let trigger = case.dispute.as_ref().map(|d| d.escalated_by);
    if trigger == Some(EscalationTrigger::RefundOverdue) {
        return Act::Decide {
            refund: true,
            funded_by: FundedBy::Platform,
        };
    }
    let right = buyer_is_right(truth, order, case);
    let refund = if rng.random_bool(OPERATOR_NOISE) {
        !right
    } else {
        right
    };
    let funded_by = if order.delivery_day.is_none() {
        FundedBy::Platform
    } else {
        FundedBy::Seller
    };
    Act::Decide { refund, funded_by }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_simulation_starts_on_a_monday_morning() {
        // 2026-11-26 is a Thursday.
        assert_eq!(
            next_monday_morning(t("2026-11-26T10:00:00Z")),
            t("2026-11-30T06:00:00Z")
        );
        assert_eq!(
            next_monday_morning(t("2026-11-30T05:00:00Z")),
            t("2026-11-30T06:00:00Z")
        );
        assert_eq!(
            next_monday_morning(t("2026-11-30T06:00:00Z")),
            t("2026-12-07T06:00:00Z")
        );
    }

    #[test]
    fn deadlines_fire_on_the_day_they_fall_due() {
        let moment = Moment {
            today: 10,
            now: t("2026-11-30T06:00:00Z"),
        };
        // Same time of day three days on: applied on day 13, before anyone acts.
        assert_eq!(moment.fire_day(t("2026-12-03T06:00:00Z")), 13);
        assert_eq!(moment.last_safe_day(t("2026-12-03T06:00:00Z")), 12);
        // Midnight after a weekend start: applied that morning.
        assert_eq!(moment.fire_day(t("2026-12-03T00:00:00Z")), 13);
        assert_eq!(moment.last_safe_day(t("2026-12-03T00:00:00Z")), 12);
        // Later in the day: still acted on in time that morning.
        assert_eq!(moment.fire_day(t("2026-12-03T09:00:00Z")), 14);
        assert_eq!(moment.last_safe_day(t("2026-12-03T09:00:00Z")), 13);
    }
}
