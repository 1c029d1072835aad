//! A command costs at most three round trips to PostgreSQL (docs/architecture.md, "The command
//! executor"): counted on the wire by a proxy between the service's connection and the server.
//!
//! The proxy counts flights: a flight starts each time the client sends after the server has
//! answered, which is what a round trip is. The service runs on a current-thread runtime, so the
//! statements a command pipelines are written together and reach the proxy as one flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{Duration, Utc};
use returns_app::{
    Answered, CommandOptions, IdempotencyKey, OpenReturnRequest, Service, StoredResponse,
    SystemClock,
};
use returns_domain::order::{ItemRequest, OrderDetails};
use returns_domain::returns::{AcceptReturn, ReturnCommand};
use returns_domain::{Actor, ReturnCase};
use returns_event_store::{pool, EventStore, PoolSettings};
use returns_testkit::TestDb;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most round trips a command may take in the common case.
const MAX_ROUND_TRIPS: usize = 3;

#[derive(Default)]
struct Wire {
    flights: AtomicUsize,
    /// Who sent last: 0 nobody, 1 the client, 2 the server.
    last: AtomicU8,
}

impl Wire {
    fn take(&self) -> usize {
        self.flights.swap(0, Ordering::SeqCst)
    }
}

async fn pump<R, W>(mut from: R, mut to: W, wire: Arc<Wire>, client_side: bool)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if client_side {
            if wire.last.swap(1, Ordering::SeqCst) != 1 {
                wire.flights.fetch_add(1, Ordering::SeqCst);
            }
        } else {
            wire.last.store(2, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Starts a counting proxy to the server of `url` on a thread of its own; returns its port.
fn proxy(url: &str, wire: Arc<Wire>) -> u16 {
    let config = tokio_postgres::Config::from_str(url).unwrap();
    let host = config.get_hosts().first().cloned().expect("a host");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let (client, _) = listener.accept().await.unwrap();
                client.set_nodelay(true).unwrap();
                let (cr, cw) = client.into_split();
                match &host {
                    tokio_postgres::config::Host::Tcp(h) => {
                        let server = tokio::net::TcpStream::connect((h.as_str(), port))
                            .await
                            .unwrap();
                        server.set_nodelay(true).unwrap();
                        let (sr, sw) = server.into_split();
                        tokio::spawn(pump(cr, sw, wire.clone(), true));
                        tokio::spawn(pump(sr, cw, wire.clone(), false));
                    }
                    tokio_postgres::config::Host::Unix(dir) => {
                        let path = dir.join(format!(".s.PGSQL.{port}"));
                        let server = tokio::net::UnixStream::connect(path).await.unwrap();
                        let (sr, sw) = server.into_split();
                        tokio::spawn(pump(cr, sw, wire.clone(), true));
                        tokio::spawn(pump(sr, cw, wire.clone(), false));
                    }
                }
            }
        });
    });
    rx.recv().unwrap()
}

/// The database of `url` reached through the proxy on `port`.
fn through(url: &str, port: u16) -> String {
    let config = tokio_postgres::Config::from_str(url).unwrap();
    let user = config.get_user().unwrap_or("postgres");
    let dbname = config.get_dbname().expect("a database name");
    match config.get_password() {
        Some(p) => format!(
            "postgres://{user}:{}@127.0.0.1:{port}/{dbname}",
            String::from_utf8_lossy(p)
        ),
        None => format!("postgres://{user}@127.0.0.1:{port}/{dbname}"),
    }
}

/// A service on `db` whose one connection goes through a counting proxy, and the proxy's count.
fn measured(db: &TestDb) -> (Service, Arc<Wire>) {
    let wire = Arc::new(Wire::default());
    let port = proxy(db.url(), wire.clone());
    let settings = PoolSettings {
        max_size: 1,
        application_name: "returns-round-trips".into(),
        ..PoolSettings::default()
    };
    let service = Service::new(
        EventStore::new(pool(&through(db.url(), port), &settings).unwrap()),
        Arc::new(SystemClock),
    );
    (service, wire)
}

fn no_render<T>(_: &T) -> StoredResponse {
    StoredResponse::default()
}

fn fresh<T: std::fmt::Debug>(answer: Answered<T>) -> T {
    match answer {
        Answered::Fresh(v, _) => v,
        other => panic!("expected a fresh answer, got {other:?}"),
    }
}

fn order(id: &str) -> OrderDetails {
    let delivered = Utc::now() - Duration::days(3);
    serde_json::from_value(json!({
        "order_id": id, "buyer_id": "buyer-1", "seller_id": "seller-1", "currency": "EUR",
        "jurisdiction": "DE", "placed_at": delivered - Duration::days(2), "delivered_at": delivered,
        "lines": [{"line_id": "l1", "sku": "S1", "title": "Lamp", "category": "home",
                   "quantity": 3, "unit_price_minor": 2500}]
    }))
    .unwrap()
}

fn open_request(order_id: &str) -> OpenReturnRequest {
    OpenReturnRequest {
        order_id: order_id.parse().unwrap(),
        items: vec![ItemRequest {
            line_id: "l1".parse().unwrap(),
            quantity: 1,
        }],
        reason: "defective".parse().unwrap(),
        description: Some("It flickers.".into()),
        resolution: "refund".parse().unwrap(),
        evidence: Vec::new(),
        return_method: None,
    }
}

fn accept() -> ReturnCommand {
    ReturnCommand::Accept(AcceptReturn {
        label: None,
        instructions: None,
        returnless: false,
    })
}

