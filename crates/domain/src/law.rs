//! The legal floor: jurisdictions and the consumer rights that no seller policy can go below.
//!
//! Only the EU floor is modelled (Directive 2011/83/EU on consumer rights and Directive (EU)
//! 2019/771 on the sale of goods), for the 27 member states by their ISO 3166 alpha-2 codes
//! (Greece is `GR`, not the EU's own `EL`; the EEA states IS, LI and NO are not included).
//! Everywhere else the seller's policy alone applies; the default policy is generous.
//!
//! The EU floor, as the service applies it:
//! - **Withdrawal**: 14 days from delivery, for any reason, except for the legal exception categories
//!   below. Before delivery the period has not started, so withdrawal is open.
//! - **Refund**: due within 14 days of the withdrawal, i.e. of the return request.
//! - **Conformity**: 2 years from delivery for goods that are defective, not as described, incomplete
//!   or the wrong item. Conformity claims are never blocked by a category or by the seller's window,
//!   and the buyer never pays for a conformity return's shipping.
//! - **Restocking fees** may not be charged on a return that the withdrawal right makes eligible.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar;
use crate::ids::ParseError;
use crate::taxonomy::Category;

/// An ISO 3166-1 alpha-2 country code: two ASCII upper-case letters (shape only, not membership of
/// the ISO list).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Jurisdiction([u8; 2]);

impl Jurisdiction {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        match text.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(ParseError::Malformed {
                what: "jurisdiction",
                expected: "an ISO 3166 alpha-2 code of two upper-case letters",
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        // ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    /// Whether the EU consumer-law floor applies.
    pub fn is_eu(&self) -> bool {
        EU_MEMBER_STATES.contains(&self.as_str())
    }
}

impl fmt::Debug for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jurisdiction({})", self.as_str())
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Jurisdiction {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        Self::parse(text)
    }
}

impl TryFrom<String> for Jurisdiction {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, ParseError> {
        Self::parse(&text)
    }
}

impl From<Jurisdiction> for String {
    fn from(jurisdiction: Jurisdiction) -> String {
        jurisdiction.as_str().to_owned()
    }
}

/// The 27 EU member states.
pub const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Order-line categories for which the EU withdrawal right does not apply (Art. 16 of Directive
/// 2011/83/EU), as the marketplace must spell them on order lines:
/// - `personalised`: made to the buyer's specifications or clearly personalised (16(c));
/// - `perishable`: liable to deteriorate or expire rapidly (16(d));
/// - `sealed_hygiene`: sealed goods not suitable for return for health or hygiene reasons once
///   unsealed (16(e));
/// - `sealed_media`: sealed audio, video or software unsealed after delivery (16(i));
/// - `digital_content`: digital content not on a tangible medium, once supply has begun (16(m)).
///
/// The conformity guarantee still covers these categories.
pub const LEGAL_EXCEPTION_CATEGORIES: [&str; 5] = [
    "personalised",
    "perishable",
    "sealed_hygiene",
    "sealed_media",
    "digital_content",
];

pub fn is_legal_exception_category(category: &Category) -> bool {
    LEGAL_EXCEPTION_CATEGORIES
        .iter()
        .any(|legal| category.matches(legal))
}

pub const EU_WITHDRAWAL_DAYS: u32 = 14;
pub const EU_REFUND_DAYS: u32 = 14;
pub const EU_CONFORMITY_MONTHS: u32 = 24;

/// The end of the EU withdrawal period for goods delivered at `delivered_at`.
pub fn withdrawal_ends(delivered_at: DateTime<Utc>) -> DateTime<Utc> {
    calendar::add_days(delivered_at, EU_WITHDRAWAL_DAYS)
}

/// The end of the EU legal guarantee of conformity for goods delivered at `delivered_at`.
pub fn conformity_ends(delivered_at: DateTime<Utc>) -> DateTime<Utc> {
    calendar::add_months(delivered_at, EU_CONFORMITY_MONTHS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eu_has_27_members() {
        let mut sorted = EU_MEMBER_STATES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 27);
        for code in EU_MEMBER_STATES {
            assert!(Jurisdiction::parse(code).unwrap().is_eu());
        }
        for outside in ["US", "GB", "CH", "NO", "EL"] {
            assert!(!Jurisdiction::parse(outside).unwrap().is_eu(), "{outside}");
        }
    }

    #[test]
    fn jurisdictions_are_two_upper_case_letters() {
        for bad in ["de", "DEU", "D", "", "D1"] {
            assert!(Jurisdiction::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Jurisdiction>("\"fr\"").is_err());
    }

    #[test]
    fn legal_exception_categories_match_case_insensitively() {
        assert!(is_legal_exception_category(
            &Category::parse("Personalised").unwrap()
        ));
        assert!(!is_legal_exception_category(
            &Category::parse("electronics").unwrap()
        ));
    }
}
