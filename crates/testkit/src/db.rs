use std::sync::Once;

use returns_event_store::{migrate, pool, with_database, EventStore, Pool, PoolSettings};
use tokio_postgres::NoTls;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// Logs to the test output when `TEST_LOG` is set; silent otherwise.
pub fn init_test_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_test_writer()
                .try_init();
        }
    });
}

/// A fresh, migrated database for one test; dropped (with its connections) when this is dropped.
pub struct TestDb {
    name: String,
    url: String,
    pool: Pool,
}

impl TestDb {
    /// Creates and migrates a new database.
    pub async fn new() -> TestDb {
        let db = TestDb::empty().await;
        migrate(&db.pool).await.expect("migrations apply");
        db
    }

    /// Creates a new database without applying migrations.
    pub async fn empty() -> TestDb {
        init_test_logging();
        let name = format!("returns_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_url();
        let (client, connection) = tokio_postgres::connect(&admin, NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at DATABASE_URL / {admin}: {e}"));
        let handle = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        drop(client);
        let _ = handle.await;
        let url = with_database(&admin, &name);
        let settings = PoolSettings {
            max_size: 32,
            application_name: "returns-test".into(),
            // Looser than the service's defaults: tests run in parallel on a debug build.
            statement_timeout: Some(std::time::Duration::from_secs(30)),
            lock_timeout: Some(std::time::Duration::from_secs(10)),
            ..PoolSettings::default()
        };
        let pool = pool(&url, &settings).expect("pool");
        TestDb { name, url, pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A connection string for this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// An event store over this database.
    pub fn store(&self) -> EventStore {
        EventStore::new(self.pool.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool.close();
        let name = self.name.clone();
        let admin = admin_url();
        // Drop cannot await; a short-lived runtime on its own thread does the clean-up, and the
        // test waits for it so that nothing is left behind when the process exits.
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
        let _ = joined;
    }
}
