//! Times in requests: RFC 3339, and within the years the service stores and computes with
//! (docs/api.md, "Conventions"). A time outside them is a validation failure (422) naming the
//! field, never an overflow further on (deadlines add days to these times; PostgreSQL stores
//! years up to 294276 only).

use chrono::{DateTime, Datelike, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The first and last years accepted.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// `t` when its year is within [`YEARS`].
pub(crate) fn check(t: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if YEARS.contains(&t.year()) {
        Ok(t)
    } else {
        Err(format!(
            "must be a time from the year {} to the year {}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// `#[serde(deserialize_with = "crate::time::bounded")]`.
pub(crate) fn bounded<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    check(DateTime::<Utc>::deserialize(d)?).map_err(D::Error::custom)
}

/// `#[serde(default, deserialize_with = "crate::time::bounded_opt")]`.
pub(crate) fn bounded_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d)?
        .map(check)
        .transpose()
        .map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "bounded")]
        at: DateTime<Utc>,
        #[serde(default, deserialize_with = "bounded_opt")]
        until: Option<DateTime<Utc>>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn times_within_the_years_pass_and_others_fail_with_the_reason() {
        let ok = parse(r#"{"at":"2026-12-04T10:00:00Z"}"#).map(|b| (b.at.year(), b.until));
        assert_eq!(ok, Ok((2026, None)));
        let edge = parse(r#"{"at":"9999-12-31T23:59:59Z","until":"1970-01-01T00:00:00Z"}"#);
        assert_eq!(edge.map(|b| b.until.map(|u| u.year())), Ok(Some(1970)));
        for bad in [
            r#"{"at":"-262143-01-01T00:00:00Z"}"#,
            r#"{"at":"+262142-12-31T00:00:00Z"}"#,
            r#"{"at":"1969-12-31T23:59:59Z"}"#,
            r#"{"at":"2026-12-04T10:00:00Z","until":"+10000-01-01T00:00:00Z"}"#,
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.contains("from the year 1970 to the year 9999"),
                "{bad}: {err}"
            );
        }
    }
}
