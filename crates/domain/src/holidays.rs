//! Public holidays that are not business days, per jurisdiction (docs/product.md, "Deadlines").
//!
//! Nationwide public holidays only (regional ones, such as a German state's, are not counted), as
//! the law of each country sets them; where the law moves a holiday that falls on a weekend to a
//! weekday (the United Kingdom's substitute days, the US federal observed days), the weekday is
//! the holiday. Jurisdictions without a calendar here count weekends only.
//!
//! Calendars: FR, DE, ES, IT, NL, BE, IE, GB (England and Wales; `UK` is read as `GB`) and the US
//! federal calendar.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// A country, its fixed-date holidays (month, day) and its Easter-based ones (days after Easter).
type Calendar = (&'static str, &'static [(u32, u32)], &'static [i64]);

/// Per country: its holidays on fixed dates (month, day), and those that move with Easter (days
/// after Easter Sunday: Good Friday -2, Easter Monday 1, Ascension 39, Whit Monday 50). The
/// holidays with rules of their own (Dutch King's Day, Irish and British Mondays, British
/// substitute days, the US federal calendar) are in [`is_public_holiday`].
#[rustfmt::skip]
const TABLES: [Calendar; 8] = [
    ("FR", &[(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)], &[1, 39, 50]),
    ("DE", &[(1, 1), (5, 1), (10, 3), (12, 25), (12, 26)], &[-2, 1, 39, 50]),
    ("ES", &[(1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8), (12, 25)], &[-2]),
    ("IT", &[(1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26)], &[1]),
    ("NL", &[(1, 1), (12, 25), (12, 26)], &[1, 39, 50]),
    ("BE", &[(1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25)], &[1, 39, 50]),
    ("IE", &[(1, 1), (3, 17), (12, 25), (12, 26)], &[1]),
    // New Year and Christmas move to substitute days: see `is_public_holiday`.
    ("GB", &[], &[-2, 1]),
];

/// Whether `date` is a public holiday (not a business day) in `jurisdiction`.
pub fn is_public_holiday(date: NaiveDate, jurisdiction: &str) -> bool {
    let year = date.year();
    let code = if jurisdiction == "UK" {
        "GB"
    } else {
        jurisdiction
    };
    let listed = TABLES
        .iter()
        .find(|(c, _, _)| *c == code)
        .is_some_and(|(_, fixed, moving)| {
            fixed
                .iter()
                .any(|&(month, day)| NaiveDate::from_ymd_opt(year, month, day) == Some(date))
                || easter_sunday(year).is_some_and(|easter| {
                    moving
                        .iter()
                        .any(|&days| easter + Duration::days(days) == date)
                })
        });
    let monday = |month: u32, n: u32| nth_weekday(year, month, Weekday::Mon, n) == Some(date);
    let last_monday = |month: u32| last_weekday(year, month, Weekday::Mon) == Some(date);
    listed
        || match code {
            // King's Day is 27 April, or the 26th when the 27th is a Sunday.
            "NL" => {
                let kings_day = NaiveDate::from_ymd_opt(year, 4, 27).map(|d| {
                    if d.weekday() == Weekday::Sun {
                        d - Duration::days(1)
                    } else {
                        d
                    }
                });
                kings_day == Some(date)
            }
            "IE" => {
                // St Brigid's Day: the first Monday of February, or 1 February when that is a
                // Friday.
                let first = NaiveDate::from_ymd_opt(year, 2, 1);
                let brigid = if first.is_some_and(|d| d.weekday() == Weekday::Fri) {
                    first == Some(date)
                } else {
                    monday(2, 1)
                };
                brigid || monday(5, 1) || monday(6, 1) || monday(8, 1) || last_monday(10)
            }
            "GB" => {
                substitute_days(year, &[(1, 1), (12, 25), (12, 26)]).contains(&date)
                    || monday(5, 1)
                    || last_monday(5)
                    || last_monday(8)
            }
            "US" => {
                // Federal holidays; one on a Saturday is observed the Friday before, one on a
                // Sunday the Monday after (so New Year's Day may be observed on 31 December).
                let observed = |month: u32, day: u32, in_year: i32| {
                    NaiveDate::from_ymd_opt(in_year, month, day).map(|d| match d.weekday() {
                        Weekday::Sat => d - Duration::days(1),
                        Weekday::Sun => d + Duration::days(1),
                        _ => d,
                    })
                };
                [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]
                    .iter()
                    .any(|&(m, d)| observed(m, d, year) == Some(date))
                    || observed(1, 1, year + 1) == Some(date)
                    || monday(1, 3)
                    || monday(2, 3)
                    || last_monday(5)
                    || monday(9, 1)
                    || monday(10, 2)
                    || nth_weekday(year, 11, Weekday::Thu, 4) == Some(date)
            }
            _ => false,
        }
}

/// Easter Sunday of `year` (Gregorian; the anonymous algorithm of Meeus).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The `n`-th `weekday` of `month` (1-based).
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, u8::try_from(n).ok()?)
}

