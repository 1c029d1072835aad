//! The service clock. The domain never reads a clock; the service reads this one and passes `now`
//! in. Tests use [`TestClock`], which is real time plus the advances made through the API.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, DurationRound, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// Real time to the microsecond: what PostgreSQL stores, so that a time read back from the
/// database equals the one that was written.
fn real_now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::microseconds(1)).unwrap_or(now)
}

/// Real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        real_now()
    }
}

/// Real time plus the sum of the advances made so far.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_seconds: AtomicI64,
}

impl TestClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (never backward).
    pub fn advance(&self, by: Duration) {
        let seconds = by.num_seconds().max(0);
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn offset(&self) -> Duration {
        Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        real_now() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_clock_runs_ahead_by_the_advances() {
        let clock = TestClock::new();
        let before = Utc::now();
        clock.advance(Duration::hours(48));
        clock.advance(Duration::hours(-5));
        let ahead = clock.now() - before;
        assert!(ahead >= Duration::hours(48), "{ahead}");
        assert!(
            ahead < Duration::hours(48) + Duration::minutes(1),
            "{ahead}"
        );
    }
}
