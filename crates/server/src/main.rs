//! `returns`: the service's one binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use returns_api::auth::{Claims, JwtKeys, Role};
use returns_server::config::{abuse_settings_from_env, database_url_from_env, Settings};
use returns_server::startup::{ensure_database, Application};
use returns_server::telemetry;

#[derive(Parser)]
#[command(
    name = "returns",
    version,
    about = "Marketplace returns arbitration service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Rebuild a projection from the whole log into new tables and switch them in once caught up,
    /// while the service keeps serving the old ones.
    Rebuild {
        /// The projection: analytics, abuse or webhooks.
        #[arg(long, default_value = "analytics")]
        projection: String,
    },
    /// Erase a buyer's personal data (free text of their returns); the case histories stay whole.
    EraseBuyer {
        /// The buyer's id.
        #[arg(long)]
        buyer_id: String,
    },
    /// Simulate a marketplace with planted abusive buyers and sellers in a scratch database on the
    /// server of DATABASE_URL, run abuse detection over it and print how well it did.
    Simulate {
        #[arg(long, default_value_t = 2000)]
        buyers: usize,
        #[arg(long, default_value_t = 200)]
        sellers: usize,
        /// The share of buyers planted as abusers (0 to 1).
        #[arg(long, default_value_t = 0.05)]
        abusive_buyer_share: f64,
        /// The share of sellers planted as abusers (0 to 1).
        #[arg(long, default_value_t = 0.05)]
        abusive_seller_share: f64,
        /// Days of service time.
        #[arg(long, default_value_t = 200)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Keep the scratch database afterwards (its name is printed) instead of dropping it.
        #[arg(long)]
        keep_database: bool,
    },
    /// Fill the database of DATABASE_URL (created and migrated when missing; it must hold no
    /// events yet) with a demo marketplace whose service time ends now, and print who to sign in
    /// to the console as, with tokens signed with RETURNS_JWT_SECRET.
    Demo {
        #[arg(long, default_value_t = 150)]
        buyers: usize,
        #[arg(long, default_value_t = 15)]
        sellers: usize,
        /// Days of service time, the last of which is today (at least 21).
        #[arg(long, default_value_t = 60)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Mint a development token signed with RETURNS_JWT_SECRET and print it.
    Token {
        /// buyer, seller, operator or platform.
        #[arg(long)]
        role: Role,
        /// The party id (the buyer's, seller's, operator's or platform's own id).
        #[arg(long)]
        sub: String,
        /// How long the token is valid, in seconds (at most 30 days).
        #[arg(long, default_value_t = 24 * 3600)]
        ttl: i64,
    },
    /// Print a console sign-in link (works once, for at most 15 minutes), signed with
    /// RETURNS_JWT_SECRET, as the marketplace hands one to its user.
    LoginLink {
        /// buyer, seller, operator or platform.
        #[arg(long)]
        role: Role,
        /// The party id.
        #[arg(long)]
        sub: String,
        /// How long the link is valid, in seconds (at most 900).
        #[arg(long, default_value_t = 900)]
        ttl: i64,
        /// Where the service is reached.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The console page to open once signed in (e.g. /console/track?rma=RMA-…).
        #[arg(long)]
        next: Option<String>,
    },
}

/// The longest a token minted by `returns token` may live.
const MAX_TOKEN_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// How long the tokens `returns demo` prints are valid.
const DEMO_TOKEN_TTL_SECONDS: i64 = 12 * 3600;

/// Signs tokens with RETURNS_JWT_SECRET (and the issuer and audience the service checks, when
/// set).
struct Minter {
    keys: JwtKeys,
    checks: returns_api::auth::TokenChecks,
}

impl Minter {
    fn from_env() -> anyhow::Result<Minter> {
        let secret =
            std::env::var("RETURNS_JWT_SECRET").context("RETURNS_JWT_SECRET is not set")?;
        let checks = returns_server::config::token_checks_from_env();
        let keys = JwtKeys::hs256_checking(secret.as_bytes(), &checks)?;
        Ok(Minter { keys, checks })
    }

    /// A token for `sub` in `role`, valid for `ttl` seconds from now.
    fn mint(&self, role: Role, sub: &str, ttl: i64) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        Ok(self.keys.mint(&Claims {
            sub: sub.to_owned(),
            role,
            exp: now + ttl,
            iat: Some(now),
            nbf: None,
            iss: self.checks.issuer.clone(),
            aud: self.checks.audience.clone(),
            purpose: None,
            jti: None,
        })?)
    }

    /// A console sign-in link's token for `sub` in `role`, valid for `ttl` seconds from now.
    fn login_link(&self, role: Role, sub: &str, ttl: i64) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims::login_link(sub, role, now, ttl, &self.checks);
        Ok(self.keys.mint(&claims)?)
    }
}

