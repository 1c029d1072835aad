//! Abuse flags: raised by the `abuse` projection (`flag.raised`), reviewed by operators here
//! (`flag.reviewed`). A flag's state is its stream: the review loads the stream's few events, and
//! its answer is the state they fold to, so the operator reads the flag back as reviewed at once
//! (`GET /v1/flags/{id}` reads the stream too). The `abuse_flags` table that lists, risk pages and
//! decisions read is the abuse projection's: it folds the review a moment later, and only it writes
//! there. The review note is personal data: it goes to `personal_data` (subject: the flagged
//! party) and the event holds `null` in its place.

use returns_arbitration::abuse::{
    allowed_verdicts, flag_stream, review, FlagReviewed, Verdict, FLAG_REVIEWED,
    FLAG_SCHEMA_VERSION,
};
use returns_domain::Rejection;
use returns_event_store::NewEvent;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::AppError;
use crate::executor::{Aggregate, Command, Cx, Sql, Writes};
use crate::flags::{flag_from_stream, Flag, FLAG_STREAM_SQL};
use crate::personal::PersonalValue;

pub(crate) struct FlagAggregate;

impl Aggregate for FlagAggregate {
    type State = Flag;
    type Event = FlagReviewed;

    /// Its stream is its state (a handful of events).
    const SNAPSHOT: bool = false;

    fn stream_id(state: &Flag) -> String {
        flag_stream(state.id)
    }

    fn evolve(state: Option<Flag>, event: &FlagReviewed) -> Option<Flag> {
        let mut flag = state?;
        flag.apply_review(event, event.note.clone().map(serde_json::Value::String));
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
}

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
        vec![Sql::new(
            FLAG_STREAM_SQL,
            vec![Box::new(flag_stream(self.id))],
        )]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, _cx: &Cx) -> Result<Flag, AppError> {
        flag_from_stream(rows.first().map(Vec::as_slice).unwrap_or_default())?
            .ok_or(AppError::NotFound)
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
