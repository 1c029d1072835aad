//! Abuse flags as operators read them (the list, one flag, a party's risk), the review command
//! (run by the executor, see `aggregates::flag`), and what confirmed flags change for
//! recommendations.

use chrono::{DateTime, Utc};
use returns_arbitration::abuse::{
    FlagKind, FlagRaised, FlagReviewed, FlagStatus, PartyMetrics, PartyRole, Verdict, FLAG_RAISED,
    FLAG_REVIEWED,
};
use returns_arbitration::{ConfirmedFlag, PartyStanding};
use returns_domain::{Actor, Rejection, Role};
use returns_event_store::GenericClient;
use serde::Serialize;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::aggregates::flag::ReviewFlagCommand;
use crate::error::AppError;
use crate::executor::{Answered, CommandOptions};
use crate::idempotency::StoredResponse;
use crate::service::Service;

/// A flag as operators read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub id: Uuid,
    pub party_role: PartyRole,
    pub party_id: String,
    pub kind: FlagKind,
    pub status: FlagStatus,
    pub raised_at: DateTime<Utc>,
    pub metrics: serde_json::Value,
    pub threshold: serde_json::Value,
    pub evidence: FlagEvidenceView,
    /// The latest review, once there is one.
    pub review: Option<FlagReview>,
    /// The flag stream's version (the `ETag` of the flag).
    pub version: u64,
}

