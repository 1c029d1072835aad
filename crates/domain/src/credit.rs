//! Store credit: one ledger per buyer (stream per buyer), docs/product.md, "Store credit".
//!
//! Credit is issued when a refund is paid as store credit (the return's `refund` with method
//! `store_credit`: the principal and the seller's bonus), in the same transaction as the refund.
//! The platform spends it at checkout and expires it by its own terms. Every movement is an event;
//! each currency has its own balance, never negative, and amounts are never converted or added
//! across currencies.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::error::{Checks, Rejection};
use crate::ids::{BuyerId, OrderId, ReturnId};
use crate::macros::stored_events;
use crate::money::{Currency, MinorUnits};

/// Credit was issued to the buyer: a refund of `return_id` paid as store credit, `principal_minor`
/// paying back the goods and `bonus_minor` on top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditIssued {
    pub buyer_id: BuyerId,
    pub currency: Currency,
    pub amount_minor: MinorUnits,
    pub principal_minor: MinorUnits,
    pub bonus_minor: MinorUnits,
    pub return_id: ReturnId,
    pub at: DateTime<Utc>,
}

/// The platform spent credit, e.g. at the checkout of `order_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditSpent {
    pub buyer_id: BuyerId,
    pub currency: Currency,
    pub amount_minor: MinorUnits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    pub at: DateTime<Utc>,
}

/// The platform expired credit under its terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditExpired {
    pub buyer_id: BuyerId,
    pub currency: Currency,
    pub amount_minor: MinorUnits,
    pub at: DateTime<Utc>,
}

stored_events! {
    /// Events of a buyer's store-credit ledger.
    pub enum CreditEvent {
        CreditIssued(CreditIssued) = "credit.issued",
        CreditSpent(CreditSpent) = "credit.spent",
        CreditExpired(CreditExpired) = "credit.expired",
    }
}

/// A buyer's store credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditAccount {
    pub buyer_id: BuyerId,
    /// The balance per currency; a currency is listed once credit in it was issued, and stays
    /// (at 0) when spent.
    pub balances: BTreeMap<Currency, MinorUnits>,
    /// Issued in total, per currency.
    pub issued: BTreeMap<Currency, MinorUnits>,
    pub updated_at: DateTime<Utc>,
}

impl CreditAccount {
    /// The ledger of a buyer who never had credit.
    pub fn empty(buyer_id: BuyerId) -> CreditAccount {
        CreditAccount {
            buyer_id,
            balances: BTreeMap::new(),
            issued: BTreeMap::new(),
            updated_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    pub fn balance(&self, currency: Currency) -> MinorUnits {
        self.balances
            .get(&currency)
            .copied()
            .unwrap_or(MinorUnits::ZERO)
    }

    /// Folds one event; amounts were checked by `decide`, so the arithmetic saturates rather
    /// than fails (evolve is total).
    pub fn apply(&mut self, event: &CreditEvent) {
        match event {
            CreditEvent::CreditIssued(e) => {
                let balance = self.balances.entry(e.currency).or_default();
                *balance = balance.checked_add(e.amount_minor).unwrap_or(*balance);
                let issued = self.issued.entry(e.currency).or_default();
                *issued = issued.checked_add(e.amount_minor).unwrap_or(*issued);
                self.updated_at = e.at;
            }
            CreditEvent::CreditSpent(CreditSpent {
                currency,
                amount_minor,
                at,
                ..
            })
            | CreditEvent::CreditExpired(CreditExpired {
                currency,
                amount_minor,
                at,
                ..
            }) => {
                let balance = self.balances.entry(*currency).or_default();
                *balance = balance.saturating_sub(*amount_minor);
                self.updated_at = *at;
            }
        }
    }
}

/// Folds one event into a ledger; the first event opens it.
pub fn evolve(state: Option<CreditAccount>, event: &CreditEvent) -> Option<CreditAccount> {
    let mut account = state.unwrap_or_else(|| {
        CreditAccount::empty(match event {
            CreditEvent::CreditIssued(e) => e.buyer_id.clone(),
            CreditEvent::CreditSpent(e) => e.buyer_id.clone(),
            CreditEvent::CreditExpired(e) => e.buyer_id.clone(),
        })
    });
    account.apply(event);
    Some(account)
}

/// What the platform does with a buyer's credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditCommand {
    /// Spend `amount_minor` of `currency`, e.g. for the order `order_id`.
    Spend {
        currency: Currency,
        amount_minor: MinorUnits,
        order_id: Option<OrderId>,
    },
    /// Expire `amount_minor` of `currency`, or all of its balance when `None`.
    Expire {
        currency: Currency,
        amount_minor: Option<MinorUnits>,
    },
}

/// The actions of [`CreditCommand`], as rejections name them.
pub const SPEND: &str = "spend store credit";
pub const EXPIRE: &str = "expire store credit";

impl CreditCommand {
    pub fn action(&self) -> &'static str {
        match self {
            CreditCommand::Spend { .. } => SPEND,
            CreditCommand::Expire { .. } => EXPIRE,
        }
    }
}

