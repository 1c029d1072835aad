//! Settings, read from the environment (see README.md, "Configuration").

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
pub use returns_projections::dispatch::{AllowList, DispatchSettings};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/returns";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The rolling window of abuse detection when `RETURNS_ABUSE_WINDOW_DAYS` is not set.
pub const DEFAULT_ABUSE_WINDOW_DAYS: u32 = returns_arbitration::abuse::DEFAULT_WINDOW_DAYS;

/// Everything the service needs to start.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: SocketAddr,
    /// The HS256 secret tokens are checked with (`RETURNS_JWT_SECRET`).
    pub jwt_secret: Vec<u8>,
    /// The `iss` and `aud` tokens must carry, when set (`RETURNS_JWT_ISSUER`,
    /// `RETURNS_JWT_AUDIENCE`).
    pub token_checks: returns_api::auth::TokenChecks,
    /// Where `/metrics` is served (`RETURNS_METRICS_LISTEN`): on its own address when set (and
    /// then not on the API's), else beside the API.
    pub metrics_listen: Option<SocketAddr>,
    /// Connections in the pool (`RETURNS_DB_POOL_SIZE`, default 16).
    pub db_pool_size: usize,
    /// Server-side limits of every connection: `RETURNS_DB_STATEMENT_TIMEOUT_MS` (default 10000)
    /// and `RETURNS_DB_LOCK_TIMEOUT_MS` (default 3000); 0 means none.
    pub db_statement_timeout: Option<Duration>,
    pub db_lock_timeout: Option<Duration>,
    /// HTTP worker threads (`RETURNS_WORKERS`, default: one per core).
    pub workers: Option<usize>,
    /// Create the database named in `database_url` when it does not exist yet.
    pub create_database: bool,
    /// `RETURNS_TEST_CLOCK=1`: the clock can be advanced over HTTP (tests only).
    pub test_clock: bool,
    /// Largest accepted request body (`RETURNS_BODY_LIMIT_BYTES`, default 1 MiB).
    pub body_limit: usize,
    /// How often the deadline scheduler looks for due deadlines, in milliseconds
    /// (`RETURNS_SCHEDULER_INTERVAL_MS`, default 1000; 0 turns the scheduler off).
    pub scheduler_interval_ms: u64,
    /// Run the projections (`RETURNS_PROJECTIONS=0` turns them off in this instance; another
    /// instance then keeps them current).
    pub run_projections: bool,
    /// Webhook sending: `RETURNS_WEBHOOK_ALLOW_HOSTS` (targets that may be loopback or private),
    /// and the retry schedule (`RETURNS_WEBHOOK_BACKOFF_BASE_MS`, default 5000;
    /// `RETURNS_WEBHOOK_BACKOFF_MAX_MS`, default 3600000; `RETURNS_WEBHOOK_RETRY_HOURS`, default
    /// 24; `RETURNS_WEBHOOK_TIMEOUT_MS`, default 10000). Sent by the instances that run the
    /// projections.
    pub webhooks: DispatchSettings,
    /// Abuse detection: `RETURNS_ABUSE_THRESHOLDS`, a JSON object overriding any of the default
    /// thresholds (docs/abuse.md), and `RETURNS_ABUSE_WINDOW_DAYS` (default 180).
    pub abuse_thresholds: returns_arbitration::abuse::Thresholds,
    pub abuse_window_days: u32,
    /// Requests per minute per caller (docs/api.md, "Rate limits"):
    /// `RETURNS_RATE_LIMIT_PARTY_PER_MINUTE` (each buyer and seller, default 120),
    /// `RETURNS_RATE_LIMIT_OPERATOR_PER_MINUTE` (600), `RETURNS_RATE_LIMIT_PLATFORM_PER_MINUTE`
    /// (0: none) and `RETURNS_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE` (per client address, 60).
    pub rate_limits: returns_api::limits::RateLimitSettings,
    /// HTTP: `RETURNS_HTTP_MAX_CONNECTIONS` (per worker thread, default 25000),
    /// `RETURNS_HTTP_KEEP_ALIVE_SECONDS` (75), `RETURNS_HTTP_REQUEST_TIMEOUT_MS` (time to receive
    /// a request's head, 5000) and `RETURNS_HTTP_DISCONNECT_TIMEOUT_MS` (1000).
    pub http: HttpSettings,
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    pub max_connections: usize,
    pub keep_alive: Duration,
    pub request_timeout: Duration,
    pub disconnect_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_connections: 25_000,
            keep_alive: Duration::from_secs(75),
            request_timeout: Duration::from_secs(5),
            disconnect_timeout: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL may carry a password and the JWT secret is a secret: neither is shown.
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("db_pool_size", &self.db_pool_size)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Settings> {
        let listen = var("RETURNS_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("RETURNS_LISTEN={listen:?} is not an address like {DEFAULT_LISTEN}")
        })?;
        let Some(secret) = var("RETURNS_JWT_SECRET") else {
            bail!(
                "RETURNS_JWT_SECRET is not set: tokens cannot be checked (at least {} bytes; \
                 `make run` makes a development one)",
                returns_api::auth::MIN_SECRET_BYTES
            );
        };
        let db_pool_size = match var("RETURNS_DB_POOL_SIZE") {
            Some(v) => v.parse().context("RETURNS_DB_POOL_SIZE must be a number")?,
            None => 16,
        };
        let workers = match var("RETURNS_WORKERS") {
            Some(v) => Some(v.parse().context("RETURNS_WORKERS must be a number")?),
            None => None,
        };
        let body_limit = match var("RETURNS_BODY_LIMIT_BYTES") {
            Some(v) => v
                .parse()
                .context("RETURNS_BODY_LIMIT_BYTES must be a number")?,
            None => returns_api::body::DEFAULT_BODY_LIMIT,
        };
        let scheduler_interval_ms = match var("RETURNS_SCHEDULER_INTERVAL_MS") {
            Some(v) => v
                .parse()
                .context("RETURNS_SCHEDULER_INTERVAL_MS must be a number")?,
            None => 1000,
        };
        let pool_defaults = returns_event_store::PoolSettings::default();
        let limit = |name: &str, default: Option<Duration>| -> anyhow::Result<Option<Duration>> {
            let limit = millis(name, default.unwrap_or_default())?;
            Ok((!limit.is_zero()).then_some(limit))
        };
        let db_statement_timeout = limit(
            "RETURNS_DB_STATEMENT_TIMEOUT_MS",
            pool_defaults.statement_timeout,
        )?;
        let db_lock_timeout = limit("RETURNS_DB_LOCK_TIMEOUT_MS", pool_defaults.lock_timeout)?;
        let webhooks = webhook_settings_from_env()?;
        let (abuse_thresholds, abuse_window_days) = abuse_settings_from_env()?;
        let per_minute = |name: &str, default: u32| -> anyhow::Result<u32> {
            match var(name) {
                Some(v) => v
                    .parse()
                    .with_context(|| format!("{name} must be a number of requests per minute")),
                None => Ok(default),
            }
        };
        let limits = returns_api::limits::RateLimitSettings::default();
        let rate_limits = returns_api::limits::RateLimitSettings {
            party_per_minute: per_minute(
                "RETURNS_RATE_LIMIT_PARTY_PER_MINUTE",
                limits.party_per_minute,
            )?,
            operator_per_minute: per_minute(
                "RETURNS_RATE_LIMIT_OPERATOR_PER_MINUTE",
                limits.operator_per_minute,
            )?,
            platform_per_minute: per_minute(
                "RETURNS_RATE_LIMIT_PLATFORM_PER_MINUTE",
                limits.platform_per_minute,
            )?,
            unauthenticated_per_minute: per_minute(
                "RETURNS_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE",
                limits.unauthenticated_per_minute,
            )?,
        };
        let http_defaults = HttpSettings::default();
        let max_connections = match var("RETURNS_HTTP_MAX_CONNECTIONS") {
            Some(v) => v
                .parse()
                .context("RETURNS_HTTP_MAX_CONNECTIONS must be a number")?,
            None => http_defaults.max_connections,
        };
        let keep_alive = match var("RETURNS_HTTP_KEEP_ALIVE_SECONDS") {
            Some(v) => Duration::from_secs(
                v.parse()
                    .context("RETURNS_HTTP_KEEP_ALIVE_SECONDS must be a number of seconds")?,
            ),
            None => http_defaults.keep_alive,
        };
        let http = HttpSettings {
            max_connections,
            keep_alive,
            request_timeout: millis(
                "RETURNS_HTTP_REQUEST_TIMEOUT_MS",
                http_defaults.request_timeout,
            )?,
            disconnect_timeout: millis(
                "RETURNS_HTTP_DISCONNECT_TIMEOUT_MS",
                http_defaults.disconnect_timeout,
            )?,
        };
        let metrics_listen = match var("RETURNS_METRICS_LISTEN") {
            Some(v) => Some(v.parse().with_context(|| {
                format!("RETURNS_METRICS_LISTEN={v:?} is not an address like 127.0.0.1:9090")
            })?),
            None => None,
        };
        Ok(Settings {
            database_url: database_url_from_env(),
            listen,
            jwt_secret: secret.into_bytes(),
            token_checks: token_checks_from_env(),
            metrics_listen,
            db_pool_size,
            db_statement_timeout,
            db_lock_timeout,
            workers,
            create_database: true,
            test_clock: var("RETURNS_TEST_CLOCK").as_deref() == Some("1"),
            body_limit,
            scheduler_interval_ms,
            run_projections: var("RETURNS_PROJECTIONS").as_deref() != Some("0"),
            webhooks,
            abuse_thresholds,
            abuse_window_days,
            rate_limits,
            http,
        })
    }
}

