//! Return methods (docs/product.md, "Return methods"): how the item goes back — a prepaid mail
//! label, a drop-off at a relay point, a carrier pickup in a slot, or a return in store. A seller's
//! policy says which it offers and who pays for each; the buyer chooses one per return.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Checks;
use crate::macros::string_enum;
use crate::money::MinorUnits;

string_enum! {
    /// The ways an item can go back to the seller.
    pub enum MethodKind ("return method") {
        /// A parcel sent with a (prepaid) mail label.
        Mail = "mail",
        /// A parcel left at a carrier's relay point, with a drop-off code.
        RelayPoint = "relay_point",
        /// The carrier collects the parcel at the buyer's in a time slot.
        Pickup = "pickup",
        /// The buyer brings the item to one of the seller's stores.
        Store = "store",
    }
}

string_enum! {
    /// Who pays for a return method.
    pub enum BuyerPays ("buyer_pays") {
        /// As the policy's `buyer_pays_return_shipping_for` says for the return's reason.
        ByReason = "by_reason",
        /// The seller always pays.
        Never = "never",
        /// The buyer always pays (never under the EU conformity guarantee).
        Always = "always",
    }
}

/// One method a policy offers, and its price to the buyer where the buyer pays: `fee_minor`, or
/// the policy's `return_shipping_fee_minor` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodTerms {
    pub method: MethodKind,
    pub buyer_pays: BuyerPays,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_minor: Option<MinorUnits>,
}

/// The longest pickup slot.
pub const MAX_SLOT_HOURS: i64 = 12;
/// How far ahead a pickup may be booked.
pub const MAX_SLOT_AHEAD_DAYS: i64 = 30;
/// Relay point and store ids: 1 to 64 characters.
pub const MAX_PLACE_ID_LEN: usize = 64;

/// The method chosen for a return, with what it needs (mail by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ReturnMethod {
    #[default]
    Mail,
    RelayPoint {
        point_id: String,
        /// The code the buyer shows at the relay point, drawn by the service.
        drop_off_code: String,
    },
    Pickup {
        slot_start: DateTime<Utc>,
        slot_end: DateTime<Utc>,
    },
    Store {
        store_id: String,
    },
}

impl ReturnMethod {
    pub fn kind(&self) -> MethodKind {
        match self {
            ReturnMethod::Mail => MethodKind::Mail,
            ReturnMethod::RelayPoint { .. } => MethodKind::RelayPoint,
            ReturnMethod::Pickup { .. } => MethodKind::Pickup,
            ReturnMethod::Store { .. } => MethodKind::Store,
        }
    }
}

/// A method as a buyer asks for it (the drop-off code is the service's to draw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum MethodRequest {
    Mail,
    RelayPoint {
        point_id: String,
    },
    Pickup {
        slot_start: DateTime<Utc>,
        slot_end: DateTime<Utc>,
    },
    Store {
        store_id: String,
    },
}

impl MethodRequest {
    pub fn kind(&self) -> MethodKind {
        match self {
            MethodRequest::Mail => MethodKind::Mail,
            MethodRequest::RelayPoint { .. } => MethodKind::RelayPoint,
            MethodRequest::Pickup { .. } => MethodKind::Pickup,
            MethodRequest::Store { .. } => MethodKind::Store,
        }
    }

    /// Checks the request at `now` against the methods offered (`offered`), naming fields under
    /// `field` (e.g. `return_method`; empty: the body's own fields): an offered method, a place id, and a slot that starts in
    /// the future, within `MAX_SLOT_AHEAD_DAYS`, and lasts up to `MAX_SLOT_HOURS`.
    pub(crate) fn check(
        &self,
        offered: &[MethodTerms],
        now: DateTime<Utc>,
        field: &str,
        checks: &mut Checks,
    ) {
        let named = |name: &str| {
            if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        };
        let kind = self.kind();
        if !offered.iter().any(|t| t.method == kind) {
            let names: Vec<&str> = offered.iter().map(|t| t.method.as_str()).collect();
            checks.fail(
                named("method"),
                format!(
                    "the seller's policy does not offer {kind}; it offers {}",
                    names.join(", ")
                ),
            );
        }
        match self {
            MethodRequest::Mail => {}
            MethodRequest::RelayPoint { point_id } => {
                place_id(&named("point_id"), point_id, checks);
            }
            MethodRequest::Store { store_id } => {
                place_id(&named("store_id"), store_id, checks);
            }
            MethodRequest::Pickup {
                slot_start,
                slot_end,
            } => {
                let start = named("slot_start");
                checks.check(*slot_start > now, &start, "must be in the future");
                checks.check(
                    *slot_start <= now + Duration::days(MAX_SLOT_AHEAD_DAYS),
                    &start,
                    format!("must be within {MAX_SLOT_AHEAD_DAYS} days"),
                );
                checks.check(
                    slot_end > slot_start
                        && *slot_end - *slot_start <= Duration::hours(MAX_SLOT_HOURS),
                    named("slot_end"),
                    format!("must be after slot_start, at most {MAX_SLOT_HOURS} hours later"),
                );
            }
        }
    }

