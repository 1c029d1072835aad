//! Policy what-if (docs/product.md, "Policy what-if"): how a seller's past returns would have
//! fared under a proposed policy, each judged as it was requested (same order, items, reason and
//! time, same goodwill exceptions) under the proposed policy and the law of its order's
//! jurisdiction.
//!
//! What was is read from the return; what would have been is computed by the same rules the service
//! applies at opening (`evaluate`, `intake_for`). What the parties would then have done is
//! estimated, and the estimate is simple and stated:
//! - the refund: a return settled without the seller (returnless) would have been refunded its new
//!   requested amount; a return refunded in full would have been refunded its new requested
//!   amount; a partial refund stands, capped by the new requested amount; a return that was not
//!   refunded stays unrefunded.
//! - a dispute: none where the request would have been settled without the seller; otherwise a
//!   return that was disputed stays disputed, and one that was eligible and would no longer be is
//!   expected to be disputed (the seller may refuse it, and refusals are contested).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Rejection;
use crate::evaluation::{evaluate_request, PolicyEvaluation};
use crate::money::{Currency, MinorUnits};
use crate::order::Order;
use crate::policy::SellerPolicy;
use crate::returns::{intake_for, ApprovalSource, Intake, Outcome, ReturnCase};
use crate::taxonomy::Reason;

/// The longest period one what-if covers, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// The most returns one what-if replays.
pub const MAX_RETURNS: i64 = 50_000;

/// How a return fared, or would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    pub eligible: bool,
    pub intake: Intake,
    /// The rules that applied (docs/api.md, "The return view").
    pub rules: Vec<String>,
    pub restocking_fee_minor: MinorUnits,
    pub return_shipping_fee_minor: MinorUnits,
    pub requested_amount_minor: MinorUnits,
    /// Refunded (what was), or expected to be (what would have been).
    pub refund_minor: MinorUnits,
    /// Disputed (what was), or expected to be.
    pub disputed: bool,
}

impl Settlement {
    fn fees(&self) -> MinorUnits {
        self.restocking_fee_minor
            .checked_add(self.return_shipping_fee_minor)
            .unwrap_or(self.restocking_fee_minor)
    }

    fn settled_without_seller(&self) -> bool {
        self.intake != Intake::ToSeller
    }
}

/// One return, as it was and as it would have been.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnWhatIf {
    pub return_id: String,
    pub rma: String,
    pub created_at: DateTime<Utc>,
    pub currency: Currency,
    pub reason: Reason,
    pub outcome: Option<Outcome>,
    pub actual: Settlement,
    pub proposed: Settlement,
    /// What differs: `eligibility`, `intake`, `fees`, `refund`, `dispute`.
    pub changes: Vec<&'static str>,
}

/// How the seller's request was handled at opening, read from the return.
fn actual_intake(case: &ReturnCase) -> Intake {
    let auto = case
        .authorization
        .as_ref()
        .is_some_and(|a| a.source == ApprovalSource::Auto);
    if auto {
        Intake::AutoApproved
    } else if case.policy.auto_approved {
        Intake::Returnless
    } else {
        Intake::ToSeller
    }
}

fn settlement_of(evaluation: &PolicyEvaluation) -> (bool, Vec<String>, [MinorUnits; 3]) {
    (
        evaluation.eligible,
        evaluation.rules.clone(),
        [
            evaluation.restocking_fee_minor,
            evaluation.return_shipping_fee_minor,
            evaluation.requested_amount_minor,
        ],
    )
}

