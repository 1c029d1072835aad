//! `returns-bench`: measures the event store beside plain PostgreSQL on the same machine.
//!
//! It creates a scratch database, runs `pgbench` with a one-row INSERT transaction at each
//! concurrency as the ceiling, then the store's appends at the same concurrency, then a read of the
//! whole global feed, prints a Markdown table and drops the scratch database.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use returns_arbitration::abuse::Thresholds;
use returns_domain::Rma;
use returns_event_store::{
    ActorRef, EventStore, ExpectedVersion, FeedPosition, Metadata, NewEvent, PoolSettings,
};
use returns_projections::abuse::Abuse;
use returns_projections::analytics::Analytics;
use returns_projections::webhooks::Webhooks;
use returns_projections::{Projection, Runner, RunnerSettings, Status};
use serde_json::json;
use tokio_postgres::NoTls;

#[derive(Parser)]
#[command(about = "Benchmark the event store against plain PostgreSQL")]
struct Args {
    /// Seconds per measured run.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Concurrencies for single-event appends.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 16, 64])]
    concurrency: Vec<usize>,
    /// Concurrency of the 10-event appends.
    #[arg(long, default_value_t = 16)]
    batch_concurrency: usize,
    /// Events in the log when the whole feed is read.
    #[arg(long, default_value_t = 1_000_000)]
    feed_events: i64,
    /// Events per feed batch.
    #[arg(long, default_value_t = 5_000)]
    feed_batch: usize,
    /// Skip pgbench (when it is not installed).
    #[arg(long)]
    no_pgbench: bool,
    /// Events in the log the projections catch up over (realistic return histories).
    #[arg(long, default_value_t = 1_000_000)]
    projection_events: i64,
    /// Run only the projection catch-up measurement.
    #[arg(long)]
    projections_only: bool,
}

/// About 400 bytes of JSON, the size of a typical return event.
fn payload(i: u64) -> serde_json::Value {
    json!({
        "return_id": uuid::Uuid::now_v7(),
        "rma": format!("RMA-{:04X}-{:04X}", i % 0xFFFF, (i / 7) % 0xFFFF),
        "order_id": format!("order-{i}"),
        "items": [{"line_id": "line-1", "quantity": 1, "unit_price_minor": 2999}],
        "reason": "not_as_described",
        "resolution": "refund",
        "requested_amount_minor": 2999,
        "currency": "EUR",
        "policy": {"eligible": true, "auto_approved": false, "rules": ["eu_withdrawal_14d", "seller_window_30d"]},
        "deadlines": {"seller_response_due": "2026-11-28T12:00:00Z"}
    })
}

fn metadata() -> Metadata {
    Metadata {
        actor: ActorRef {
            role: "buyer".into(),
            id: "bench-buyer".into(),
        },
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        occurred_at: chrono::Utc::now(),
    }
}

struct Run {
    ops: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Run {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[idx.min(self.latencies_us.len() - 1)]) / 1000.0
    }
}

/// `tasks` appenders, each appending `per_append` events to new streams until time is up.
async fn run_appends(store: &EventStore, tasks: usize, per_append: usize, secs: u64) -> Run {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let store = Arc::new(store.clone());
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ops = 0u64;
            let meta = metadata();
            let i = t as u64 * 1_000_000_000;
            // Payloads are built once: the run measures the store, not JSON building.
            let mut events: Vec<NewEvent> = (0..per_append)
                .map(|k| NewEvent::new("bench.happened", 1, payload(i + k as u64)))
                .collect();
            while Instant::now() < deadline {
                for e in &mut events {
                    e.event_id = uuid::Uuid::now_v7();
                }
                let stream = format!("bench-{}", uuid::Uuid::now_v7());
                let began = Instant::now();
                match store
                    .append(&stream, ExpectedVersion::NoStream, &events, &meta)
                    .await
                {
                    Ok(_) => {
                        ops += 1;
                        lat.push(u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    Err(e) => eprintln!("append failed: {e}"),
                }
            }
            (ops, lat)
        }));
    }
    let mut ops = 0;
    let mut latencies_us = Vec::new();
    for h in handles {
        if let Ok((o, l)) = h.await {
            ops += o;
            latencies_us.extend(l);
        }
    }
    latencies_us.sort_unstable();
    Run {
        ops,
        elapsed: start.elapsed(),
        latencies_us,
    }
}