/// Who may read a buyer's credit: the buyer, operators and the platform. Another buyer is told
/// it does not exist (404); sellers never see credit (403).
pub fn check_read(buyer_id: &BuyerId, actor: &Actor) -> Result<(), Rejection> {
    match actor.role {
        Role::Buyer if actor.id == buyer_id.as_str() => Ok(()),
        Role::Buyer => Err(Rejection::NotFound("no such buyer".to_owned())),
        Role::Seller => Err(Rejection::Forbidden {
            action: "read store credit",
            role: actor.role,
        }),
        Role::Operator | Role::Platform | Role::System => Ok(()),
    }
}

/// Whether `actor` may move `buyer_id`'s credit (`action`): only the platform; another buyer is
/// told the buyer does not exist.
pub fn authorize_move(
    buyer_id: &BuyerId,
    actor: &Actor,
    action: &'static str,
) -> Result<(), Rejection> {
    check_read(buyer_id, actor)?;
    if actor.role != Role::Platform {
        return Err(Rejection::Forbidden {
            action,
            role: actor.role,
        });
    }
    Ok(())
}

/// Decides a platform command on `buyer_id`'s credit (`state` is `None` while none was ever
/// issued). The balance of a currency never goes below 0.
pub fn decide(
    state: Option<&CreditAccount>,
    buyer_id: &BuyerId,
    command: &CreditCommand,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<CreditEvent>, Rejection> {
    authorize_move(buyer_id, actor, command.action())?;
    let (currency, requested) = match command {
        CreditCommand::Spend {
            currency,
            amount_minor,
            ..
        } => (*currency, Some(*amount_minor)),
        CreditCommand::Expire {
            currency,
            amount_minor,
        } => (*currency, *amount_minor),
    };
    let held = state.is_some_and(|s| s.balances.contains_key(&currency));
    let balance = state.map_or(MinorUnits::ZERO, |s| s.balance(currency));
    let mut checks = Checks::new();
    checks.check(
        held,
        "currency",
        format!("the buyer holds no store credit in {currency}"),
    );
    if let Some(amount) = requested {
        checks.check(!amount.is_zero(), "amount_minor", "must be above 0");
        if held {
            checks.check(
                amount <= balance,
                "amount_minor",
                format!("exceeds the balance in {currency} ({balance})"),
            );
        }
    }
    checks.finish()?;
    let amount = requested.unwrap_or(balance);
    let buyer_id = buyer_id.clone();
    Ok(match command {
        CreditCommand::Spend { order_id, .. } => vec![CreditEvent::CreditSpent(CreditSpent {
            buyer_id,
            currency,
            amount_minor: amount,
            order_id: order_id.clone(),
            at: now,
        })],
        // Expiring a balance that is already 0 changes nothing.
        CreditCommand::Expire { .. } if amount.is_zero() => Vec::new(),
        CreditCommand::Expire { .. } => vec![CreditEvent::CreditExpired(CreditExpired {
            buyer_id,
            currency,
            amount_minor: amount,
            at: now,
        })],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn minor(n: i64) -> MinorUnits {
        MinorUnits::new(n).unwrap()
    }

    fn buyer() -> BuyerId {
        BuyerId::parse("buyer-1").unwrap()
    }

    fn issued(amount: i64) -> CreditEvent {
        CreditEvent::CreditIssued(CreditIssued {
            buyer_id: buyer(),
            currency: eur(),
            amount_minor: minor(amount),
            principal_minor: minor(amount),
            bonus_minor: MinorUnits::ZERO,
            return_id: ReturnId::from_uuid(uuid::Uuid::nil()),
            at: DateTime::<Utc>::UNIX_EPOCH,
        })
    }

    fn platform() -> Actor {
        Actor::new(Role::Platform, "marketplace")
    }

    fn spend(amount: i64) -> CreditCommand {
        CreditCommand::Spend {
            currency: eur(),
            amount_minor: minor(amount),
            order_id: None,
        }
    }

    #[test]
    fn a_balance_never_goes_below_zero() {
        let account = evolve(None, &issued(1000)).unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let events = decide(Some(&account), &buyer(), &spend(600), &platform(), now).unwrap();
        let account = events.iter().fold(Some(account), evolve).unwrap();
        assert_eq!(account.balance(eur()), minor(400));
        let refused = decide(Some(&account), &buyer(), &spend(401), &platform(), now);
        assert_eq!(refused.unwrap_err().code(), "validation_failed");
        let all = CreditCommand::Expire {
            currency: eur(),
            amount_minor: None,
        };
        let events = decide(Some(&account), &buyer(), &all, &platform(), now).unwrap();
        let account = events.iter().fold(Some(account), evolve).unwrap();
        assert_eq!(account.balance(eur()), MinorUnits::ZERO);
        assert_eq!(account.issued[&eur()], minor(1000));
        // Nothing left to expire: nothing happens.
        assert!(decide(Some(&account), &buyer(), &all, &platform(), now)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn every_credit_event_round_trips_through_its_stored_form() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let events = [
            issued(1000),
            CreditEvent::CreditSpent(CreditSpent {
                buyer_id: buyer(),
                currency: eur(),
                amount_minor: minor(10),
                order_id: Some(OrderId::parse("o-1").unwrap()),
                at,
            }),
            CreditEvent::CreditExpired(CreditExpired {
                buyer_id: buyer(),
                currency: eur(),
                amount_minor: minor(10),
                at,
            }),
        ];
        for event in &events {
            let back = CreditEvent::from_stored(event.event_type(), 1, event.to_data()).unwrap();
            assert_eq!(&back, event);
        }
        let types: Vec<&str> = events.iter().map(CreditEvent::event_type).collect();
        assert_eq!(types, CreditEvent::TYPES);
    }

    #[test]
    fn only_the_platform_moves_credit_and_only_in_a_held_currency() {
        let account = evolve(None, &issued(1000)).unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        for (actor, code) in [
            (Actor::buyer("buyer-1"), "forbidden"),
            (Actor::new(Role::Operator, "op-1"), "forbidden"),
            (Actor::new(Role::Seller, "seller-1"), "forbidden"),
            (Actor::buyer("buyer-2"), "not_found"),
        ] {
            let refused = decide(Some(&account), &buyer(), &spend(1), &actor, now);
            assert_eq!(refused.unwrap_err().code(), code);
        }
        let usd = CreditCommand::Spend {
            currency: Currency::parse("USD").unwrap(),
            amount_minor: minor(1),
            order_id: None,
        };
        let refused = decide(Some(&account), &buyer(), &usd, &platform(), now).unwrap_err();
        assert_eq!(refused.field_errors()[0].field, "currency");
        let refused = decide(None, &buyer(), &spend(1), &platform(), now).unwrap_err();
        assert_eq!(refused.field_errors()[0].field, "currency");
    }
}
