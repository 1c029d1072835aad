//! How detection did against the planted labels: a party counts as flagged when at least one flag
//! of any kind and status was raised for it; a flagged abuser is a true positive whichever kind
//! the flag is (the breakdown by planted kind also says whether the expected kind was among them).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use returns_arbitration::abuse::{FlagKind, PartyRole};

use crate::detect::FlagRow;
use crate::population::{AbuseKind, Population};
use crate::SimConfig;

/// What the simulation did through the command layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerationStats {
    pub policies_set: u64,
    pub orders: u64,
    pub deliveries: u64,
    pub returns_opened: u64,
    pub returns_closed: u64,
    /// Returns still open when the simulated period ended.
    pub returns_open_at_end: usize,
    pub disputes_decided: u64,
    pub refunds_issued: u64,
    pub deadlines_applied: u64,
    /// Commands the service carried out.
    pub commands: u64,
    /// Commands the service refused (a party acting on a return that had moved on).
    pub refused: u64,
    pub refused_by_action: BTreeMap<String, u64>,
    /// Events in the log when generation ended.
    pub events: u64,
}

/// How the abuse projection ran over the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detection {
    pub events_applied: u64,
    /// Flags raised (rows of `abuse_flags`).
    pub flags: usize,
    /// The log position of the event the projection stopped on, if it did; the figures then
    /// count only the flags raised before.
    pub stopped_at: Option<i64>,
    /// Why it stopped there.
    pub error: Option<String>,
}

/// True and false positives over a set of parties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confusion {
    pub parties: usize,
    pub abusive: usize,
    pub honest: usize,
    pub flagged: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
    /// Flagged abusers / flagged parties (none when nobody was flagged).
    pub precision: Option<f64>,
    /// Flagged abusers / abusers (none without abusers).
    pub recall: Option<f64>,
    /// Flagged honest parties / honest parties (none without honest parties).
    pub honest_flagged_share: Option<f64>,
}

fn ratio(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Confusion {
    /// From (planted, flagged) per party.
    fn of(parties: impl IntoIterator<Item = (bool, bool)>) -> Confusion {
        let mut c = Confusion::default();
        for (planted, flagged) in parties {
            c.parties += 1;
            match (planted, flagged) {
                (true, true) => c.true_positives += 1,
                (true, false) => c.false_negatives += 1,
                (false, true) => c.false_positives += 1,
                (false, false) => c.true_negatives += 1,
            }
        }
        c.abusive = c.true_positives + c.false_negatives;
        c.honest = c.false_positives + c.true_negatives;
        c.flagged = c.true_positives + c.false_positives;
        c.precision = ratio(c.true_positives, c.flagged);
        c.recall = ratio(c.true_positives, c.abusive);
        c.honest_flagged_share = ratio(c.false_positives, c.honest);
        c
    }
}

/// How the abusers of one planted kind fared.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedKindReport {
    pub kind: AbuseKind,
    pub planted: usize,
    /// Flagged with any kind of flag.
    pub flagged: usize,
    /// Flagged with the kind that matches their abuse ([`AbuseKind::expected_flag`]).
    pub flagged_as_expected: usize,
    /// `flagged / planted`.
    pub recall: Option<f64>,
}

/// The flags of one kind that detection raised, and on whom.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagKindReport {
    /// The kind as stored in `abuse_flags.kind`.
    pub kind: String,
    /// Flags raised (a party may have several of a kind over time).
    pub flags: usize,
    /// Parties with at least one flag of the kind.
    pub parties: usize,
    pub on_abusive: usize,
    pub on_honest: usize,
    /// `on_abusive / parties`.
    pub precision: Option<f64>,
}

/// One party: what was planted and which flags it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyOutcome {
    pub role: PartyRole,
    pub id: String,
    pub planted: Option<AbuseKind>,
    /// The kinds of flag raised for it, sorted, each once.
    pub flags: Vec<String>,
}

/// How long each phase took (wall clock).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub generation: Duration,
    pub detection: Duration,
}

/// The result of a simulation. Every figure but [`Report::timings`] depends only on the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub config: SimConfig,
    pub generation: GenerationStats,
    pub detection: Detection,
    pub buyers: Confusion,
    pub sellers: Confusion,
    pub overall: Confusion,
    /// In [`AbuseKind::ALL`] order.
    pub by_planted_kind: Vec<PlantedKindReport>,
    /// Every kind of [`FlagKind::ALL`], then any other kind the projection wrote.
    pub by_flag_kind: Vec<FlagKindReport>,
    /// Buyers, then sellers, in id order.
    pub parties: Vec<PartyOutcome>,
    pub timings: Timings,
}