/// pgbench's transactions/s for an INSERT of `rows` rows of the same payload at `clients`.
fn pgbench(url: &str, clients: usize, rows: usize, secs: u64) -> anyhow::Result<f64> {
    let script = std::env::temp_dir().join(format!("returns-bench-{}.sql", std::process::id()));
    // The payload travels as a parameter, as the store's does (and pgbench would otherwise read
    // the JSON's colons as its own variables).
    let body = payload(1).to_string();
    let values = vec!["(CAST(:payload AS jsonb))"; rows.max(1)].join(", ");
    std::fs::write(
        &script,
        format!("INSERT INTO bench_plain (data) VALUES {values};\n"),
    )?;
    let threads = clients.clamp(1, 2);
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-T", &secs.to_string()])
        .args(["-c", &clients.to_string(), "-j", &threads.to_string()])
        .arg("-D")
        .arg(format!("payload={body}"))
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output()
        .context("running pgbench (install PostgreSQL's client tools, or pass --no-pgbench)")?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
        .context("no tps line in pgbench output")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("returns_bench_{}", std::process::id());
    let (admin_client, conn) = tokio_postgres::connect(&admin, NoTls)
        .await
        .context("connecting to DATABASE_URL")?;
    tokio::spawn(conn);
    admin_client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await?;
    admin_client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = returns_event_store::with_database(&admin, &name);
    let result = if args.projections_only {
        Ok(())
    } else {
        bench(&args, &url).await
    };
    admin_client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    result?;

    // The projections catch up over a log of realistic return histories, in a database of its own.
    admin_client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let result = bench_projections(&args, &url).await;
    admin_client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    result
}

/// Lets `projection` catch up with the whole log from the start and prints its rate.
async fn catch_up<P: Projection>(store: &EventStore, projection: P) -> anyhow::Result<()> {
    let name = projection.name().to_owned();
    let mut runner = Runner::new(
        store.clone(),
        Arc::new(projection),
        RunnerSettings {
            batch: 5_000,
            ..RunnerSettings::default()
        },
    );
    if !runner.acquire().await? {
        bail!("could not take the {name} projection's lease");
    }
    let started = Instant::now();
    let mut applied = 0usize;
    while let Status::Applied(n) = runner.step().await? {
        applied += n;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| {name} | {applied} | {secs:.1} | {:.0} |",
        applied as f64 / secs
    );
    Ok(())
}

/// Fills the log with `events` events of realistic return histories (10 per case: the order's
/// registration and the return's request, messages, escalation, a missed deadline, the refund and
/// the closing), then measures how fast each projection catches up from the start.
async fn bench_projections(args: &Args, url: &str) -> anyhow::Result<()> {
    let pool = returns_event_store::pool(url, &PoolSettings::default())?;
    returns_event_store::migrate(&pool).await?;
    let units = (args.projection_events / 10).max(1);
    let client = pool.get().await?;
    // One webhook subscription to every return event, so that the webhooks projection queues a
    // delivery per return event, as it would in production.
    client
        .execute(
            "INSERT INTO webhook_subscriptions (id, owner_role, owner_id, url, secret, events, \
                                                created_at) \
             VALUES (gen_random_uuid(), 'platform', 'bench', 'https://hooks.example/returns', \
                     'bench-secret', ARRAY['return.*'], now() - interval '1 hour')",
            &[],
        )
        .await?;
    let fill_started = Instant::now();
    let mut done = 0i64;
    while done < units {
        let n = (units - done).min(10_000);
        let rmas: Vec<String> = (done..done + n)
            .map(|k| Rma::from_entropy(k.unsigned_abs()).as_str().to_owned())
            .collect();
        client
            .execute(include_str!("fill_histories.sql"), &[&done, &n, &rmas])
            .await?;
        done += n;
    }
    drop(client);
    let total = count_events(&pool).await?;
    println!();
    println!(
        "projection catch-up over {total} events of {units} return histories (filled in {:.1} s)",
        fill_started.elapsed().as_secs_f64()
    );
    println!();
    println!("| projection | events | seconds | events/s |");
    println!("| --- | --- | --- | --- |");
    let store = EventStore::new(pool.clone());
    catch_up(&store, Analytics::default()).await?;
    catch_up(&store, Webhooks::default()).await?;
    catch_up(&store, Abuse::new(Thresholds::default())).await?;
    let client = pool.get().await?;
    let rows: i64 = client
        .query_one("SELECT count(*) FROM analytics_returns", &[])
        .await?
        .try_get(0)?;
    if rows != units {
        bail!("analytics holds {rows} returns, the log {units}");
    }
    let (parties, open): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM abuse_parties), (SELECT count(*) FROM abuse_returns)",
                &[],
            )
            .await?;
        (row.try_get(0)?, row.try_get(1)?)
    };
    let expected_parties = units.min(2000) + units.min(200);
    if parties != expected_parties || open != 0 {
        bail!(
            "abuse holds {parties} parties and {open} open returns; expected {expected_parties} and 0"
        );
    }
    Ok(())
}

