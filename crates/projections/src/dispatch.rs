//! Webhook dispatch: sends the deliveries the `webhooks` projection queued (see [`crate::webhooks`]).
//!
//! This module owns everything about sending: which deliveries are due and may go now (only the
//! oldest pending one of each subscription and return, so that a receiver sees a return's events
//! in order), where they may go (target URLs: http or https, and never to loopback, private,
//! link-local or unspecified addresses unless the allow-list names them), how they are signed
//! (`Returns-Signature`), when a failed one is tried again (exponential back-off, capped, with a
//! deterministic jitter) and when it is given up on and parked for operators. Every attempt and
//! its outcome is recorded in `webhook_attempts`.
//!
//! A delivery is claimed in a short transaction (`FOR UPDATE SKIP LOCKED`, so several instances
//! can dispatch side by side), sent with no transaction open (an open transaction would hold back
//! the horizon of the event feed for the duration of an HTTP call), and its outcome is stored in a
//! second short transaction by the claim's holder only. A dispatcher that dies between sending and
//! storing leaves the claim to expire: the delivery is sent again, which is why delivery is
//! at-least-once and receivers drop duplicates by the payload's `id`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use returns_event_store::StoreError;
use serde_json::value::RawValue;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use returns_event_store::Pool;
use sha2::Sha256;
use tokio::sync::watch;
use uuid::Uuid;

use crate::runner::ProjectionError;
use crate::workers::{Backoff, WorkerBoard, WorkerState};

/// The header that carries the signature of a delivery.
pub const SIGNATURE_HEADER: &str = "Returns-Signature";

/// The longest target URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// How long after its claim a delivery whose dispatcher went silent is tried again, beyond the
/// request timeout: long enough for the holder to store the outcome of a request that just ended.
const CLAIM_MARGIN: Duration = Duration::from_secs(30);

// ----- settings -----

/// How the dispatcher sends and retries. `Default` is the production schedule.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Targets that may be loopback or private (`RETURNS_WEBHOOK_ALLOW_HOSTS`).
    pub allow: AllowList,
    /// The wait after the first failure; it doubles with each further one.
    pub backoff_base: Duration,
    /// The longest wait between two attempts.
    pub backoff_max: Duration,
    /// How long a failing delivery is retried, from its first attempt, before it is parked
    /// (docs/api.md: at least 24 hours).
    pub retry_for: Duration,
    /// The whole request, connecting included (and, before it, resolving the host).
    pub timeout: Duration,
    /// Pause between looks for due deliveries when there was nothing to send.
    pub poll: Duration,
    /// Deliveries claimed per round.
    pub batch: usize,
    /// Requests in flight at once within a round.
    pub concurrency: usize,
}

impl DispatchSettings {
    /// How long a round holds the deliveries it claimed: longer than its worst case, in which
    /// every request of each wave (`concurrency` at a time) spends the whole timeout resolving the
    /// host and the whole timeout again sending, plus a margin for recording the outcomes. Another
    /// instance takes a claimed delivery only after that, so no delivery is sent by two rounds at
    /// once.
    pub fn claim_lease(&self) -> Duration {
        let concurrency = self.concurrency.max(1);
        let waves = self.batch.max(1).div_ceil(concurrency);
        let per_wave = self.timeout.saturating_mul(2);
        per_wave
            .saturating_mul(u32::try_from(waves).unwrap_or(u32::MAX))
            .saturating_add(CLAIM_MARGIN)
    }
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            allow: AllowList::default(),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            retry_for: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(500),
            batch: 100,
            concurrency: 16,
        }
    }
}

// ----- target validation -----

/// Hosts and address ranges that webhook targets may use although they are loopback, private or
/// link-local (`RETURNS_WEBHOOK_ALLOW_HOSTS`: comma-separated host names, addresses or CIDR
/// ranges). Empty by default: only public addresses are allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Arc<Vec<AllowEntry>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowEntry {
    /// A host name, lower case, without a trailing dot.
    Host(String),
    /// An address range; a single address is a full-length prefix.
    Net(IpAddr, u8),
}

impl AllowList {
    /// Parses `a.example, 10.0.0.0/8, 127.0.0.1, ::1, [fd00::]/8`. Blank entries are ignored.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut entries = Vec::new();
        for raw in text.split(',') {
            let entry = raw.trim();
            if entry.is_empty() {
                continue;
            }
            entries.push(parse_entry(entry)?);
        }
        Ok(AllowList {
            entries: Arc::new(entries),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the host name (as in a URL) is on the list by name.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.entries
            .iter()
            .any(|e| matches!(e, AllowEntry::Host(h) if *h == host))
    }

    /// Whether the address is in one of the listed ranges.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.entries.iter().any(|e| match e {
            AllowEntry::Net(net, prefix) => in_prefix(ip, *net, *prefix),
            AllowEntry::Host(_) => false,
        })
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn parse_entry(entry: &str) -> Result<AllowEntry, String> {
    let bad = || format!("{entry:?} is not a host name, an IP address or a CIDR range");
    if let Some((addr, prefix)) = entry.split_once('/') {
        let ip: IpAddr = normalize_host(addr).parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        return Ok(AllowEntry::Net(canonical(ip), prefix));
    }
    let host = normalize_host(entry);
    if let Ok(ip) = host.parse::<IpAddr>() {
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        return Ok(AllowEntry::Net(canonical(ip), prefix));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if valid {
        Ok(AllowEntry::Host(host))
    } else {
        Err(bad())
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are the IPv4 address they carry: a connection
/// to one reaches that IPv4 host.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn in_prefix(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// IPv4 ranges that are not global unicast (RFC 6890 and its updates): "this network",
/// private, shared (carrier-grade NAT), loopback, link-local, IETF protocol assignments, the
/// documentation and benchmarking ranges, the old 6to4 relay anycast, multicast and reserved
/// (with broadcast).
const NOT_GLOBAL_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// IPv6 ranges inside global unicast `2000::/3` that still reach other networks or none: IETF
/// protocol assignments (Teredo, benchmarking, ORCHID), documentation, and 6to4 (which carries an
/// IPv4 address, possibly a private one). Everything outside `2000::/3` is refused too: loopback,
/// unspecified, IPv4-compatible, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, discard, unique local,
/// link-local, site-local and multicast.
const NOT_GLOBAL_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
];

/// Whether a webhook may not go to `ip` unless the allow-list says so: every address that is not
/// global unicast (see [`NOT_GLOBAL_V4`] and [`NOT_GLOBAL_V6`]). An IPv4-mapped IPv6 address is
/// judged as the IPv4 address it carries.
pub fn is_restricted(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => NOT_GLOBAL_V4
            .iter()
            .any(|&(net, prefix)| in_prefix(IpAddr::V4(v4), IpAddr::V4(net), prefix)),
        IpAddr::V6(v6) => {
            let global_unicast = in_prefix(
                IpAddr::V6(v6),
                IpAddr::V6(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0)),
                3,
            );
            !global_unicast
                || NOT_GLOBAL_V6
                    .iter()
                    .any(|&(net, prefix)| in_prefix(IpAddr::V6(v6), IpAddr::V6(net), prefix))
        }
    }
}

