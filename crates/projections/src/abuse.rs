//! The `abuse` projection: folds the feed into abuse signals per buyer and per seller, raises flags
//! as events when a party's figures cross their thresholds, and keeps the flags' view.
//!
//! Per batch, in the projection's transaction (so each event counts exactly once):
//!
//! 1. Orders (`order.registered`), the return events that matter for abuse
//!    ([`ReturnMemo::RELEVANT`]) and the flags' events (`flag.raised`, `flag.reviewed`) are decoded;
//!    every other event is skipped unparsed.
//! 2. The events are folded in feed order. A return event is judged against the return's
//!    [`ReturnMemo`] (table `abuse_returns`, one small row per open return, dropped when the return
//!    closes) and turned into facts ([`return_facts`]); a flag event updates `abuse_flags`, and
//!    with it which buyers are under an open or confirmed flag (their claims stop counting against
//!    sellers from that event on).
//! 3. The facts are recorded, in that same order, into the parties' rolling metrics
//!    (`abuse_parties`) and the marketplace baseline (`abuse_baseline`).
//! 4. Live only: every party with new facts is evaluated at the service time of its latest fact;
//!    a candidate that [`should_raise`] allows is appended as `flag.raised` to a new `flag-<id>`
//!    stream, and its row is written at once as raised but not yet folded (`raised_position` is
//!    null) so that no later batch raises it twice. Flag ids are derived from the party, the kind
//!    and the batch's last position, so applying the same batch again derives the same flag.
//!
//! The projection is the only writer of its four tables, and what they hold depends only on the
//! events and their order, never on where batches begin and end: a rebuild (which folds the log,
//! flags' events included, and raises nothing) yields the live rows. See `crate::rebuild`.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use returns_arbitration::abuse::{
    evaluate_flags_discounting, flag_stream, order_facts, return_facts, should_raise, Baseline,
    Counter, ExistingFlag, Fact, FlagCandidate, FlagKind, FlagRaised, FlagReviewed, FlagStatus,
    Party, PartyMetrics, PartyRole, ReturnMemo, Thresholds, DEFAULT_WINDOW_DAYS, DISCOUNTABLE,
    FLAG_RAISED, FLAG_REVIEWED, FLAG_SCHEMA_VERSION,
};
use returns_domain::returns::ReturnEvent;
use returns_domain::{BuyerId, ReturnId, SellerId};
use returns_event_store::{
    append_on, ActorRef, ExpectedVersion, Metadata, NewEvent, RecordedEvent, Transaction,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::rebuild::Rebuildable;
use crate::runner::{ApplyError, Projection};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "abuse";

/// The actor of the events the projection appends.
pub const ACTOR_ID: &str = "abuse-detection";

/// The projection's tables, live or shadow (see [`Abuse::tables`]).
#[derive(Debug, Clone)]
struct Tables {
    returns: String,
    parties: String,
    baseline: String,
    flags: String,
}

/// The abuse projection, with the thresholds it raises flags by and its rolling window.
pub struct Abuse {
    name: String,
    tables: Tables,
    thresholds: Thresholds,
    window_days: u32,
    /// Whether it raises flags (live) or only folds the ones in the log (a rebuild's shadow).
    raises: bool,
}

impl Abuse {
    pub fn new(thresholds: Thresholds) -> Abuse {
        Abuse::with_suffix(thresholds, DEFAULT_WINDOW_DAYS, "", true)
    }

    /// The projection over `abuse_*{suffix}` with its own checkpoint `abuse{suffix}`. The suffix
    /// is a constant of the code, never input.
    fn with_suffix(thresholds: Thresholds, window_days: u32, suffix: &str, raises: bool) -> Abuse {
        Abuse {
            name: format!("{NAME}{suffix}"),
            tables: Tables {
                returns: format!("abuse_returns{suffix}"),
                parties: format!("abuse_parties{suffix}"),
                baseline: format!("abuse_baseline{suffix}"),
                flags: format!("abuse_flags{suffix}"),
            },
            thresholds,
            window_days,
            raises,
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
        &self.name
    }

    fn apply<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        events: &'a [RecordedEvent],
    ) -> Pin<Box<dyn Future<Output = Result<(), ApplyError>> + Send + 'a>> {
        Box::pin(async move { self.fold(tx, events).await })
    }
}

impl Rebuildable for Abuse {
    fn shadow(&self, suffix: &str) -> Abuse {
        Abuse::with_suffix(self.thresholds.clone(), self.window_days, suffix, false)
    }