/// A number of milliseconds from `name`, or `default`.
fn millis(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match var(name) {
        Some(v) => Ok(Duration::from_millis(v.parse().with_context(|| {
            format!("{name} must be a number of milliseconds")
        })?)),
        None => Ok(default),
    }
}

fn webhook_settings_from_env() -> anyhow::Result<DispatchSettings> {
    let defaults = DispatchSettings::default();
    let allow = AllowList::parse(&var("RETURNS_WEBHOOK_ALLOW_HOSTS").unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("RETURNS_WEBHOOK_ALLOW_HOSTS: {e}"))?;
    let retry_for = match var("RETURNS_WEBHOOK_RETRY_HOURS") {
        Some(v) => {
            let hours: u64 = v
                .parse()
                .context("RETURNS_WEBHOOK_RETRY_HOURS must be a number of hours")?;
            if hours < 24 {
                // docs/api.md promises at least 24 hours; shorter spans are for experiments.
                tracing::warn!(
                    hours,
                    "webhooks are retried for less than the 24 hours docs/api.md promises"
                );
            }
            Duration::from_secs(hours.saturating_mul(3600))
        }
        None => defaults.retry_for,
    };
    let backoff_base = millis("RETURNS_WEBHOOK_BACKOFF_BASE_MS", defaults.backoff_base)?;
    let backoff_max = millis("RETURNS_WEBHOOK_BACKOFF_MAX_MS", defaults.backoff_max)?;
    let timeout = millis("RETURNS_WEBHOOK_TIMEOUT_MS", defaults.timeout)?;
    if backoff_base.is_zero() || timeout.is_zero() {
        bail!("RETURNS_WEBHOOK_BACKOFF_BASE_MS and RETURNS_WEBHOOK_TIMEOUT_MS must be above 0");
    }
    Ok(DispatchSettings {
        allow,
        backoff_base,
        backoff_max: backoff_max.max(backoff_base),
        retry_for,
        timeout,
        ..defaults
    })
}

