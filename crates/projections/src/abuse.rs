//! The `abuse` projection: folds the feed into abuse signals per buyer and per seller, and raises
//! flags as events when a party's figures cross their thresholds.
//!
//! Per batch, in the projection's transaction (so each event counts exactly once):
//!
//! 1. Orders (`order.registered`) and the return events that matter for abuse
//!    ([`ReturnMemo::RELEVANT`]) are decoded; every other event is skipped unparsed.
//! 2. Each return event is judged against the return's [`ReturnMemo`] (table `abuse_returns`, one
//!    small row per open return, dropped when the return closes) and turned into facts
//!    ([`return_facts`]).
//! 3. The facts are recorded into the parties' rolling metrics (`abuse_parties`) and the
//!    marketplace baseline (`abuse_baseline`).
//! 4. Every party with new facts is evaluated at the service time of its latest fact; a candidate
//!    that [`should_raise`] allows is appended as `flag.raised` to a new `flag-<id>` stream and
//!    shown in `abuse_flags`. Flag ids are derived from the party, the kind and the batch's last
//!    position, so applying the same batch again derives the same flag.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use returns_arbitration::abuse::{
    evaluate_flags, flag_stream, order_facts, return_facts, should_raise, Baseline, Counter,
    ExistingFlag, Fact, FlagCandidate, FlagKind, FlagRaised, FlagStatus, Party, PartyMetrics,
    PartyRole, ReturnMemo, Thresholds, DEFAULT_WINDOW_DAYS, FLAG_RAISED, FLAG_SCHEMA_VERSION,
};
use returns_domain::returns::ReturnEvent;
use returns_domain::{BuyerId, ReturnId, SellerId};
use returns_event_store::{
    append_on, ActorRef, ExpectedVersion, Metadata, NewEvent, RecordedEvent, Transaction,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::runner::{ApplyError, Projection};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "abuse";

/// The actor of the events the projection appends.
pub const ACTOR_ID: &str = "abuse-detection";

/// The abuse projection, with the thresholds it raises flags by and its rolling window.
pub struct Abuse {
    thresholds: Thresholds,
    window_days: u32,
}

impl Abuse {
    pub fn new(thresholds: Thresholds) -> Abuse {
        Abuse {
            thresholds,
            window_days: DEFAULT_WINDOW_DAYS,
        }
    }

    /// The same with another rolling window (days of service time).
    pub fn with_window_days(mut self, days: u32) -> Abuse {
        self.window_days = days.max(1);
        self
    }
}

impl Projection for Abuse {
    fn name(&self) -> &str {
        NAME
    }

    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), ApplyError>> + Send + 'a>> {
        Box::pin(async move { self.fold(tx, events).await })
    }
}

#[derive(Deserialize)]
struct OrderRegistered {
    order: OrderParties,
}

#[derive(Deserialize)]
struct OrderParties {
    buyer_id: BuyerId,
    seller_id: SellerId,
    #[serde(default)]
    lines: Vec<OrderLineCategory>,
}

#[derive(Deserialize)]
struct OrderLineCategory {
    category: String,
}

/// An event of the batch that abuse detection reads.
enum Item {
    Order {
        parties: OrderParties,
        at: DateTime<Utc>,
    },
    Return {
        id: Uuid,
        position: i64,
        event: Box<ReturnEvent>,
    },
}

fn db(e: tokio_postgres::Error) -> ApplyError {
    e.into()
}

fn json_error(e: serde_json::Error) -> ApplyError {
    e.into()
}

