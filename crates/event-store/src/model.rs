//! The values that go into and come out of the log.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use uuid::Uuid;

/// What the appender expects the stream to be at. The check is made by the database in the same
/// statement that writes, so two appenders expecting the same version can never both succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The stream must not exist yet: the first event becomes version 1.
    NoStream,
    /// The stream's last event must have exactly this version (≥ 1).
    Exact(u64),
    /// No check: append after whatever the stream holds.
    Any,
}

impl ExpectedVersion {
    /// The version a stream at this expectation has, for `NoStream` and `Exact`.
    pub fn as_version(self) -> Option<u64> {
        match self {
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(v) => Some(v),
            ExpectedVersion::Any => None,
        }
    }

    /// `NoStream` for version 0, `Exact(v)` otherwise: what a command that read the stream at
    /// version `v` expects.
    pub fn from_version(v: u64) -> Self {
        if v == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(v)
        }
    }
}

/// Who caused an event, as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    /// `buyer`, `seller`, `operator`, `platform` or `system`.
    pub role: String,
    /// The party id (for `system`, the component, e.g. `scheduler`).
    pub id: String,
}

/// What all events of one append share: who, why, and when in service time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub actor: ActorRef,
    /// Ties together everything done for one request or process.
    pub correlation_id: Uuid,
    /// The event or command that caused these events, when there is one.
    pub causation_id: Option<Uuid>,
    /// The service clock at the time of the command (the test clock moves it in tests).
    pub occurred_at: DateTime<Utc>,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Chosen by the appender; appending the same id again is a no-op.
    pub event_id: Uuid,
    /// The stable stored name, e.g. `return.accepted`. Never renamed once stored.
    pub event_type: String,
    /// The version of `data`'s schema for this type; older versions are upcast on read.
    pub schema_version: u32,
    pub data: Value,
}

impl NewEvent {
    /// A new event with a fresh, time-ordered id (UUIDv7 keeps the primary key index compact).
    pub fn new(event_type: impl Into<String>, schema_version: u32, data: Value) -> Self {
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version,
            data,
        }
    }
}

/// A place in the global feed. The feed is ordered by appending transaction, then by position;
/// `FeedPosition::START` is before everything.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct FeedPosition {
    pub tx_id: i64,
    pub position: i64,
}

impl FeedPosition {
    pub const START: FeedPosition = FeedPosition {
        tx_id: 0,
        position: 0,
    };
}

/// An event as stored, after upcasting to the newest schema version known to the reader.
///
/// `data` is kept as the stored JSON text and parsed only by the consumer that needs it
/// ([`RecordedEvent::decode`] straight into a typed event, or [`RecordedEvent::json`]): a
/// projection that skips most event types never pays for parsing them.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// Global sequence number: unique and increasing within a transaction, with gaps.
    pub position: i64,
    /// The appending transaction.
    pub tx_id: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    /// 1, 2, 3, ... within the stream.
    pub version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub data: Box<RawValue>,
    pub metadata: Metadata,
    /// When the database stored it (real time).
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// The data parsed into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.data.get())
    }

    /// The data as a JSON value.
    pub fn json(&self) -> serde_json::Result<Value> {
        self.decode()
    }

    /// This event's place in the global feed.
    pub fn feed_position(&self) -> FeedPosition {
        FeedPosition {
            tx_id: self.tx_id,
            position: self.position,
        }
    }
}

/// What an append wrote (or, for a repeated append, what the first one wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's version after the append: what the next append expects.
    pub stream_version: u64,
    /// Global positions of the appended events, in order.
    pub positions: Vec<i64>,
    /// The feed position of the last appended event.
    pub last: FeedPosition,
    /// True when these events had been appended before and nothing new was written.
    pub duplicate: bool,
}