/// The last `weekday` of `month`.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }?;
    let mut day = next_month - Duration::days(1);
    while day.weekday() != weekday {
        day -= Duration::days(1);
    }
    Some(day)
}

/// The United Kingdom's bank holidays with substitute days: a holiday on a weekend moves to the
/// next weekday not already taken by another holiday of the list.
fn substitute_days(year: i32, days: &[(u32, u32)]) -> Vec<NaiveDate> {
    let mut taken: Vec<NaiveDate> = Vec::new();
    for &(month, day) in days {
        let Some(mut date) = NaiveDate::from_ymd_opt(year, month, day) else {
            continue;
        };
        while matches!(date.weekday(), Weekday::Sat | Weekday::Sun) || taken.contains(&date) {
            date += Duration::days(1);
        }
        taken.push(date);
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn holidays_of(jurisdiction: &str, year: i32) -> Vec<String> {
        let mut day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        let mut found = Vec::new();
        while day.year() == year {
            if is_public_holiday(day, jurisdiction) {
                found.push(day.format("%m-%d").to_string());
            }
            day += Duration::days(1);
        }
        found
    }

    #[test]
    fn easter_falls_where_the_tables_say() {
        for (year, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), Some(d(easter)), "{year}");
        }
    }

    /// The 2026 calendars, as the governments publish them.
    #[test]
    fn the_2026_calendars_are_the_published_ones() {
        let expected: [(&str, &[&str]); 9] = [
            (
                "FR",
                &[
                    "01-01", "04-06", "05-01", "05-08", "05-14", "05-25", "07-14", "08-15",
                    "11-01", "11-11", "12-25",
                ],
            ),
            (
                "DE",
                &[
                    "01-01", "04-03", "04-06", "05-01", "05-14", "05-25", "10-03", "12-25", "12-26",
                ],
            ),
            (
                "ES",
                &[
                    "01-01", "01-06", "04-03", "05-01", "08-15", "10-12", "11-01", "12-06",
                    "12-08", "12-25",
                ],
            ),
            (
                "IT",
                &[
                    "01-01", "01-06", "04-06", "04-25", "05-01", "06-02", "08-15", "11-01",
                    "12-08", "12-25", "12-26",
                ],
            ),
            (
                "NL",
                &[
                    "01-01", "04-06", "04-27", "05-14", "05-25", "12-25", "12-26",
                ],
            ),
            (
                "BE",
                &[
                    "01-01", "04-06", "05-01", "05-14", "05-25", "07-21", "08-15", "11-01",
                    "11-11", "12-25",
                ],
            ),
            (
                "IE",
                &[
                    "01-01", "02-02", "03-17", "04-06", "05-04", "06-01", "08-03", "10-26",
                    "12-25", "12-26",
                ],
            ),
            // Boxing Day is a Saturday: its substitute is Monday 28 December.
            (
                "GB",
                &[
                    "01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28",
                ],
            ),
            // Independence Day is a Saturday: observed on Friday 3 July.
            (
                "US",
                &[
                    "01-01", "01-19", "02-16", "05-25", "06-19", "07-03", "09-07", "10-12",
                    "11-11", "11-26", "12-25",
                ],
            ),
        ];
        for (jurisdiction, days) in expected {
            assert_eq!(holidays_of(jurisdiction, 2026), days, "{jurisdiction}");
        }
        assert_eq!(holidays_of("UK", 2026), holidays_of("GB", 2026));
        assert!(
            holidays_of("CH", 2026).is_empty(),
            "no calendar: weekends only"
        );
    }

    #[test]
    fn observed_and_substitute_days_move_across_years_and_weekends() {
        // 1 January 2028 is a Saturday: the US observes it on Friday 31 December 2027.
        assert!(is_public_holiday(d("2027-12-31"), "US"));
        // Christmas 2027 is a Saturday and Boxing Day a Sunday: 27 and 28 December in the UK.
        assert!(is_public_holiday(d("2027-12-27"), "GB"));
        assert!(is_public_holiday(d("2027-12-28"), "GB"));
        // King's Day 2025 is a Sunday: the Dutch keep Saturday the 26th.
        assert!(is_public_holiday(d("2025-04-26"), "NL"));
        // St Brigid's Day 2030: 1 February is a Friday.
        assert!(is_public_holiday(d("2030-02-01"), "IE"));
    }
}
