//! The background workers of an instance (projection runners, the webhook dispatcher, the deadline
//! scheduler): how each one is doing, for `/readyz` and `/metrics`, and the capped back-off they
//! wait with after a transient failure (docs/operations.md, "Workers").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a worker is doing now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Working, or waiting for work.
    Running,
    /// Another instance holds this projection's lease; this one takes over if it stops.
    Standby,
    /// The database failed under it; it tries again after a back-off, by itself.
    Retrying { attempts: u32 },
    /// A projection stopped on an event it cannot apply; it stays there until fixed (the event and
    /// the reason are in `projection_checkpoints` and the log).
    Parked { event_id: Uuid },
    /// Stopped with the instance.
    Stopped,
}

impl WorkerState {
    /// The state's name in `/readyz` and in the `worker_state` metric.
    pub fn as_str(&self) -> &'static str {
        match self {
            WorkerState::Running => "running",
            WorkerState::Standby => "standby",
            WorkerState::Retrying { .. } => "retrying",
            WorkerState::Parked { .. } => "parked",
            WorkerState::Stopped => "stopped",
        }
    }

    const ALL: [&'static str; 5] = ["running", "standby", "retrying", "parked", "stopped"];
}

/// A worker's state and since when it has been in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    pub state: WorkerState,
    pub since: DateTime<Utc>,
}

/// The states of an instance's workers, shared by the workers (which report) and `/readyz` (which
/// reads). Cloning shares the board.
#[derive(Debug, Clone, Default)]
pub struct WorkerBoard {
    workers: Arc<Mutex<BTreeMap<String, WorkerReport>>>,
}

impl WorkerBoard {
    /// Records `worker`'s state; `since` moves only when the kind of state changes. Also sets the
    /// `worker_state{worker, state}` gauge (1 for the current state, 0 for the others).
    pub fn set(&self, worker: &str, state: WorkerState) {
        let Ok(mut workers) = self.workers.lock() else {
            return;
        };
        let changed = workers
            .get(worker)
            .is_none_or(|r| r.state.as_str() != state.as_str());
        if changed {
            for name in WorkerState::ALL {
                let value = if name == state.as_str() { 1.0 } else { 0.0 };
                metrics::gauge!("worker_state", "worker" => worker.to_owned(), "state" => name)
                    .set(value);
            }
        }
        let since = match workers.get(worker) {
            Some(r) if !changed => r.since,
            _ => Utc::now(),
        };
        workers.insert(worker.to_owned(), WorkerReport { state, since });
    }

    /// Records that `worker` failed on the database with `error`: it is retrying, after the wait
    /// this returns (the next of `backoff`), which is logged.
    pub fn retrying(
        &self,
        worker: &str,
        backoff: &mut Backoff,
        error: &dyn std::fmt::Display,
    ) -> Duration {
        let wait = backoff.next_wait();
        self.set(
            worker,
            WorkerState::Retrying {
                attempts: backoff.failures(),
            },
        );
        tracing::warn!(
            worker,
            error = %error,
            retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "the database failed under a worker; retrying"
        );
        wait
    }

    /// Every worker's report, by name.
    pub fn snapshot(&self) -> BTreeMap<String, WorkerReport> {
        self.workers.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

/// A capped exponential back-off: `base`, doubling on each failure up to `max`; [`reset`] after a
/// success.
///
/// [`reset`]: Backoff::reset
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// The wait after one more failure.
    pub fn next_wait(&mut self) -> Duration {
        let doubled = self
            .base
            .saturating_mul(2u32.saturating_pow(self.failures.min(31)));
        self.failures = self.failures.saturating_add(1);
        doubled.min(self.max)
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

impl Default for Backoff {
    /// 100 ms, doubling up to 30 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_starts_over_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<u128> = (0..6).map(|_| backoff.next_wait().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.failures(), 6);
        backoff.reset();
        assert_eq!(backoff.next_wait(), Duration::from_millis(100));
        for _ in 0..100 {
            backoff.next_wait();
        }
        assert_eq!(backoff.next_wait(), Duration::from_secs(1));
    }

    #[test]
    fn the_board_keeps_since_while_the_kind_of_state_stays() {
        let board = WorkerBoard::default();
        board.set("abuse", WorkerState::Retrying { attempts: 1 });
        let first = board.snapshot()["abuse"].since;
        board.set("abuse", WorkerState::Retrying { attempts: 2 });
        let report = board.snapshot()["abuse"].clone();
        assert_eq!(report.since, first);
        assert_eq!(report.state, WorkerState::Retrying { attempts: 2 });
        board.set("abuse", WorkerState::Running);
        assert_eq!(board.snapshot()["abuse"].state, WorkerState::Running);
        assert_eq!(board.snapshot().len(), 1);
    }
}
