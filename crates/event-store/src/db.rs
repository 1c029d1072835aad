//! Connection pools.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::error::{Result, StoreError};

/// `url` with its database name replaced by `name`. Handles both the URL form and the
/// `key=value` form of connection strings.
pub fn with_database(url: &str, name: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let scheme_len = url.len() - rest.len();
        let (before_query, query) = match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let authority = match before_query.find('/') {
            Some(i) => &before_query[..i],
            None => before_query,
        };
        format!("{}{authority}/{name}{query}", &url[..scheme_len])
    } else {
        // In the key=value form a later key wins.
        format!("{url} dbname={name}")
    }
}

/// How a pool is made.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a caller waits for a free connection before the store reports `Unavailable`.
    pub wait_timeout: Duration,
    pub connect_timeout: Duration,
    pub application_name: String,
    /// The longest a statement may run before the server cancels it (`None`: no limit). A
    /// cancelled statement is a transient failure (503 to callers).
    pub statement_timeout: Option<Duration>,
    /// The longest a statement waits for a lock (`None`: no limit).
    pub lock_timeout: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            application_name: "returns".into(),
            statement_timeout: Some(Duration::from_secs(10)),
            lock_timeout: Some(Duration::from_secs(3)),
        }
    }
}

/// A pool of connections to `database_url`. Connections are made lazily, on first use.
pub fn pool(database_url: &str, settings: &PoolSettings) -> Result<Pool> {
    let mut config = tokio_postgres::Config::from_str(database_url)
        .map_err(|e| StoreError::Unavailable(format!("bad DATABASE_URL: {e}")))?;
    config.connect_timeout(settings.connect_timeout);
    if config.get_application_name().is_none() {
        config.application_name(&settings.application_name);
    }
    // Sent when each connection starts, beside any `options` the URL gives; a limit the URL sets
    // itself is left as it is.
    let mut options = config.get_options().unwrap_or_default().to_owned();
    for (name, limit) in [
        ("statement_timeout", settings.statement_timeout),
        ("lock_timeout", settings.lock_timeout),
    ] {
        if let Some(limit) = limit.filter(|_| !options.contains(name)) {
            options.push_str(&format!(" -c {name}={}", limit.as_millis().max(1)));
        }
    }
    let options = options.trim();
    if !options.is_empty() {
        config.options(options);
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        // A broken connection surfaces as an error on its next query and is then dropped; pinging
        // on every checkout would cost a round trip per command.
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.max_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "t1"),
            "postgresql://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
        assert_eq!(
            with_database("host=/tmp user=me", "t1"),
            "host=/tmp user=me dbname=t1"
        );
    }
}
