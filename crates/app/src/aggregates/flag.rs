//! Abuse flags: raised by the `abuse` projection (`flag.raised`, with the `abuse_flags` row, in
//! its checkpoint transaction), reviewed by operators here (`flag.reviewed`). The `abuse_flags` row
//! is the flag's state as operators read it; a review updates it in the command's transaction, so
//! the operator reads the flag back as reviewed at once. The review note is personal data: it goes
//! to `personal_data` (subject: the flagged party) and the event holds `null` in its place.

use returns_arbitration::abuse::{
    allowed_verdicts, flag_stream, review, FlagReviewed, Verdict, FLAG_REVIEWED,
    FLAG_SCHEMA_VERSION,
};
use returns_domain::Rejection;
use returns_event_store::NewEvent;
use tokio_postgres::Row;
use uuid::Uuid;

use super::first;
use crate::error::AppError;
use crate::executor::{Aggregate, Command, Cx, Sql, Writes};
use crate::flags::{flag_from_row, flag_select, Flag, FlagReview};
use crate::personal::PersonalValue;

pub(crate) struct FlagAggregate;

impl Aggregate for FlagAggregate {
    type State = Flag;
    type Event = FlagReviewed;

    /// Kept in `abuse_flags`, the row the projection made.
    const SNAPSHOT: bool = false;

    fn stream_id(state: &Flag) -> String {
        flag_stream(state.id)
    }

    fn evolve(state: Option<Flag>, event: &FlagReviewed) -> Option<Flag> {
        let mut flag = state?;
        flag.status = event.verdict.status();
        flag.version += 1;
        flag.review = Some(FlagReview {
            reviewed_by: event.reviewed_by.clone(),
            reviewed_at: event.at,
            note: event.note.clone().map(serde_json::Value::String),
        });
        Some(flag)
    }

    fn encode(events: &[FlagReviewed]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
        let mut personal = Vec::new();
        let events = events
            .iter()
            .map(|event| {
                let stored = FlagReviewed {
                    note: None,
                    ..event.clone()
                };
                let data = serde_json::to_value(&stored).unwrap_or(serde_json::Value::Null);
                let new = NewEvent::new(FLAG_REVIEWED, FLAG_SCHEMA_VERSION, data);
                if let Some(note) = event.note.clone().filter(|n| !n.is_empty()) {
                    personal.push(PersonalValue {
                        event_id: new.event_id,
                        field: "note",
                        value: serde_json::Value::String(note),
                    });
                }
                new
            })
            .collect();
        (events, personal)
    }

    fn data_subject(state: &Flag) -> (&'static str, &str) {
        (state.party_role.as_str(), &state.party_id)
    }

    fn views(state: &Flag, writes: &mut Writes) {
        let review = state.review.as_ref();
        writes.push(Sql::new(
            "UPDATE abuse_flags SET status = $2, version = $3, reviewed_at = $4, \
                 reviewed_by = $5, \
                 review_event_id = (SELECT event_id FROM events \
                                    WHERE stream_id = $6 AND version = $7), \
                 confirmed_position = CASE WHEN $2 = 'confirmed' THEN \
                     (SELECT position FROM events WHERE stream_id = $6 AND version = $7) \
                 END \
             WHERE id = $1",
            vec![
                Box::new(state.id),
                Box::new(state.status.as_str()),
                Box::new(i32::try_from(state.version).unwrap_or(i32::MAX)),
                Box::new(review.map(|r| r.reviewed_at)),
                Box::new(review.map(|r| r.reviewed_by.clone())),
                Box::new(flag_stream(state.id)),
                Box::new(i64::try_from(state.version).unwrap_or(i64::MAX)),
            ],
        ));
    }
}

/// A flag as operators read it, locked for its review.
const FLAG_LOAD_SQL: &str = concat!(flag_select!(), " WHERE f.id = $1 FOR UPDATE OF f");

/// `POST /v1/flags/{id}/review` (operators): confirm or dismiss an open flag, or dismiss (lift) a
/// confirmed one.
pub(crate) struct ReviewFlagCommand {
    pub id: Uuid,
    pub verdict: Verdict,
    pub note: Option<String>,
}

impl Command for ReviewFlagCommand {
    type Loaded = Flag;
    type Outcome = Flag;

    fn name(&self) -> &'static str {
        "review-flag"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![Sql::new(FLAG_LOAD_SQL, vec![Box::new(self.id)])]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, _cx: &Cx) -> Result<Flag, AppError> {
        flag_from_row(first(&rows, 0).ok_or(AppError::NotFound)?)
    }

    fn decide(&self, flag: Flag, cx: &Cx, writes: &mut Writes) -> Result<Flag, AppError> {
        let version = flag.version;
        cx.opts.expect_version(version)?;
        let status = flag.status;
        review(status, self.verdict).map_err(|refused| Rejection::InvalidTransition {
            action: "review",
            status: status.as_str(),
            reason: refused.to_string(),
            allowed: allowed_verdicts(status)
                .into_iter()
                .map(Verdict::as_str)
                .collect(),
        })?;
        let reviewed = FlagReviewed {
            verdict: self.verdict,
            note: self.note.clone().filter(|n| !n.is_empty()),
            reviewed_by: cx.caller.id.clone(),
            at: cx.now,
        };
        writes
            .record::<FlagAggregate>(cx, Some(flag), version, &[reviewed])?
            .ok_or_else(|| AppError::Internal(format!("flag {} vanished", self.id)))
    }
}