impl Abuse {
    async fn fold(&self, tx: &Transaction<'_>, events: &[RecordedEvent]) -> Result<(), ApplyError> {
        let Some(last_position) = events.last().map(|e| e.position) else {
            return Ok(());
        };
        let (items, wanted) = decode(events)?;
        if items.is_empty() {
            return Ok(());
        }
        // The memo of each return of the batch; None once it closed.
        let mut memos = load_memos(tx, &wanted).await?;
        // Buyers already under an open or confirmed flag: their claims do not count against the
        // sellers they are made against.
        let flagged_buyers = load_flagged_buyers(tx, &items, &memos).await?;
        let mut changed: BTreeSet<Uuid> = BTreeSet::new();
        let mut facts: Vec<Fact> = Vec::new();
        // The categories of each order's lines, for its seller's peers (see `Baseline`).
        let mut seller_lines: Vec<(Party, Vec<String>)> = Vec::new();
        for item in items {
            match item {
                Item::Order { parties, at } => {
                    facts.extend(order_facts(&parties.buyer_id, &parties.seller_id, at));
                    seller_lines.push((
                        Party::seller(&parties.seller_id),
                        parties
                            .lines
                            .into_iter()
                            .map(|l| l.category)
                            .collect::<Vec<_>>(),
                    ));
                }
                Item::Return {
                    id,
                    position,
                    event,
                } => {
                    let after = match (ReturnMemo::start(&event), memos.get(&id)) {
                        (Some(memo), _) => {
                            let new = return_facts(position, &event, None, &memo);
                            facts.extend(counted(new, &memo, &flagged_buyers));
                            memo
                        }
                        (None, Some(Some(before))) => {
                            let mut after = before.clone();
                            after.apply(&event);
                            let new = return_facts(position, &event, Some(before), &after);
                            facts.extend(counted(new, &after, &flagged_buyers));
                            after
                        }
                        // A return this projection never saw opened (or already closed) has
                        // nobody to attribute the event to.
                        (None, _) => continue,
                    };
                    let open = !matches!(*event, ReturnEvent::ReturnClosed(_));
                    memos.insert(id, open.then_some(after));
                    changed.insert(id);
                }
            }
        }
        save_memos(tx, &memos, &changed).await?;
        if facts.is_empty() {
            return Ok(());
        }

        let mut parties = load_parties(tx, &facts, self.window_days).await?;
        let mut baseline = load_baseline(tx, self.window_days).await?;
        for (seller, categories) in &seller_lines {
            if let Some(metrics) = parties.get_mut(seller) {
                metrics.record_categories(categories.iter().map(String::as_str));
            }
        }
        let mut latest: HashMap<Party, DateTime<Utc>> = HashMap::new();
        for fact in &facts {
            baseline.record(fact);
            if let Some(metrics) = parties.get_mut(&fact.party) {
                metrics.record(fact);
                if let Some(category) = metrics.main_category() {
                    baseline.record_in_category(fact, category);
                }
            }
            let at = latest.entry(fact.party.clone()).or_insert(fact.at);
            *at = (*at).max(fact.at);
        }

        let mut candidates: Vec<(FlagCandidate, DateTime<Utc>)> = Vec::new();
        for (party, at) in &latest {
            if let Some(metrics) = parties.get(party) {
                for candidate in evaluate_flags(metrics, &baseline, &self.thresholds, *at) {
                    candidates.push((candidate, *at));
                }
            }
        }
        if !candidates.is_empty() {
            let existing = load_existing_flags(tx, &candidates).await?;
            for (candidate, at) in &candidates {
                let theirs = existing
                    .get(&candidate.party)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                if should_raise(candidate, theirs) {
                    raise(tx, candidate, *at, last_position).await?;
                }
            }
        }
        save_parties(tx, &parties, &latest).await?;
        save_baseline(tx, &baseline).await
    }
}

/// The facts of a return that count: a seller's not-as-described, defect and overturned-refusal
/// signals do not count when they come from a buyer already under an open or confirmed flag (an
/// abusive buyer's claims say nothing about the seller).
fn counted(
    facts: Vec<Fact>,
    memo: &ReturnMemo,
    flagged_buyers: &BTreeSet<String>,
) -> impl Iterator<Item = Fact> {
    let buyer_flagged = flagged_buyers.contains(memo.buyer_id.as_str());
    facts.into_iter().filter(move |fact| {
        !(buyer_flagged
            && fact.party.role == PartyRole::Seller
            && matches!(
                fact.counter,
                Counter::NotAsDescribed | Counter::Defective | Counter::RefusalsOverturned
            ))
    })
}