impl Flag {
    /// Folds an operator's review (`flag.reviewed`) into the flag, with its note.
    pub(crate) fn apply_review(
        &mut self,
        reviewed: &FlagReviewed,
        note: Option<serde_json::Value>,
    ) {
        self.status = reviewed.verdict.status();
        self.version += 1;
        self.review = Some(FlagReview {
            reviewed_by: reviewed.reviewed_by.clone(),
            reviewed_at: reviewed.at,
            note,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagEvidenceView {
    pub return_ids: Vec<Uuid>,
    pub event_positions: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagReview {
    pub reviewed_by: String,
    pub reviewed_at: DateTime<Utc>,
    pub note: Option<serde_json::Value>,
}

/// A page of flags, oldest raised first.
#[derive(Debug)]
pub struct FlagPage {
    pub items: Vec<Flag>,
    /// The id to continue after, when there may be more.
    pub next: Option<Uuid>,
}

/// A party's abuse figures over the rolling window at the service clock's now, and its flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    pub party: RiskParty,
    pub metrics: serde_json::Value,
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskParty {
    pub role: PartyRole,
    pub id: String,
}

/// Flags as operators read them, with their review note; rows for [`flag_from_row`]. A macro so
/// that each query is one `&'static str`.
macro_rules! flag_select {
    () => {
        "SELECT f.id, f.party_role, f.party_id, f.kind, f.status, f.raised_at, f.metrics, \
                f.threshold, f.evidence_return_ids, f.evidence_positions, f.version, \
                f.reviewed_at, f.reviewed_by, pd.value \
         FROM abuse_flags f \
         LEFT JOIN personal_data pd ON pd.event_id = f.review_event_id AND pd.field = 'note'"
    };
}

pub(crate) fn flag_from_row(row: &tokio_postgres::Row) -> Result<Flag, AppError> {
    let role: &str = row.try_get(1)?;
    let kind: &str = row.try_get(3)?;
    let status: &str = row.try_get(4)?;
    let party_role = PartyRole::parse(role)
        .ok_or_else(|| AppError::Internal(format!("flag of unknown role {role}")))?;
    let kind = FlagKind::parse(kind)
        .ok_or_else(|| AppError::Internal(format!("flag of unknown kind {kind}")))?;
    let status = FlagStatus::parse(status)
        .ok_or_else(|| AppError::Internal(format!("flag of unknown status {status}")))?;
    let version: i32 = row.try_get(10)?;
    let reviewed_at: Option<DateTime<Utc>> = row.try_get(11)?;
    let reviewed_by: Option<String> = row.try_get(12)?;
    let note: Option<Json<serde_json::Value>> = row.try_get(13)?;
    let Json(metrics) = row.try_get::<_, Json<serde_json::Value>>(6)?;
    let Json(threshold) = row.try_get::<_, Json<serde_json::Value>>(7)?;
    Ok(Flag {
        id: row.try_get(0)?,
        party_role,
        party_id: row.try_get(2)?,
        kind,
        status,
        raised_at: row.try_get(5)?,
        metrics,
        threshold,
        evidence: FlagEvidenceView {
            return_ids: row.try_get(8)?,
            event_positions: row.try_get(9)?,
        },
        review: reviewed_at.zip(reviewed_by).map(|(at, by)| FlagReview {
            reviewed_by: by,
            reviewed_at: at,
            note: note.map(|Json(v)| v),
        }),
        version: u64::try_from(version).unwrap_or(0),
    })
}

/// A flag's stream, oldest event first, each with the note of a review (personal data, kept
/// beside the log): rows for [`flag_from_stream`].
pub(crate) const FLAG_STREAM_SQL: &str = "SELECT e.event_type, e.data::text, pd.value \
     FROM events e \
     LEFT JOIN personal_data pd ON pd.event_id = e.event_id AND pd.field = 'note' \
     WHERE e.stream_id = $1 ORDER BY e.version";

/// A flag folded from its stream's rows ([`FLAG_STREAM_SQL`]); `None` when it has no events.
pub(crate) fn flag_from_stream(rows: &[tokio_postgres::Row]) -> Result<Option<Flag>, AppError> {
    let mut flag: Option<Flag> = None;
    for row in rows {
        let event_type: &str = row.try_get(0)?;
        let data: &str = row.try_get(1)?;
        let bad = |e: serde_json::Error| AppError::Internal(format!("{event_type}: {e}"));
        match (event_type, flag.as_mut()) {
            (FLAG_RAISED, None) => {
                let raised: FlagRaised = serde_json::from_str(data).map_err(bad)?;
                flag = Some(Flag {
                    id: raised.flag_id,
                    party_role: raised.party_role,
                    party_id: raised.party_id,
                    kind: raised.kind,
                    status: FlagStatus::Open,
                    raised_at: raised.raised_at,
                    metrics: raised.metrics,
                    threshold: raised.threshold,
                    evidence: FlagEvidenceView {
                        return_ids: raised
                            .evidence
                            .return_ids
                            .iter()
                            .map(|r| *r.as_uuid())
                            .collect(),
                        event_positions: raised.evidence.positions,
                    },
                    review: None,
                    version: 1,
                });
            }
            (FLAG_REVIEWED, Some(state)) => {
                let reviewed: FlagReviewed = serde_json::from_str(data).map_err(bad)?;
                // The note is not in the log: it is kept beside it, under the event's id.
                let note: Option<Json<serde_json::Value>> = row.try_get(2)?;
                state.apply_review(&reviewed, note.map(|Json(v)| v));
            }
            _ => {
                return Err(AppError::Internal(format!(
                    "a flag stream holds {event_type} out of place"
                )))
            }
        }
    }
    Ok(flag)
}

/// Flags and risk are operators' business; anyone else is refused whatever the request says, so
/// the API checks this before it reads a review's body.
pub fn operator_only(caller: &Actor, action: &'static str) -> Result<(), AppError> {
    if caller.role == Role::Operator {
        Ok(())
    } else {
        Err(Rejection::Forbidden {
            action,
            role: caller.role,
        }
        .into())
    }
}

/// The action name of a review in refusals.
pub const REVIEW_FLAGS: &str = "review flags";

/// The confirmed flags of a return's buyer and seller, for its recommendation.
pub(crate) async fn standing<C: GenericClient + Sync>(
    client: &C,
    buyer_id: &str,
    seller_id: &str,
    returnless_refund_max_minor: returns_domain::MinorUnits,
) -> Result<PartyStanding, AppError> {
    let rows = client
        .query(
            "SELECT party_role, kind, confirmed_position FROM abuse_flags \
             WHERE status = 'confirmed' AND confirmed_position IS NOT NULL \
               AND ((party_role = 'buyer' AND party_id = $1) \
                 OR (party_role = 'seller' AND party_id = $2)) \
             ORDER BY confirmed_position",
            &[&buyer_id, &seller_id],
        )
        .await?;
    let mut standing = PartyStanding {
        returnless_refund_max_minor,
        ..PartyStanding::default()
    };
    for row in &rows {
        let role: &str = row.try_get(0)?;
        let kind: &str = row.try_get(1)?;
        let position: i64 = row.try_get(2)?;
        let Some(kind) = FlagKind::parse(kind) else {
            return Err(AppError::Internal(format!("flag of unknown kind {kind}")));
        };
        let flag = ConfirmedFlag { kind, position };
        match PartyRole::parse(role) {
            Some(PartyRole::Buyer) => standing.buyer_flags.push(flag),
            Some(PartyRole::Seller) => standing.seller_flags.push(flag),
            None => return Err(AppError::Internal(format!("flag of unknown role {role}"))),
        }
    }
    Ok(standing)
}

impl Service {
    /// `GET /v1/flags?status=` (operators), oldest raised first.
    pub async fn list_flags(
        &self,
        caller: &Actor,
        status: Option<FlagStatus>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<FlagPage, AppError> {
        operator_only(caller, "read flags")?;
        let client = self.store().pool().get().await?;
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = client
            .query(
                concat!(
                    flag_select!(),
                    " WHERE ($1::text IS NULL OR f.status = $1) \
                       AND ($2::uuid IS NULL OR (f.raised_at, f.id) > ( \
                           SELECT c.raised_at, c.id FROM abuse_flags c WHERE c.id = $2)) \
                     ORDER BY f.raised_at, f.id LIMIT $3"
                ),
                &[&status.map(FlagStatus::as_str), &after, &fetch],
            )
            .await?;
        let mut items = rows
            .iter()
            .map(flag_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|f| f.id)
        } else {
            None
        };
        Ok(FlagPage { items, next })
    }

    /// `GET /v1/flags/{id}` (operators).
    pub async fn get_flag(&self, caller: &Actor, id: Uuid) -> Result<Flag, AppError> {
        operator_only(caller, "read flags")?;
        let client = self.store().pool().get().await?;
        let rows = client
            .query(
                FLAG_STREAM_SQL,
                &[&returns_arbitration::abuse::flag_stream(id)],
            )
            .await?;
        flag_from_stream(&rows)?.ok_or(AppError::NotFound)
    }

    /// `GET /v1/parties/{role}/{id}/risk` (operators): the figures over the rolling window at the
    /// service clock's now, and every flag of the party.
    pub async fn party_risk(
        &self,
        caller: &Actor,
        role: PartyRole,
        party_id: &str,
    ) -> Result<Risk, AppError> {
        operator_only(caller, "read risk")?;
        let client = self.store().pool().get().await?;
        let now = self.now();
        let row = client
            .query_opt(
                "SELECT metrics FROM abuse_parties WHERE party_role = $1 AND party_id = $2",
                &[&role.as_str(), &party_id],
            )
            .await?;
        let metrics = match row {
            Some(row) => {
                let Json(metrics): Json<PartyMetrics> = row.try_get(0)?;
                metrics.summary(now)
            }
            None => PartyMetrics::new(
                returns_arbitration::abuse::Party {
                    role,
                    id: party_id.to_owned(),
                },
                returns_arbitration::abuse::DEFAULT_WINDOW_DAYS,
            )
            .summary(now),
        };
        let rows = client
            .query(
                concat!(
                    flag_select!(),
                    " WHERE f.party_role = $1 AND f.party_id = $2 ORDER BY f.raised_at, f.id"
                ),
                &[&role.as_str(), &party_id],
            )
            .await?;
        let flags = rows
            .iter()
            .map(flag_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Risk {
            party: RiskParty {
                role,
                id: party_id.to_owned(),
            },
            metrics,
            flags,
        })
    }

    /// `POST /v1/flags/{id}/review` (operators): confirm or dismiss an open flag, or dismiss
    /// (lift) a confirmed one.
    pub async fn review_flag<R>(
        &self,
        caller: &Actor,
        id: Uuid,
        verdict: Verdict,
        note: Option<String>,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<Flag>, AppError>
    where
        R: Fn(&Flag) -> StoredResponse + Sync,
    {
        operator_only(caller, REVIEW_FLAGS)?;
        let command = ReviewFlagCommand { id, verdict, note };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }
}
