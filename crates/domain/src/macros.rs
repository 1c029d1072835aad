//! Small declarative macros shared by the vocabulary types.
//!
//! `string_enum!` defines a closed set of API strings as a Rust enum whose only (de)serialisation
//! path is `as_str`/`parse`, so the wire names live in exactly one place per type and serde can
//! never drift from `Display`.

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the wire name; nothing else is accepted (no case folding).
            pub fn parse(text: &str) -> Result<Self, $crate::ids::ParseError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ids::ParseError::NotOneOf {
                        what: $what,
                        expected: &[$($text),+],
                        found: text.chars().take(64).collect(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::ParseError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use string_enum;

/// Defines an event enum whose variants each wrap a payload struct, with a stable stored type name
/// per variant and the conversions the event store needs. All types are at schema version 1; when a
/// payload changes incompatibly, bump its version here and upcast older data in `from_stored`
/// (never rename a stored type).
macro_rules! stored_events {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($payload:ty) = $type_name:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant($payload) ),+
        }

        impl $name {
            /// Every stored type name of this enum.
            pub const TYPES: &'static [&'static str] = &[$($type_name),+];
            /// The schema version written today for every type of this enum.
            pub const SCHEMA_VERSION: u32 = 1;

            /// The stable stored type name.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $($name::$variant(_) => $type_name),+
                }
            }

            pub fn schema_version(&self) -> u32 {
                Self::SCHEMA_VERSION
            }

            /// The payload as stored JSON (without the type name, which is stored beside it).
            pub fn to_data(&self) -> ::serde_json::Value {
                let encoded = match self {
                    $($name::$variant(payload) => ::serde_json::to_value(payload)),+
                };
                // Payloads are plain structs with string keys, which always encode; the round-trip
                // test over every variant guards this fallback from ever being taken.
                encoded.unwrap_or(::serde_json::Value::Null)
            }

            /// Decodes a stored event. Data written at an unknown schema version is refused rather
            /// than guessed at.
            pub fn from_stored(
                event_type: &str,
                schema_version: u32,
                data: ::serde_json::Value,
            ) -> Result<Self, $crate::error::DecodeError> {
                match event_type {
                    $($type_name => {
                        if schema_version != Self::SCHEMA_VERSION {
                            return Err($crate::error::DecodeError::UnknownSchemaVersion {
                                event_type: event_type.to_owned(),
                                schema_version,
                            });
                        }
                        ::serde_json::from_value::<$payload>(data)
                            .map($name::$variant)
                            .map_err(|e| $crate::error::DecodeError::InvalidData {
                                event_type: event_type.to_owned(),
                                message: e.to_string(),
                            })
                    })+
                    other => Err($crate::error::DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        impl $crate::macros::StoredEvent for $name {
            fn stored_type(&self) -> &'static str {
                self.event_type()
            }

            fn stored_version(&self) -> u32 {
                self.schema_version()
            }

            fn stored_data(&self) -> ::serde_json::Value {
                self.to_data()
            }
        }
    };
}

pub(crate) use stored_events;

/// What every enum of `stored_events!` offers, for code that stores events of any aggregate.
pub trait StoredEvent {
    /// The stable stored type name.
    fn stored_type(&self) -> &'static str;
    /// The schema version written today.
    fn stored_version(&self) -> u32;
    /// The payload as stored JSON.
    fn stored_data(&self) -> serde_json::Value;
}
