//! Policy evaluation: is a return eligible, under which rule, and at what cost to the buyer.
//!
//! `evaluate` combines the seller's policy (the version in force for the order) with the legal floor
//! of the order's jurisdiction (see `law`) and applies whichever is more generous. Every ground that
//! makes the return eligible is named in `rules`, as is every rule that blocked or charged it, so the
//! buyer, the seller and an operator can see why.
//!
//! Rule names: `eu_withdrawal_14d`, `eu_conformity_2y`, `seller_window_{N}d` (N = the seller's
//! window in days), `not_yet_delivered`, `non_returnable_category` (a seller-declared category),
//! `legal_exception_category` (a category excluded from EU withdrawal), `outside_return_window`,
//! `restocking_fee_{P}pct`, `eu_refund_14d`, and `exception_{rule}` for each goodwill exception
//! applied.
//!
//! Decisions where the API is silent:
//! - Windows count from the order's delivery. Before a delivery is known no window has started, so
//!   every reason is inside it (`not_yet_delivered` is named and `window_ends` is unknown); this also
//!   lets `not_received` and `arrived_late` claims be made before delivery, and matches EU law, which
//!   lets a consumer withdraw before the goods arrive.
//! - A return is judged as a whole: if any item's category is blocked for a ground, that ground does
//!   not apply to the return (the buyer can return the other items separately).
//! - The restocking fee is `floor(items total × P / 100)`, for `changed_mind` only, and never where
//!   the EU withdrawal right applies or a `restocking_fee` exception was granted. It is computed for
//!   ineligible returns too, as what would be charged if the seller takes the return anyway.
//! - The buyer pays return shipping when the policy says so for the reason, except where the EU
//!   conformity guarantee applies (such returns are free of charge for the consumer). The
//!   policy's `return_shipping_fee_minor` is then deducted from the refund (rule
//!   `return_shipping_fee`), never below 0; the EU withdrawal right allows it (the consumer bears
//!   the direct cost of returning the goods, directive 2011/83/EU art. 14(1)).
//! - The refund is due `refund_due_days` after the request: 14 in the EU (law), and 14 elsewhere
//!   (the API's policy has no field for it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar;
use crate::error::{Checks, Rejection};
use crate::law;
use crate::methods::{BuyerPays, MethodKind};
use crate::money::MinorUnits;
use crate::order::{ItemRequest, Order};
use crate::policy::SellerPolicy;
use crate::returns::ExceptionRule;
use crate::taxonomy::Reason;

/// The refund deadline outside the EU, in days after the request.
pub const DEFAULT_REFUND_DUE_DAYS: u32 = 14;

/// The outcome of evaluating a return request against policy and law.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvaluation {
    pub eligible: bool,
    pub rules: Vec<String>,
    /// The end of the latest window that makes the return eligible, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ends: Option<DateTime<Utc>>,
    /// What the buyer paid for the items in the return.
    pub items_total_minor: MinorUnits,
    pub restocking_fee_percent: u32,
    pub restocking_fee_minor: MinorUnits,
    /// Items total minus the restocking fee and the return shipping fee: what the buyer asks back.
    pub requested_amount_minor: MinorUnits,
    pub buyer_pays_return_shipping: bool,
    /// What the return label costs the buyer, deducted from the refund (absent in evaluations made
    /// before the policy had the fee: 0).
    #[serde(default)]
    pub return_shipping_fee_minor: MinorUnits,
    pub refund_due_days: u32,
    /// The seller policy version the evaluation used.
    pub policy_version: u64,
}

/// Evaluates a return of `items` of `order` for `reason`, requested at `now`.
///
/// Fails only on items that do not name lines of the order, or on totals too large to represent.
pub fn evaluate(
    order: &Order,
    policy: &SellerPolicy,
    items: &[ItemRequest],
    reason: Reason,
    now: DateTime<Utc>,
) -> Result<PolicyEvaluation, Rejection> {
    evaluate_with_exceptions(order, policy, items, reason, now, &[])
}

/// `evaluate`, with goodwill exceptions granted on the return waiving the named rules. Re-evaluating
/// after an exception uses the original request time as `requested_at`.
pub fn evaluate_with_exceptions(
    order: &Order,
    policy: &SellerPolicy,
    items: &[ItemRequest],
    reason: Reason,
    requested_at: DateTime<Utc>,
    exceptions: &[ExceptionRule],
) -> Result<PolicyEvaluation, Rejection> {
    let method = policy.default_method();
    evaluate_request(
        order,
        policy,
        items,
        reason,
        requested_at,
        exceptions,
        method,
    )
}

