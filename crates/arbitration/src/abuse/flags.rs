//! Flags: when a party's metrics cross a threshold, and whether to raise the flag again.
//!
//! Every kind of flag is one signal divided by one denominator over the rolling window, and fires
//! when all of these hold (defaults in brackets; every figure is configurable in [`Thresholds`]):
//!
//! - the party has the minimum sample: buyers ≥ 5 orders, sellers ≥ 20 orders, and for kinds
//!   measured against returns also ≥ 2 returns (buyers) or ≥ 10 returns (sellers);
//! - the signal counts at least `min_count`;
//! - its rate is at least `min_rate`, and at least `baseline_multiple` × its peers' rate (its
//!   main category's, a buyer's jurisdiction's, else the marketplace's: see
//!   `PartyMetrics::peer_groups`) where a multiple is set and the baseline has ≥ 100 in its
//!   denominator.
//!
//! | kind | signal / denominator | min_count | min_rate | × baseline |
//! | --- | --- | --- | --- | --- |
//! | `serial_returner` | returns / orders | 5 | 0.5 | 2.5 |
//! | `wardrobing` | used returns requested ≤ 3 days before the window ended / returns | 2 | 0.2 | – |
//! | `empty_box_returns` | `empty_box` or `wrong_item` grades / returns | 2 | 0 | – |
//! | `used_or_damaged_returns` | `used` or `damaged` grades the claim does not explain / returns | 3 | 0.5 | – |
//! | `repeated_not_received` | `not_received` claims / orders | 3 | 0.2 | – |
//! | `returnless_refunds` | refunds paid while keeping the item / orders | 3 | 0.25 | – |
//! | `disputes_lost` | disputes lost / disputes decided | 3 | 0.6 | – |
//! | `seller_not_as_described_rate` | `not_as_described` or `defective` returns / orders | 5 | 0.05 | 2 |
//! | `seller_refusals_overturned` | refusals an operator overturned / disputes decided | 3 | 0.5 | – |
//! | `seller_missed_deadlines` | response or inspection deadlines missed / returns | 5 | 0.2 | – |
//! | `seller_decline_rate` | returns declined or refused / returns | 5 | 0.5 | 2 |
//!
//! A candidate carries its figures (`metrics`), the threshold it crossed (`threshold`) and the
//! returns behind the signal (`evidence_return_ids`, with the positions of their events).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use returns_domain::ReturnId;

use super::facts::{Counter, Party, PartyRole};
use super::metrics::{rate, rate_json, Baseline, EvidenceEntry, PartyMetrics};

/// The kinds of abuse flag, per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    SerialReturner,
    Wardrobing,
    EmptyBoxReturns,
    UsedOrDamagedReturns,
    RepeatedNotReceived,
    ReturnlessRefunds,
    DisputesLost,
    SellerNotAsDescribedRate,
    SellerRefusalsOverturned,
    SellerMissedDeadlines,
    SellerDeclineRate,
}

impl FlagKind {
    pub const ALL: &'static [FlagKind] = &[
        FlagKind::SerialReturner,
        FlagKind::Wardrobing,
        FlagKind::EmptyBoxReturns,
        FlagKind::UsedOrDamagedReturns,
        FlagKind::RepeatedNotReceived,
        FlagKind::ReturnlessRefunds,
        FlagKind::DisputesLost,
        FlagKind::SellerNotAsDescribedRate,
        FlagKind::SellerRefusalsOverturned,
        FlagKind::SellerMissedDeadlines,
        FlagKind::SellerDeclineRate,
    ];

    /// The stable name (the same string serde writes).
    pub const fn as_str(self) -> &'static str {
        match self {
            FlagKind::SerialReturner => "serial_returner",
            FlagKind::Wardrobing => "wardrobing",
            FlagKind::EmptyBoxReturns => "empty_box_returns",
            FlagKind::UsedOrDamagedReturns => "used_or_damaged_returns",
            FlagKind::RepeatedNotReceived => "repeated_not_received",
            FlagKind::ReturnlessRefunds => "returnless_refunds",
            FlagKind::DisputesLost => "disputes_lost",
            FlagKind::SellerNotAsDescribedRate => "seller_not_as_described_rate",
            FlagKind::SellerRefusalsOverturned => "seller_refusals_overturned",
            FlagKind::SellerMissedDeadlines => "seller_missed_deadlines",
            FlagKind::SellerDeclineRate => "seller_decline_rate",
        }
    }

    pub const fn role(self) -> PartyRole {
        match self {
            FlagKind::SerialReturner
            | FlagKind::Wardrobing
            | FlagKind::EmptyBoxReturns
            | FlagKind::UsedOrDamagedReturns
            | FlagKind::RepeatedNotReceived
            | FlagKind::ReturnlessRefunds
            | FlagKind::DisputesLost => PartyRole::Buyer,
            FlagKind::SellerNotAsDescribedRate
            | FlagKind::SellerRefusalsOverturned
            | FlagKind::SellerMissedDeadlines
            | FlagKind::SellerDeclineRate => PartyRole::Seller,
        }
    }
}