/// The buyers of the batch's returns that have an open or confirmed flag.
async fn load_flagged_buyers(
    tx: &Transaction<'_>,
    items: &[Item],
    memos: &HashMap<Uuid, Option<ReturnMemo>>,
) -> Result<BTreeSet<String>, ApplyError> {
    let mut buyers: Vec<String> = memos
        .values()
        .flatten()
        .map(|m| m.buyer_id.as_str().to_owned())
        .collect();
    for item in items {
        if let Item::Return { event, .. } = item {
            if let ReturnEvent::ReturnRequested(r) = event.as_ref() {
                buyers.push(r.buyer_id.as_str().to_owned());
            }
        }
    }
    buyers.sort_unstable();
    buyers.dedup();
    if buyers.is_empty() {
        return Ok(BTreeSet::new());
    }
    let rows = tx
        .query(
            "SELECT DISTINCT party_id FROM abuse_flags \
             WHERE party_role = 'buyer' AND party_id = ANY($1) \
               AND status IN ('open', 'confirmed')",
            &[&buyers],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|row| row.try_get::<_, String>(0).map_err(db))
        .collect()
}

/// The events of the batch that abuse detection reads, and the returns whose memos it needs.
fn decode(events: &[RecordedEvent]) -> Result<(Vec<Item>, Vec<Uuid>), ApplyError> {
    let mut items = Vec::new();
    let mut wanted = Vec::new();
    for e in events {
        let bad = |err: String| format!("{} {}: {err}", e.event_type, e.event_id);
        if e.event_type == "order.registered" {
            let order: OrderRegistered = e.decode().map_err(|x| bad(x.to_string()))?;
            items.push(Item::Order {
                parties: order.order,
                at: e.metadata.occurred_at,
            });
        } else if ReturnMemo::RELEVANT.contains(&e.event_type.as_str()) {
            let Some(id) = crate::return_id_of(&e.stream_id) else {
                continue;
            };
            let data = e.json().map_err(|x| bad(x.to_string()))?;
            let event = ReturnEvent::from_log(&e.event_type, e.schema_version, data)
                .map_err(|x| bad(x.to_string()))?;
            if !matches!(event, ReturnEvent::ReturnRequested(_)) {
                wanted.push(id);
            }
            items.push(Item::Return {
                id,
                position: e.position,
                event: Box::new(event),
            });
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    Ok((items, wanted))
}

async fn load_memos(
    tx: &Transaction<'_>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Option<ReturnMemo>>, ApplyError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .query(
            "SELECT return_id, memo::text FROM abuse_returns WHERE return_id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|row| {
            let id: Uuid = row.try_get(0).map_err(db)?;
            let memo: &str = row.try_get(1).map_err(db)?;
            Ok((id, Some(serde_json::from_str(memo).map_err(json_error)?)))
        })
        .collect()
}