/// `case` (on `order`, judged by `policy`) as it was, and as it would have been under `proposed`.
pub fn what_if(
    case: &ReturnCase,
    order: &Order,
    policy: &SellerPolicy,
    proposed: &SellerPolicy,
) -> Result<ReturnWhatIf, Rejection> {
    let exceptions: Vec<_> = case.exceptions.iter().map(|e| e.rule).collect();
    let items = case.item_requests();
    let before = &case.policy.evaluation;
    // The method the buyer chose, if the proposal still offers it; else the proposal's default.
    let kind = case.return_method.kind();
    let kind = if proposed.method_terms(kind).is_some() {
        kind
    } else {
        proposed.default_method()
    };
    let after = evaluate_request(
        order,
        proposed,
        &items,
        case.reason,
        case.created_at,
        &exceptions,
        kind,
    )?;

    let intake = actual_intake(case);
    // A request left to the seller although the policy would have settled it was held back by
    // the buyer's confirmed abuse flag: the proposal would hold it back too.
    let flagged = intake == Intake::ToSeller
        && intake_for(before, policy, case.reason, case.resolution, false) != Intake::ToSeller;
    let (eligible, rules, [restocking, shipping, requested]) = settlement_of(before);
    let actual = Settlement {
        eligible,
        intake,
        rules,
        restocking_fee_minor: restocking,
        return_shipping_fee_minor: shipping,
        requested_amount_minor: requested,
        refund_minor: case.refunded_amount_minor,
        disputed: case.dispute.is_some(),
    };

    let new_intake = intake_for(&after, proposed, case.reason, case.resolution, flagged);
    let (eligible, rules, [restocking, shipping, new_requested]) = settlement_of(&after);
    let refunded_in_full =
        actual.refund_minor >= actual.requested_amount_minor && !actual.refund_minor.is_zero();
    let refund_minor = if new_intake == Intake::Returnless || refunded_in_full {
        new_requested
    } else {
        actual.refund_minor.min(new_requested)
    };
    let disputed = match new_intake {
        Intake::Returnless | Intake::AutoApproved => false,
        Intake::ToSeller => actual.disputed || (actual.eligible && !eligible),
    };
    let proposed = Settlement {
        eligible,
        intake: new_intake,
        rules,
        restocking_fee_minor: restocking,
        return_shipping_fee_minor: shipping,
        requested_amount_minor: new_requested,
        refund_minor,
        disputed,
    };

    let changes = [
        ("eligibility", actual.eligible != proposed.eligible),
        ("intake", actual.intake != proposed.intake),
        ("fees", actual.fees() != proposed.fees()),
        ("refund", actual.refund_minor != proposed.refund_minor),
        ("dispute", actual.disputed != proposed.disputed),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect();

    Ok(ReturnWhatIf {
        return_id: case.id.to_string(),
        rma: case.rma.as_str().to_owned(),
        created_at: case.created_at,
        currency: case.currency,
        reason: case.reason,
        outcome: case.outcome,
        actual,
        proposed,
        changes,
    })
}

/// Counts and amounts over a set of returns, as they were or would have been. Amounts are per
/// currency, never added across currencies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub eligible: u64,
    /// Settled without the seller: authorised at once or refunded returnless.
    pub settled_without_seller: u64,
    pub returnless: u64,
    pub disputes: u64,
    pub fees_by_currency: BTreeMap<Currency, MinorUnits>,
    pub refunds_by_currency: BTreeMap<Currency, MinorUnits>,
}

impl Figures {
    fn add(&mut self, currency: Currency, s: &Settlement) {
        self.eligible += u64::from(s.eligible);
        self.settled_without_seller += u64::from(s.settled_without_seller());
        self.returnless += u64::from(s.intake == Intake::Returnless);
        self.disputes += u64::from(s.disputed);
        for (map, amount) in [
            (&mut self.fees_by_currency, s.fees()),
            (&mut self.refunds_by_currency, s.refund_minor),
        ] {
            let total = map.entry(currency).or_default();
            *total = total.checked_add(amount).unwrap_or(MinorUnits::MAX);
        }
    }
}

/// The totals of a what-if.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WhatIfTotals {
    pub returns: u64,
    /// Returns with at least one change.
    pub changed: u64,
    pub actual: Figures,
    pub proposed: Figures,
}

impl WhatIfTotals {
    pub fn add(&mut self, r: &ReturnWhatIf) {
        self.returns += 1;
        self.changed += u64::from(!r.changes.is_empty());
        self.actual.add(r.currency, &r.actual);
        self.proposed.add(r.currency, &r.proposed);
    }
}