    /// The chosen method, with the drop-off code the service drew for a relay point.
    pub fn chosen(&self, drop_off_code: &str) -> ReturnMethod {
        match self {
            MethodRequest::Mail => ReturnMethod::Mail,
            MethodRequest::RelayPoint { point_id } => ReturnMethod::RelayPoint {
                point_id: point_id.clone(),
                drop_off_code: drop_off_code.to_owned(),
            },
            MethodRequest::Pickup {
                slot_start,
                slot_end,
            } => ReturnMethod::Pickup {
                slot_start: *slot_start,
                slot_end: *slot_end,
            },
            MethodRequest::Store { store_id } => ReturnMethod::Store {
                store_id: store_id.clone(),
            },
        }
    }
}

fn place_id(field: &str, id: &str, checks: &mut Checks) {
    let ok = !id.is_empty()
        && id.len() <= MAX_PLACE_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    checks.check(
        ok,
        field,
        format!("must be 1 to {MAX_PLACE_ID_LEN} characters of A-Za-z0-9._:-"),
    );
}

/// A drop-off code from 40 bits of entropy: 8 characters of an alphabet without look-alikes.
pub fn drop_off_code(entropy: u64) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let base = ALPHABET.len() as u64;
    let mut n = entropy;
    (0..8)
        .map(|_| {
            let c = ALPHABET[(n % base) as usize] as char;
            n /= base;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn all() -> Vec<MethodTerms> {
        MethodKind::ALL
            .iter()
            .map(|&method| MethodTerms {
                method,
                buyer_pays: BuyerPays::ByReason,
                fee_minor: None,
            })
            .collect()
    }

    fn errors(request: &MethodRequest, offered: &[MethodTerms]) -> Vec<String> {
        let mut checks = Checks::new();
        request.check(offered, DateTime::<Utc>::UNIX_EPOCH, "m", &mut checks);
        checks.into_errors().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn requests_are_checked_against_the_offer_and_the_clock() {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let slot = |start: i64, hours: i64| MethodRequest::Pickup {
            slot_start: epoch + Duration::hours(start),
            slot_end: epoch + Duration::hours(start + hours),
        };
        assert!(errors(&slot(2, 2), &all()).is_empty());
        assert_eq!(errors(&slot(-1, 2), &all()), ["m.slot_start"]);
        assert_eq!(errors(&slot(2, 13), &all()), ["m.slot_end"]);
        assert_eq!(errors(&slot(2, 0), &all()), ["m.slot_end"]);
        assert_eq!(errors(&slot(24 * 31, 2), &all()), ["m.slot_start"]);
        let mail_only = &all()[..1];
        assert_eq!(errors(&slot(2, 2), mail_only), ["m.method"]);
        let relay = |id: &str| MethodRequest::RelayPoint {
            point_id: id.to_owned(),
        };
        assert!(errors(&relay("FR-75011-042"), &all()).is_empty());
        assert_eq!(errors(&relay(""), &all()), ["m.point_id"]);
        assert_eq!(errors(&relay("no spaces"), &all()), ["m.point_id"]);
    }

    #[test]
    fn drop_off_codes_are_eight_unambiguous_characters() {
        for entropy in [0, 1, u64::MAX, 0xdead_beef] {
            let code = drop_off_code(entropy);
            assert_eq!(code.len(), 8);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        assert_ne!(drop_off_code(1), drop_off_code(2));
    }
}
