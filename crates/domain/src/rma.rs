//! RMA numbers: the human-readable code quoted in every message, label and webhook.
//!
//! Format: `RMA-XXXX-XXXX`, seven random characters and one check character from a 31-character
//! alphabet without the look-alikes `0 O 1 I L` (`23456789ABCDEFGHJKMNPQRSTUVWXYZ`), so that a code
//! read over the phone or typed from a label survives. The check character makes the weighted sum
//! `Σ (position+1) × value` divisible by 31; because 31 is prime this catches every single wrong
//! character and every swap of two neighbours.
//!
//! The domain has no randomness: the caller draws a `u64` and passes it to `from_entropy`. 31^7 ≈
//! 2.75e10 codes, so collisions are rare but possible; uniqueness is the caller's job (a unique index
//! in the database, and a fresh draw on a violation).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::ParseError;

const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const BASE: u64 = 31;
const DATA_LEN: usize = 7;

/// A validated RMA code, stored in its canonical form `RMA-XXXX-XXXX`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rma(String);

fn value_of(c: u8) -> Option<u64> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u64::try_from(p).ok())
}

fn char_of(value: u64) -> char {
    // `value` is always reduced modulo 31 by the callers; the fallback is unreachable.
    usize::try_from(value % BASE)
        .ok()
        .and_then(|i| ALPHABET.get(i))
        .map_or('2', |&b| char::from(b))
}

/// The check value that makes the weighted sum of all eight values divisible by 31.
fn check_value(data: &[u64]) -> u64 {
    let sum: u64 = data.iter().zip(1u64..).map(|(v, w)| v * w).sum::<u64>() % BASE;
    // 8 × c ≡ −sum (mod 31); 4 is the inverse of 8 modulo 31.
    ((BASE - sum) % BASE) * 4 % BASE
}

fn canonical(chars: &[char]) -> String {
    let code: String = chars.iter().collect();
    let (first, second) = code.split_at(4.min(code.len()));
    format!("RMA-{first}-{second}")
}

impl Rma {
    /// Builds a code from a random number chosen by the caller.
    pub fn from_entropy(entropy: u64) -> Rma {
        let mut n = entropy % BASE.pow(7);
        let mut data = [0u64; DATA_LEN];
        for slot in data.iter_mut().rev() {
            *slot = n % BASE;
            n /= BASE;
        }
        let mut chars: Vec<char> = data.iter().map(|&v| char_of(v)).collect();
        chars.push(char_of(check_value(&data)));
        Rma(canonical(&chars))
    }

    /// Parses a code as a person might type it: case-insensitive, with or without the `RMA` prefix,
    /// hyphens or spaces. Returns the canonical form, and refuses codes whose check fails.
    pub fn parse(text: &str) -> Result<Rma, ParseError> {
        let malformed = ParseError::Malformed {
            what: "rma",
            expected: "a code like RMA-7K4P-Q9XD with a valid check character",
        };
        let upper = text.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("RMA").unwrap_or(&upper);
        let compact: Vec<u8> = body.bytes().filter(|b| *b != b'-' && *b != b' ').collect();
        if compact.len() != DATA_LEN + 1 {
            return Err(malformed);
        }
        let values: Option<Vec<u64>> = compact.iter().map(|&b| value_of(b)).collect();
        let values = values.ok_or_else(|| malformed.clone())?;
        let weighted: u64 = values.iter().zip(1u64..).map(|(v, w)| v * w).sum();
        if weighted % BASE != 0 {
            return Err(malformed);
        }
        let chars: Vec<char> = compact.iter().map(|&b| char::from(b)).collect();
        Ok(Rma(canonical(&chars)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Rma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Rma {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        Self::parse(text)
    }
}

impl TryFrom<String> for Rma {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, ParseError> {
        Self::parse(&text)
    }
}

impl From<Rma> for String {
    fn from(rma: Rma) -> String {
        rma.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_shape() {
        for entropy in [0, 1, 42, u64::MAX, 0xDEAD_BEEF] {
            let rma = Rma::from_entropy(entropy);
            let s = rma.as_str();
            assert_eq!(s.len(), 13, "{s}");
            assert!(s.starts_with("RMA-"));
            assert_eq!(s.as_bytes().get(8), Some(&b'-'));
            assert!(!s[4..].contains(['0', 'O', '1', 'I', 'L']), "{s}");
            assert_eq!(Rma::parse(s).unwrap(), rma);
        }
    }

    #[test]
    fn parse_is_forgiving_about_case_and_separators() {
        let rma = Rma::from_entropy(123_456_789);
        let lower = rma.as_str().to_ascii_lowercase();
        assert_eq!(Rma::parse(&lower).unwrap(), rma);
        let bare: String = rma.as_str()[4..].replace('-', " ");
        assert_eq!(Rma::parse(&bare).unwrap(), rma);
    }

    #[test]
    fn every_single_typo_and_neighbour_swap_is_caught() {
        let rma = Rma::from_entropy(987_654_321);
        let code: Vec<u8> = rma
            .as_str()
            .bytes()
            .filter(|b| *b != b'-')
            .skip(3)
            .collect();
        for i in 0..code.len() {
            for &replacement in ALPHABET {
                if replacement == code[i] {
                    continue;
                }
                let mut typo = code.clone();
                typo[i] = replacement;
                assert!(Rma::parse(std::str::from_utf8(&typo).unwrap()).is_err());
            }
            if i + 1 < code.len() && code[i] != code[i + 1] {
                let mut swapped = code.clone();
                swapped.swap(i, i + 1);
                assert!(Rma::parse(std::str::from_utf8(&swapped).unwrap()).is_err());
            }
        }
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "RMA-",
            "RMA-0000-0000",
            "RMA-ABCD-EFG",
            "RMA-ABCD-EFGHJ",
            "hello",
        ] {
            assert!(Rma::parse(bad).is_err(), "{bad}");
        }
    }
}