/// Why a target URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("must be an absolute http or https URL")]
    NotHttp,
    #[error("must be at most {MAX_URL_LEN} characters")]
    TooLong,
    #[error("must name a host")]
    NoHost,
    #[error("the host cannot be resolved")]
    Unresolvable,
    #[error(
        "the host is not a global unicast address (loopback, private, link-local, shared, \
         reserved, documentation, benchmarking, multicast, NAT64 or 6to4); only hosts named in \
         RETURNS_WEBHOOK_ALLOW_HOSTS may be"
    )]
    Restricted,
}

/// Checks the form of a target URL (http or https, with a host), without resolving it.
pub fn parse_target(url: &str) -> Result<reqwest::Url, TargetError> {
    if url.len() > MAX_URL_LEN {
        return Err(TargetError::TooLong);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| TargetError::NotHttp)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::NotHttp);
    }
    match parsed.host_str() {
        Some(host) if !host.is_empty() => Ok(parsed),
        _ => Err(TargetError::NoHost),
    }
}

/// Where a delivery to `url` may connect: the host's addresses that are public or allowed.
/// An address literal is checked as it is; a name is resolved (within `timeout`) and the request
/// is then pinned to the addresses returned here, so that a second lookup cannot send it elsewhere.
/// Refused when no address is left.
pub async fn resolve_target(
    url: &reqwest::Url,
    allow: &AllowList,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, TargetError> {
    let port = url.port_or_known_default().unwrap_or(80);
    let permitted = |ip: IpAddr| !is_restricted(ip) || allow.allows_ip(ip);
    match host_of(url) {
        None => Err(TargetError::NoHost),
        Some(Host::Address(ip)) => check_literal(ip, port, permitted),
        Some(Host::Name(name)) => {
            let by_name = allow.allows_host(name);
            let lookup = tokio::net::lookup_host((name, port));
            let addrs: Vec<SocketAddr> = match tokio::time::timeout(timeout, lookup).await {
                Ok(Ok(addrs)) => addrs.collect(),
                Ok(Err(_)) | Err(_) => return Err(TargetError::Unresolvable),
            };
            if addrs.is_empty() {
                return Err(TargetError::Unresolvable);
            }
            let kept: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| by_name || permitted(a.ip()))
                .collect();
            if kept.is_empty() {
                Err(TargetError::Restricted)
            } else {
                Ok(kept)
            }
        }
    }
}

/// A URL's host: an address literal, or a name to resolve.
enum Host<'a> {
    Address(IpAddr),
    Name(&'a str),
}

fn host_of(url: &reqwest::Url) -> Option<Host<'_>> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    // The URL parser writes IPv6 literals in brackets and normalises IPv4 ones (`0x7f.1` is
    // `127.0.0.1`), so a literal always parses here.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    Some(match bare.parse::<IpAddr>() {
        Ok(ip) => Host::Address(ip),
        Err(_) => Host::Name(host),
    })
}

fn check_literal(
    ip: IpAddr,
    port: u16,
    permitted: impl Fn(IpAddr) -> bool,
) -> Result<Vec<SocketAddr>, TargetError> {
    if permitted(ip) {
        Ok(vec![SocketAddr::new(ip, port)])
    } else {
        Err(TargetError::Restricted)
    }
}

/// Checks a target URL as registration does: its form, then where it resolves to.
pub async fn validate_target(
    url: &str,
    allow: &AllowList,
    timeout: Duration,
) -> Result<reqwest::Url, TargetError> {
    let parsed = parse_target(url)?;
    resolve_target(&parsed, allow, timeout).await?;
    Ok(parsed)
}

// ----- signing -----

/// The value of `Returns-Signature` for `body` sent at Unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex(&mac(secret, t, body)))
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; an empty MAC would only make
    // the signature fail to verify.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Vec::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a `Returns-Signature` header value as a receiver would: a `v1` that matches (compared
