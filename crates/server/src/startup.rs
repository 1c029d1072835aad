//! Start-up as a value: [`Application::build`] binds the port, connects and migrates the database,
//! and returns a service ready to run; tests build the same value on port 0.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle, Service as _};
use actix_web::{App, HttpServer};
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use returns_api::auth::JwtKeys;
use returns_api::{ApiState, Readiness, WorkerHealth};
use returns_app::{Clock, Service, SystemClock, TestClock};
use returns_event_store::{EventStore, Pool, PoolSettings};
use returns_projections::abuse::Abuse;
use returns_projections::analytics::Analytics;
use returns_projections::dispatch::Dispatcher;
use returns_projections::webhooks::Webhooks;
use returns_projections::{Backoff, Projection, Runner, RunnerSettings, WorkerBoard, WorkerState};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::config::Settings;

/// How long in-flight requests may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A built service: bound to its port, database migrated, not yet serving.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    store: EventStore,
    background: Background,
}

/// The tasks that run beside the HTTP server, stopped with it.
struct Background {
    scheduler: Option<tokio::task::JoinHandle<()>>,
    /// The `/metrics` server, when it listens on its own address.
    metrics: Option<(tokio::task::JoinHandle<std::io::Result<()>>, ServerHandle)>,
    stop_projections: tokio::sync::watch::Sender<bool>,
    projections: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    async fn stop(self) {
        if let Some(scheduler) = self.scheduler {
            scheduler.abort();
        }
        if let Some((task, handle)) = self.metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        let _ = self.stop_projections.send(true);
        for task in self.projections {
            let _ = task.await;
        }
    }
}

/// Starts the runner of every projection. Each takes its projection's lease when it is free, so
/// with several instances each projection is fed by exactly one of them at a time. The webhook
/// dispatcher runs beside them; it needs no lease (deliveries are claimed one by one), so every
/// instance that runs projections sends webhooks.
fn start_projections(store: &EventStore, settings: &Settings, board: &WorkerBoard) -> Background {
    let (stop_projections, stop) = tokio::sync::watch::channel(false);
    let mut projections = Vec::new();
    if settings.run_projections {
        projections.push(spawn_runner(store, Analytics::default(), &stop, board));
        projections.push(spawn_runner(store, Webhooks::default(), &stop, board));
        let abuse = Abuse::new(settings.abuse_thresholds.clone())
            .with_window_days(settings.abuse_window_days);
        projections.push(spawn_runner(store, abuse, &stop, board));
        let dispatcher = Dispatcher::new(store.pool().clone(), settings.webhooks.clone());
        projections.push(tokio::spawn(dispatcher.run(stop, board.clone())));
    }
    Background {
        scheduler: None,
        metrics: None,
        stop_projections,
        projections,
    }
}

