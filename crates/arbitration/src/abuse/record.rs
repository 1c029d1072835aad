//! Flags as events: a flag is its own stream `flag-<id>`, opened by `flag.raised` (with the figures,
//! the threshold and the evidence it was raised on) and moved on by operators' `flag.reviewed`.
//!
//! Review rules: an open flag is confirmed or dismissed; a confirmed flag can later be dismissed
//! (the operator lifts it); a dismissed flag is final (the same evidence is never raised again, see
//! [`super::should_raise`]). Reviewing a flag into the status it already has is refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use returns_domain::ReturnId;

use super::facts::PartyRole;
use super::flags::{FlagCandidate, FlagKind, FlagStatus};

/// Stored type of the event that raises a flag.
pub const FLAG_RAISED: &str = "flag.raised";
/// Stored type of an operator's review of a flag.
pub const FLAG_REVIEWED: &str = "flag.reviewed";
/// Schema version written today for both flag event types.
pub const FLAG_SCHEMA_VERSION: u32 = 1;

/// The stream of a flag.
pub fn flag_stream(id: Uuid) -> String {
    format!("flag-{id}")
}

/// The returns a flag rests on, and the positions of the events that made them count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagEvidence {
    pub return_ids: Vec<ReturnId>,
    #[serde(default)]
    pub positions: Vec<i64>,
}

/// `flag.raised`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRaised {
    pub flag_id: Uuid,
    pub party_role: PartyRole,
    pub party_id: String,
    pub kind: FlagKind,
    pub metrics: serde_json::Value,
    pub threshold: serde_json::Value,
    pub evidence: FlagEvidence,
    /// Service time of the latest event the figures include.
    pub raised_at: DateTime<Utc>,
}

impl FlagRaised {
    pub fn from_candidate(flag_id: Uuid, candidate: &FlagCandidate, at: DateTime<Utc>) -> Self {
        FlagRaised {
            flag_id,
            party_role: candidate.party.role,
            party_id: candidate.party.id.clone(),
            kind: candidate.kind,
            metrics: candidate.metrics.clone(),
            threshold: candidate.threshold.clone(),
            evidence: FlagEvidence {
                return_ids: candidate.evidence_return_ids.clone(),
                positions: candidate.evidence_positions.clone(),
            },
            raised_at: at,
        }
    }
}

/// What an operator concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Confirmed,
    Dismissed,
}

impl Verdict {
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Dismissed => "dismissed",
        }
    }

    pub const fn status(self) -> FlagStatus {
        match self {
            Verdict::Confirmed => FlagStatus::Confirmed,
            Verdict::Dismissed => FlagStatus::Dismissed,
        }
    }

    pub fn parse(text: &str) -> Option<Verdict> {
        match text {
            "confirmed" => Some(Verdict::Confirmed),
            "dismissed" => Some(Verdict::Dismissed),
            _ => None,
        }
    }
}

/// `flag.reviewed`. The operator's note is personal data and is stored beside the log, like the
/// free text of returns: the event holds `null` in its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagReviewed {
    pub verdict: Verdict,
    #[serde(default)]
    pub note: Option<String>,
    pub reviewed_by: String,
    pub at: DateTime<Utc>,
}

impl FlagStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            FlagStatus::Open => "open",
            FlagStatus::Confirmed => "confirmed",
            FlagStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(text: &str) -> Option<FlagStatus> {
        match text {
            "open" => Some(FlagStatus::Open),
            "confirmed" => Some(FlagStatus::Confirmed),
            "dismissed" => Some(FlagStatus::Dismissed),
            _ => None,
        }
    }
}

impl FlagKind {
    pub fn parse(text: &str) -> Option<FlagKind> {
        FlagKind::ALL.iter().copied().find(|k| k.as_str() == text)
    }
}

/// Why a review was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewRefused {
    pub status: FlagStatus,
    pub verdict: Verdict,
}

impl std::fmt::Display for ReviewRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            FlagStatus::Dismissed => write!(f, "a dismissed flag is final"),
            _ => write!(f, "the flag is already {}", self.status.as_str()),
        }
    }
}

/// The verdicts a flag in `status` can still take.
pub fn allowed_verdicts(status: FlagStatus) -> Vec<Verdict> {
    [Verdict::Confirmed, Verdict::Dismissed]
        .into_iter()
        .filter(|&verdict| review(status, verdict).is_ok())
        .collect()
}

/// The status a flag in `status` moves to under `verdict`, or why it cannot.
pub fn review(status: FlagStatus, verdict: Verdict) -> Result<FlagStatus, ReviewRefused> {
    match (status, verdict) {
        (FlagStatus::Open, v) | (FlagStatus::Confirmed, v @ Verdict::Dismissed) => Ok(v.status()),
        _ => Err(ReviewRefused { status, verdict }),
    }
}