/// Where the console will be once `returns serve` runs with this environment.
fn console_address() -> String {
    let listen = std::env::var("RETURNS_LISTEN")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| returns_server::config::DEFAULT_LISTEN.to_owned());
    match listen.parse::<std::net::SocketAddr>() {
        Ok(address) if address.ip().is_unspecified() => {
            format!("http://127.0.0.1:{}/console", address.port())
        }
        Ok(address) => format!("http://{address}/console"),
        Err(_) => format!("http://{listen}/console"),
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The database a connection string names, for messages.
fn database_name(url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    match path.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() && !name.contains('@') => name.to_owned(),
        _ => "(the default one)".to_owned(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            telemetry::init("info");
            let settings = Settings::from_env()?;
            let app = Application::build(settings.clone()).await?;
            tracing::info!(listen = %settings.listen, port = app.port(), "serving");
            // Scripts and tests read the first line as the service's address.
            let address = format!("http://{}:{}", settings.listen.ip(), app.port());
            println!("returns service listening on {address}");
            println!("console at {address}/console");
            app.run_until_signalled().await
        }
        Command::Migrate => {
            telemetry::init("info");
            let url = database_url_from_env();
            ensure_database(&url).await?;
            let pool = returns_event_store::pool(&url, &Default::default())?;
            let version = returns_event_store::migrate(&pool).await?;
            println!("database schema at migration {version}");
            Ok(())
        }
        Command::Rebuild { projection } => {
            telemetry::init("warn");
            let known = returns_projections::rebuild::PROJECTIONS;
            if !known.contains(&projection.as_str()) {
                anyhow::bail!(
                    "unknown projection {projection:?}: one of {}",
                    known.join(", ")
                );
            }
            let (thresholds, window_days) = abuse_settings_from_env()?;
            let url = database_url_from_env();
            let pool = returns_event_store::pool(&url, &Default::default())?;
            returns_event_store::migrate(&pool).await?;
            let total: i64 = pool
                .get()
                .await?
                .query_one("SELECT count(*) FROM events", &[])
                .await?
                .try_get(0)?;
            let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(format!("rebuilding {projection}"));
            let store = returns_event_store::EventStore::new(pool);
            let progress = |n: u64| bar.set_position(n);
            let abuse =
                returns_projections::abuse::Abuse::new(thresholds).with_window_days(window_days);
            let applied =
                returns_projections::rebuild::rebuild_named(&store, &projection, abuse, &progress)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("unknown projection {projection:?}"))?;
            bar.finish_and_clear();
            println!("{projection} rebuilt from {applied} events and switched in");
            Ok(())
        }
        Command::EraseBuyer { buyer_id } => {
            telemetry::init("info");
            let buyer = returns_domain::BuyerId::parse(&buyer_id)
                .map_err(|e| anyhow::anyhow!("buyer id: {e}"))?;
            let url = database_url_from_env();
            let pool = returns_event_store::pool(&url, &Default::default())?;
            returns_event_store::migrate(&pool).await?;
            let service = returns_app::Service::new(
                returns_event_store::EventStore::new(pool),
                std::sync::Arc::new(returns_app::SystemClock),
            );
            let erasure = service
                .erase_buyer(&returns_domain::Actor::system(), &buyer)
                .await?;
            println!(
                "erased {} value(s) of personal data; rebuilt {} return(s); dropped {} stored answer(s)",
                erasure.values_erased, erasure.returns_rebuilt, erasure.answers_dropped
            );
            Ok(())
        }
        Command::Simulate {
            buyers,
            sellers,
            abusive_buyer_share,
            abusive_seller_share,
            days,
            seed,
            keep_database,
        } => {
            telemetry::init("error");
            let config = returns_simulator::SimConfig {
                buyers,
                sellers,
                abusive_buyer_share,
                abusive_seller_share,
                days,
                seed,
                progress: true,
            };
            let scratch =
                returns_simulator::ScratchDatabase::create(&database_url_from_env()).await?;
            eprintln!("simulating in scratch database {}", scratch.name());
            let result = async {
                let pool = returns_event_store::pool(scratch.url(), &Default::default())?;
                returns_event_store::migrate(&pool).await?;
                let report = returns_simulator::simulate(pool.clone(), &config).await;
                pool.close();
                anyhow::Ok(report?)
            }
            .await;
            if keep_database {
                eprintln!("kept scratch database {}", scratch.name());
            } else {
                scratch.drop_database().await?;
            }
            println!("{}", result?);
            Ok(())
        }
        Command::Demo {
            buyers,
            sellers,
            days,
            seed,
        } => {
            telemetry::init("error");
            // Tokens are printed at the end: a missing secret fails before any work.
            let minter = Minter::from_env()?;
            let (abuse_thresholds, abuse_window_days) = abuse_settings_from_env()?;
            let url = database_url_from_env();
            let refuse = |database: &str| -> anyhow::Result<()> {
                if ["postgres", "template0", "template1"].contains(&database) {
                    anyhow::bail!(
                        "DATABASE_URL names the server's maintenance database {database}; \
                         `returns demo` fills the service's own database: point DATABASE_URL at it \
                         (e.g. postgres://postgres@127.0.0.1:5432/returns, created when missing)"
                    );
                }
                Ok(())
            };
            refuse(&database_name(&url))?;
            ensure_database(&url).await?;
            let pool = returns_event_store::pool(&url, &Default::default())?;
            // The connection string may leave the database implicit: ask the server which it is.
            let connected: String = pool
                .get()
                .await?
                .query_one("SELECT current_database()", &[])
                .await?
                .try_get(0)?;
            refuse(&connected)?;
            let database = connected;
            returns_event_store::migrate(&pool).await?;
            let events = returns_simulator::events_in(&pool).await?;
            if events > 0 {
                anyhow::bail!(
                    "database {database} already holds {events} events (an earlier demo or a \
                     marketplace of its own); `returns demo` fills only an empty database and \
                     never adds to one. Point DATABASE_URL at another database (it is created \
                     when missing), or drop this one first (psql -c 'DROP DATABASE {database}' \
                     on its server)."
                );
            }
            let config = returns_simulator::DemoConfig {
                buyers,
                sellers,
                days,
                seed,
                progress: true,
                abuse_thresholds,
                abuse_window_days: Some(abuse_window_days),
                ..returns_simulator::DemoConfig::default()
            };
            eprintln!(
                "filling database {database} with a demo marketplace ({days} days up to now)"
            );
            let report = returns_simulator::demo(pool.clone(), &config).await;
            pool.close();
            let report = report?;
            let operator = minter.mint(Role::Operator, &report.operator, DEMO_TOKEN_TTL_SECONDS)?;
            let seller = minter.mint(Role::Seller, &report.seller.id, DEMO_TOKEN_TTL_SECONDS)?;
            let buyer = minter.mint(Role::Buyer, &report.buyer.id, DEMO_TOKEN_TTL_SECONDS)?;
            println!("{report}");
            println!();
            println!(
                "Serve it (`make run`), open {} and sign in by pasting a token \
                 (valid for 12 hours):",
                console_address()
            );
            println!();
            println!(
                "operator {}: the dispute queue, some of it unassigned or overdue, and the abuse flags",
                report.operator
            );
            println!("{operator}");
            println!();
            println!(
                "seller {}: requests to answer ({}), a return to inspect ({})",
                report.seller.id,
                report.seller.to_answer.join(", "),
                report.seller.to_inspect.join(", ")
            );
            println!("{seller}");
            println!();
            println!(
                "buyer {}: an offer to answer ({}), a return on its way ({})",
                report.buyer.id, report.buyer.offer, report.buyer.in_transit
            );
            println!("{buyer}");
            println!();
            println!("More tokens: make token ROLE=buyer SUB=<buyer id> (buyer, seller, operator)");
            println!("Or a sign-in link (works once, 15 minutes): make login-link ROLE=seller SUB=<seller id>");
            Ok(())
        }
        Command::Token { role, sub, ttl } => {
            if !(1..=MAX_TOKEN_TTL_SECONDS).contains(&ttl) {
                anyhow::bail!(
                    "--ttl must be from 1 to {MAX_TOKEN_TTL_SECONDS} seconds (30 days): \
                     long-lived tokens cannot be revoked"
                );
            }
            let token = Minter::from_env()?.mint(role, &sub, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::LoginLink {
            role,
            sub,
            ttl,
            url,
            next,
        } => {
            if !(1..=returns_api::auth::LOGIN_LINK_MAX_SECONDS).contains(&ttl) {
                anyhow::bail!("--ttl must be from 1 to 900 seconds: a link travels in the open");
            }
            let token = Minter::from_env()?.login_link(role, &sub, ttl)?;
            let mut link = format!(
                "{}/console/login/link?token={token}",
                url.trim_end_matches('/')
            );
            if let Some(next) = next {
                link.push_str("&next=");
                for b in next.bytes() {
                    if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                        link.push(char::from(b));
                    } else {
                        link.push_str(&format!("%{b:02X}"));
                    }
                }
            }
            println!("{link}");
            Ok(())
        }
    }
}
