//! The abuse simulator: how well does abuse detection tell abusers from honest parties?
//!
//! [`simulate`] plays a marketplace through the command layer ([`returns_app::Service`]) over
//! a few months of service time, with a configurable share of abusive buyers and sellers planted
//! among honest ones; the `abuse` projection follows the log day by day, and the flags it raised are
//! scored against the planted labels ([`Report`]).
//!
//! # How a run goes
//!
//! 1. [`population`]: everything is drawn up front from the seed, without I/O: sellers (category,
//!    size, return policy, habits), buyers (country, habits), which of them abuse and how, and
//!    every order with the return it will lead to, if any, and the truth about that return (is the
//!    claim true, what is really in the parcel). Party and order ids are deterministic.
//! 2. [`engine`]: the service clock (a [`returns_app::TestClock`]) is moved to a Monday morning and
//!    then on one day at a time. Each day the service first applies the deadlines that fell due
//!    (`run_due_deadlines`), then the platform registers the day's orders and deliveries, buyers
//!    open the day's returns, and every party acts on the returns waiting for it: sellers answer
//!    (accept, decline, offer) or let the response deadline pass, buyers ship, the platform reports
//!    the parcel and pays refunds, sellers inspect and grade, buyers escalate refusals and
//!    operators decide disputes. Each party looks at the return as the service shows it before
//!    acting, so missed deadlines take effect exactly as the service applies them.
//! 3. [`detect`]: as in a live marketplace, the `abuse` projection follows the log: a
//!    [`returns_projections::Runner`] catches up at the end of every simulated day, so a flag is
//!    raised, and counts in the projection's fold, at the point of the log where it would be
//!    live. At the end the flags it raised are read from `abuse_flags`.
//! 4. [`report`]: true and false positives per role and overall, precision, recall, the share of
//!    honest parties flagged, recall per planted kind and the flags raised per kind.
//!
//! Commands run one after another, so a seed always yields the same log (up to the ids and times
//! the service draws itself), and detection reads it in the same batches every time ([`detect`]),
//! so a seed always yields the same report.
//!
//! # Who abuses, and how
//!
//! Each planted kind matches one signal of `returns_arbitration::abuse` ([`AbuseKind`]):
//! serial returners, wardrobing (changed-mind and size returns opened in the last days of the
//! window, graded `used`), empty boxes and wrong items, repeated `not_received` claims on delivered
//! parcels, buyers who escalate weak claims and lose; sellers whose goods are often not as
//! described or defective, who refuse returned items at inspection and are overturned, who let
//! response deadlines pass, or who decline most returns. Honest parties make mistakes too (late
//! answers, the odd decline, used items, apparel buyers who return a lot), and operators decide
//! disputes fairly but not perfectly, so that a perfect score is not a given.
//!
//! # A demo marketplace
//!
//! [`demo()`] plays a small population of the same kind into a service's own database instead of
//! a scratch one, with the service clock ending at the present, and leaves returns in every state
//! the console shows, with ratings, messages, disputes and abuse flags ([`demo`]).

pub mod demo;
pub mod detect;
pub mod engine;
pub mod population;
pub mod report;
pub mod scratch;

use std::time::Instant;

use returns_app::AppError;
use returns_event_store::{Pool, StoreError};
use returns_projections::ProjectionError;

pub use demo::{demo, BuyerPersona, DemoConfig, DemoReport, SellerPersona, DEMO_OPERATOR};
pub use population::AbuseKind;
pub use report::{
    Confusion, Detection, FlagKindReport, GenerationStats, PartyOutcome, PlantedKindReport, Report,
    Timings,
};
pub use scratch::ScratchDatabase;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub buyers: usize,
    pub sellers: usize,
    /// The share of buyers planted as abusers (0 to 1), spread evenly over the buyer kinds.
    pub abusive_buyer_share: f64,
    /// The share of sellers planted as abusers (0 to 1), spread evenly over the seller kinds.
    pub abusive_seller_share: f64,
    /// Days of service time.
    pub days: u32,
    /// Everything random is drawn from this seed.
    pub seed: u64,
    /// Show progress bars on standard error.
    pub progress: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            buyers: 2000,
            sellers: 200,
            abusive_buyer_share: 0.05,
            abusive_seller_share: 0.05,
            days: 200,
            seed: 42,
            progress: false,
        }
    }
}

impl SimConfig {
    fn check(&self) -> Result<(), SimError> {
        if self.buyers == 0 || self.sellers == 0 {
            return Err(SimError::Config(
                "at least one buyer and one seller are needed".into(),
            ));
        }
        for (name, share) in [
            ("abusive buyer share", self.abusive_buyer_share),
            ("abusive seller share", self.abusive_seller_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(SimError::Config(format!(
                    "the {name} must be from 0 to 1, not {share}"
                )));
            }
        }
        if self.days < 7 {
            return Err(SimError::Config(
                "at least 7 days are needed for returns to run their course".into(),
            ));
        }
        Ok(())
    }
}

/// How many events the log of `pool`'s database holds.
pub async fn events_in(pool: &Pool) -> Result<i64, SimError> {
    Ok(pool
        .get()
        .await?
        .query_one("SELECT count(*) FROM events", &[])
        .await?
        .try_get(0)?)
}

/// A simulation or a demo only fills a database whose log is empty.
pub(crate) async fn ensure_empty(pool: &Pool) -> Result<(), SimError> {
    match events_in(pool).await? {
        0 => Ok(()),
        events => Err(SimError::NotEmpty(events)),
    }
}

/// Why a simulation could not run to its report.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulation settings: {0}")]
    Config(String),
    #[error("the simulation needs a migrated database without events; this one holds {0}")]
    NotEmpty(i64),
    /// A service runs on the database: it holds the lease of this projection.
    #[error(
        "a running service feeds this database's projections (it holds the lease of `{0}`); \
         stop it first"
    )]
    InUse(String),
    /// A generated value the domain refused to parse (a bug of the simulator).
    #[error("simulated data is invalid: {0}")]
    Data(String),
    /// The service failed on a command for a reason other than refusing it.
    #[error("{action} failed: {source}")]
    Command {
        action: String,
        #[source]
        source: AppError,
    },
    /// Detection could not read the whole log: the feed stayed held back.
    #[error("abuse detection stalled: {0}")]
    Stalled(String),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl From<tokio_postgres::Error> for SimError {
    fn from(e: tokio_postgres::Error) -> Self {
        SimError::Store(e.into())
    }
}

impl From<returns_event_store::PoolError> for SimError {
    fn from(e: returns_event_store::PoolError) -> Self {
        SimError::Store(e.into())
    }
}

/// Simulates a marketplace on `pool` (a migrated database without events), runs the abuse
/// projection over the log and scores its flags against the planted abusers.
///
/// A projection that stops on an event does not fail the run: the report says where it stopped
/// and counts the flags raised until then.
pub async fn simulate(pool: Pool, config: &SimConfig) -> Result<Report, SimError> {
    config.check()?;
    ensure_empty(&pool).await?;
    let population = population::draw(config)?;

    let started = Instant::now();
    let store = returns_event_store::EventStore::new(pool);
    let mut detector = detect::Detector::start(&store).await?;
    let generation = engine::run(store.clone(), &population, config, &mut detector).await?;
    let (detection, flags, detection_time) = detector.finish().await?;
    let generation_time = started.elapsed().saturating_sub(detection_time);

    Ok(report::Report::build(
        config,
        &population,
        generation,
        detection,
        &flags,
        Timings {
            generation: generation_time,
            detection: detection_time,
        },
    ))
}
