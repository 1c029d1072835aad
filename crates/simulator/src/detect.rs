//! Runs abuse detection beside the simulated marketplace: the `abuse` projection, fed by a
//! [`Runner`] that catches up with the log at the end of every simulated day, and the flags it
//! raised.

use std::sync::Arc;
use std::time::{Duration, Instant};

use returns_arbitration::abuse::Thresholds;
use returns_event_store::{EventStore, FeedPosition};
use returns_projections::abuse::Abuse;
use returns_projections::{Projection, ProjectionError, Runner, RunnerSettings, Status};

use crate::report::Detection;
use crate::SimError;

/// How long detection waits for the feed's horizon to pass the end of the log.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until every event after `after` lies below the feed's horizon. The horizon is the oldest
/// transaction still running anywhere on the server, so another database's work can hold it back
/// for a moment; waiting for it means the runner reads whole batches, the same batches in every
/// run, and that caught up means at the end of the log. Returns false if it is still held back
/// after [`SETTLE_TIMEOUT`].
pub(crate) async fn settle(store: &EventStore, after: FeedPosition) -> Result<bool, SimError> {
    let started = Instant::now();
    loop {
        let settled: bool = store
            .pool()
            .get()
            .await?
            .query_one(
                "SELECT COALESCE(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint, \
                        true) \
                 FROM events WHERE (tx_id, position) > ($1::bigint, $2::bigint)",
                &[&after.tx_id, &after.position],
            )
            .await?
            .try_get(0)?;
        if settled {
            return Ok(true);
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Who holds the abuse projection's lease during a run.
const OWNER: &str = "abuse-simulator";

/// Gives a projection's lease back, if `owner` still holds it.
pub(crate) async fn release(store: &EventStore, name: &str, owner: &str) -> Result<(), SimError> {
    store
        .pool()
        .get()
        .await?
        .execute(
            "UPDATE projection_checkpoints SET owner = NULL, lease_until = NULL, updated_at = now() \
             WHERE name = $1 AND owner = $2",
            &[&name, &owner],
        )
        .await?;
    Ok(())
}

/// Feeds `projection` until it has applied the whole log, then gives its lease back; how many
/// events it applied. Fails when someone else holds the lease (a service running on the
/// database) or when the projection stops on an event.
pub(crate) async fn catch_up_once<P: Projection>(
    store: &EventStore,
    projection: P,
    owner: &str,
) -> Result<u64, SimError> {
    let name = projection.name().to_owned();
    let mut runner = Runner::new(
        store.clone(),
        Arc::new(projection),
        RunnerSettings {
            owner: owner.to_owned(),
            lease: Duration::from_secs(120),
            ..RunnerSettings::default()
        },
    );
    if !runner.acquire().await? {
        return Err(SimError::Projection(ProjectionError::LeaseLost(name)));
    }
    let mut applied = 0u64;
    loop {
        let settled = settle(store, runner.checkpoint()).await?;
        match runner.step().await? {
            Status::Applied(n) => applied += n as u64,
            Status::CaughtUp if settled => break,
            Status::CaughtUp => {
                return Err(SimError::Stalled(format!(
                    "a transaction open elsewhere on the server has held the {name} projection's \
                     feed back for a minute"
                )))
            }
        }
    }
    release(store, &name, owner).await?;
    Ok(applied)
}

/// One row of `abuse_flags`, as far as scoring needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRow {
    /// `buyer` or `seller`.
    pub party_role: String,
    pub party_id: String,
    pub kind: String,
    pub status: String,
}

/// Abuse detection as it runs beside a live marketplace: the abuse projection (default thresholds)
/// follows the log, caught up at the end of every simulated day ([`Detector::catch_up`]), so that
/// flags are raised, and weigh in its fold, at the point of the log where they would be live. A
/// projection that stops on an event is reported in [`Detection::error`], with the flags raised
/// until then.
pub struct Detector {
    store: EventStore,
    runner: Runner<Abuse>,
    applied: u64,
    error: Option<String>,
    stopped_at: Option<i64>,
    /// Time spent catching up, over the whole run.
    spent: Duration,
}

impl Detector {
    /// Takes the projection's lease on the scratch database.
    pub async fn start(store: &EventStore) -> Result<Detector, SimError> {
        Detector::start_with(store, Abuse::new(Thresholds::default())).await
    }

    /// The same with the given projection (thresholds and window as a service is configured).
    pub async fn start_with(store: &EventStore, abuse: Abuse) -> Result<Detector, SimError> {
        let projection = Arc::new(abuse);
        let mut runner = Runner::new(
            store.clone(),
            projection,
            RunnerSettings {
                owner: OWNER.to_owned(),
                // Nobody else feeds this database's projection; a long lease spares renewals.
                lease: Duration::from_secs(600),
                ..RunnerSettings::default()
            },
        );
        if !runner.acquire().await? {
            return Err(SimError::Projection(ProjectionError::LeaseLost(
                "abuse".to_owned(),
            )));
        }
        Ok(Detector {
            store: store.clone(),
            runner,
            applied: 0,
            error: None,
            stopped_at: None,
            spent: Duration::ZERO,
        })
    }

    /// Applies every event of the log so far (nothing once the projection has stopped on one).
    pub async fn catch_up(&mut self) -> Result<(), SimError> {
        if self.error.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        loop {
            let settled = settle(&self.store, self.runner.checkpoint()).await?;
            match self.runner.step().await {
                Ok(Status::Applied(n)) => self.applied += n as u64,
                // Caught up with the feed's horizon; the log's end may still lie beyond it.
                Ok(Status::CaughtUp) if settled => break,
                Ok(Status::CaughtUp) => {
                    return Err(SimError::Stalled(
                        "a transaction open elsewhere on the server has held the feed back for a \
                         minute"
                            .to_owned(),
                    ))
                }
                Err(ProjectionError::Failed {
                    event_id, reason, ..
                }) => {
                    // The event's place in the log, unlike its id, is the same in every run.
                    let position: Option<i64> = self
                        .store
                        .pool()
                        .get()
                        .await?
                        .query_opt(
                            "SELECT position FROM events WHERE event_id = $1",
                            &[&event_id],
                        )
                        .await?
                        .map(|row| row.try_get(0))
                        .transpose()?;
                    self.stopped_at = position;
                    self.error = Some(reason);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.spent += started.elapsed();
        Ok(())
    }

    /// Catches up one last time, gives the projection's lease back (a service started on the
    /// database takes it at once) and reads the flags raised; with the time spent catching up
    /// over the whole run.
    pub async fn finish(mut self) -> Result<(Detection, Vec<FlagRow>, Duration), SimError> {
        self.catch_up().await?;
        release(&self.store, "abuse", OWNER).await?;
        let rows = self
            .store
            .pool()
            .get()
            .await?
            .query(
                "SELECT party_role, party_id, kind, status FROM abuse_flags \
                 ORDER BY party_role, party_id, kind, raised_at",
                &[],
            )
            .await?;
        let flags = rows
            .iter()
            .map(|row| {
                Ok(FlagRow {
                    party_role: row.try_get(0)?,
                    party_id: row.try_get(1)?,
                    kind: row.try_get(2)?,
                    status: row.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
        Ok((
            Detection {
                events_applied: self.applied,
                flags: flags.len(),
                stopped_at: self.stopped_at,
                error: self.error,
            },
            flags,
            self.spent,
        ))
    }
}