impl std::fmt::Display for FlagKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When one signal is high enough to flag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalThreshold {
    /// The signal counts at least this many in the window.
    pub min_count: u64,
    /// And its rate (signal / denominator) is at least this.
    pub min_rate: f64,
    /// And, when set and the baseline is established, at least this multiple of the
    /// marketplace's rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_multiple: Option<f64>,
    /// And the lower bound of the rate (see [`Thresholds::confidence_z`]) is at least `min_rate`
    /// too: for signals where an honest party's ordinary slips add up over many returns, so that
    /// a run of bad luck on a small sample is not taken for a pattern.
    #[serde(default)]
    pub confident: bool,
}

impl SignalThreshold {
    const fn new(min_count: u64, min_rate: f64, baseline_multiple: Option<f64>) -> Self {
        SignalThreshold {
            min_count,
            min_rate,
            baseline_multiple,
            confident: false,
        }
    }

    const fn confident(self) -> Self {
        SignalThreshold {
            confident: true,
            ..self
        }
    }
}

/// The minimum sample below which a party is never flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Samples {
    pub min_orders: u64,
    /// For kinds measured against returns.
    pub min_returns: u64,
}

/// Every figure of abuse detection (see the module doc for the defaults). Deserialises from a
/// partial document: absent fields keep their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    pub buyer_samples: Samples,
    pub seller_samples: Samples,
    /// The baseline is trusted once its denominator (orders or returns) reaches this.
    pub baseline_min_samples: u64,
    /// How sure a comparison must be: a party is above `baseline_multiple` × the baseline rate
    /// (and, for `confident` signals, above `min_rate`) only when the lower bound of its rate's
    /// Wilson score interval is, at this many standard deviations (1.645: one-sided 95%). A
    /// small sample that happens to run high is not a pattern.
    pub confidence_z: f64,
    /// Wardrobing: a used return requested at most this many days before its window ended.
    pub wardrobing_days_left: i64,
    pub serial_returner: SignalThreshold,
    pub wardrobing: SignalThreshold,
    pub empty_box_returns: SignalThreshold,
    pub used_or_damaged_returns: SignalThreshold,
    pub repeated_not_received: SignalThreshold,
    pub returnless_refunds: SignalThreshold,
    pub disputes_lost: SignalThreshold,
    pub seller_not_as_described_rate: SignalThreshold,
    pub seller_refusals_overturned: SignalThreshold,
    pub seller_missed_deadlines: SignalThreshold,
    pub seller_decline_rate: SignalThreshold,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            buyer_samples: Samples {
                min_orders: 5,
                min_returns: 2,
            },
            seller_samples: Samples {
                min_orders: 20,
                min_returns: 10,
            },
            baseline_min_samples: 100,
            confidence_z: 1.645,
            wardrobing_days_left: 3,
            serial_returner: SignalThreshold::new(5, 0.5, Some(2.5)),
            wardrobing: SignalThreshold::new(2, 0.2, None),
            empty_box_returns: SignalThreshold::new(2, 0.0, None),
            used_or_damaged_returns: SignalThreshold::new(3, 0.5, None),
            repeated_not_received: SignalThreshold::new(3, 0.2, None),
            returnless_refunds: SignalThreshold::new(3, 0.25, None),
            disputes_lost: SignalThreshold::new(3, 0.6, None),
            seller_not_as_described_rate: SignalThreshold::new(5, 0.05, Some(2.0)),
            seller_refusals_overturned: SignalThreshold::new(3, 0.5, None),
            seller_missed_deadlines: SignalThreshold::new(5, 0.2, None).confident(),
            seller_decline_rate: SignalThreshold::new(5, 0.5, Some(2.0)).confident(),
        }
    }
}

