//! Identifiers: the marketplace's own ids (orders, buyers, sellers, lines, SKUs) and return ids.
//!
//! Each id is a newtype with a private field whose only constructor is `parse`, so a value of the
//! type is proof that the string was checked. Serde goes through `parse` too
//! (`try_from = "String"`), which means a stored event or a request body can never smuggle in an
//! id that the API would have refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// Why a string is not a valid value of one of the domain's parsed types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} must be at most {max} characters long")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} must be {expected}")]
    Malformed {
        what: &'static str,
        expected: &'static str,
    },
    #[error("{what} must be one of {}, not {found:?}", expected.join(", "))]
    NotOneOf {
        what: &'static str,
        expected: &'static [&'static str],
        found: String,
    },
}

/// The longest marketplace id we accept (docs/api.md, Conventions).
pub const MAX_MARKETPLACE_ID_LEN: usize = 64;

fn is_marketplace_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

/// Checks the marketplace id grammar: 1 to 64 characters of `A-Za-z0-9._:-`.
fn check_marketplace_id(what: &'static str, text: &str) -> Result<(), ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty { what });
    }
    if text.len() > MAX_MARKETPLACE_ID_LEN {
        return Err(ParseError::TooLong {
            what,
            max: MAX_MARKETPLACE_ID_LEN,
        });
    }
    if !text.chars().all(is_marketplace_id_char) {
        return Err(ParseError::Malformed {
            what,
            expected: "made of the characters A-Za-z0-9._:-",
        });
    }
    Ok(())
}

macro_rules! marketplace_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a marketplace id: 1 to 64 characters of `A-Za-z0-9._:-`.
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                check_marketplace_id($what, text)?;
                Ok(Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(text: String) -> Result<Self, ParseError> {
                check_marketplace_id($what, &text)?;
                Ok(Self(text))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(text: &str) -> Result<Self, ParseError> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

marketplace_id!(
    /// The marketplace's order id.
    OrderId,
    "order_id"
);
marketplace_id!(
    /// The marketplace's id of the buyer (the `sub` of a buyer token).
    BuyerId,
    "buyer_id"
);
marketplace_id!(
    /// The marketplace's id of the seller (the `sub` of a seller token).
    SellerId,
    "seller_id"
);
marketplace_id!(
    /// The id of one line of an order, unique within the order.
    LineId,
    "line_id"
);
marketplace_id!(
    /// The marketplace's stock keeping unit of an order line.
    Sku,
    "sku"
);

/// The id of a return case: a UUID chosen by the caller (the service uses v7 so that ids sort by
/// creation time; the domain accepts any version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReturnId(Uuid);

impl ReturnId {
    /// Parses the textual UUID form (hyphenated, simple, braced or URN, as `uuid` accepts).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| ParseError::Malformed {
                what: "return id",
                expected: "a UUID",
            })
    }

    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl TryFrom<String> for ReturnId {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, ParseError> {
        Self::parse(&text)
    }
}

impl From<ReturnId> for String {
    fn from(id: ReturnId) -> String {
        id.0.hyphenated().to_string()
    }
}

impl FromStr for ReturnId {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        Self::parse(text)
    }
}

impl fmt::Display for ReturnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketplace_ids_accept_the_documented_alphabet() {
        for ok in ["a", "ORD-1", "x.y_z:1-2", &"a".repeat(64)] {
            assert!(OrderId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn marketplace_ids_refuse_anything_else() {
        assert_eq!(
            OrderId::parse(""),
            Err(ParseError::Empty { what: "order_id" })
        );
        assert_eq!(
            LineId::parse(&"a".repeat(65)),
            Err(ParseError::TooLong {
                what: "line_id",
                max: 64
            })
        );
        for bad in ["a b", "é", "a/b", "a#", "a\n"] {
            assert!(SellerId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_goes_through_parse() {
        let id: BuyerId = serde_json::from_str("\"buyer-7\"").unwrap();
        assert_eq!(id.as_str(), "buyer-7");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"buyer-7\"");
        assert!(serde_json::from_str::<BuyerId>("\"not ok\"").is_err());
        assert!(serde_json::from_str::<Sku>("\"\"").is_err());
    }

    #[test]
    fn return_ids_are_uuids() {
        let id = ReturnId::parse("0192f1a2-7b3c-7def-8123-456789abcdef").unwrap();
        assert_eq!(id.to_string(), "0192f1a2-7b3c-7def-8123-456789abcdef");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ReturnId>(&json).unwrap(), id);
        assert!(ReturnId::parse("RMA-1234").is_err());
        assert!(serde_json::from_str::<ReturnId>("\"nope\"").is_err());
    }
}