async fn save_memos(
    tx: &Transaction<'_>,
    memos: &HashMap<Uuid, Option<ReturnMemo>>,
    changed: &BTreeSet<Uuid>,
) -> Result<(), ApplyError> {
    let mut kept_ids = Vec::new();
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for id in changed {
        match memos.get(id).and_then(Option::as_ref) {
            Some(memo) => {
                kept_ids.push(*id);
                kept.push(serde_json::to_string(memo).map_err(json_error)?);
            }
            None => gone.push(*id),
        }
    }
    if !kept.is_empty() {
        tx.execute(
            "INSERT INTO abuse_returns (return_id, memo) \
             SELECT id, memo::json FROM unnest($1::uuid[], $2::text[]) AS x(id, memo) \
             ON CONFLICT (return_id) DO UPDATE SET memo = excluded.memo",
            &[&kept_ids, &kept],
        )
        .await
        .map_err(db)?;
    }
    if !gone.is_empty() {
        tx.execute(
            "DELETE FROM abuse_returns WHERE return_id = ANY($1)",
            &[&gone],
        )
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// The metrics of every party in `facts` (new parties start empty).
async fn load_parties(
    tx: &Transaction<'_>,
    facts: &[Fact],
    window_days: u32,
) -> Result<HashMap<Party, PartyMetrics>, ApplyError> {
    let mut parties: HashMap<Party, PartyMetrics> = HashMap::new();
    for fact in facts {
        parties
            .entry(fact.party.clone())
            .or_insert_with(|| PartyMetrics::new(fact.party.clone(), window_days));
    }
    let roles: Vec<&str> = parties.keys().map(|p| p.role.as_str()).collect();
    let ids: Vec<&str> = parties.keys().map(|p| p.id.as_str()).collect();
    let rows = tx
        .query(
            "SELECT p.metrics::text FROM unnest($1::text[], $2::text[]) AS k(role, id) \
             JOIN abuse_parties p ON p.party_role = k.role AND p.party_id = k.id",
            &[&roles, &ids],
        )
        .await
        .map_err(db)?;
    for row in rows {
        let text: &str = row.try_get(0).map_err(db)?;
        let metrics: PartyMetrics = serde_json::from_str(text).map_err(json_error)?;
        parties.insert(metrics.party.clone(), metrics);
    }
    Ok(parties)
}

async fn save_parties(
    tx: &Transaction<'_>,
    parties: &HashMap<Party, PartyMetrics>,
    latest: &HashMap<Party, DateTime<Utc>>,
) -> Result<(), ApplyError> {
    let mut roles = Vec::with_capacity(parties.len());
    let mut ids = Vec::with_capacity(parties.len());
    let mut rows = Vec::with_capacity(parties.len());
    let mut updated = Vec::with_capacity(parties.len());
    for (party, metrics) in parties {
        let Some(at) = latest.get(party) else {
            continue;
        };
        roles.push(party.role.as_str());
        ids.push(party.id.as_str());
        rows.push(serde_json::to_string(metrics).map_err(json_error)?);
        updated.push(*at);
    }
    tx.execute(
        "INSERT INTO abuse_parties (party_role, party_id, metrics, updated_at) \
         SELECT role, id, metrics::json, at \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS x(role, id, metrics, at) \
         ON CONFLICT (party_role, party_id) DO UPDATE \
         SET metrics = excluded.metrics, \
             updated_at = greatest(abuse_parties.updated_at, excluded.updated_at)",
        &[&roles, &ids, &rows, &updated],
    )
    .await
    .map_err(db)?;
    Ok(())
}

async fn load_baseline(tx: &Transaction<'_>, window_days: u32) -> Result<Baseline, ApplyError> {
    let row = tx
        .query_opt(
            "SELECT baseline::text FROM abuse_baseline WHERE id = 1",
            &[],
        )
        .await
        .map_err(db)?;
    match row {
        Some(row) => {
            let text: &str = row.try_get(0).map_err(db)?;
            serde_json::from_str(text).map_err(json_error)
        }
        None => Ok(Baseline::new(window_days)),
    }
}

async fn save_baseline(tx: &Transaction<'_>, baseline: &Baseline) -> Result<(), ApplyError> {
    let text = serde_json::to_string(baseline).map_err(json_error)?;
    tx.execute(
        "INSERT INTO abuse_baseline (id, baseline) VALUES (1, $1::text::json) \
         ON CONFLICT (id) DO UPDATE SET baseline = excluded.baseline",
        &[&text],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// The flags already raised on the parties of `candidates`.
async fn load_existing_flags(
    tx: &Transaction<'_>,
    candidates: &[(FlagCandidate, DateTime<Utc>)],
) -> Result<HashMap<Party, Vec<ExistingFlag>>, ApplyError> {
    let roles: Vec<&str> = candidates
        .iter()
        .map(|(c, _)| c.party.role.as_str())
        .collect();
    let ids: Vec<&str> = candidates
        .iter()
        .map(|(c, _)| c.party.id.as_str())
        .collect();
    let rows = tx
        .query(
            "SELECT DISTINCT f.id, f.party_role, f.party_id, f.kind, f.status, f.evidence_return_ids \
             FROM unnest($1::text[], $2::text[]) AS k(role, id) \
             JOIN abuse_flags f ON f.party_role = k.role AND f.party_id = k.id",
            &[&roles, &ids],
        )
        .await
        .map_err(db)?;
    let mut existing: HashMap<Party, Vec<ExistingFlag>> = HashMap::new();
    for row in rows {
        let role: &str = row.try_get(1).map_err(db)?;
        let id: String = row.try_get(2).map_err(db)?;
        let kind: &str = row.try_get(3).map_err(db)?;
        let status: &str = row.try_get(4).map_err(db)?;
        let evidence: Vec<Uuid> = row.try_get(5).map_err(db)?;
        let (Some(role), Some(kind), Some(status)) = (
            PartyRole::parse(role),
            FlagKind::parse(kind),
            FlagStatus::parse(status),
        ) else {
            return Err(format!(
                "abuse_flags holds an unknown role {role}, kind {kind} or status {status}"
            )
            .into());
        };
        existing
            .entry(Party { role, id })
            .or_default()
            .push(ExistingFlag {
                kind,
                status,
                evidence_return_ids: evidence.into_iter().map(ReturnId::from_uuid).collect(),
            });
    }
    Ok(existing)
}

/// A flag's id: the same party, kind and batch always give the same id.
fn flag_id(party: &Party, kind: FlagKind, position: i64) -> Uuid {
    let digest = Sha256::new()
        .chain_update(party.role.as_str())
        .chain_update([0])
        .chain_update(party.id.as_bytes())
        .chain_update([0])
        .chain_update(kind.as_str())
        .chain_update(position.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // A version 8 (custom) UUID with the RFC 4122 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// Appends `flag.raised` for `candidate` to a new flag stream and shows it in `abuse_flags`.
async fn raise(
    tx: &Transaction<'_>,
    candidate: &FlagCandidate,
    at: DateTime<Utc>,
    last_position: i64,
) -> Result<(), ApplyError> {
    let id = flag_id(&candidate.party, candidate.kind, last_position);
    let raised = FlagRaised::from_candidate(id, candidate, at);
    let data = serde_json::to_value(&raised).map_err(json_error)?;
    let event = NewEvent {
        event_id: id,
        event_type: FLAG_RAISED.to_owned(),
        schema_version: FLAG_SCHEMA_VERSION,
        data,
    };
    let metadata = Metadata {
        actor: ActorRef {
            role: "system".to_owned(),
            id: ACTOR_ID.to_owned(),
        },
        correlation_id: id,
        causation_id: None,
        occurred_at: at,
    };
    append_on(
        tx,
        &flag_stream(id),
        ExpectedVersion::NoStream,
        std::slice::from_ref(&event),
        &metadata,
    )
    .await
    .map_err(|e| e.to_string())?;
    let return_ids: Vec<Uuid> = raised
        .evidence
        .return_ids
        .iter()
        .map(|r| *r.as_uuid())
        .collect();
    tx.execute(
        "INSERT INTO abuse_flags (id, party_role, party_id, kind, status, raised_at, metrics, \
                                  threshold, evidence_return_ids, evidence_positions, version) \
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, 1)",
        &[
            &id,
            &raised.party_role.as_str(),
            &raised.party_id,
            &raised.kind.as_str(),
            &raised.raised_at,
            &raised.metrics,
            &raised.threshold,
            &return_ids,
            &raised.evidence.positions,
        ],
    )
    .await
    .map_err(db)?;
    metrics::counter!("abuse_flags_raised_total", "kind" => candidate.kind.as_str()).increment(1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_ids_are_stable_and_distinct() {
        let buyer = Party {
            role: PartyRole::Buyer,
            id: "b-1".to_owned(),
        };
        let a = flag_id(&buyer, FlagKind::SerialReturner, 42);
        assert_eq!(a, flag_id(&buyer, FlagKind::SerialReturner, 42));
        assert_ne!(a, flag_id(&buyer, FlagKind::Wardrobing, 42));
        assert_ne!(a, flag_id(&buyer, FlagKind::SerialReturner, 43));
        assert_eq!(a.get_version_num(), 8);
    }
}