async fn bench(args: &Args, url: &str) -> anyhow::Result<()> {
    let max_conc = args
        .concurrency
        .iter()
        .copied()
        .chain([args.batch_concurrency])
        .max()
        .unwrap_or(16);
    let pool = returns_event_store::pool(
        url,
        &PoolSettings {
            max_size: max_conc,
            ..PoolSettings::default()
        },
    )?;
    returns_event_store::migrate(&pool).await?;
    let store = EventStore::new(pool.clone());
    {
        let client = pool.get().await?;
        client
            .batch_execute(
                "CREATE TABLE bench_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                 data jsonb NOT NULL)",
            )
            .await?;
    }
    let secs = args.seconds;
    println!(
        "machine: {} cores; PostgreSQL: {}; {secs} s per run",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        server_version(&pool).await.unwrap_or_default()
    );
    println!();
    println!("| work | concurrency | pgbench plain INSERT (same unit) | store | ratio | store p50 ms | store p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for &c in &args.concurrency {
        let plain = if args.no_pgbench {
            None
        } else {
            Some(pgbench(url, c, 1, secs)?)
        };
        let run = run_appends(&store, c, 1, secs).await;
        print_row(
            "single-event append, new stream (appends/s)",
            c,
            plain,
            &run,
            1,
        );
    }
    let plain = if args.no_pgbench {
        None
    } else {
        Some(pgbench(url, args.batch_concurrency, 10, secs)?)
    };
    let run = run_appends(&store, args.batch_concurrency, 10, secs).await;
    print_row(
        "10-event append (events/s)",
        args.batch_concurrency,
        plain,
        &run,
        10,
    );

    fill_log(&pool, args.feed_events).await?;
    let total = count_events(&pool).await?;
    let mut reader = store.feed(FeedPosition::START, args.feed_batch);
    let start = Instant::now();
    let mut read = 0u64;
    loop {
        let batch = reader.next_batch().await?;
        if batch.is_empty() {
            break;
        }
        read += batch.len() as u64;
    }
    let elapsed = start.elapsed();
    println!(
        "| read the whole feed ({read} of {total} events, batches of {}) | 1 | | {:.0} events/s | | | |",
        args.feed_batch,
        read as f64 / elapsed.as_secs_f64()
    );
    if read != u64::try_from(total).unwrap_or(0) {
        bail!("the feed returned {read} events but the log holds {total}");
    }
    Ok(())
}

fn print_row(work: &str, c: usize, plain_tx: Option<f64>, run: &Run, events_per_op: u64) {
    // Both sides in the row's unit: appends/s against transactions/s, or events/s against rows/s.
    let rate = run.per_sec() * events_per_op as f64;
    let (plain_s, ratio_s) = match plain_tx {
        Some(p) => {
            let plain = p * events_per_op as f64;
            (format!("{plain:.0}"), format!("{:.2}", rate / plain))
        }
        None => ("n/a".into(), "n/a".into()),
    };
    println!(
        "| {work} | {c} | {plain_s} | {rate:.0} | {ratio_s} | {:.2} | {:.2} |",
        run.percentile(0.5),
        run.percentile(0.99)
    );
}

async fn server_version(pool: &returns_event_store::Pool) -> anyhow::Result<String> {
    let client = pool.get().await?;
    let row = client.query_one("SHOW server_version", &[]).await?;
    Ok(row.try_get(0)?)
}

async fn count_events(pool: &returns_event_store::Pool) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    Ok(client
        .query_one("SELECT count(*) FROM events", &[])
        .await?
        .try_get(0)?)
}

/// Tops the log up to `target` events with set-based inserts of 10-event streams (100k a
/// transaction), so the feed read has a realistic, many-transaction log to walk.
async fn fill_log(pool: &returns_event_store::Pool, target: i64) -> anyhow::Result<()> {
    let have = count_events(pool).await?;
    let client = pool.get().await?;
    let body = payload(7).to_string();
    let mut next = have;
    while next < target {
        let n = (target - next).min(100_000);
        client
            .execute(
                "INSERT INTO events (event_id, stream_id, version, event_type, schema_version, data, \
                 actor_role, actor_id, correlation_id, occurred_at) \
                 SELECT gen_random_uuid(), 'fill-' || ($1::bigint + g) / 10, ($1::bigint + g) % 10 + 1, \
                 'bench.filled', 1, $3::text::json, 'system', 'bench', gen_random_uuid(), now() \
                 FROM generate_series(0, $2::bigint - 1) AS g",
                &[&next, &n, &body],
            )
            .await?;
        next += n;
    }
    Ok(())
}
