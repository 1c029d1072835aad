//! Money: ISO 4217 currencies and non-negative amounts in minor units, with checked arithmetic.
//!
//! Amounts are integers of the currency's minor unit (cents for EUR), as in docs/api.md's `*_minor`
//! fields; the domain never converts between units or currencies. `MinorUnits` cannot be negative
//! and every operation that could overflow or go below zero returns an error instead of wrapping or
//! panicking, because amounts come from outside (order lines, refund requests). Most of the domain
//! handles bare `MinorUnits` inside an aggregate that carries its one currency; `Money` pairs the two
//! where values from different places meet and must not be mixed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::ParseError;

/// What went wrong with an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("amounts cannot be negative")]
    Negative,
    #[error("amount is too large")]
    Overflow,
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
}

/// An ISO 4217 alphabetic code: three ASCII upper-case letters. The shape is checked, not
/// membership of the ISO list, so that a newly introduced currency needs no release.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        match text.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(ParseError::Malformed {
                what: "currency",
                expected: "an ISO 4217 code of three upper-case letters",
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// How many digits of the minor unit people write after the decimal point (ISO 4217): 0 for
    /// the yen and the other currencies without a minor unit, 3 for the dinars of Bahrain, Iraq,
    /// Jordan, Kuwait, Libya and Tunisia and the Omani rial, 2 otherwise.
    pub fn minor_digits(&self) -> u32 {
        const NONE: &[&str] = &[
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
            "VUV", "XAF", "XOF", "XPF",
        ];
        const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
        let code = self.as_str();
        if NONE.contains(&code) {
            0
        } else if THREE.contains(&code) {
            3
        } else {
            2
        }
    }

    /// `minor` as people write it in this currency, without the code: `49.99`, `5000` (yen),
    /// `1.234` (Kuwaiti dinar). [`Currency::parse_amount`] reads it back.
    pub fn write_amount(&self, minor: MinorUnits) -> String {
        let n = minor.get();
        let digits = self.minor_digits();
        if digits == 0 {
            return n.to_string();
        }
        let unit = 10_i64.pow(digits);
        format!("{}.{:0width$}", n / unit, n % unit, width = digits as usize)
    }

    /// An amount as people write it (`12.5`, `12.50`, `12,50`, `1200` for a currency without a
    /// minor unit) in minor units; `None` for anything else, a negative amount, more decimals than
    /// the currency has, or an amount too large.
    pub fn parse_amount(&self, text: &str) -> Option<MinorUnits> {
        let digits = self.minor_digits();
        let text = text.trim().replace(',', ".");
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > digits as usize
            || (text.contains('.') && fraction.is_empty())
        {
            return None;
        }
        let unit = 10_i64.checked_pow(digits)?;
        let whole: i64 = whole.parse().ok()?;
        let padded = format!("{fraction:0<width$}", width = digits as usize);
        let fraction: i64 = if padded.is_empty() {
            0
        } else {
            padded.parse().ok()?
        };
        let minor = whole.checked_mul(unit)?.checked_add(fraction)?;
        MinorUnits::new(minor).ok()
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        Self::parse(text)
    }
}

impl TryFrom<String> for Currency {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, ParseError> {
        Self::parse(&text)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.as_str().to_owned()
    }
}

/// A non-negative amount in minor units of some currency (which the containing value names).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct MinorUnits(i64);

impl MinorUnits {
    pub const ZERO: MinorUnits = MinorUnits(0);
    /// The largest amount: totals that would overflow stop here.
    pub const MAX: MinorUnits = MinorUnits(i64::MAX);

    pub fn new(amount: i64) -> Result<Self, MoneyError> {
        if amount < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(Self(amount))
        }
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: MinorUnits) -> Result<MinorUnits, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(MinorUnits)
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, refusing to go below zero.
    pub fn checked_sub(self, other: MinorUnits) -> Result<MinorUnits, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map_or(Err(MoneyError::Overflow), MinorUnits::new)
    }

    /// `self - other`, stopping at zero: for "what is left" computations.
    pub fn saturating_sub(self, other: MinorUnits) -> MinorUnits {
        MinorUnits(self.0.saturating_sub(other.0).max(0))
    }

    /// `self × quantity`, e.g. a line's unit price times the quantity returned.
    pub fn checked_mul(self, quantity: u32) -> Result<MinorUnits, MoneyError> {
        self.0
            .checked_mul(i64::from(quantity))
            .map(MinorUnits)
            .ok_or(MoneyError::Overflow)
    }

    /// `percent` % of the amount, rounded down: fees and bonuses round in nobody's favour but the
    /// arithmetic's, and rounding down keeps a fee from exceeding its percentage.
    pub fn percent(self, percent: u32) -> Result<MinorUnits, MoneyError> {
        let scaled = i128::from(self.0) * i128::from(percent) / 100;
        i64::try_from(scaled)
            .map(MinorUnits)
            .map_err(|_| MoneyError::Overflow)
    }

    /// Sums amounts, failing on overflow.
    pub fn sum<I: IntoIterator<Item = MinorUnits>>(amounts: I) -> Result<MinorUnits, MoneyError> {
        amounts
            .into_iter()
            .try_fold(MinorUnits::ZERO, MinorUnits::checked_add)
    }
}

