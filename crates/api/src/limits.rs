//! Rate limits per caller (docs/api.md, "Rate limits"): a token bucket per authenticated caller
//! (role and subject), sized by role, and one per client address for requests that fail
//! authentication. A caller over its limit gets 429 `rate_limited` with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::Role;
use crate::problem::Problem;

/// Requests per minute allowed to one caller, by kind; each is also the burst a caller may send
/// at once after a quiet minute. 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Each buyer and each seller (`RETURNS_RATE_LIMIT_PARTY_PER_MINUTE`).
    pub party_per_minute: u32,
    /// Each operator (`RETURNS_RATE_LIMIT_OPERATOR_PER_MINUTE`).
    pub operator_per_minute: u32,
    /// Each platform client (`RETURNS_RATE_LIMIT_PLATFORM_PER_MINUTE`): the marketplace's own
    /// backend, unlimited by default.
    pub platform_per_minute: u32,
    /// Requests without a valid token, per client address
    /// (`RETURNS_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE`).
    pub unauthenticated_per_minute: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            party_per_minute: 120,
            operator_per_minute: 600,
            platform_per_minute: 0,
            unauthenticated_per_minute: 60,
        }
    }
}

impl RateLimitSettings {
    /// No limit at all.
    pub fn unlimited() -> Self {
        RateLimitSettings {
            party_per_minute: 0,
            operator_per_minute: 0,
            platform_per_minute: 0,
            unauthenticated_per_minute: 0,
        }
    }
}

/// How many checks pass between two sweeps of buckets that have refilled (and so hold nothing a
/// fresh bucket would not).
const SWEEP_EVERY: u64 = 4096;

/// The buckets of one kind of caller.
struct Buckets<K: std::hash::Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    fn new(per_minute: u32) -> Self {
        Buckets {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `key` is over its limit.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The rate limiters of an instance (each instance counts its own requests).
pub struct RateLimits {
    parties: Buckets<(Role, String)>,
    operators: Buckets<String>,
    platform: Buckets<String>,
    addresses: Buckets<IpAddr>,
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        RateLimits {
            parties: Buckets::new(settings.party_per_minute),
            operators: Buckets::new(settings.operator_per_minute),
            platform: Buckets::new(settings.platform_per_minute),
            addresses: Buckets::new(settings.unauthenticated_per_minute),
        }
    }

    /// Counts a request of an authenticated caller.
    pub fn check_caller(&self, role: Role, id: &str) -> Result<(), Problem> {
        let checked = match role {
            Role::Buyer | Role::Seller => self.parties.check(&(role, id.to_owned())),
            Role::Operator => self.operators.check(&id.to_owned()),
            Role::Platform => self.platform.check(&id.to_owned()),
        };
        checked.map_err(too_many)
    }

    /// Counts a request from `address` that failed authentication.
    pub fn check_unauthenticated(&self, address: Option<IpAddr>) -> Result<(), Problem> {
        match address {
            Some(ip) => self.addresses.check(&ip).map_err(too_many),
            None => Ok(()),
        }
    }
}

/// 429 `rate_limited`, retry after `wait` (whole seconds, at least one).
fn too_many(wait: Duration) -> Problem {
    let seconds = u32::try_from(wait.as_secs().saturating_add(1)).unwrap_or(u32::MAX);
    let mut problem = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests from this caller; retry in {seconds} s"),
    );
    problem.retry_after = Some(seconds);
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_meets_its_limit_and_others_do_not_notice() {
        let limits = RateLimits::new(RateLimitSettings {
            party_per_minute: 3,
            ..RateLimitSettings::default()
        });
        for _ in 0..3 {
            assert!(limits.check_caller(Role::Buyer, "b-1").is_ok());
        }
        let refused = limits.check_caller(Role::Buyer, "b-1").unwrap_err();
        assert_eq!((refused.status, refused.code), (429, "rate_limited"));
        assert!(refused.retry_after.is_some_and(|s| (1..=21).contains(&s)));
        // Another buyer, and a seller with the same id, have buckets of their own.
        assert!(limits.check_caller(Role::Buyer, "b-2").is_ok());
        assert!(limits.check_caller(Role::Seller, "b-1").is_ok());
        // The platform is unlimited by default.
        for _ in 0..10_000 {
            assert!(limits.check_caller(Role::Platform, "p-1").is_ok());
        }
    }

    #[test]
    fn zero_means_no_limit() {
        let limits = RateLimits::new(RateLimitSettings::unlimited());
        for _ in 0..1000 {
            assert!(limits.check_caller(Role::Buyer, "b-1").is_ok());
            assert!(limits
                .check_unauthenticated(Some(IpAddr::from([127, 0, 0, 1])))
                .is_ok());
        }
    }
}