impl Report {
    pub(crate) fn build(
        config: &SimConfig,
        population: &Population,
        generation: GenerationStats,
        detection: Detection,
        flags: &[FlagRow],
        timings: Timings,
    ) -> Report {
        let mut raised: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        for flag in flags {
            raised
                .entry((flag.party_role.as_str(), flag.party_id.as_str()))
                .or_default()
                .insert(flag.kind.as_str());
        }
        let outcome = |role: PartyRole, id: &str, planted: Option<AbuseKind>| PartyOutcome {
            role,
            id: id.to_owned(),
            planted,
            flags: raised
                .get(&(role.as_str(), id))
                .map(|kinds| kinds.iter().map(|k| (*k).to_owned()).collect())
                .unwrap_or_default(),
        };
        let mut parties: Vec<PartyOutcome> = population
            .buyers
            .iter()
            .map(|b| outcome(PartyRole::Buyer, b.id.as_str(), b.abuse))
            .chain(
                population
                    .sellers
                    .iter()
                    .map(|s| outcome(PartyRole::Seller, s.id.as_str(), s.abuse)),
            )
            .collect();
        parties.sort_by(|a, b| (a.role, &a.id).cmp(&(b.role, &b.id)));

        let confusion = |role: Option<PartyRole>| {
            Confusion::of(
                parties
                    .iter()
                    .filter(|p| role.is_none_or(|r| p.role == r))
                    .map(|p| (p.planted.is_some(), !p.flags.is_empty())),
            )
        };
        let by_planted_kind = AbuseKind::ALL
            .iter()
            .map(|&kind| {
                let planted: Vec<&PartyOutcome> =
                    parties.iter().filter(|p| p.planted == Some(kind)).collect();
                let flagged = planted.iter().filter(|p| !p.flags.is_empty()).count();
                let expected = kind.expected_flag().as_str();
                PlantedKindReport {
                    kind,
                    planted: planted.len(),
                    flagged,
                    flagged_as_expected: planted
                        .iter()
                        .filter(|p| p.flags.iter().any(|f| f == expected))
                        .count(),
                    recall: ratio(flagged, planted.len()),
                }
            })
            .collect();

        let planted_of: BTreeMap<(&str, &str), bool> = parties
            .iter()
            .map(|p| ((p.role.as_str(), p.id.as_str()), p.planted.is_some()))
            .collect();
        let mut kinds: Vec<String> = FlagKind::ALL
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        for flag in flags {
            if !kinds.contains(&flag.kind) {
                kinds.push(flag.kind.clone());
            }
        }
        let by_flag_kind = kinds
            .into_iter()
            .map(|kind| {
                let of_kind: Vec<&FlagRow> = flags.iter().filter(|f| f.kind == kind).collect();
                let flagged: BTreeSet<(&str, &str)> = of_kind
                    .iter()
                    .map(|f| (f.party_role.as_str(), f.party_id.as_str()))
                    .collect();
                let on_abusive = flagged
                    .iter()
                    .filter(|p| planted_of.get(*p).copied().unwrap_or(false))
                    .count();
                FlagKindReport {
                    flags: of_kind.len(),
                    parties: flagged.len(),
                    on_abusive,
                    on_honest: flagged.len() - on_abusive,
                    precision: ratio(on_abusive, flagged.len()),
                    kind,
                }
            })
            .collect();

        Report {
            config: config.clone(),
            generation,
            detection,
            buyers: confusion(Some(PartyRole::Buyer)),
            sellers: confusion(Some(PartyRole::Seller)),
            overall: confusion(None),
            by_planted_kind,
            by_flag_kind,
            parties,
            timings,
        }
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        let g = &self.generation;
        let d = &self.detection;
        writeln!(
            f,
            "Abuse simulation: {} buyers ({} abusive), {} sellers ({} abusive), {} days, seed {}",
            c.buyers, self.buyers.abusive, c.sellers, self.sellers.abusive, c.days, c.seed
        )?;
        writeln!(
            f,
            "Generated in {:.1} s: {} orders, {} returns ({} still open), {} disputes decided, \
             {} refunds, {} deadlines missed and applied, {} commands ({} refused), {} events",
            self.timings.generation.as_secs_f64(),
            g.orders,
            g.returns_opened,
            g.returns_open_at_end,
            g.disputes_decided,
            g.refunds_issued,
            g.deadlines_applied,
            g.commands,
            g.refused,
            g.events
        )?;
        match &d.error {
            None => writeln!(
                f,
                "Abuse projection: {} events in {:.1} s, {} flags raised",
                d.events_applied,
                self.timings.detection.as_secs_f64(),
                d.flags
            )?,
            Some(error) => writeln!(
                f,
                "Abuse projection STOPPED at event {} after {} events ({error}); the figures \
                 below count only the {} flags raised before",
                d.stopped_at
                    .map_or_else(|| "?".to_owned(), |p| p.to_string()),
                d.events_applied,
                d.flags
            )?,
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<8} {:>7} {:>7} {:>7} {:>5} {:>5} {:>5} {:>9} {:>7} {:>14}",
            "role",
            "parties",
            "abusive",
            "flagged",
            "TP",
            "FP",
            "FN",
            "precision",
            "recall",
            "honest flagged"
        )?;
        for (name, row) in [
            ("buyers", &self.buyers),
            ("sellers", &self.sellers),
            ("overall", &self.overall),
        ] {
            writeln!(
                f,
                "{:<8} {:>7} {:>7} {:>7} {:>5} {:>5} {:>5} {:>9} {:>7} {:>14}",
                name,
                row.parties,
                row.abusive,
                row.flagged,
                row.true_positives,
                row.false_positives,
                row.false_negatives,
                percent(row.precision),
                percent(row.recall),
                percent(row.honest_flagged_share)
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<30} {:>7} {:>7} {:>7}  {:<30} {:>6}",
            "planted kind", "planted", "flagged", "recall", "expected flag", "raised"
        )?;
        for row in &self.by_planted_kind {
            writeln!(
                f,
                "{:<30} {:>7} {:>7} {:>7}  {:<30} {:>6}",
                row.kind.as_str(),
                row.planted,
                row.flagged,
                percent(row.recall),
                row.kind.expected_flag().as_str(),
                row.flagged_as_expected
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<30} {:>6} {:>8} {:>8} {:>7} {:>9}",
            "flag kind", "flags", "parties", "abusive", "honest", "precision"
        )?;
        for row in &self.by_flag_kind {
            writeln!(
                f,
                "{:<30} {:>6} {:>8} {:>8} {:>7} {:>9}",
                row.kind,
                row.flags,
                row.parties,
                row.on_abusive,
                row.on_honest,
                percent(row.precision)
            )?;
        }
        // The false positives and negatives by name, so that their figures can be looked at (with
        // `--keep-database`, in `abuse_flags` and `abuse_parties`).
        let honest_flagged: Vec<String> = self
            .parties
            .iter()
            .filter(|p| p.planted.is_none() && !p.flags.is_empty())
            .map(|p| format!("{} ({})", p.id, p.flags.join(", ")))
            .collect();
        let missed: Vec<String> = self
            .parties
            .iter()
            .filter_map(|p| match p.planted {
                Some(kind) if p.flags.is_empty() => Some(format!("{} ({})", p.id, kind.as_str())),
                _ => None,
            })
            .collect();
        if !honest_flagged.is_empty() || !missed.is_empty() {
            writeln!(f)?;
        }
        if !honest_flagged.is_empty() {
            writeln!(f, "honest parties flagged: {}", honest_flagged.join("; "))?;
        }
        if !missed.is_empty() {
            writeln!(f, "abusive parties missed: {}", missed.join("; "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_add_up_and_rates_follow() {
        let c = Confusion::of([(true, true), (true, false), (false, true), (false, false)]);
        assert_eq!(c.parties, 4);
        assert_eq!((c.abusive, c.honest, c.flagged), (2, 2, 2));
        assert_eq!(c.precision, Some(0.5));
        assert_eq!(c.recall, Some(0.5));
        assert_eq!(c.honest_flagged_share, Some(0.5));
        let none = Confusion::of([(false, false)]);
        assert_eq!(none.precision, None);
        assert_eq!(none.recall, None);
        assert_eq!(percent(none.recall), "n/a");
    }
}
