//! Calendar arithmetic for deadlines: calendar days and business days.
//!
//! Business days are Monday to Friday in UTC, except the public holidays of the order's
//! jurisdiction (`holidays`), so that a deadline computed in UTC is the same for every copy of the
//! service and for every replay. A deadline keeps the time of day of its start, so "3 business days
//! after Friday 15:00" is Wednesday 15:00 (in a week without holidays). A start on a day that is
//! not a business day is treated as the start of the next business day (00:00 UTC), so a request
//! made on Saturday gives the seller as many whole business days as one made early on Monday.
//!
//! All functions saturate at chrono's largest representable time instead of panicking: times come
//! from outside (carrier reports, order dates) and a far-future date must not crash a command.

use chrono::{DateTime, Datelike, Months, NaiveTime, TimeDelta, Utc, Weekday};

use crate::holidays;
use crate::law::Jurisdiction;

/// `t + days` calendar days, saturating.
pub fn add_days(t: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    TimeDelta::try_days(i64::from(days))
        .and_then(|delta| t.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t + months` calendar months (the day is clamped to the month's last day), saturating.
pub fn add_months(t: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    t.checked_add_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Monday to Friday, except the public holidays of `jurisdiction`.
pub fn is_business_day(t: DateTime<Utc>, jurisdiction: &Jurisdiction) -> bool {
    !matches!(t.weekday(), Weekday::Sat | Weekday::Sun)
        && !holidays::is_public_holiday(t.date_naive(), jurisdiction.as_str())
}

/// `n` business days of `jurisdiction` after `t` (see the module doc). `n = 0` returns `t`.
pub fn add_business_days(t: DateTime<Utc>, n: u32, jurisdiction: &Jurisdiction) -> DateTime<Utc> {
    let is_business_day = |t: DateTime<Utc>| is_business_day(t, jurisdiction);
    if n == 0 {
        return t;
    }
    let mut current = t;
    if !is_business_day(current) {
        // Move to the next business day, 00:00: days off do not count.
        while !is_business_day(current) {
            current = add_days(current, 1);
            if current == DateTime::<Utc>::MAX_UTC {
                return current;
            }
        }
        current = current
            .with_time(NaiveTime::MIN)
            .single()
            .unwrap_or(current);
    }
    let mut remaining = n;
    while remaining > 0 {
        current = add_days(current, 1);
        if current == DateTime::<Utc>::MAX_UTC {
            return current;
        }
        if is_business_day(current) {
            remaining -= 1;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A jurisdiction without a holiday calendar: weekends only.
    fn none() -> Jurisdiction {
        Jurisdiction::parse("CH").unwrap()
    }

    fn in_(code: &str) -> Jurisdiction {
        Jurisdiction::parse(code).unwrap()
    }

    #[test]
    fn public_holidays_of_the_jurisdiction_do_not_count() {
        // Wednesday before Thanksgiving: Thursday is off in the US, not in Germany.
        let wednesday = t("2026-11-25T10:00:00Z");
        assert_eq!(
            add_business_days(wednesday, 3, &in_("US")),
            t("2026-12-01T10:00:00Z")
        );
        assert_eq!(
            add_business_days(wednesday, 3, &in_("DE")),
            t("2026-11-30T10:00:00Z")
        );
        // Christmas Eve in Germany: the 25th and the 26th are holidays, then the weekend.
        assert_eq!(
            add_business_days(t("2026-12-24T09:00:00Z"), 3, &in_("DE")),
            t("2026-12-30T09:00:00Z")
        );
        // A start on a holiday counts from the next business day, 00:00.
        assert_eq!(
            add_business_days(t("2026-11-26T15:00:00Z"), 1, &in_("US")),
            t("2026-11-30T00:00:00Z")
        );
        assert!(!is_business_day(t("2026-07-14T12:00:00Z"), &in_("FR")));
        assert!(is_business_day(t("2026-07-14T12:00:00Z"), &in_("DE")));
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekdays_count_one_by_one() {
        // 2026-11-23 is a Monday.
        assert_eq!(
            add_business_days(t("2026-11-23T10:00:00Z"), 3, &none()),
            t("2026-11-26T10:00:00Z")
        );
    }

    #[test]
    fn weekends_are_skipped() {
        // Friday 15:00 + 3 business days = Wednesday 15:00.
        assert_eq!(
            add_business_days(t("2026-11-27T15:00:00Z"), 3, &none()),
            t("2026-12-02T15:00:00Z")
        );
        // Thursday + 2 = Monday.
        assert_eq!(
            add_business_days(t("2026-11-26T09:30:00Z"), 2, &none()),
            t("2026-11-30T09:30:00Z")
        );
    }

    #[test]
    fn a_weekend_start_counts_from_monday_morning() {
        // Saturday 10:00 + 1 = Tuesday 00:00; Sunday 23:00 + 3 = Thursday 00:00.
        assert_eq!(
            add_business_days(t("2026-11-28T10:00:00Z"), 1, &none()),
            t("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            add_business_days(t("2026-11-29T23:00:00Z"), 3, &none()),
            t("2026-12-03T00:00:00Z")
        );
    }

    #[test]
    fn zero_days_is_the_start() {
        assert_eq!(
            add_business_days(t("2026-11-28T10:00:00Z"), 0, &none()),
            t("2026-11-28T10:00:00Z")
        );
    }

    #[test]
    fn far_future_times_saturate() {
        let max = DateTime::<Utc>::MAX_UTC;
        assert_eq!(add_days(max, 1), max);
        assert_eq!(add_business_days(max, 5, &none()), max);
        assert_eq!(add_months(max, 24), max);
    }

    #[test]
    fn calendar_days_and_months() {
        assert_eq!(
            add_days(t("2026-02-27T12:00:00Z"), 2),
            t("2026-03-01T12:00:00Z")
        );
        assert_eq!(
            add_months(t("2024-02-29T12:00:00Z"), 24),
            t("2026-02-28T12:00:00Z")
        );
    }
}
