//! The fixed vocabularies of returns: reasons, resolutions, inspection grades, evidence, and the
//! marketplace's product categories.
//!
//! These strings are part of the API contract (docs/api.md) and are stored in events, so they are
//! closed enums with exactly the documented snake_case names.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Checks;
use crate::ids::ParseError;
use crate::macros::string_enum;

string_enum! {
    /// Why the buyer returns the items (docs/product.md's reason taxonomy).
    pub enum Reason ("reason") {
        NotAsDescribed = "not_as_described",
        Defective = "defective",
        DamagedInTransit = "damaged_in_transit",
        WrongItem = "wrong_item",
        MissingParts = "missing_parts",
        SizeFit = "size_fit",
        ChangedMind = "changed_mind",
        ArrivedLate = "arrived_late",
        NotReceived = "not_received",
    }
}

impl Reason {
    /// The reasons covered by the EU's legal guarantee of conformity. `damaged_in_transit` is
    /// deliberately not listed: the brief names these four, and a transit damage is normally
    /// reported within the withdrawal period anyway.
    pub const fn is_conformity(self) -> bool {
        matches!(
            self,
            Reason::Defective | Reason::NotAsDescribed | Reason::MissingParts | Reason::WrongItem
        )
    }

    /// Reasons that do not need the goods to have arrived: a claim about the delivery itself.
    pub const fn is_delivery_claim(self) -> bool {
        matches!(self, Reason::NotReceived | Reason::ArrivedLate)
    }
}

string_enum! {
    /// What the buyer asks for.
    pub enum Resolution ("resolution") {
        Refund = "refund",
        Exchange = "exchange",
        Repair = "repair",
    }
}

string_enum! {
    /// The seller's inspection grade of a returned item.
    pub enum Grade ("grade") {
        AsNew = "as_new",
        Opened = "opened",
        Used = "used",
        Damaged = "damaged",
        MissingParts = "missing_parts",
        WrongItem = "wrong_item",
        EmptyBox = "empty_box",
    }
}

impl Grade {
    /// Grades that justify refusing the item (the item is not what was sent, or is unusable).
    pub const fn is_refusal_grade(self) -> bool {
        matches!(
            self,
            Grade::Damaged | Grade::MissingParts | Grade::WrongItem | Grade::EmptyBox
        )
    }
}

string_enum! {
    pub enum EvidenceKind ("evidence kind") {
        Photo = "photo",
        Video = "video",
        Document = "document",
        Tracking = "tracking",
        Text = "text",
    }
}

/// A piece of evidence as docs/api.md defines it. Files live elsewhere; this is a reference to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Limits that keep one return's stream a reasonable size.
pub const MAX_EVIDENCE_PER_COMMAND: usize = 20;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_NOTE_LEN: usize = 2000;

impl Evidence {
    pub fn new(kind: EvidenceKind) -> Self {
        Self {
            kind,
            url: None,
            sha256: None,
            note: None,
        }
    }

    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Field-level checks under `field` (e.g. `evidence[0]`).
    pub(crate) fn check(&self, field: &str, checks: &mut Checks) {
        if self.url.is_none() && self.sha256.is_none() && self.note.is_none() {
            checks.fail(field, "needs at least one of url, sha256 or note");
        }
        if let Some(url) = &self.url {
            let lower = url.to_ascii_lowercase();
            checks.check(
                (lower.starts_with("https://") || lower.starts_with("http://"))
                    && url.len() <= MAX_URL_LEN
                    && !url.chars().any(char::is_whitespace),
                format!("{field}.url"),
                "must be an http(s) URL without spaces, at most 2048 characters",
            );
        }
        if let Some(hash) = &self.sha256 {
            checks.check(
                hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
                format!("{field}.sha256"),
                "must be 64 hexadecimal characters",
            );
        }
        checks.optional_text(&format!("{field}.note"), self.note.as_deref(), MAX_NOTE_LEN);
    }

    /// Checks a list of evidence under `field` (e.g. `evidence`).
    pub(crate) fn check_all(list: &[Evidence], field: &str, checks: &mut Checks) {
        if list.len() > MAX_EVIDENCE_PER_COMMAND {
            checks.fail(field, format!("at most {MAX_EVIDENCE_PER_COMMAND} items"));
        }
        for (i, evidence) in list.iter().enumerate() {
            evidence.check(&format!("{field}[{i}]"), checks);
        }
    }
}

/// The marketplace's product category of an order line (free-form, e.g. `electronics` or
/// `personalised`). Compared case-insensitively, because sellers type their non-returnable lists by
/// hand while the marketplace sends its own spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

pub const MAX_CATEGORY_LEN: usize = 100;

impl Category {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.trim().is_empty() {
            return Err(ParseError::Empty { what: "category" });
        }
        if text.chars().count() > MAX_CATEGORY_LEN {
            return Err(ParseError::TooLong {
                what: "category",
                max: MAX_CATEGORY_LEN,
            });
        }
        if text.chars().any(char::is_control) || text.trim() != text {
            return Err(ParseError::Malformed {
                what: "category",
                expected: "text without control characters or surrounding spaces",
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-insensitive comparison (ASCII), see the type's doc.
    pub fn matches(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl TryFrom<String> for Category {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, ParseError> {
        Self::parse(&text)
    }
}

impl From<Category> for String {
    fn from(category: Category) -> String {
        category.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde() {
        for reason in Reason::ALL {
            let json = serde_json::to_string(reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), *reason);
        }
        for grade in Grade::ALL {
            assert_eq!(Grade::parse(grade.as_str()), Ok(*grade));
        }
        assert!(Reason::parse("Changed_Mind").is_err());
        assert!(serde_json::from_str::<Resolution>("\"refunds\"").is_err());
    }

    #[test]
    fn evidence_needs_content_and_sane_values() {
        let mut checks = Checks::new();
        Evidence::new(EvidenceKind::Photo).check("evidence[0]", &mut checks);
        Evidence::new(EvidenceKind::Photo)
            .with_url("ftp://x")
            .check("evidence[1]", &mut checks);
        let errors = checks.into_errors();
        assert_eq!(errors.len(), 2);
        let mut checks = Checks::new();
        Evidence::new(EvidenceKind::Photo)
            .with_url("https://img/x.jpg")
            .check("e", &mut checks);
        assert!(checks.is_empty());
    }

    #[test]
    fn categories_compare_case_insensitively() {
        let category = Category::parse("Personalised").unwrap();
        assert!(category.matches("personalised"));
        assert!(Category::parse("  ").is_err());
        assert!(Category::parse(" padded").is_err());
    }
}