impl Thresholds {
    pub fn for_kind(&self, kind: FlagKind) -> SignalThreshold {
        match kind {
            FlagKind::SerialReturner => self.serial_returner,
            FlagKind::Wardrobing => self.wardrobing,
            FlagKind::EmptyBoxReturns => self.empty_box_returns,
            FlagKind::UsedOrDamagedReturns => self.used_or_damaged_returns,
            FlagKind::RepeatedNotReceived => self.repeated_not_received,
            FlagKind::ReturnlessRefunds => self.returnless_refunds,
            FlagKind::DisputesLost => self.disputes_lost,
            FlagKind::SellerNotAsDescribedRate => self.seller_not_as_described_rate,
            FlagKind::SellerRefusalsOverturned => self.seller_refusals_overturned,
            FlagKind::SellerMissedDeadlines => self.seller_missed_deadlines,
            FlagKind::SellerDeclineRate => self.seller_decline_rate,
        }
    }

    fn samples(&self, role: PartyRole) -> Samples {
        match role {
            PartyRole::Buyer => self.buyer_samples,
            PartyRole::Seller => self.seller_samples,
        }
    }
}

/// A flag that the metrics call for, before [`should_raise`] checks the flags already raised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagCandidate {
    pub party: Party,
    pub kind: FlagKind,
    /// The figures: the signal's count, the denominator, the rate, the baseline rate.
    pub metrics: serde_json::Value,
    /// The threshold crossed, with the effective minimum rate and the minimum sample.
    pub threshold: serde_json::Value,
    /// The returns behind the signal, oldest first.
    pub evidence_return_ids: Vec<ReturnId>,
    /// The positions of the events that put them there.
    pub evidence_positions: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    Open,
    Confirmed,
    Dismissed,
}

/// A flag already raised for the party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingFlag {
    pub kind: FlagKind,
    pub status: FlagStatus,
    pub evidence_return_ids: Vec<ReturnId>,
}

/// The denominators of the signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Per {
    Orders,
    Returns,
    DisputesDecided,
}

impl Per {
    fn counter(self) -> Counter {
        match self {
            Per::Orders => Counter::Orders,
            Per::Returns => Counter::Returns,
            Per::DisputesDecided => Counter::DisputesDecided,
        }
    }
}

/// Whether `counter` is summed into the signal of a flag kind of `role`: only then are the
/// returns behind it kept as evidence in a party's row (denominators and the other role's
/// counters only count).
pub(crate) fn is_signal(role: PartyRole, counter: Counter) -> bool {
    FlagKind::ALL
        .iter()
        .any(|&kind| kind.role() == role && signal(kind).0.contains(&counter))
}

/// What a kind measures: the counters summed into its signal, and its denominator.
fn signal(kind: FlagKind) -> (&'static [Counter], Per) {
    match kind {
        FlagKind::SerialReturner => (&[Counter::Returns], Per::Orders),
        // Counted from the used-grade evidence and its days left (see `evaluate`).
        FlagKind::Wardrobing => (&[Counter::GradedUsed], Per::Returns),
        FlagKind::EmptyBoxReturns => (
            &[Counter::GradedEmptyBox, Counter::GradedWrongItem],
            Per::Returns,
        ),
        FlagKind::UsedOrDamagedReturns => {
            (&[Counter::GradedUsed, Counter::GradedDamaged], Per::Returns)
        }
        FlagKind::RepeatedNotReceived => (&[Counter::NotReceivedClaims], Per::Orders),
        FlagKind::ReturnlessRefunds => (&[Counter::ReturnlessRefunds], Per::Orders),
        FlagKind::DisputesLost => (&[Counter::DisputesLost], Per::DisputesDecided),
        FlagKind::SellerNotAsDescribedRate => {
            (&[Counter::NotAsDescribed, Counter::Defective], Per::Orders)
        }
        FlagKind::SellerRefusalsOverturned => {
            (&[Counter::RefusalsOverturned], Per::DisputesDecided)
        }
        FlagKind::SellerMissedDeadlines => (&[Counter::MissedDeadlines], Per::Returns),
        FlagKind::SellerDeclineRate => (&[Counter::Declined], Per::Returns),
    }
}

