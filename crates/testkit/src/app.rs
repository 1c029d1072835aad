use returns_api::auth::{Claims, JwtKeys, Role};
use returns_server::config::Settings;
use returns_server::startup::Application;

use crate::db::TestDb;

/// The secret the test service checks tokens with.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret!";

/// The whole service on a random port, against its own fresh database.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The port of `/metrics` when it was given an address of its own.
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    pub db: TestDb,
    keys: JwtKeys,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Starts the service as production does (`Application::build`), on port 0, without rate
    /// limits (tests that are about them use [`TestApp::spawn_with`]).
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// [`TestApp::spawn`] with some settings changed by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDb::empty().await;
        let mut settings = Settings {
            database_url: db.url().to_owned(),
            listen: "127.0.0.1:0".parse().expect("address"),
            jwt_secret: TEST_JWT_SECRET.as_bytes().to_vec(),
            token_checks: Default::default(),
            metrics_listen: None,
            db_pool_size: 8,
            db_statement_timeout: Some(std::time::Duration::from_secs(30)),
            db_lock_timeout: Some(std::time::Duration::from_secs(10)),
            workers: Some(2),
            create_database: false,
            test_clock: true,
            body_limit: returns_api::body::DEFAULT_BODY_LIMIT,
            // Deadlines run when the test clock is advanced, never behind a test's back.
            scheduler_interval_ms: 0,
            run_projections: true,
            // Webhook receivers in tests listen on 127.0.0.1; retries come after milliseconds
            // instead of seconds, so that a test sees them without waiting long.
            webhooks: returns_server::config::DispatchSettings {
                allow: returns_server::config::AllowList::parse("127.0.0.1").expect("allow-list"),
                backoff_base: std::time::Duration::from_millis(20),
                backoff_max: std::time::Duration::from_millis(200),
                timeout: std::time::Duration::from_secs(5),
                poll: std::time::Duration::from_millis(20),
                ..returns_server::config::DispatchSettings::default()
            },
            abuse_thresholds: Default::default(),
            abuse_window_days: returns_server::config::DEFAULT_ABUSE_WINDOW_DAYS,
            rate_limits: returns_api::limits::RateLimitSettings::unlimited(),
            http: returns_server::config::HttpSettings::default(),
        };
        adjust(&mut settings);
        let app = Application::build(settings).await.expect("service builds");
        let port = app.port();
        let metrics_port = app.metrics_port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port,
            client: reqwest::Client::new(),
            db,
            keys: JwtKeys::hs256(TEST_JWT_SECRET.as_bytes()).expect("keys"),
            handle,
        }
    }

    /// A valid token for `role` and party `sub`, good for an hour.
    pub fn token(&self, role: Role, sub: &str) -> String {
        mint_with(&self.keys, role, sub)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// A token signed with `secret` for `role` and party `sub`, good for an hour.
pub fn mint(secret: &str, role: Role, sub: &str) -> String {
    mint_with(&JwtKeys::hs256(secret.as_bytes()).expect("keys"), role, sub)
}

fn mint_with(keys: &JwtKeys, role: Role, sub: &str) -> String {
    let now = chrono_now();
    keys.mint(&Claims {
        sub: sub.to_owned(),
        role,
        exp: now + 3600,
        iat: Some(now),
        nbf: None,
        iss: None,
        aud: None,
        purpose: None,
        jti: None,
    })
    .expect("token")
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
