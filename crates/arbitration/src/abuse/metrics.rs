//! Rolling metrics: one small row per party and one for the whole marketplace, updated per fact.
//!
//! Counts are kept per UTC day and counter, and evidence (which returns, from which events) per
//! counter; both are pruned to the rolling window as facts arrive, so a row never holds more than
//! `window_days` buckets and [`MAX_EVIDENCE_PER_COUNTER`] evidence entries per counter, however
//! long the party has been trading. A metric "at `now`" covers the `window_days` UTC days ending
//! with `now`'s day (today included).
//!
//! Pruning follows the latest fact recorded, so metrics are meant to be read at a `now` no earlier
//! than that (the service clock always is); a fact older than the window of the latest one is
//! ignored, as it could never be counted again.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use returns_domain::returns::ReturnEvent;
use returns_domain::ReturnId;

use super::facts::{return_facts, CaseFacts, Counter, Fact, Party, PartyRole};

/// docs/api.md: metrics are over a rolling window of 180 days of service time by default.
pub const DEFAULT_WINDOW_DAYS: u32 = 180;

/// Evidence kept per counter, the most recent first to go last: enough to show an operator and to
/// tell new evidence from old, small enough that a busy seller's row (rewritten by the projection
/// whenever the seller has new facts) stays a few kilobytes. The counts are exact regardless.
pub const MAX_EVIDENCE_PER_COUNTER: usize = 20;

type Day = i64;

fn day_of(at: DateTime<Utc>) -> Day {
    at.timestamp().div_euclid(86_400)
}

fn window(now: DateTime<Utc>, window_days: u32) -> RangeInclusive<Day> {
    let today = day_of(now);
    (today - i64::from(window_days.max(1)) + 1)..=today
}

/// Counts per UTC day and counter over a rolling window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollingCounts {
    window_days: u32,
    days: BTreeMap<Day, BTreeMap<Counter, u64>>,
}

impl RollingCounts {
    pub fn new(window_days: u32) -> RollingCounts {
        RollingCounts {
            window_days: window_days.max(1),
            days: BTreeMap::new(),
        }
    }

    pub fn window_days(&self) -> u32 {
        self.window_days
    }

    /// The window of the latest day recorded, or of `at` if that is later.
    fn kept(&self, at: DateTime<Utc>) -> RangeInclusive<Day> {
        let latest = self.days.keys().next_back().copied().unwrap_or(Day::MIN);
        let today = latest.max(day_of(at));
        (today - i64::from(self.window_days) + 1)..=today
    }

    /// Counts one `counter` at `at`, and forgets the days that fell out of the window.
    pub fn add(&mut self, counter: Counter, at: DateTime<Utc>) {
        let kept = self.kept(at);
        let day = day_of(at);
        if day < *kept.start() {
            return;
        }
        let count = self
            .days
            .entry(day)
            .or_default()
            .entry(counter)
            .or_insert(0);
        *count = count.saturating_add(1);
        self.days = self.days.split_off(kept.start());
    }

    /// The count of `counter` in the window ending at `now`.
    pub fn count(&self, counter: Counter, now: DateTime<Utc>) -> u64 {
        self.days
            .range(window(now, self.window_days))
            .filter_map(|(_, counts)| counts.get(&counter))
            .sum()
    }

    /// Every counter's count in the window ending at `now` (zeros included).
    pub fn counts(&self, now: DateTime<Utc>) -> BTreeMap<Counter, u64> {
        Counter::ALL
            .iter()
            .map(|&counter| (counter, self.count(counter, now)))
            .collect()
    }
}

/// A return that backs a counter: which return, from which event, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceEntry {
    pub return_id: ReturnId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left_in_window: Option<i64>,
}

/// The abuse metrics of one buyer or seller: the row a projection keeps per party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyMetrics {
    pub party: Party,
    counts: RollingCounts,
    evidence: BTreeMap<Counter, Vec<EvidenceEntry>>,
    /// Order lines per category (a party's peers are the parties of its role whose main category
    /// is the same).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    categories: BTreeMap<String, u64>,
    /// Orders per jurisdiction (the law of the buyer's country; a buyer's second peer group).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    jurisdictions: BTreeMap<String, u64>,
}

/// The key counted most in `counts` (ties: the first by name).
fn most_counted(counts: &BTreeMap<String, u64>) -> Option<&str> {
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(name, _)| name.as_str())
}

/// A group of peers a party's rates are compared with, from the most specific.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerGroup<'a> {
    /// The parties of the same role whose main category is this one.
    Category(&'a str),
    /// The buyers whose orders are mostly under this jurisdiction's law.
    Jurisdiction(&'a str),
}

impl PeerGroup<'_> {
    /// How a flag names it (`baseline_scope`).
    pub fn scope(&self) -> String {
        match self {
            PeerGroup::Category(c) => format!("category:{c}"),
            PeerGroup::Jurisdiction(j) => format!("jurisdiction:{j}"),
        }
    }
}

impl PartyMetrics {
    pub fn new(party: Party, window_days: u32) -> PartyMetrics {
        PartyMetrics {
            party,
            counts: RollingCounts::new(window_days),
            evidence: BTreeMap::new(),
            categories: BTreeMap::new(),
            jurisdictions: BTreeMap::new(),
        }
    }