/// The flags that `metrics` call for at `now`, in [`FlagKind::ALL`] order.
pub fn evaluate_flags(
    metrics: &PartyMetrics,
    baseline: &Baseline,
    thresholds: &Thresholds,
    now: DateTime<Utc>,
) -> Vec<FlagCandidate> {
    evaluate_flags_discounting(metrics, baseline, thresholds, now, &BTreeSet::new())
}

/// The seller counters whose returns say nothing about the seller when their buyer is under a
/// flag: a claim of an abusive buyer, and a refusal of one that an operator overturned.
pub const DISCOUNTABLE: [Counter; 3] = [
    Counter::NotAsDescribed,
    Counter::Defective,
    Counter::RefusalsOverturned,
];

/// [`evaluate_flags`], leaving out of a seller's [`DISCOUNTABLE`] counts the returns in
/// `discounted` (those whose buyer is now under an open or confirmed flag): the claims of a buyer
/// flagged since they were made stop counting against the seller, as those made after do.
pub fn evaluate_flags_discounting(
    metrics: &PartyMetrics,
    baseline: &Baseline,
    thresholds: &Thresholds,
    now: DateTime<Utc>,
    discounted: &BTreeSet<ReturnId>,
) -> Vec<FlagCandidate> {
    let role = metrics.role();
    let samples = thresholds.samples(role);
    let orders = metrics.count(Counter::Orders, now);
    let returns = metrics.count(Counter::Returns, now);
    // A new party is never flagged, whatever it did.
    if orders < samples.min_orders {
        return Vec::new();
    }
    let discounted = if role == PartyRole::Seller {
        discounted
    } else {
        &BTreeSet::new()
    };
    FlagKind::ALL
        .iter()
        .filter(|kind| kind.role() == role)
        .filter_map(|&kind| {
            let (_, per) = signal(kind);
            if per == Per::Returns && returns < samples.min_returns {
                return None;
            }
            evaluate(
                kind, metrics, baseline, thresholds, samples, now, discounted,
            )
        })
        .collect()
}