/// Runs `projection`'s runner until `stop`. It waits out database failures by itself; one that is
/// parked on an event it cannot apply logs why (and shows as parked on `board`).
fn spawn_runner<P: Projection>(
    store: &EventStore,
    projection: P,
    stop: &tokio::sync::watch::Receiver<bool>,
    board: &WorkerBoard,
) -> tokio::task::JoinHandle<()> {
    let name = projection.name().to_owned();
    let runner = Runner::new(
        store.clone(),
        Arc::new(projection),
        RunnerSettings::default(),
    );
    let stop = stop.clone();
    let board = board.clone();
    tokio::spawn(async move {
        if let Err(e) = runner.run(stop, board).await {
            tracing::error!(projection = %name, error = %e, "projection parked");
        }
    })
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        if settings.create_database {
            ensure_database(&settings.database_url).await?;
        }
        let pool = returns_event_store::pool(
            &settings.database_url,
            &PoolSettings {
                max_size: settings.db_pool_size,
                statement_timeout: settings.db_statement_timeout,
                lock_timeout: settings.db_lock_timeout,
                ..PoolSettings::default()
            },
        )
        .context("database pool")?;
        let version = returns_event_store::migrate(&pool)
            .await
            .context("applying migrations")?;
        tracing::info!(schema_version = version, "database ready");
        let store = EventStore::new(pool.clone());

        prometheus();
        let test_clock = settings.test_clock.then(|| Arc::new(TestClock::new()));
        let clock: Arc<dyn Clock> = match &test_clock {
            Some(c) => c.clone(),
            None => Arc::new(SystemClock),
        };
        if test_clock.is_some() {
            tracing::warn!("RETURNS_TEST_CLOCK=1: the service clock can be advanced over HTTP");
        }
        let service = Service::new(store.clone(), clock);
        let board = WorkerBoard::default();
        let scheduler = (settings.scheduler_interval_ms > 0).then(|| {
            tokio::spawn(run_scheduler(
                service.clone(),
                Duration::from_millis(settings.scheduler_interval_ms),
                board.clone(),
            ))
        });

        let jwt = JwtKeys::hs256_checking(&settings.jwt_secret, &settings.token_checks)
            .context("RETURNS_JWT_SECRET")?;
        let state = ApiState {
            readiness: Arc::new(DatabaseReadiness {
                pool,
                board: board.clone(),
            }),
            jwt: Arc::new(jwt),
            service,
            test_clock,
            body_limit: settings.body_limit,
            webhook_allow_hosts: settings.webhooks.allow.clone(),
            limits: Arc::new(returns_api::limits::RateLimits::new(settings.rate_limits)),
        };

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        // `/metrics` on its own address when one is given (then not beside the API).
        let metrics_beside_api = settings.metrics_listen.is_none();
        let mut metrics_port = None;
        let metrics_server = match settings.metrics_listen {
            Some(address) => {
                let metrics_listener = TcpListener::bind(address)
                    .with_context(|| format!("cannot listen on {address} for /metrics"))?;
                metrics_port = Some(metrics_listener.local_addr()?.port());
                let server = HttpServer::new(|| {
                    App::new().route("/metrics", actix_web::web::get().to(render_metrics))
                })
                .disable_signals()
                .workers(1)
                .listen(metrics_listener)?
                .run();
                Some(server)
            }
            None => None,
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap_fn(|req, srv| {
                    let started = Instant::now();
                    let method = req.method().clone();
                    let call = srv.call(req);
                    async move {
                        let res = call.await?;
                        log_request(&method, &res, started);
                        Ok(res)
                    }
                })
                .configure(move |cfg| {
                    if metrics_beside_api {
                        cfg.route("/metrics", actix_web::web::get().to(render_metrics));
                    }
                })
                .configure(returns_api::configure(state.clone()))
                .default_service(actix_web::web::to(|| async {
                    actix_web::HttpResponse::from_error(returns_api::problem::Problem::not_found())
                }))
        })
        // Signals are handled by `run_until_stopped`, so that several services can live in one
        // process (tests) and the binary decides how to stop.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .max_connections(settings.http.max_connections.max(1))
        .keep_alive(settings.http.keep_alive)
        .client_request_timeout(settings.http.request_timeout)
        .client_disconnect_timeout(settings.http.disconnect_timeout);
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        let server = server.listen(listener)?.run();
        let mut background = start_projections(&store, &settings, &board);
        background.scheduler = scheduler;
        background.metrics = metrics_server.map(|server| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        Ok(Application {
            port,
            metrics_port,
            server,
            store,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` listens on, when it has an address of its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// A handle that stops the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped through its handle.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.background.stop().await;
        result
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish.
    pub async fn run_until_signalled(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            tracing::info!("stop signal received; finishing in-flight requests");
            handle.stop(true).await;
        });
        self.server.await?;
        self.background.stop().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Applies due deadlines every `interval`. Several instances may run it: a deadline's command
/// locks its return, and the domain ignores a deadline that is no longer running, so each is
/// applied once. While the database is away it waits with a capped back-off instead of the
/// interval; a deadline whose own command fails is set aside by `run_due_deadlines`.
async fn run_scheduler(service: Service, interval: Duration, board: WorkerBoard) {
    const WORKER: &str = "scheduler";
    let mut last_purge = Instant::now();
    let mut backoff = Backoff::new(interval, Duration::from_secs(30));
    loop {
        let wait = match service.run_due_deadlines(1000).await {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(applied = n, "deadlines applied");
                }
                backoff.reset();
                board.set(WORKER, WorkerState::Running);
                interval
            }
            Err(e) => board.retrying(WORKER, &mut backoff, &e),
        };
        // Expired idempotency answers are swept once a minute.
        if last_purge.elapsed() >= Duration::from_secs(60) {
            last_purge = Instant::now();
            if let Err(e) = service.purge_idempotency_keys(10_000).await {
                tracing::warn!(error = %e, "idempotency sweep failed; retrying later");
            }
        }
        tokio::time::sleep(wait).await;
    }
}

/// The process-wide Prometheus recorder: every crate records through the `metrics` facade, and
/// `/metrics` renders what this recorder holds. Installed once per process (tests start several
/// services in one process; they share it).
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// `GET /metrics`: Prometheus text format.
async fn render_metrics() -> actix_web::HttpResponse {
    let body = prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

fn log_request<B>(
    method: &actix_web::http::Method,
    res: &actix_web::dev::ServiceResponse<B>,
    started: Instant,
) {
    // The route pattern, not the path: paths carry party ids, patterns do not.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    metrics::counter!(
        "http_requests_total",
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status.to_string(),
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method.to_string(),
        "route" => route.clone(),
    )
    .record(elapsed.as_secs_f64());
    if status >= 500 {
        tracing::error!(%method, %route, status, micros, "request failed");
    } else {
        tracing::debug!(%method, %route, status, micros, "request");
    }
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Ready when the database answers and its schema is at the version this binary expects.
struct DatabaseReadiness {
    pool: Pool,
    board: WorkerBoard,
}

impl Readiness for DatabaseReadiness {
    fn check(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let applied = returns_event_store::applied_version(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            let expected = returns_event_store::latest_version();
            if applied < expected {
                return Err(format!(
                    "schema at migration {applied}, this binary needs {expected}"
                ));
            }
            Ok(())
        })
    }

    fn workers(&self) -> BTreeMap<String, WorkerHealth> {
        self.board
            .snapshot()
            .into_iter()
            .map(|(name, report)| {
                let (attempts, event_id) = match report.state {
                    WorkerState::Retrying { attempts } => (Some(attempts), None),
                    WorkerState::Parked { event_id } => (None, Some(event_id)),
                    _ => (None, None),
                };
                let health = WorkerHealth {
                    state: report.state.as_str(),
                    since: report.since,
                    attempts,
                    event_id,
                };
                (name, health)
            })
            .collect()
    }
}

/// Creates the database `database_url` names if the server does not have it yet, so that a new
/// machine needs no manual step. Connects to the server's `postgres` database to do it.
pub async fn ensure_database(database_url: &str) -> anyhow::Result<()> {
    let config = tokio_postgres::Config::from_str(database_url).context("DATABASE_URL")?;
    match config.connect(NoTls).await {
        Ok(_) => return Ok(()),
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {}
        Err(e) => return Err(e).context("cannot connect to the database"),
    }
    let Some(name) = config.get_dbname().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin
        .connect(NoTls)
        .await
        .context("cannot connect to the server's postgres database to create ours")?;
    let conn = tokio::spawn(connection);
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match client
        .batch_execute(&format!("CREATE DATABASE {quoted}"))
        .await
    {
        Ok(()) => tracing::info!(database = %name, "database created"),
        // Another instance created it at the same moment.
        Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => {}
        Err(e) => return Err(e).context("cannot create the database"),
    }
    drop(client);
    let _ = conn.await;
    Ok(())
}