impl TryFrom<i64> for MinorUnits {
    type Error = MoneyError;
    fn try_from(amount: i64) -> Result<Self, MoneyError> {
        Self::new(amount)
    }
}

impl From<MinorUnits> for i64 {
    fn from(amount: MinorUnits) -> i64 {
        amount.0
    }
}

impl fmt::Display for MinorUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An amount together with its currency, for the places where amounts from different sources meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: MinorUnits,
    pub currency: Currency,
}

impl Money {
    pub const fn new(amount_minor: MinorUnits, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self {
            amount_minor: MinorUnits::ZERO,
            currency,
        }
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Ok(Money::new(
            self.amount_minor.checked_add(other.amount_minor)?,
            self.currency,
        ))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Ok(Money::new(
            self.amount_minor.checked_sub(other.amount_minor)?,
            self.currency,
        ))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_minor, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(amount: i64) -> MinorUnits {
        MinorUnits::new(amount).unwrap()
    }

    #[test]
    fn amounts_as_people_write_them_parse_to_minor_units() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(eur.parse_amount("12.50"), Some(m(1250)));
        assert_eq!(eur.parse_amount(" 12,5 "), Some(m(1250)));
        assert_eq!(eur.parse_amount("12"), Some(m(1200)));
        assert_eq!(eur.parse_amount("0"), Some(m(0)));
        assert_eq!(jpy.parse_amount("1200"), Some(m(1200)));
        assert_eq!(kwd.parse_amount("1.005"), Some(m(1005)));
        for bad in [
            "",
            "12.505",
            "-1",
            "1.",
            ".5",
            "1e3",
            "12.5.0",
            "99999999999999999999",
        ] {
            assert_eq!(eur.parse_amount(bad), None, "{bad}");
        }
        assert_eq!(jpy.parse_amount("12.5"), None);
        // What is written reads back.
        for (currency, minor) in [(eur, 1250), (jpy, 1200), (kwd, 1005), (eur, 5)] {
            let written = currency.write_amount(m(minor));
            assert_eq!(currency.parse_amount(&written), Some(m(minor)), "{written}");
        }
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", "", "ÉUR"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Currency>("\"usd\"").is_err());
        assert_eq!(
            serde_json::to_string(&Currency::parse("USD").unwrap()).unwrap(),
            "\"USD\""
        );
    }

    #[test]
    fn amounts_are_never_negative() {
        assert_eq!(MinorUnits::new(-1), Err(MoneyError::Negative));
        assert!(serde_json::from_str::<MinorUnits>("-5").is_err());
        assert_eq!(serde_json::from_str::<MinorUnits>("1999").unwrap(), m(1999));
        assert_eq!(m(5).checked_sub(m(6)), Err(MoneyError::Negative));
        assert_eq!(m(5).saturating_sub(m(6)), MinorUnits::ZERO);
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(m(i64::MAX).checked_add(m(1)), Err(MoneyError::Overflow));
        assert_eq!(m(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(m(i64::MAX).percent(100), Ok(m(i64::MAX)));
        assert_eq!(m(i64::MAX).percent(200), Err(MoneyError::Overflow));
        assert_eq!(m(999).percent(10), Ok(m(99)));
        assert_eq!(MinorUnits::sum([m(1), m(2), m(3)]), Ok(m(6)));
        assert_eq!(
            MinorUnits::sum([m(i64::MAX), m(1)]),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn currencies_never_mix() {
        let eur = Currency::parse("EUR").unwrap();
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            Money::new(m(5), eur).checked_add(Money::new(m(5), eur)),
            Ok(Money::new(m(10), eur))
        );
        assert_eq!(
            Money::new(m(5), eur).checked_add(Money::new(m(5), usd)),
            Err(MoneyError::CurrencyMismatch {
                left: eur,
                right: usd
            })
        );
        assert!(Money::new(m(5), eur).checked_sub(Money::zero(usd)).is_err());
    }
}