/// in constant time) and a `t` within `tolerance` of `now` (a replayed old request is refused).
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> bool {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(t) > tolerance.unsigned_abs() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    candidates
        .iter()
        .any(|c| decode_hex(c).is_some_and(|bytes| mac.clone().verify_slice(&bytes).is_ok()))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

// ----- schedule -----

/// The wait before the next attempt after `failures` failures in a row: `base`, doubled for each
/// further failure, at most `max`, then shortened by up to a fifth by a jitter drawn from the
/// delivery id and the failure count (deterministic, so that a schedule can be tested, yet spread
/// out so that deliveries that failed together are not retried together).
pub fn backoff(base: Duration, max: Duration, delivery_id: Uuid, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    let nominal = base.checked_mul(1u32 << doublings).unwrap_or(max).min(max);
    nominal.mul_f64(1.0 - 0.2 * jitter(delivery_id, failures))
}

/// A number in [0, 1) from FNV-1a over the id and the failure count.
fn jitter(delivery_id: Uuid, failures: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in delivery_id
        .as_bytes()
        .iter()
        .chain(failures.to_le_bytes().iter())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

// ----- the dispatcher -----

/// How often the dispatcher loop measures the queue depth for `/metrics`.
const QUEUE_DEPTH_EVERY: Duration = Duration::from_secs(5);

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries sent and acknowledged with a 2xx answer.
    pub delivered: usize,
    /// Deliveries that failed and were queued again.
    pub retried: usize,
    /// Deliveries that failed after their whole retry span and were parked.
    pub parked: usize,
}

impl Round {
    /// Attempts made in the round.
    pub fn attempts(&self) -> usize {
        self.delivered + self.retried + self.parked
    }
}

/// A delivery claimed for one attempt.
struct Claimed {
    id: Uuid,
    subscription_id: Uuid,
    payload: String,
    attempts: i32,
    failures: i32,
    first_attempt_at: Option<DateTime<Utc>>,
    url: String,
    secret: String,
}

/// What came of one request.
struct Sent {
    status: Option<u16>,
    error: Option<String>,
    duration: Duration,
}

impl Sent {
    fn ok(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends due deliveries. Any number of dispatchers may run against one database.
#[derive(Clone)]
pub struct Dispatcher {
    pool: Pool,
    settings: DispatchSettings,
}

impl Dispatcher {
    pub fn new(pool: Pool, settings: DispatchSettings) -> Self {
        Dispatcher { pool, settings }
    }

    /// Claims the deliveries due at `now` that may go now, sends them and stores what came of
    /// each. `now` is the time the schedule is computed from (real time in production; tests pass
    /// explicit times instead of waiting).
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Round, ProjectionError> {
        let claim = Uuid::now_v7();
        let claimed = self.claim(now, claim).await?;
        let outcomes: Vec<Result<Outcome, ProjectionError>> = futures_util::stream::iter(claimed)
            .map(|delivery| async move {
                let sent = self.send(&delivery, now).await;
                self.record(&delivery, claim, now, &sent).await
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut round = Round::default();
        let mut failure = None;
        for outcome in outcomes {
            let label = match &outcome {
                Ok(Outcome::Delivered) => "delivered",
                Ok(Outcome::Retry) => "retried",
                Ok(Outcome::Parked) => "parked",
                Err(_) => "error",
            };
            metrics::counter!("webhook_attempts_total", "outcome" => label).increment(1);
            match outcome {
                Ok(Outcome::Delivered) => round.delivered += 1,
                Ok(Outcome::Retry) => round.retried += 1,
                Ok(Outcome::Parked) => round.parked += 1,
                // The claim expires and the delivery is tried again: nothing is lost.
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(e) if round.attempts() == 0 => Err(e),
            Some(e) => {
                tracing::warn!(error = %e, "storing a webhook outcome failed; it will be resent");
                Ok(round)
            }
            None => Ok(round),
        }
    }

    /// Runs rounds until `stop` turns true: at once again after a round that sent something
    /// (the next delivery of a return may have become due), else after `poll`. A database failure
    /// is waited out with a capped back-off; the dispatcher goes on by itself. Its state is on
    /// `board` as `webhook-dispatch`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, board: WorkerBoard) {
        const WORKER: &str = "webhook-dispatch";
        let mut depth_measured: Option<std::time::Instant> = None;
        let mut backoff = Backoff::new(
            self.settings.poll.max(Duration::from_millis(100)),
            Duration::from_secs(30),
        );
        loop {
            if *stop.borrow() {
                board.set(WORKER, WorkerState::Stopped);
                return;
            }
            // The queue depth, for /metrics, at most every few seconds.
            if depth_measured.is_none_or(|at| at.elapsed() >= QUEUE_DEPTH_EVERY) {
                depth_measured = Some(std::time::Instant::now());
                match self.queue_depth().await {
                    Ok(n) => metrics::gauge!("webhook_queue_depth").set(n as f64),
                    Err(e) => tracing::warn!(error = %e, "cannot measure the webhook queue"),
                }
            }
            let pause = match self.run_once(Utc::now()).await {
                Ok(round) => {
                    backoff.reset();
                    board.set(WORKER, WorkerState::Running);
                    if round.attempts() > 0 {
                        tracing::debug!(
                            delivered = round.delivered,
                            retried = round.retried,
                            parked = round.parked,
                            "webhook round"
                        );
                        continue;
                    }
                    self.settings.poll
                }
                Err(e) => board.retrying(WORKER, &mut backoff, &e),
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Deliveries waiting to be sent (due or not yet due).
    pub async fn queue_depth(&self) -> Result<i64, ProjectionError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
                &[],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Takes the due deliveries that head their (subscription, return) queue, and marks them as
    /// this round's until the claim expires.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        claim: Uuid,
    ) -> Result<Vec<Claimed>, ProjectionError> {
        let lease = chrono::Duration::from_std(self.settings.claim_lease())
            .unwrap_or(chrono::Duration::MAX);
        let until = now + lease;
        let batch = i64::try_from(self.settings.batch.max(1)).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        // One statement, so one short transaction. A delivery with an earlier pending one of the
        // same subscription and return is not due whatever its time: the earlier one goes first.
        let rows = client
            .query(
                "WITH due AS ( \
                     SELECT d.id FROM webhook_deliveries d \
                     JOIN webhook_subscriptions s ON s.id = d.subscription_id \
                     WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
                       AND s.deleted_at IS NULL \
                       AND NOT EXISTS ( \
                           SELECT 1 FROM webhook_deliveries p \
                           WHERE p.subscription_id = d.subscription_id \
                             AND p.return_id = d.return_id \
                             AND p.status = 'pending' AND p.seq < d.seq) \
                     ORDER BY d.next_attempt_at, d.seq \
                     LIMIT $2 \
                     FOR UPDATE OF d SKIP LOCKED) \
                 UPDATE webhook_deliveries d SET next_attempt_at = $3, claim = $4 \
                 FROM due, webhook_subscriptions s \
                 WHERE d.id = due.id AND s.id = d.subscription_id \
                 RETURNING d.id, d.subscription_id, d.payload::text, d.attempts, d.failures, \
                           d.first_attempt_at, s.url, s.secret, d.event_id, d.return_id, d.rma",
                &[&now, &batch, &until, &claim],
            )
            .await?;
        // Bodies are built from the events themselves (rows queued before V8 carry theirs).
        let wanted: Vec<Uuid> = rows
            .iter()
            .filter(|row| row.try_get::<_, Option<String>>(2).ok().flatten().is_none())
            .map(|row| row.try_get(8))
            .collect::<Result<_, _>>()?;
        let mut events: HashMap<Uuid, (String, u64, DateTime<Utc>, Box<RawValue>)> = HashMap::new();
        if !wanted.is_empty() {
            let found = client
                .query(
                    "SELECT event_id, event_type, version, occurred_at, data::text \
                     FROM events WHERE event_id = ANY($1::uuid[])",
                    &[&wanted],
                )
                .await?;
            for row in &found {
                let version: i64 = row.try_get(2)?;
                let data: String = row.try_get(4)?;
                let data = RawValue::from_string(data)
                    .map_err(|e| ProjectionError::Store(StoreError::Invalid(e.to_string())))?;
                events.insert(
                    row.try_get(0)?,
                    (
                        row.try_get(1)?,
                        u64::try_from(version).unwrap_or(0),
                        row.try_get(3)?,
                        data,
                    ),
                );
            }
        }
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let stored: Option<String> = row.try_get(2)?;
            let payload = match stored {
                Some(payload) => payload,
                None => {
                    let event_id: Uuid = row.try_get(8)?;
                    let return_id: Uuid = row.try_get(9)?;
                    let rma: Option<String> = row.try_get(10)?;
                    let Some((event_type, version, occurred_at, data)) = events.get(&event_id)
                    else {
                        return Err(ProjectionError::Store(StoreError::Invalid(format!(
                            "delivery of event {event_id}: the event is not in the log"
                        ))));
                    };
                    crate::webhooks::payload(
                        event_id,
                        event_type,
                        *occurred_at,
                        return_id,
                        rma.as_deref().unwrap_or(""),
                        *version,
                        data,
                    )
                    .map_err(|e| ProjectionError::Store(StoreError::Invalid(e.to_string())))?
                }
            };
            claimed.push(Claimed {
                id: row.try_get(0)?,
                subscription_id: row.try_get(1)?,
                payload,
                attempts: row.try_get(3)?,
                failures: row.try_get(4)?,
                first_attempt_at: row.try_get(5)?,
                url: row.try_get(6)?,
                secret: row.try_get(7)?,
            });
        }
        Ok(claimed)
    }

    /// One signed POST. The target is checked again first: what a name resolves to may have
    /// changed since registration. Never follows redirects (they could lead anywhere).
    async fn send(&self, delivery: &Claimed, now: DateTime<Utc>) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent {
            status: None,
            error: Some(error),
            duration: started.elapsed(),
        };
        let url = match parse_target(&delivery.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("target refused: {e}")),
        };
        let addrs = match resolve_target(&url, &self.settings.allow, self.settings.timeout).await {
            Ok(addrs) => addrs,
            Err(e) => return failed(format!("target refused: {e}")),
        };
        let mut builder = reqwest::Client::builder()
            .timeout(self.settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("returns-webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(Host::Name(name)) = host_of(&url) {
            builder = builder.resolve_to_addrs(name, &addrs);
        }
        let client = match builder.build() {
            Ok(client) => client,
            Err(e) => return failed(describe(&e)),
        };
        let t = now.timestamp();
        let signed = signature(delivery.secret.as_bytes(), t, delivery.payload.as_bytes());
        let response = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signed)
            .body(delivery.payload.clone())
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status();
                Sent {
                    status: Some(status.as_u16()),
                    error: (!status.is_success()).then(|| format!("answered {}", status.as_u16())),
                    duration: started.elapsed(),
                }
            }
            Err(e) => failed(describe(&e)),
        }
    }

    /// Stores the attempt and what follows from it, if this round still holds the delivery.
    async fn record(
        &self,
        delivery: &Claimed,
        claim: Uuid,
        now: DateTime<Utc>,
        sent: &Sent,
    ) -> Result<Outcome, ProjectionError> {
        let attempt = delivery.attempts.saturating_add(1);
        let failures = delivery.failures.saturating_add(1);
        let first = delivery.first_attempt_at.unwrap_or(now);
        let span =
            chrono::Duration::from_std(self.settings.retry_for).unwrap_or(chrono::Duration::MAX);
        let outcome = if sent.ok() {
            Outcome::Delivered
        } else if now - first >= span {
            Outcome::Parked
        } else {
            Outcome::Retry
        };
        let wait = backoff(
            self.settings.backoff_base,
            self.settings.backoff_max,
            delivery.id,
            u32::try_from(failures).unwrap_or(u32::MAX),
        );
        let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let status = sent.status.map(i32::from);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let updated = match outcome {
            Outcome::Delivered => {
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = $3, \
                         first_attempt_at = coalesce(first_attempt_at, $4), delivered_at = $4, \
                         last_status = $5, last_error = NULL, claim = NULL \
                     WHERE id = $1 AND claim = $2 AND status = 'pending'",
                    &[&delivery.id, &claim, &attempt, &now, &status],
                )
                .await?
            }
            Outcome::Retry => {
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = $3, failures = $4, \
                         first_attempt_at = coalesce(first_attempt_at, $5), next_attempt_at = $6, \
                         last_status = $7, last_error = $8, claim = NULL \
                     WHERE id = $1 AND claim = $2 AND status = 'pending'",
                    &[
                        &delivery.id,
                        &claim,
                        &attempt,
                        &failures,
                        &now,
                        &next,
                        &status,
                        &sent.error,
                    ],
                )
                .await?
            }
            Outcome::Parked => {
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'parked', attempts = $3, \
                         failures = $4, parked_at = $5, last_status = $6, last_error = $7, \
                         claim = NULL \
                     WHERE id = $1 AND claim = $2 AND status = 'pending'",
                    &[
                        &delivery.id,
                        &claim,
                        &attempt,
                        &failures,
                        &now,
                        &status,
                        &sent.error,
                    ],
                )
                .await?
            }
        };
        // The attempt happened whoever holds the delivery now, so it is part of the history.
        let duration_ms = i32::try_from(sent.duration.as_millis()).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO webhook_attempts \
                 (delivery_id, attempt, started_at, duration_ms, status_code, error, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &delivery.id,
                &attempt,
                &now,
                &duration_ms,
                &status,
                &sent.error,
                &outcome.as_str(),
            ],
        )
        .await?;
        tx.commit().await?;
        if updated == 0 {
            tracing::warn!(
                delivery_id = %delivery.id,
                "webhook claim expired before its outcome was stored; it will be sent again"
            );
        }
        match outcome {
            Outcome::Parked => tracing::warn!(
                delivery_id = %delivery.id,
                subscription_id = %delivery.subscription_id,
                attempts = attempt,
                "webhook delivery parked after its retry span"
            ),
            Outcome::Retry => tracing::debug!(
                delivery_id = %delivery.id,
                subscription_id = %delivery.subscription_id,
                attempts = attempt,
                status = ?sent.status,
                "webhook delivery failed; retrying"
            ),
            Outcome::Delivered => {}
        }
        Ok(outcome)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Retry,
    Parked,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Parked => "parked",
        }
    }
}