fn evaluate(
    kind: FlagKind,
    metrics: &PartyMetrics,
    baseline: &Baseline,
    thresholds: &Thresholds,
    samples: Samples,
    now: DateTime<Utc>,
    discounted: &BTreeSet<ReturnId>,
) -> Option<FlagCandidate> {
    let threshold = thresholds.for_kind(kind);
    let (counters, per) = signal(kind);
    let role = metrics.role();
    // Only the counters a buyer's flag discounts are ever left out.
    let none = BTreeSet::new();
    let discounted = if counters.iter().all(|c| DISCOUNTABLE.contains(c)) {
        discounted
    } else {
        &none
    };

    let mut evidence: Vec<&EvidenceEntry> = counters
        .iter()
        .flat_map(|&counter| metrics.evidence(counter, now))
        .collect();
    let count = if kind == FlagKind::Wardrobing {
        let late = thresholds.wardrobing_days_left;
        evidence.retain(|e| e.days_left_in_window.is_some_and(|left| left <= late));
        evidence.len() as u64
    } else {
        let counted: u64 = counters.iter().map(|&c| metrics.count(c, now)).sum();
        let left_out = evidence
            .iter()
            .filter(|e| discounted.contains(&e.return_id))
            .count() as u64;
        evidence.retain(|e| !discounted.contains(&e.return_id));
        counted.saturating_sub(left_out)
    };
    let denominator = metrics.count(per.counter(), now);
    let party_rate = rate(count, denominator)?;

    // A party is judged against its most specific peer group whose figures reach the evidence
    // floor (a seller: the sellers of its main category; a buyer: the buyers of its main category,
    // then of its main jurisdiction), else against the whole marketplace.
    let peers = metrics.peer_groups().into_iter().find(|group| {
        baseline.group_count(role, group, per.counter(), now) >= thresholds.baseline_min_samples
    });
    let (baseline_count, baseline_denominator, scope): (u64, u64, String) = match peers {
        Some(group) => (
            counters
                .iter()
                .map(|&c| baseline.group_count(role, &group, c, now))
                .sum(),
            baseline.group_count(role, &group, per.counter(), now),
            group.scope(),
        ),
        None => (
            counters.iter().map(|&c| baseline.count(role, c, now)).sum(),
            baseline.count(role, per.counter(), now),
            "marketplace".to_owned(),
        ),
    };
    let baseline_rate = (baseline_denominator >= thresholds.baseline_min_samples)
        .then(|| rate(baseline_count, baseline_denominator))
        .flatten();
    let relative = threshold
        .baseline_multiple
        .zip(baseline_rate)
        .map(|(multiple, base)| multiple * base);
    let effective_min_rate = relative.map_or(threshold.min_rate, |r| r.max(threshold.min_rate));
    let lower_bound = wilson_lower_bound(count, denominator, thresholds.confidence_z);

    if count < threshold.min_count || party_rate < threshold.min_rate {
        return None;
    }
    if relative.is_some_and(|bar| lower_bound < bar)
        || (threshold.confident && lower_bound < threshold.min_rate)
    {
        return None;
    }

    evidence.sort_by_key(|e| (e.at, e.return_id));
    let mut seen = BTreeSet::new();
    evidence.retain(|e| seen.insert(e.return_id));
    let per_name = per.counter().as_str();
    Some(FlagCandidate {
        party: metrics.party.clone(),
        kind,
        metrics: json!({
            "count": count,
            "per": per_name,
            "denominator": denominator,
            "rate": rate_json(count, denominator),
            "rate_lower_bound": (relative.is_some() || threshold.confident)
                .then_some((lower_bound * 10_000.0).round() / 10_000.0),
            "baseline_rate": baseline_rate.map(|_| rate_json(baseline_count, baseline_denominator)),
            "baseline_scope": baseline_rate.map(|_| scope),
            "orders": metrics.count(Counter::Orders, now),
            "returns": metrics.count(Counter::Returns, now),
            "window_days": metrics.window_days(),
        }),
        threshold: json!({
            "min_count": threshold.min_count,
            "min_rate": threshold.min_rate,
            "baseline_multiple": threshold.baseline_multiple,
            "effective_min_rate": (effective_min_rate * 10_000.0).round() / 10_000.0,
            "confidence_z": (relative.is_some() || threshold.confident).then_some(thresholds.confidence_z),
            "confident": threshold.confident,
            "min_orders": samples.min_orders,
            "min_returns": samples.min_returns,
            "days_left_in_window": (kind == FlagKind::Wardrobing).then_some(thresholds.wardrobing_days_left),
        }),
        evidence_return_ids: evidence.iter().map(|e| e.return_id).collect(),
        evidence_positions: evidence.iter().filter_map(|e| e.position).collect(),
    })
}

/// Whether to raise `candidate`, given the party's flags already raised: never while one of its
/// kind is open or confirmed; after a dismissal, only when its evidence names a return that no
/// dismissed flag of its kind named (an operator already judged that evidence).
pub fn should_raise(candidate: &FlagCandidate, existing: &[ExistingFlag]) -> bool {
    let same_kind = || existing.iter().filter(|f| f.kind == candidate.kind);
    if same_kind().any(|f| matches!(f.status, FlagStatus::Open | FlagStatus::Confirmed)) {
        return false;
    }
    let judged: BTreeSet<ReturnId> = same_kind()
        .filter(|f| f.status == FlagStatus::Dismissed)
        .flat_map(|f| f.evidence_return_ids.iter().copied())
        .collect();
    judged.is_empty()
        || candidate
            .evidence_return_ids
            .iter()
            .any(|id| !judged.contains(id))
}

/// The lower bound of the Wilson score interval of `count` successes in `n` trials at `z`
/// standard deviations (0 when there are no trials).
pub fn wilson_lower_bound(count: u64, n: u64, z: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let (k, n) = (count as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).max(0.0)
}