/// `evaluate_with_exceptions` for a return sent back by `method`: its terms say who pays the
/// return shipping and what it costs the buyer.
pub fn evaluate_request(
    order: &Order,
    policy: &SellerPolicy,
    items: &[ItemRequest],
    reason: Reason,
    requested_at: DateTime<Utc>,
    exceptions: &[ExceptionRule],
    method: MethodKind,
) -> Result<PolicyEvaluation, Rejection> {
    let waived = |rule: ExceptionRule| exceptions.contains(&rule);

    let mut checks = Checks::new();
    let mut total = MinorUnits::ZERO;
    let mut categories = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(line) = order.line(&item.line_id) else {
            checks.fail(format!("items[{i}].line_id"), "is not a line of this order");
            continue;
        };
        match line
            .unit_price_minor
            .checked_mul(item.quantity)
            .and_then(|v| total.checked_add(v))
        {
            Ok(sum) => total = sum,
            Err(_) => checks.fail(format!("items[{i}].quantity"), "the amount is too large"),
        }
        categories.push(&line.category);
    }
    checks.finish()?;

    let eu = order.jurisdiction.is_eu();
    let delivered_at = order.delivered_at;
    let inside = |end: Option<DateTime<Utc>>| end.is_none_or(|end| requested_at <= end);

    // The seller's window: blocked by a seller-declared category unless waived.
    let seller_category_blocked = categories.iter().any(|c| policy.is_non_returnable(c));
    let seller_blocked = seller_category_blocked && !waived(ExceptionRule::NonReturnableCategory);
    let seller_end = delivered_at.map(|d| calendar::add_days(d, policy.return_window_days));
    let seller_in_time = waived(ExceptionRule::ReturnWindow) || inside(seller_end);
    let seller_ok = !seller_blocked && seller_in_time;

    // EU withdrawal: any reason, blocked only by the legal exception categories.
    let legal_blocked = eu
        && categories
            .iter()
            .any(|c| law::is_legal_exception_category(c));
    let withdrawal_end = delivered_at.map(law::withdrawal_ends);
    let withdrawal_ok = eu && !legal_blocked && inside(withdrawal_end);

    // EU conformity: never blocked by category or the seller's window.
    let conformity_end = delivered_at.map(law::conformity_ends);
    let conformity_ok = eu && reason.is_conformity() && inside(conformity_end);

    let eligible = withdrawal_ok || conformity_ok || seller_ok;

    let mut rules = Vec::new();
    if withdrawal_ok {
        rules.push("eu_withdrawal_14d".to_owned());
    }
    if conformity_ok {
        rules.push("eu_conformity_2y".to_owned());
    }
    if seller_ok {
        rules.push(format!("seller_window_{}d", policy.return_window_days));
    }
    if delivered_at.is_none() {
        rules.push("not_yet_delivered".to_owned());
    }
    if seller_blocked {
        rules.push("non_returnable_category".to_owned());
    }
    if legal_blocked {
        rules.push("legal_exception_category".to_owned());
    }
    let expired = |category_blocked: bool, applies: bool, in_time: bool| {
        applies && !category_blocked && !in_time
    };
    let timed_out = expired(seller_blocked, true, seller_in_time)
        || expired(legal_blocked, eu, inside(withdrawal_end))
        || expired(false, eu && reason.is_conformity(), inside(conformity_end));
    if !eligible && timed_out {
        rules.push("outside_return_window".to_owned());
    }

    let window_ends = [
        (withdrawal_ok, withdrawal_end),
        (conformity_ok, conformity_end),
        // A waived window has no end worth showing.
        (
            seller_ok && !waived(ExceptionRule::ReturnWindow),
            seller_end,
        ),
    ]
    .into_iter()
    .filter_map(|(applies, end)| if applies { end } else { None })
    .max();

    let fee_applies = reason == Reason::ChangedMind
        && policy.restocking_fee_percent > 0
        && !withdrawal_ok
        && !waived(ExceptionRule::RestockingFee);
    let (restocking_fee_percent, restocking_fee_minor) = if fee_applies {
        rules.push(format!(
            "restocking_fee_{}pct",
            policy.restocking_fee_percent
        ));
        let fee = total
            .percent(policy.restocking_fee_percent)
            .map_err(|_| Rejection::field("items", "the amount is too large"))?;
        (policy.restocking_fee_percent, fee)
    } else {
        (0, MinorUnits::ZERO)
    };

    if eligible && eu {
        rules.push("eu_refund_14d".to_owned());
    }
    for rule in ExceptionRule::ALL {
        if waived(*rule) {
            rules.push(format!("exception_{}", rule.as_str()));
        }
    }

    // The buyer pays return shipping where the method's terms say so (for the reason, or always),
    // never under the conformity guarantee; its price is deducted from the refund, never below 0.
    // A method the policy does not list costs what the policy's mail label costs.
    let terms = policy.method_terms(method);
    let by_terms = match terms.map_or(BuyerPays::ByReason, |t| t.buyer_pays) {
        BuyerPays::ByReason => policy.buyer_pays_return_shipping(reason),
        BuyerPays::Never => false,
        BuyerPays::Always => true,
    };
    let buyer_pays_return_shipping = by_terms && !conformity_ok;
    let after_fee = total.saturating_sub(restocking_fee_minor);
    let method_fee = terms
        .and_then(|t| t.fee_minor)
        .unwrap_or(policy.return_shipping_fee_minor);
    let return_shipping_fee_minor = if buyer_pays_return_shipping {
        method_fee.min(after_fee)
    } else {
        MinorUnits::ZERO
    };
    if !return_shipping_fee_minor.is_zero() {
        rules.push("return_shipping_fee".to_owned());
    }

    Ok(PolicyEvaluation {
        eligible,
        rules,
        window_ends,
        items_total_minor: total,
        restocking_fee_percent,
        restocking_fee_minor,
        requested_amount_minor: after_fee.saturating_sub(return_shipping_fee_minor),
        buyer_pays_return_shipping,
        return_shipping_fee_minor,
        refund_due_days: if eu {
            law::EU_REFUND_DAYS
        } else {
            DEFAULT_REFUND_DUE_DAYS
        },
        policy_version: order.policy_version,
    })
}