/// A request failure in words, without the URL (it may carry a receiver's token in its query).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "could not build the request"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_claim_outlasts_the_worst_round() {
        let defaults = DispatchSettings::default();
        // 100 deliveries, 16 at a time: 7 waves of at most 10 s resolving and 10 s sending.
        assert_eq!(defaults.claim_lease(), Duration::from_secs(7 * 20 + 30));
        let one_at_a_time = DispatchSettings {
            concurrency: 1,
            batch: 3,
            timeout: Duration::from_secs(5),
            ..DispatchSettings::default()
        };
        assert_eq!(
            one_at_a_time.claim_lease(),
            Duration::from_secs(3 * 10 + 30)
        );
    }

    #[test]
    fn restricted_addresses_are_recognised() {
        for text in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // Not global unicast, though outside the private ranges.
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "240.0.0.1",
            "239.255.255.250",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:a00:1::",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "::a00:1",
            "::127.0.0.1",
            "100::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(is_restricted(ip(text)), "{text} should be restricted");
        }
        for text in [
            "93.184.216.34",
            "172.32.0.1",
            "172.15.255.255",
            "192.169.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "192.0.1.1",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "2001:200::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(!is_restricted(ip(text)), "{text} should be public");
        }
    }

    #[test]
    fn the_allow_list_takes_hosts_addresses_and_ranges() {
        let allow =
            AllowList::parse(" hooks.internal , 127.0.0.1,10.0.0.0/8,[fd00::]/8, ::1,").unwrap();
        assert!(allow.allows_host("hooks.internal"));
        assert!(allow.allows_host("HOOKS.internal."));
        assert!(!allow.allows_host("other.internal"));
        assert!(allow.allows_ip(ip("127.0.0.1")));
        assert!(!allow.allows_ip(ip("127.0.0.2")));
        assert!(allow.allows_ip(ip("10.200.3.4")));
        assert!(allow.allows_ip(ip("::ffff:10.0.0.9")));
        assert!(allow.allows_ip(ip("fd12::1")));
        assert!(allow.allows_ip(ip("::1")));
        assert!(!allow.allows_ip(ip("192.168.0.1")));

        assert!(AllowList::parse("").unwrap().is_empty());
        assert!(AllowList::parse("10.0.0.0/33").is_err());
        assert!(AllowList::parse("not a host").is_err());
        assert!(AllowList::parse("10.0.0.0/x").is_err());
    }

    #[test]
    fn target_urls_must_be_http_or_https_with_a_host() {
        assert!(parse_target("https://hooks.example.com/returns?x=1").is_ok());
        assert!(parse_target("http://93.184.216.34:8080/").is_ok());
        for bad in [
            "ftp://hooks.example.com/",
            "file:///etc/passwd",
            "hooks.example.com/path",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(
                parse_target(bad).unwrap_err(),
                TargetError::NotHttp,
                "{bad}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(parse_target(&long).unwrap_err(), TargetError::TooLong);
    }

    #[tokio::test]
    async fn restricted_targets_are_refused_unless_allowed() {
        let none = AllowList::default();
        let wait = Duration::from_secs(5);
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://[::1]/hook",
            "http://10.0.0.5/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            "http://[::ffff:192.168.0.1]/",
            "http://localhost:9000/hook",
        ] {
            let parsed = parse_target(url).unwrap();
            assert_eq!(
                resolve_target(&parsed, &none, wait).await.unwrap_err(),
                TargetError::Restricted,
                "{url}"
            );
        }
        let public = parse_target("http://93.184.216.34/hook").unwrap();
        assert_eq!(
            resolve_target(&public, &none, wait).await.unwrap(),
            vec!["93.184.216.34:80".parse().unwrap()]
        );

        let by_ip = AllowList::parse("127.0.0.1").unwrap();
        let local = parse_target("http://127.0.0.1:9000/hook").unwrap();
        assert_eq!(
            resolve_target(&local, &by_ip, wait).await.unwrap(),
            vec!["127.0.0.1:9000".parse().unwrap()]
        );
        // By address, a name that resolves to several addresses keeps only the allowed ones.
        let named = parse_target("http://localhost:9000/hook").unwrap();
        let addrs = resolve_target(&named, &by_ip, wait).await.unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:9000".parse().unwrap()]);
        // By name, all of its addresses.
        let by_name = AllowList::parse("localhost").unwrap();
        let addrs = resolve_target(&named, &by_name, wait).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    /// RFC 4231, test case 2: HMAC-SHA256 with key "Jefe".
    #[test]
    fn the_mac_is_hmac_sha256() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The signature signs "<t>.<body>" with the same construction.
        let header = signature(b"Jefe", 1_700_000_000, b"{}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        let expected = format!("t=1700000000,v1={}", hex(&mac.finalize().into_bytes()));
        assert_eq!(header, expected);
    }

    #[test]
    fn signatures_verify_with_the_secret_and_a_fresh_timestamp() {
        let body = br#"{"id":"1","type":"return.requested"}"#;
        let header = signature(b"whsec-1", 1_700_000_000, body);
        let five_minutes = Duration::from_secs(300);
        assert!(verify_signature(
            b"whsec-1",
            &header,
            body,
            1_700_000_100,
            five_minutes
        ));
        assert!(!verify_signature(
            b"whsec-2",
            &header,
            body,
            1_700_000_100,
            five_minutes
        ));
        assert!(!verify_signature(
            b"whsec-1",
            &header,
            b"{}",
            1_700_000_100,
            five_minutes
        ));
        assert!(!verify_signature(
            b"whsec-1",
            &header,
            body,
            1_700_001_000,
            five_minutes
        ));
        assert!(!verify_signature(
            b"whsec-1",
            "v1=00",
            body,
            1_700_000_000,
            five_minutes
        ));
    }

    #[test]
    fn the_backoff_doubles_from_the_base_up_to_the_cap_with_a_bounded_jitter() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        let id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let mut nominal = base;
        for failures in 1..=40 {
            let wait = backoff(base, max, id, failures);
            assert!(wait <= nominal, "{failures}: {wait:?} > {nominal:?}");
            assert!(
                wait >= nominal.mul_f64(0.8),
                "{failures}: {wait:?} too short"
            );
            // Deterministic: the same delivery and count give the same wait.
            assert_eq!(wait, backoff(base, max, id, failures));
            nominal = (nominal * 2).min(max);
        }
        assert_ne!(
            backoff(base, max, id, 3),
            backoff(base, max, Uuid::from_u128(7), 3),
            "different deliveries spread out"
        );
    }

    #[test]
    fn a_failing_delivery_is_retried_for_the_whole_span() {
        // The production schedule: count attempts until the span is over.
        let settings = DispatchSettings::default();
        let id = Uuid::from_u128(42);
        let span = settings.retry_for;
        let mut elapsed = Duration::ZERO;
        let mut attempts = 1;
        while elapsed < span {
            elapsed += backoff(settings.backoff_base, settings.backoff_max, id, attempts);
            attempts += 1;
        }
        // The last attempt is at or after 24 hours; waits never exceed an hour.
        assert!(elapsed >= Duration::from_secs(24 * 3600));
        assert!((34..=40).contains(&attempts), "{attempts} attempts");
    }

    // ----- against a real PostgreSQL and a local receiver -----

    mod with_database {
        #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::Instant;

        use chrono::{DateTime, Utc};
        use returns_event_store::{ActorRef, EventStore, ExpectedVersion, Metadata, NewEvent};
        use returns_testkit::TestDb;
        use serde_json::{json, Value};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpListener;

        use super::super::*;
        use crate::runner::{Runner, RunnerSettings, Status};
        use crate::webhooks::{self, DeliveryStatus, NewSubscription, Requeue, Webhooks};

        const SECRET: &str = "whsec-test-secret";

        /// What the receiver was sent.
        #[derive(Debug, Clone)]
        struct Received {
            signature: String,
            body: Value,
            raw: Vec<u8>,
        }

        /// A local HTTP receiver that answers 500 to the first `fail_first` requests (all of them
        /// with `usize::MAX`) and 204 afterwards, recording every request.
        #[derive(Clone)]
        struct Receiver {
            url: String,
            seen: Arc<Mutex<Vec<Received>>>,
            fail_first: Arc<AtomicUsize>,
        }

        impl Receiver {
            async fn start(fail_first: usize) -> Receiver {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = listener.local_addr().unwrap().port();
                let receiver = Receiver {
                    url: format!("http://127.0.0.1:{port}/hook"),
                    seen: Arc::default(),
                    fail_first: Arc::new(AtomicUsize::new(fail_first)),
                };
                let r = receiver.clone();
                tokio::spawn(async move {
                    while let Ok((mut socket, _)) = listener.accept().await {
                        let r = r.clone();
                        tokio::spawn(async move {
                            let Some((headers, raw)) = read_request(&mut socket).await else {
                                return;
                            };
                            let signature = headers
                                .iter()
                                .find(|(k, _)| k == "returns-signature")
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default();
                            let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                            r.seen.lock().unwrap().push(Received {
                                signature,
                                body,
                                raw,
                            });
                            let fail = r
                                .fail_first
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    (n > 0).then(|| n.saturating_sub(usize::from(n != usize::MAX)))
                                })
                                .is_ok();
                            let status = if fail {
                                "500 Internal Server Error"
                            } else {
                                "204 No Content"
                            };
                            let answer =
                                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                            let _ = socket.write_all(answer.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        });
                    }
                });
                receiver
            }

            fn seen(&self) -> Vec<Received> {
                self.seen.lock().unwrap().clone()
            }
        }

        async fn read_request(
            socket: &mut tokio::net::TcpStream,
        ) -> Option<(Vec<(String, String)>, Vec<u8>)> {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = buffer[head_end..].to_vec();
            while body.len() < length {
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            Some((headers, body))
        }

        fn settings(allow: &str) -> DispatchSettings {
            DispatchSettings {
                allow: AllowList::parse(allow).unwrap(),
                ..DispatchSettings::default()
            }
        }

        fn meta() -> Metadata {
            Metadata {
                actor: ActorRef {
                    role: "buyer".into(),
                    id: "buyer-1".into(),
                },
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                occurred_at: Utc::now(),
            }
        }

        /// Appends a return's history: `return.requested` (with its RMA), then `types`.
        async fn return_history(store: &EventStore, types: &[&str]) -> (Uuid, Vec<Uuid>) {
            let return_id = Uuid::now_v7();
            let stream = format!("return-{return_id}");
            let mut events = vec![NewEvent::new(
                "return.requested",
                1,
                json!({ "return_id": return_id, "rma": format!("RMA-{}", &return_id.simple().to_string()[..8]), "description": null }),
            )];
            events.extend(
                types
                    .iter()
                    .map(|t| NewEvent::new(*t, 1, json!({ "at": Utc::now() }))),
            );
            // One append per event, as commands do.
            for (i, event) in events.iter().enumerate() {
                store
                    .append(
                        &stream,
                        ExpectedVersion::from_version(i as u64),
                        std::slice::from_ref(event),
                        &meta(),
                    )
                    .await
                    .unwrap();
            }
            (return_id, events.iter().map(|e| e.event_id).collect())
        }

        async fn subscribe(db: &TestDb, url: &str, events: &[&str]) -> Uuid {
            let client = db.pool().get().await.unwrap();
            let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
            webhooks::create_subscription(
                &client,
                &NewSubscription {
                    owner_role: "platform",
                    owner_id: "marketplace",
                    url,
                    secret: SECRET,
                    events: &events,
                },
            )
            .await
            .unwrap()
            .id
        }

        /// Feeds the webhooks projection until it has seen `want` events (other tests' open
        /// transactions may hold the feed's horizon back for a moment: bounded).
        async fn project(store: &EventStore, want: usize) {
            let mut runner = Runner::new(
                store.clone(),
                Arc::new(Webhooks::default()),
                RunnerSettings {
                    owner: "test".into(),
                    ..RunnerSettings::default()
                },
            );
            assert!(runner.acquire().await.unwrap());
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut applied = 0;
            while applied < want {
                match runner.step().await.unwrap() {
                    Status::Applied(n) => applied += n,
                    Status::CaughtUp => {
                        assert!(Instant::now() < deadline, "stalled at {applied} of {want}");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        }

        /// Runs rounds at `now` until one sends nothing.
        async fn drain(dispatcher: &Dispatcher, now: DateTime<Utc>) -> Round {
            let mut total = Round::default();
            for _ in 0..100 {
                let round = dispatcher.run_once(now).await.unwrap();
                if round.attempts() == 0 {
                    return total;
                }
                total.delivered += round.delivered;
                total.retried += round.retried;
                total.parked += round.parked;
            }
            panic!("rounds never ran dry");
        }

        async fn deliveries(db: &TestDb, subscription: Uuid) -> Vec<webhooks::Delivery> {
            let client = db.pool().get().await.unwrap();
            let (items, _) = webhooks::list_deliveries(&client, subscription, None, None, 200)
                .await
                .unwrap();
            items
        }

        #[tokio::test]
        async fn deliveries_are_signed_in_order_per_return_and_retried_on_schedule() {
            let db = TestDb::new().await;
            let store = db.store();
            let receiver = Receiver::start(2).await;
            let subscription = subscribe(&db, &receiver.url, &["return.*"]).await;
            let (a, a_events) =
                return_history(&store, &["return.authorized", "return.shipped"]).await;
            let (b, b_events) = return_history(&store, &[]).await;
            project(&store, 4).await;
            let dispatcher = Dispatcher::new(db.pool().clone(), settings("127.0.0.1"));

            // Only the head of each return goes: both fail.
            let t0 = Utc::now();
            let round = drain(&dispatcher, t0).await;
            assert_eq!(
                round,
                Round {
                    delivered: 0,
                    retried: 2,
                    parked: 0
                }
            );
            // Not due again before the back-off (at least 4 s of the 5 s base).
            let early = drain(&dispatcher, t0 + chrono::Duration::seconds(3)).await;
            assert_eq!(early.attempts(), 0);
            // After it, each return's events go one after the other.
            let later = drain(&dispatcher, t0 + chrono::Duration::seconds(6)).await;
            assert_eq!(
                later,
                Round {
                    delivered: 4,
                    retried: 0,
                    parked: 0
                }
            );

            let seen = receiver.seen();
            assert_eq!(seen.len(), 6);
            let now = Utc::now().timestamp();
            for r in &seen {
                assert!(
                    verify_signature(
                        SECRET.as_bytes(),
                        &r.signature,
                        &r.raw,
                        now,
                        Duration::from_secs(600)
                    ),
                    "bad signature {} on {}",
                    r.signature,
                    r.body
                );
                for field in ["id", "type", "occurred_at", "return_id", "rma", "data"] {
                    assert!(!r.body[field].is_null(), "{field} missing from {}", r.body);
                }
            }
            let ids_of = |return_id: Uuid| -> Vec<Uuid> {
                let mut ids: Vec<Uuid> = Vec::new();
                for r in seen
                    .iter()
                    .filter(|r| r.body["return_id"] == json!(return_id))
                {
                    let id: Uuid = serde_json::from_value(r.body["id"].clone()).unwrap();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids
            };
            assert_eq!(ids_of(a), a_events, "return a in order");
            assert_eq!(ids_of(b), b_events);
            // The RMA of the return comes with every event, not only the first.
            let rma_a = seen
                .iter()
                .find(|r| r.body["return_id"] == json!(a))
                .unwrap()
                .body["rma"]
                .clone();
            assert!(seen
                .iter()
                .filter(|r| r.body["return_id"] == json!(a))
                .all(|r| r.body["rma"] == rma_a));

            let all = deliveries(&db, subscription).await;
            assert_eq!(all.len(), 4);
            assert!(all.iter().all(|d| d.status == DeliveryStatus::Delivered));
            let first_a = all.iter().find(|d| d.event_id == a_events[0]).unwrap();
            assert_eq!(first_a.attempts, 2);
            let outcomes: Vec<(&str, Option<i32>)> = first_a
                .history
                .iter()
                .map(|h| (h.outcome.as_str(), h.status_code))
                .collect();
            assert_eq!(outcomes, [("retry", Some(500)), ("delivered", Some(204))]);
        }

        #[tokio::test]
        async fn a_delivery_failing_for_its_whole_span_is_parked_then_the_next_goes() {
            let db = TestDb::new().await;
            let store = db.store();
            let receiver = Receiver::start(usize::MAX).await;
            let subscription = subscribe(&db, &receiver.url, &["return.*"]).await;
            let (_, events) = return_history(&store, &["return.authorized"]).await;
            project(&store, 2).await;
            let dispatcher = Dispatcher::new(db.pool().clone(), settings("127.0.0.1"));

            let t0 = Utc::now();
            assert_eq!(drain(&dispatcher, t0).await.retried, 1);
            // Just short of 24 hours after the first attempt: retried, not parked.
            let almost = t0 + chrono::Duration::hours(24) - chrono::Duration::seconds(1);
            assert_eq!(
                drain(&dispatcher, almost).await,
                Round {
                    delivered: 0,
                    retried: 1,
                    parked: 0
                }
            );
            // At 24 hours: parked, and the return's next event goes (and fails, for now).
            let day = t0 + chrono::Duration::hours(25);
            assert_eq!(
                drain(&dispatcher, day).await,
                Round {
                    delivered: 0,
                    retried: 1,
                    parked: 1
                }
            );

            let client = db.pool().get().await.unwrap();
            let (parked, _) = webhooks::list_deliveries(
                &client,
                subscription,
                Some(DeliveryStatus::Parked),
                None,
                50,
            )
            .await
            .unwrap();
            assert_eq!(parked.len(), 1);
            assert_eq!(parked[0].event_id, events[0]);
            assert_eq!(parked[0].attempts, 3);
            assert_eq!(parked[0].history.len(), 3);
            assert_eq!(parked[0].history[2].outcome, "parked");
            assert_eq!(parked[0].last_status, Some(500));

            // Re-queued by an operator, it goes first again once the receiver is back.
            receiver.fail_first.store(0, Ordering::SeqCst);
            let requeued = webhooks::requeue_delivery(&client, parked[0].id, day)
                .await
                .unwrap();
            assert!(
                matches!(requeued, Requeue::Requeued(ref d) if d.status == DeliveryStatus::Pending)
            );
            let again = webhooks::requeue_delivery(&client, parked[0].id, day)
                .await
                .unwrap();
            assert_eq!(again, Requeue::NotParked(DeliveryStatus::Pending));
            let round = drain(&dispatcher, day + chrono::Duration::hours(1)).await;
            assert_eq!(round.delivered, 2);
            let seen = receiver.seen();
            let last_two: Vec<Value> = seen[seen.len() - 2..]
                .iter()
                .map(|r| r.body["id"].clone())
                .collect();
            assert_eq!(last_two, [json!(events[0]), json!(events[1])]);
        }

        #[tokio::test]
        async fn only_matching_events_of_live_subscriptions_are_queued_and_sent() {
            let db = TestDb::new().await;
            let store = db.store();
            let receiver = Receiver::start(0).await;
            let refunds = subscribe(&db, &receiver.url, &["return.refunded"]).await;
            let gone = subscribe(&db, &receiver.url, &["return.*"]).await;
            let client = db.pool().get().await.unwrap();
            assert!(webhooks::delete_subscription(&client, gone).await.unwrap());
            let (_, events) =
                return_history(&store, &["return.authorized", "return.refunded"]).await;
            // Registered after the events: it gets none of them.
            let late = subscribe(&db, &receiver.url, &["return.*"]).await;
            project(&store, 3).await;

            let queued = deliveries(&db, refunds).await;
            assert_eq!(queued.len(), 1);
            assert_eq!(queued[0].event_id, events[2]);
            assert_eq!(queued[0].seq, 3);
            assert!(deliveries(&db, gone).await.is_empty());
            assert!(deliveries(&db, late).await.is_empty());

            let dispatcher = Dispatcher::new(db.pool().clone(), settings("127.0.0.1"));
            assert_eq!(drain(&dispatcher, Utc::now()).await.delivered, 1);
            assert_eq!(receiver.seen()[0].body["type"], "return.refunded");
        }

        #[tokio::test]
        async fn a_target_no_longer_allowed_is_not_contacted() {
            let db = TestDb::new().await;
            let store = db.store();
            let receiver = Receiver::start(0).await;
            let subscription = subscribe(&db, &receiver.url, &["return.*"]).await;
            return_history(&store, &[]).await;
            project(&store, 1).await;
            // The allow-list no longer names 127.0.0.1.
            let dispatcher = Dispatcher::new(db.pool().clone(), settings(""));

            assert_eq!(drain(&dispatcher, Utc::now()).await.retried, 1);
            assert!(receiver.seen().is_empty());
            let queued = deliveries(&db, subscription).await;
            let error = queued[0].last_error.clone().unwrap();
            assert!(error.starts_with("target refused"), "{error}");
            assert_eq!(queued[0].last_status, None);
        }
    }
}