    fn tables(&self) -> Vec<String> {
        let t = &self.tables;
        vec![
            t.returns.clone(),
            t.parties.clone(),
            t.baseline.clone(),
            t.flags.clone(),
        ]
    }

    /// A flag the live projection raised whose `flag.raised` the rebuild has not reached yet
    /// stays, as raised and not yet folded: the live projection folds it next.
    fn carry_over(&self, live_table: &str, shadow_table: &str) -> Option<String> {
        (live_table == self.tables.flags).then(|| {
            format!(
                "INSERT INTO {shadow_table} SELECT * FROM {live_table} \
                 WHERE raised_position IS NULL ON CONFLICT (id) DO NOTHING"
            )
        })
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
    jurisdiction: Option<String>,
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
    Raised {
        position: i64,
        raised: Box<FlagRaised>,
    },
    Reviewed {
        id: Uuid,
        position: i64,
        version: u64,
        event_id: Uuid,
        reviewed: FlagReviewed,
    },
}

/// A step of the fold over the parties' metrics, in feed order.
enum Step {
    /// An order's line categories and jurisdiction, for its buyer's and seller's peer groups (see
    /// `Baseline`).
    Order {
        buyer: Party,
        seller: Party,
        categories: Vec<String>,
        jurisdiction: Option<String>,
    },
    Fact(Fact),
}

/// The flags of the buyers a batch concerns, as folded so far: which buyers are under an open or
/// confirmed flag at each point of the batch.
#[derive(Default)]
struct FlagBook {
    /// Flag id → the buyer it is on and its status.
    buyers: HashMap<Uuid, (String, FlagStatus)>,
}

impl FlagBook {
    fn flagged(&self, buyer: &str) -> bool {
        self.buyers.values().any(|(id, status)| {
            id == buyer && matches!(status, FlagStatus::Open | FlagStatus::Confirmed)
        })
    }
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
        let mut memos = self.load_memos(tx, &wanted).await?;
        let mut book = self.load_book(tx, &items, &memos).await?;
        let mut changed: BTreeSet<Uuid> = BTreeSet::new();
        let mut steps: Vec<Step> = Vec::new();
        for item in items {
            match item {
                Item::Order { parties, at } => {
                    steps.push(Step::Order {
                        buyer: Party::buyer(&parties.buyer_id),
                        seller: Party::seller(&parties.seller_id),
                        categories: parties.lines.into_iter().map(|l| l.category).collect(),
                        jurisdiction: parties.jurisdiction,
                    });
                    steps.extend(
                        order_facts(&parties.buyer_id, &parties.seller_id, at)
                            .into_iter()
                            .map(Step::Fact),
                    );
                }
                Item::Return {
                    id,
                    position,
                    event,
                } => {
                    let after = match (ReturnMemo::start(&event), memos.get(&id)) {
                        (Some(memo), _) => {
                            let new = return_facts(position, &event, None, &memo);
                            steps.extend(counted(new, &memo, &book).map(Step::Fact));
                            memo
                        }
                        (None, Some(Some(before))) => {
                            let mut after = before.clone();
                            after.apply(&event);
                            let new = return_facts(position, &event, Some(before), &after);
                            steps.extend(counted(new, &after, &book).map(Step::Fact));
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
                Item::Raised { position, raised } => {
                    if raised.party_role == PartyRole::Buyer {
                        book.buyers
                            .insert(raised.flag_id, (raised.party_id.clone(), FlagStatus::Open));
                    }
                    self.fold_raised(tx, &raised, Some(position)).await?;
                }
                Item::Reviewed {
                    id,
                    position,
                    version,
                    event_id,
                    reviewed,
                } => {
                    if let Some((_, status)) = book.buyers.get_mut(&id) {
                        *status = reviewed.verdict.status();
                    }
                    self.fold_reviewed(tx, id, position, version, event_id, &reviewed)
                        .await?;
                }
            }
        }
        self.save_memos(tx, &memos, &changed).await?;
        if !steps.iter().any(|s| matches!(s, Step::Fact(_))) {
            return Ok(());
        }

        let mut parties = self.load_parties(tx, &steps).await?;
        let mut baseline = self.load_baseline(tx).await?;
        let mut latest: HashMap<Party, DateTime<Utc>> = HashMap::new();
        for step in &steps {
            let fact = match step {
                Step::Order {
                    buyer,
                    seller,
                    categories,
                    jurisdiction,
                } => {
                    for party in [buyer, seller] {
                        if let Some(metrics) = parties.get_mut(party) {
                            metrics.record_categories(categories.iter().map(String::as_str));
                            if let (PartyRole::Buyer, Some(j)) = (party.role, jurisdiction) {
                                metrics.record_jurisdiction(j);
                            }
                        }
                    }
                    continue;
                }
                Step::Fact(fact) => fact,
            };
            baseline.record(fact);
            if let Some(metrics) = parties.get_mut(&fact.party) {
                metrics.record(fact);
                for group in metrics.peer_groups() {
                    baseline.record_in_group(fact, &group);
                }
            }
            let at = latest.entry(fact.party.clone()).or_insert(fact.at);
            *at = (*at).max(fact.at);
        }

        if self.raises {
            let discounted = self.discounted(tx, &parties, &latest).await?;
            let mut candidates: Vec<(FlagCandidate, DateTime<Utc>)> = Vec::new();
            for (party, at) in &latest {
                if let Some(metrics) = parties.get(party) {
                    for candidate in evaluate_flags_discounting(
                        metrics,
                        &baseline,
                        &self.thresholds,
                        *at,
                        &discounted,
                    ) {
                        candidates.push((candidate, *at));
                    }
                }
            }
            if !candidates.is_empty() {
                let existing = self.load_existing_flags(tx, &candidates).await?;
                for (candidate, at) in &candidates {
                    let theirs = existing
                        .get(&candidate.party)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    if should_raise(candidate, theirs) {
                        self.raise(tx, candidate, *at, last_position).await?;
                    }
                }
            }
        }
        self.save_parties(tx, &parties, &latest).await?;
        self.save_baseline(tx, &baseline).await
    }
}

/// The facts of a return that count: a seller's not-as-described, defect and overturned-refusal
/// signals do not count when they come from a buyer under an open or confirmed flag at that point
/// of the log (an abusive buyer's claims say nothing about the seller).
fn counted<'a>(
    facts: Vec<Fact>,
    memo: &ReturnMemo,
    book: &FlagBook,
) -> impl Iterator<Item = Fact> + 'a {
    let buyer_flagged = book.flagged(memo.buyer_id.as_str());
    facts.into_iter().filter(move |fact| {
        !(buyer_flagged
            && fact.party.role == PartyRole::Seller
            && matches!(
                fact.counter,
                Counter::NotAsDescribed | Counter::Defective | Counter::RefusalsOverturned
            ))
    })
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
        } else if e.event_type == FLAG_RAISED {
            let raised: FlagRaised = e.decode().map_err(|x| bad(x.to_string()))?;
            items.push(Item::Raised {
                position: e.position,
                raised: Box::new(raised),
            });
        } else if e.event_type == FLAG_REVIEWED {
            let reviewed: FlagReviewed = e.decode().map_err(|x| bad(x.to_string()))?;
            let id = e
                .stream_id
                .strip_prefix("flag-")
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| bad(format!("not a flag stream: {}", e.stream_id)))?;
            items.push(Item::Reviewed {
                id,
                position: e.position,
                version: e.version,
                event_id: e.event_id,
                reviewed,
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

impl Abuse {
    /// The folded flags of the buyers of the batch's returns and of the flags the batch reviews.
    async fn load_book(
        &self,
        tx: &Transaction<'_>,
        items: &[Item],
        memos: &HashMap<Uuid, Option<ReturnMemo>>,
    ) -> Result<FlagBook, ApplyError> {
        let mut buyers: Vec<String> = memos
            .values()
            .flatten()
            .map(|m| m.buyer_id.as_str().to_owned())
            .collect();
        let mut reviewed: Vec<Uuid> = Vec::new();
        for item in items {
            match item {
                Item::Return { event, .. } => {
                    if let ReturnEvent::ReturnRequested(r) = event.as_ref() {
                        buyers.push(r.buyer_id.as_str().to_owned());
                    }
                }
                Item::Reviewed { id, .. } => reviewed.push(*id),
                _ => {}
            }
        }
        buyers.sort_unstable();
        buyers.dedup();
        if buyers.is_empty() && reviewed.is_empty() {
            return Ok(FlagBook::default());
        }
        let rows = tx
            .query(
                &format!(
                    "SELECT id, party_id, status FROM {} \
                     WHERE party_role = 'buyer' AND raised_position IS NOT NULL \
                       AND (party_id = ANY($1) OR id = ANY($2))",
                    self.tables.flags
                ),
                &[&buyers, &reviewed],
            )
            .await
            .map_err(db)?;
        let mut book = FlagBook::default();
        for row in rows {
            let status: &str = row.try_get(2).map_err(db)?;
            let status = FlagStatus::parse(status)
                .ok_or_else(|| format!("abuse_flags holds an unknown status {status}"))?;
            book.buyers.insert(
                row.try_get(0).map_err(db)?,
                (row.try_get(1).map_err(db)?, status),
            );
        }
        Ok(book)
    }

    /// The returns behind the discountable counts of the sellers about to be evaluated whose
    /// buyer is now under an open or confirmed flag (see `evaluate_flags_discounting`).
    async fn discounted(
        &self,
        tx: &Transaction<'_>,
        parties: &HashMap<Party, PartyMetrics>,
        latest: &HashMap<Party, DateTime<Utc>>,
    ) -> Result<BTreeSet<ReturnId>, ApplyError> {
        let mut ids: Vec<Uuid> = Vec::new();
        for (party, at) in latest {
            let Some(metrics) = parties
                .get(party)
                .filter(|_| party.role == PartyRole::Seller)
            else {
                continue;
            };
            for counter in DISCOUNTABLE {
                ids.extend(
                    metrics
                        .evidence(counter, *at)
                        .into_iter()
                        .map(|e| *e.return_id.as_uuid()),
                );
            }
        }
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        ids.sort_unstable();
        ids.dedup();
        let rows = tx
            .query(
                &format!(
                    "SELECT ri.return_id FROM return_index ri \
                     WHERE ri.return_id = ANY($1) AND EXISTS ( \
                         SELECT 1 FROM {} f WHERE f.party_role = 'buyer' \
                           AND f.party_id = ri.buyer_id AND f.status IN ('open', 'confirmed') \
                           AND f.raised_position IS NOT NULL)",
                    self.tables.flags
                ),
                &[&ids],
            )
            .await
            .map_err(db)?;
        rows.iter()
            .map(|row| Ok(ReturnId::from_uuid(row.try_get(0).map_err(db)?)))
            .collect()
    }

    /// Writes a raised flag's row: folded from its `flag.raised` at `position`, or (`None`) raised
    /// by this batch and not yet folded.
    async fn fold_raised(
        &self,
        tx: &Transaction<'_>,
        raised: &FlagRaised,
        position: Option<i64>,
    ) -> Result<(), ApplyError> {
        let return_ids: Vec<Uuid> = raised
            .evidence
            .return_ids
            .iter()
            .map(|r| *r.as_uuid())
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO {} (id, party_role, party_id, kind, status, raised_at, metrics, \
                                 threshold, evidence_return_ids, evidence_positions, version, \
                                 raised_position) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, 1, $10) \
                 ON CONFLICT (id) DO UPDATE SET raised_position = excluded.raised_position",
                self.tables.flags
            ),
            &[
                &raised.flag_id,
                &raised.party_role.as_str(),
                &raised.party_id,
                &raised.kind.as_str(),
                &raised.raised_at,
                &raised.metrics,
                &raised.threshold,
                &return_ids,
                &raised.evidence.positions,
                &position,
            ],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Folds an operator's review into the flag's row. The note is personal data, found through
    /// `review_event_id`; a confirmation keeps its position (recommendations for a past moment only
    /// count flags confirmed before it).
    async fn fold_reviewed(
        &self,
        tx: &Transaction<'_>,
        id: Uuid,
        position: i64,
        version: u64,
        event_id: Uuid,
        reviewed: &FlagReviewed,
    ) -> Result<(), ApplyError> {
        let status = reviewed.verdict.status();
        let confirmed = (status == FlagStatus::Confirmed).then_some(position);
        let version = i32::try_from(version).map_err(|e| e.to_string())?;
        let updated = tx
            .execute(
                &format!(
                    "UPDATE {} SET status = $2, version = $3, reviewed_at = $4, reviewed_by = $5, \
                         review_event_id = $6, confirmed_position = $7 \
                     WHERE id = $1",
                    self.tables.flags
                ),
                &[
                    &id,
                    &status.as_str(),
                    &version,
                    &reviewed.at,
                    &reviewed.reviewed_by,
                    &event_id,
                    &confirmed,
                ],
            )
            .await
            .map_err(db)?;
        if updated == 0 {
            return Err(format!("flag.reviewed of flag {id}, which was never raised").into());
        }
        Ok(())
    }

    async fn load_memos(
        &self,
        tx: &Transaction<'_>,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Option<ReturnMemo>>, ApplyError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = tx
            .query(
                &format!(
                    "SELECT return_id, memo::text FROM {} WHERE return_id = ANY($1)",
                    self.tables.returns
                ),
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
        &self,
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
        let table = &self.tables.returns;
        if !kept.is_empty() {
            tx.execute(
                &format!(
                    "INSERT INTO {table} (return_id, memo) \
                     SELECT id, memo::json FROM unnest($1::uuid[], $2::text[]) AS x(id, memo) \
                     ON CONFLICT (return_id) DO UPDATE SET memo = excluded.memo"
                ),
                &[&kept_ids, &kept],
            )
            .await
            .map_err(db)?;
        }
        if !gone.is_empty() {
            tx.execute(
                &format!("DELETE FROM {table} WHERE return_id = ANY($1)"),
                &[&gone],
            )
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    /// The metrics of every party with a fact among `steps` (new parties start empty).
    async fn load_parties(
        &self,
        tx: &Transaction<'_>,
        steps: &[Step],
    ) -> Result<HashMap<Party, PartyMetrics>, ApplyError> {
        let mut parties: HashMap<Party, PartyMetrics> = HashMap::new();
        for step in steps {
            if let Step::Fact(fact) = step {
                parties
                    .entry(fact.party.clone())
                    .or_insert_with(|| PartyMetrics::new(fact.party.clone(), self.window_days));
            }
        }
        let roles: Vec<&str> = parties.keys().map(|p| p.role.as_str()).collect();
        let ids: Vec<&str> = parties.keys().map(|p| p.id.as_str()).collect();
        let rows = tx
            .query(
                &format!(
                    "SELECT p.metrics::text FROM unnest($1::text[], $2::text[]) AS k(role, id) \
                     JOIN {} p ON p.party_role = k.role AND p.party_id = k.id",
                    self.tables.parties
                ),
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
        &self,
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
        let table = &self.tables.parties;
        tx.execute(
            &format!(
                "INSERT INTO {table} (party_role, party_id, metrics, updated_at) \
                 SELECT role, id, metrics::json, at \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) \
                      AS x(role, id, metrics, at) \
                 ON CONFLICT (party_role, party_id) DO UPDATE \
                 SET metrics = excluded.metrics, \
                     updated_at = greatest({table}.updated_at, excluded.updated_at)"
            ),
            &[&roles, &ids, &rows, &updated],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn load_baseline(&self, tx: &Transaction<'_>) -> Result<Baseline, ApplyError> {
        let row = tx
            .query_opt(
                &format!(
                    "SELECT baseline::text FROM {} WHERE id = 1",
                    self.tables.baseline
                ),
                &[],
            )
            .await
            .map_err(db)?;
        match row {
            Some(row) => {
                let text: &str = row.try_get(0).map_err(db)?;
                serde_json::from_str(text).map_err(json_error)
            }
            None => Ok(Baseline::new(self.window_days)),
        }
    }

    async fn save_baseline(
        &self,
        tx: &Transaction<'_>,
        baseline: &Baseline,
    ) -> Result<(), ApplyError> {
        let text = serde_json::to_string(baseline).map_err(json_error)?;
        tx.execute(
            &format!(
                "INSERT INTO {} (id, baseline) VALUES (1, $1::text::json) \
                 ON CONFLICT (id) DO UPDATE SET baseline = excluded.baseline",
                self.tables.baseline
            ),
            &[&text],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    /// The flags already raised on the parties of `candidates`, folded or not.
    async fn load_existing_flags(
        &self,
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
                &format!(
                    "SELECT DISTINCT f.id, f.party_role, f.party_id, f.kind, f.status, \
                            f.evidence_return_ids \
                     FROM unnest($1::text[], $2::text[]) AS k(role, id) \
                     JOIN {} f ON f.party_role = k.role AND f.party_id = k.id",
                    self.tables.flags
                ),
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

    /// Appends `flag.raised` for `candidate` to a new flag stream and writes its row as raised and
    /// not yet folded.
    async fn raise(
        &self,
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
        self.fold_raised(tx, &raised, None).await?;
        metrics::counter!("abuse_flags_raised_total", "kind" => candidate.kind.as_str())
            .increment(1);
        Ok(())
    }
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
