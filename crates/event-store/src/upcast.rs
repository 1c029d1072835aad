//! Upcasting: stored events keep the schema version they were written with; readers get the newest.
//!
//! Stored events are never rewritten. When an event's schema changes, its type keeps its name, new
//! events are written with the next schema version, and an upcaster is registered that turns data
//! of version `n` into version `n + 1`. On read, upcasters are chained until no further step is
//! registered, so a version-1 event reaches version 3 through the 1→2 and 2→3 steps.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Result, StoreError};

/// One step: data of (type, `from` version) to data of version `from + 1`.
pub type UpcastFn = Arc<dyn Fn(Value) -> std::result::Result<Value, String> + Send + Sync>;

/// The upcasters known to this process, by event type and source version.
#[derive(Clone, Default)]
pub struct Upcasters {
    /// By event type, then by source version: looked up by `&str` without allocating.
    steps: HashMap<String, HashMap<u32, UpcastFn>>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<(&String, &u32)> = self
            .steps
            .iter()
            .flat_map(|(t, steps)| steps.keys().map(move |v| (t, v)))
            .collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step that turns `event_type` data of schema version `from` into `from + 1`.
    pub fn register(
        mut self,
        event_type: impl Into<String>,
        from: u32,
        step: impl Fn(Value) -> std::result::Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .entry(event_type.into())
            .or_default()
            .insert(from, Arc::new(step));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Brings `data` from `schema_version` to the newest version registered for its type.
    pub fn upcast(
        &self,
        event_type: &str,
        schema_version: u32,
        data: Value,
    ) -> Result<(u32, Value)> {
        let Some(steps) = self.steps.get(event_type) else {
            return Ok((schema_version, data));
        };
        let mut version = schema_version;
        let mut data = data;
        while let Some(step) = steps.get(&version) {
            data = step(data).map_err(|reason| StoreError::Upcast {
                event_type: event_type.to_owned(),
                schema_version: version,
                reason,
            })?;
            version += 1;
        }
        Ok((version, data))
    }

    /// [`Upcasters::upcast`] on stored JSON text; parses it only when a step applies.
    pub fn upcast_raw(
        &self,
        event_type: &str,
        schema_version: u32,
        data: Box<RawValue>,
    ) -> Result<(u32, Box<RawValue>)> {
        let applies = self
            .steps
            .get(event_type)
            .is_some_and(|steps| steps.contains_key(&schema_version));
        if !applies {
            return Ok((schema_version, data));
        }
        let bad = |reason: String| StoreError::Upcast {
            event_type: event_type.to_owned(),
            schema_version,
            reason,
        };
        let value: Value = serde_json::from_str(data.get()).map_err(|e| bad(e.to_string()))?;
        let (version, value) = self.upcast(event_type, schema_version, value)?;
        let raw = serde_json::value::to_raw_value(&value).map_err(|e| bad(e.to_string()))?;
        Ok((version, raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chains_steps_until_the_newest_version() {
        let up = Upcasters::new()
            .register("thing.done", 1, |mut v| {
                v["b"] = json!(2);
                Ok(v)
            })
            .register("thing.done", 2, |mut v| {
                v["c"] = json!(3);
                Ok(v)
            });
        let (version, data) = up.upcast("thing.done", 1, json!({"a": 1})).unwrap();
        assert_eq!(version, 3);
        assert_eq!(data, json!({"a": 1, "b": 2, "c": 3}));
        let (version, data) = up.upcast("thing.done", 2, json!({"a": 1})).unwrap();
        assert_eq!(version, 3);
        assert_eq!(data, json!({"a": 1, "c": 3}));
    }

    #[test]
    fn leaves_other_types_and_current_versions_alone() {
        let up = Upcasters::new().register("thing.done", 1, |_| Err("never".into()));
        assert_eq!(
            up.upcast("other", 1, json!(1)).unwrap(),
            (1, json!(1)),
            "no step for this type"
        );
        assert_eq!(up.upcast("thing.done", 2, json!(1)).unwrap(), (2, json!(1)));
    }

    #[test]
    fn a_failing_step_names_the_event() {
        let up = Upcasters::new().register("thing.done", 1, |_| Err("bad shape".into()));
        let err = up.upcast("thing.done", 1, json!({})).unwrap_err();
        assert!(
            err.to_string().contains("thing.done v1: bad shape"),
            "{err}"
        );
    }
}