/// `RETURNS_JWT_ISSUER` and `RETURNS_JWT_AUDIENCE`.
pub fn token_checks_from_env() -> returns_api::auth::TokenChecks {
    returns_api::auth::TokenChecks {
        issuer: var("RETURNS_JWT_ISSUER"),
        audience: var("RETURNS_JWT_AUDIENCE"),
    }
}

/// `DATABASE_URL`, or the local default.
/// The abuse projection's thresholds and rolling window (`RETURNS_ABUSE_THRESHOLDS`,
/// `RETURNS_ABUSE_WINDOW_DAYS`), for the service and for `returns rebuild`.
pub fn abuse_settings_from_env() -> anyhow::Result<(returns_arbitration::abuse::Thresholds, u32)> {
    let thresholds = match var("RETURNS_ABUSE_THRESHOLDS") {
        Some(v) => serde_json::from_str(&v)
            .context("RETURNS_ABUSE_THRESHOLDS must be a JSON object of thresholds")?,
        None => returns_arbitration::abuse::Thresholds::default(),
    };
    let window_days = match var("RETURNS_ABUSE_WINDOW_DAYS") {
        Some(v) => v
            .parse()
            .context("RETURNS_ABUSE_WINDOW_DAYS must be a number of days")?,
        None => DEFAULT_ABUSE_WINDOW_DAYS,
    };
    Ok((thresholds, window_days))
}

pub fn database_url_from_env() -> String {
    var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}