/// Opens a return of buyer-1 on `order_id`.
async fn open_on(service: &Service, order_id: &str, opts: &CommandOptions) -> ReturnCase {
    fresh(
        service
            .open_return(
                &Actor::buyer("buyer-1"),
                open_request(order_id),
                opts,
                no_render,
            )
            .await
            .unwrap(),
    )
}

/// seller-1 accepts the return `id`.
async fn accept_return(service: &Service, id: returns_domain::ReturnId) -> ReturnCase {
    fresh(
        service
            .act_on_return(
                &Actor::seller("seller-1"),
                id,
                accept(),
                &CommandOptions::default(),
                no_render,
            )
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn open_and_accept_take_at_most_three_round_trips() {
    let db = TestDb::new().await;
    let direct = Service::new(db.store(), Arc::new(SystemClock));
    let platform = Actor::platform("marketplace");
    for id in ["o-warm", "o-1"] {
        fresh(
            direct
                .register_order(&platform, order(id), &CommandOptions::default(), no_render)
                .await
                .unwrap(),
        );
    }

    let (measured, wire) = measured(&db);
    // The first commands on the connection connect and prepare their statements.
    let warm = open_on(&measured, "o-warm", &CommandOptions::default()).await;
    accept_return(&measured, warm.id).await;
    let keyed = |key: &str| CommandOptions {
        idempotency: Some(IdempotencyKey {
            key: key.into(),
            request_hash: "h".into(),
        }),
        ..CommandOptions::default()
    };
    open_on(&measured, "o-warm", &keyed("warm")).await;

    wire.take();
    let opened = open_on(&measured, "o-1", &CommandOptions::default()).await;
    let open = wire.take();

    let accepted = accept_return(&measured, opened.id).await;
    let accept = wire.take();
    assert_eq!(accepted.status.as_str(), "authorized");

    open_on(&measured, "o-1", &keyed("k-1")).await;
    let open_keyed = wire.take();

    eprintln!("round trips: open {open}, accept {accept}, open with Idempotency-Key {open_keyed}");
    assert!(open >= 1 && accept >= 1, "the proxy saw the commands");
    assert!(open <= MAX_ROUND_TRIPS, "open took {open} round trips");
    assert!(
        accept <= MAX_ROUND_TRIPS,
        "accept took {accept} round trips"
    );
    assert!(
        open_keyed <= MAX_ROUND_TRIPS,
        "open with an idempotency key took {open_keyed} round trips"
    );
}

/// A refund paid as store credit writes three streams (the return, its order and the buyer's
/// ledger), and the ledger is read in the first round trip with the return: still at most three.
#[tokio::test]
async fn a_refund_paid_as_store_credit_takes_at_most_three_round_trips() {
    let db = TestDb::new().await;
    let direct = Service::new(db.store(), Arc::new(SystemClock));
    let platform = Actor::platform("marketplace");
    let seller = Actor::seller("seller-1");
    let policy = returns_domain::SellerPolicy::parse(
        &json!({"refund_methods": ["original_payment", "store_credit"], "store_credit_bonus_percent": 10}),
    )
    .unwrap();
    fresh(
        direct
            .set_policy(
                &seller,
                "seller-1".parse().unwrap(),
                policy,
                &CommandOptions::default(),
                no_render,
            )
            .await
            .unwrap(),
    );
    for id in ["o-warm", "o-1"] {
        fresh(
            direct
                .register_order(&platform, order(id), &CommandOptions::default(), no_render)
                .await
                .unwrap(),
        );
    }
    // Each return up to the store credit falling due, without the proxy.
    let mut due = Vec::new();
    for id in ["o-warm", "o-1"] {
        let opened = open_on(&direct, id, &CommandOptions::default()).await;
        for (actor, command) in [
            (
                seller.clone(),
                ReturnCommand::Offer(returns_domain::returns::MakeOffer {
                    kind: returns_domain::returns::OfferKind::StoreCredit,
                    amount_minor: None,
                }),
            ),
            (
                Actor::buyer("buyer-1"),
                ReturnCommand::AcceptOffer(returns_domain::returns::AcceptOffer),
            ),
        ] {
            fresh(
                direct
                    .act_on_return(
                        &actor,
                        opened.id,
                        command,
                        &CommandOptions::default(),
                        no_render,
                    )
                    .await
                    .unwrap(),
            );
        }
        due.push(opened.id);
    }

    let (measured, wire) = measured(&db);
    let refund = |id| {
        let measured = &measured;
        let platform = platform.clone();
        async move {
            let refund = ReturnCommand::Refund(returns_domain::returns::IssueRefund {
                amount_minor: returns_domain::MinorUnits::new(2750).unwrap(),
                method: returns_domain::returns::PayoutMethod::StoreCredit,
                reference: "wallet-1".into(),
            });
            fresh(
                measured
                    .act_on_return(&platform, id, refund, &CommandOptions::default(), no_render)
                    .await
                    .unwrap(),
            )
        }
    };
    // The first refund on the connection prepares the statements.
    refund(due[0]).await;
    wire.take();
    let closed = refund(due[1]).await;
    let trips = wire.take();
    assert_eq!(closed.status.as_str(), "closed");
    let (ledger, _) = direct
        .store_credit(&platform, &"buyer-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        ledger.balance("EUR".parse().unwrap()),
        returns_domain::MinorUnits::new(5500).unwrap()
    );
    eprintln!("round trips: refund paid as store credit {trips}");
    assert!(trips >= 1, "the proxy saw the command");
    assert!(
        trips <= MAX_ROUND_TRIPS,
        "the refund took {trips} round trips"
    );
}