    /// Counts the jurisdiction of an order.
    pub fn record_jurisdiction(&mut self, jurisdiction: &str) {
        let n = self
            .jurisdictions
            .entry(jurisdiction.to_uppercase())
            .or_insert(0);
        *n = n.saturating_add(1);
    }

    /// The jurisdiction most of the party's orders are under (ties: the first by name).
    pub fn main_jurisdiction(&self) -> Option<&str> {
        most_counted(&self.jurisdictions)
    }

    /// The party's peer groups, the most specific first: its main category, when it holds at
    /// least half of its order lines (a buyer who buys across the catalogue is no apparel buyer
    /// for having bought a few more shirts than books); for a buyer, then its main jurisdiction.
    pub fn peer_groups(&self) -> Vec<PeerGroup<'_>> {
        let lines: u64 = self.categories.values().sum();
        let mut groups: Vec<PeerGroup<'_>> = self
            .main_category()
            .filter(|c| {
                self.categories
                    .get(*c)
                    .is_some_and(|n| n.saturating_mul(2) >= lines)
            })
            .map(PeerGroup::Category)
            .into_iter()
            .collect();
        if self.role() == PartyRole::Buyer {
            groups.extend(self.main_jurisdiction().map(PeerGroup::Jurisdiction));
        }
        groups
    }

    /// Counts the categories of an order's lines.
    pub fn record_categories<'a>(&mut self, categories: impl IntoIterator<Item = &'a str>) {
        for category in categories {
            let n = self.categories.entry(category.to_lowercase()).or_insert(0);
            *n = n.saturating_add(1);
        }
    }

    /// The category most of the party's order lines are in (ties: the first by name).
    pub fn main_category(&self) -> Option<&str> {
        most_counted(&self.categories)
    }

    pub fn role(&self) -> PartyRole {
        self.party.role
    }

    pub fn window_days(&self) -> u32 {
        self.counts.window_days()
    }

    /// Records a fact about this party; facts about anyone else are ignored (returns whether it
    /// was recorded).
    pub fn record(&mut self, fact: &Fact) -> bool {
        if fact.party != self.party {
            return false;
        }
        self.counts.add(fact.counter, fact.at);
        let kept = self.counts.kept(fact.at);
        if let Some(return_id) = fact
            .return_id
            .filter(|_| super::flags::is_signal(self.party.role, fact.counter))
        {
            let entries = self.evidence.entry(fact.counter).or_default();
            // A return backs a counter once, however often it adds to the count (missed deadlines).
            if !entries.iter().any(|e| e.return_id == return_id) && kept.contains(&day_of(fact.at))
            {
                entries.push(EvidenceEntry {
                    return_id,
                    position: fact.position,
                    at: fact.at,
                    days_left_in_window: fact.days_left_in_window,
                });
                entries.sort_by_key(|e| (e.at, e.return_id));
            }
        }
        for entries in self.evidence.values_mut() {
            entries.retain(|e| day_of(e.at) >= *kept.start());
            let excess = entries.len().saturating_sub(MAX_EVIDENCE_PER_COUNTER);
            entries.drain(..excess);
        }
        self.evidence.retain(|_, entries| !entries.is_empty());
        true
    }

    /// Folds one return event into this party's row (see [`return_facts`]).
    pub fn observe<C: CaseFacts>(
        &mut self,
        position: i64,
        event: &ReturnEvent,
        before: Option<&C>,
        after: &C,
    ) {
        for fact in return_facts(position, event, before, after) {
            self.record(&fact);
        }
    }

    /// Counts an order of this party.
    pub fn observe_order(&mut self, at: DateTime<Utc>) {
        let fact = Fact {
            party: self.party.clone(),
            counter: Counter::Orders,
            at,
            return_id: None,
            position: None,
            days_left_in_window: None,
        };
        self.record(&fact);
    }

    pub fn count(&self, counter: Counter, now: DateTime<Utc>) -> u64 {
        self.counts.count(counter, now)
    }

    pub fn counts(&self, now: DateTime<Utc>) -> BTreeMap<Counter, u64> {
        self.counts.counts(now)
    }

    /// The returns backing `counter` in the window ending at `now`, oldest first.
    pub fn evidence(&self, counter: Counter, now: DateTime<Utc>) -> Vec<&EvidenceEntry> {
        let range = window(now, self.window_days());
        self.evidence
            .get(&counter)
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| range.contains(&day_of(e.at)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `metrics` of `GET /v1/parties/{role}/{id}/risk`: every count in the window and the
    /// party's main rates.
    pub fn summary(&self, now: DateTime<Utc>) -> serde_json::Value {
        let counts = self.counts(now);
        let get = |counter| counts.get(&counter).copied().unwrap_or(0);
        let mut map = serde_json::Map::new();
        map.insert("window_days".to_owned(), self.window_days().into());
        for (counter, count) in &counts {
            map.insert(counter.as_str().to_owned(), (*count).into());
        }
        let orders = get(Counter::Orders);
        let returns = get(Counter::Returns);
        map.insert("return_rate".to_owned(), rate_json(returns, orders));
        if self.role() == PartyRole::Seller {
            let nad = get(Counter::NotAsDescribed) + get(Counter::Defective);
            map.insert("not_as_described_rate".to_owned(), rate_json(nad, orders));
            map.insert(
                "decline_rate".to_owned(),
                rate_json(get(Counter::Declined), returns),
            );
        }
        serde_json::Value::Object(map)
    }
}

/// `numerator / denominator`, none when there is nothing to divide by.
pub(crate) fn rate(numerator: u64, denominator: u64) -> Option<f64> {
    // Counts are far below 2^53, so the conversions are exact.
    #[allow(clippy::cast_precision_loss)]
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// A rate for JSON, rounded to 4 decimals so figures read cleanly (null without a denominator).
pub(crate) fn rate_json(numerator: u64, denominator: u64) -> serde_json::Value {
    rate(numerator, denominator)
        .map(|r| (r * 10_000.0).round() / 10_000.0)
        .into()
}

/// The marketplace baseline: the same counts over every buyer and every seller, one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    buyers: RollingCounts,
    sellers: RollingCounts,
    /// The same counts over the sellers of each main category: a seller's rates are judged
    /// against its peers' where their figures are enough (`Thresholds::baseline_min_samples`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    seller_categories: BTreeMap<String, RollingCounts>,
    /// The same over the buyers of each main category, and of each main jurisdiction.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    buyer_categories: BTreeMap<String, RollingCounts>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    buyer_jurisdictions: BTreeMap<String, RollingCounts>,
}

impl Baseline {
    pub fn new(window_days: u32) -> Baseline {
        Baseline {
            buyers: RollingCounts::new(window_days),
            sellers: RollingCounts::new(window_days),
            seller_categories: BTreeMap::new(),
            buyer_categories: BTreeMap::new(),
            buyer_jurisdictions: BTreeMap::new(),
        }
    }

    fn groups(&self, role: PartyRole, group: &PeerGroup<'_>) -> &BTreeMap<String, RollingCounts> {
        match (role, group) {
            (PartyRole::Seller, PeerGroup::Category(_)) => &self.seller_categories,
            (PartyRole::Buyer, PeerGroup::Category(_)) => &self.buyer_categories,
            // Sellers have no jurisdiction group; an empty one never reaches the floor.
            (_, PeerGroup::Jurisdiction(_)) => &self.buyer_jurisdictions,
        }
    }

    /// Records a fact about a party into the counts of `group`, one of its peer groups.
    pub fn record_in_group(&mut self, fact: &Fact, group: &PeerGroup<'_>) {
        let window_days = self.sellers.window_days();
        let (groups, key) = match (fact.party.role, group) {
            (PartyRole::Seller, PeerGroup::Category(c)) => (&mut self.seller_categories, *c),
            (PartyRole::Buyer, PeerGroup::Category(c)) => (&mut self.buyer_categories, *c),
            (PartyRole::Buyer, PeerGroup::Jurisdiction(j)) => (&mut self.buyer_jurisdictions, *j),
            (PartyRole::Seller, PeerGroup::Jurisdiction(_)) => return,
        };
        groups
            .entry(key.to_owned())
            .or_insert_with(|| RollingCounts::new(window_days))
            .add(fact.counter, fact.at);
    }

    /// Records a fact about a party whose main category is `category` into that category's
    /// counts too.
    pub fn record_in_category(&mut self, fact: &Fact, category: &str) {
        self.record_in_group(fact, &PeerGroup::Category(category));
    }

    /// A count over the parties of `role` in `group`.
    pub fn group_count(
        &self,
        role: PartyRole,
        group: &PeerGroup<'_>,
        counter: Counter,
        now: DateTime<Utc>,
    ) -> u64 {
        let key = match group {
            PeerGroup::Category(k) | PeerGroup::Jurisdiction(k) => *k,
        };
        self.groups(role, group)
            .get(key)
            .map_or(0, |counts| counts.count(counter, now))
    }

    /// Records a fact about any party.
    pub fn record(&mut self, fact: &Fact) {
        match fact.party.role {
            PartyRole::Buyer => self.buyers.add(fact.counter, fact.at),
            PartyRole::Seller => self.sellers.add(fact.counter, fact.at),
        }
    }

    /// Folds one return event into the baseline.
    pub fn observe<C: CaseFacts>(
        &mut self,
        position: i64,
        event: &ReturnEvent,
        before: Option<&C>,
        after: &C,
    ) {
        for fact in return_facts(position, event, before, after) {
            self.record(&fact);
        }
    }

    /// Counts an order (for its buyer's and its seller's side).
    pub fn observe_order(&mut self, at: DateTime<Utc>) {
        self.buyers.add(Counter::Orders, at);
        self.sellers.add(Counter::Orders, at);
    }

    pub fn count(&self, role: PartyRole, counter: Counter, now: DateTime<Utc>) -> u64 {
        match role {
            PartyRole::Buyer => self.buyers.count(counter, now),
            PartyRole::Seller => self.sellers.count(counter, now),
        }
    }
}
