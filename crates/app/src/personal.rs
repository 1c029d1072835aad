//! Personal data kept out of the log (`migrations/V3__personal_data.sql`).
//!
//! Before a return's events are appended, the fields the domain names as free text
//! (`ReturnEvent::free_text_fields`) are moved out of the event data into `personal_data`, keyed
//! by event id and field; the event keeps `null`. Every reader of events puts the values back
//! ([`rehydrate`]). Erasure ([`tombstone`], `Service::erase_buyer`) turns a party's values into
//! tombstones of the same JSON type, so histories still replay and views are rebuilt without the
//! text. Values are keyed by their data subject: a party's role and id.

use std::collections::HashMap;

use returns_domain::ReturnEvent;
use returns_event_store::{GenericClient, NewEvent, RecordedEvent};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::error::AppError;
use crate::executor::Sql;

/// A value taken out of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PersonalValue {
    pub event_id: Uuid,
    pub field: &'static str,
    pub value: Value,
}

/// The events to append, with their free text moved into the returned values.
pub(crate) fn split(events: &[ReturnEvent]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
    let mut personal = Vec::new();
    let new = events
        .iter()
        .map(|event| {
            let mut new =
                NewEvent::new(event.event_type(), event.schema_version(), event.to_data());
            for &field in event.free_text_fields() {
                if let Some(slot) = new.data.get_mut(field) {
                    let empty = slot.is_null() || slot.as_array().is_some_and(Vec::is_empty);
                    if !empty {
                        personal.push(PersonalValue {
                            event_id: new.event_id,
                            field,
                            value: slot.take(),
                        });
                    }
                }
            }
            new
        })
        .collect();
    (new, personal)
}

/// Stores the values taken out of the events, as the personal data of the party (`role`, `id`),
/// in the appending batch.
pub(crate) fn store_statement(
    role: &'static str,
    id: &str,
    values: &[PersonalValue],
) -> Option<Sql> {
    if values.is_empty() {
        return None;
    }
    let ids: Vec<Uuid> = values.iter().map(|v| v.event_id).collect();
    let fields: Vec<String> = values.iter().map(|v| v.field.to_owned()).collect();
    let json: Vec<Json<Value>> = values.iter().map(|v| Json(v.value.clone())).collect();
    Some(Sql::new(
        "INSERT INTO personal_data (event_id, field, subject_role, subject_id, value) \
         SELECT e, f, $4, $5, v FROM unnest($1::uuid[], $2::text[], $3::json[]) AS t(e, f, v)",
        vec![
            Box::new(ids),
            Box::new(fields),
            Box::new(json),
            Box::new(role),
            Box::new(id.to_owned()),
        ],
    ))
}

/// Puts the personal values (or their tombstones) back into `events`' data.
pub(crate) async fn rehydrate<C: GenericClient + Sync>(
    client: &C,
    events: &mut [RecordedEvent],
) -> Result<(), AppError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let stmt = client
        .prepare_cached(
            "SELECT event_id, field, value FROM personal_data WHERE event_id = ANY($1::uuid[])",
        )
        .await?;
    let rows = client.query(&stmt, &[&ids]).await?;
    let mut by_event: HashMap<Uuid, Vec<(String, Value)>> = HashMap::new();
    for row in &rows {
        let id: Uuid = row.try_get(0)?;
        let field: String = row.try_get(1)?;
        let Json(value): Json<Value> = row.try_get(2)?;
        by_event.entry(id).or_default().push((field, value));
    }
    for event in events.iter_mut() {
        let Some(values) = by_event.remove(&event.event_id) else {
            continue;
        };
        let mut data: Value = event.json()?;
        if let Value::Object(map) = &mut data {
            for (field, value) in values {
                map.insert(field, value);
            }
        }
        event.data = RawValue::from_string(data.to_string())?;
    }
    Ok(())
}

/// Replaces every personal value of the party (`role`, `id`) with a tombstone of the same JSON
/// type (`"[erased]"`, `[]`, `{}` or `null`). Returns how many values were erased.
pub(crate) async fn tombstone<C: GenericClient + Sync>(
    client: &C,
    role: &str,
    id: &str,
) -> Result<u64, AppError> {
    let n = client
        .execute(
            "UPDATE personal_data SET erased_at = now(), value = CASE json_typeof(value) \
                 WHEN 'string' THEN '\"[erased]\"'::json \
                 WHEN 'array' THEN '[]'::json \
                 WHEN 'object' THEN '{}'::json \
                 ELSE 'null'::json END \
             WHERE subject_role = $1 AND subject_id = $2 AND erased_at IS NULL",
            &[&role, &id],
        )
        .await?;
    Ok(n)
}
