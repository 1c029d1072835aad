//! Eligibility under seller policy and law (`evaluate`).

use returns_domain::order::OrderLine;
use returns_domain::returns::ExceptionRule;
use returns_domain::*;

use crate::harness::*;

fn policy_with(change: impl FnOnce(&mut SellerPolicy)) -> SellerPolicy {
    let mut policy = SellerPolicy::default();
    change(&mut policy);
    policy
}

fn eval(order: &Order, policy: &SellerPolicy, reason: Reason) -> PolicyEvaluation {
    evaluate(order, policy, &items(&[("L1", 1)]), reason, now()).unwrap()
}

fn order_with_lines(jurisdiction: &str, delivered_days_ago: i64, lines: Vec<OrderLine>) -> Order {
    register(order_details(
        jurisdiction,
        Some(now() - days(delivered_days_ago)),
        lines,
    ))
}

#[test]
fn eu_changed_mind_after_14_days_outside_a_10_day_window_is_not_eligible() {
    let order = order_in("DE", Some(20));
    let policy = policy_with(|p| p.return_window_days = 10);
    let evaluation = eval(&order, &policy, Reason::ChangedMind);
    assert!(!evaluation.eligible);
    assert_eq!(evaluation.rules, ["outside_return_window"]);
    assert_eq!(evaluation.window_ends, None);
}

#[test]
fn eu_changed_mind_within_14_days_is_eligible_by_law_without_restocking_fee() {
    let order = order_in("DE", Some(12));
    let policy = policy_with(|p| {
        p.return_window_days = 10;
        p.restocking_fee_percent = 10;
    });
    let evaluation = eval(&order, &policy, Reason::ChangedMind);
    assert!(evaluation.eligible);
    assert_eq!(evaluation.rules, ["eu_withdrawal_14d", "eu_refund_14d"]);
    assert_eq!(evaluation.restocking_fee_minor, MinorUnits::ZERO);
    assert_eq!(evaluation.requested_amount_minor, minor(2500));
    assert_eq!(evaluation.window_ends, Some(now() - days(12) + days(14)));
    assert_eq!(evaluation.refund_due_days, 14);
}

#[test]
fn eu_conformity_covers_a_defect_a_year_after_delivery() {
    let order = order_in("FR", Some(365));
    let evaluation = eval(&order, &SellerPolicy::default(), Reason::Defective);
    assert!(evaluation.eligible);
    assert_eq!(evaluation.rules, ["eu_conformity_2y", "eu_refund_14d"]);
    assert_eq!(evaluation.window_ends, Some(t("2027-11-25T10:00:00Z")));
    // Conformity returns are free for the buyer even if the seller lists the reason.
    let policy = policy_with(|p| p.buyer_pays_return_shipping_for = vec![Reason::Defective]);
    assert!(!eval(&order, &policy, Reason::Defective).buyer_pays_return_shipping);
}

#[test]
fn eu_conformity_ends_after_two_years() {
    let order = order_in("FR", Some(800));
    let evaluation = eval(&order, &SellerPolicy::default(), Reason::NotAsDescribed);
    assert!(!evaluation.eligible);
    assert_eq!(evaluation.rules, ["outside_return_window"]);
}

#[test]
fn outside_the_eu_only_the_seller_window_counts() {
    let order = order_in("US", Some(365));
    assert!(!eval(&order, &SellerPolicy::default(), Reason::Defective).eligible);
    let order = order_in("US", Some(29));
    let evaluation = eval(&order, &SellerPolicy::default(), Reason::ChangedMind);
    assert!(evaluation.eligible);
    assert_eq!(evaluation.rules, ["seller_window_30d"]);
    assert_eq!(evaluation.window_ends, Some(now() + days(1)));
    assert!(evaluation.buyer_pays_return_shipping);
    assert!(!eval(&order, &SellerPolicy::default(), Reason::Defective).buyer_pays_return_shipping);
}

#[test]
fn both_grounds_are_named_when_both_apply() {
    let order = order_in("IT", Some(3));
    let evaluation = eval(&order, &SellerPolicy::default(), Reason::Defective);
    assert_eq!(
        evaluation.rules,
        [
            "eu_withdrawal_14d",
            "eu_conformity_2y",
            "seller_window_30d",
            "eu_refund_14d"
        ]
    );
    // The latest window is the one shown.
    assert_eq!(evaluation.window_ends, Some(t("2028-11-22T10:00:00Z")));
}

#[test]
fn a_seller_declared_category_blocks_the_seller_window_only() {
    let policy =
        policy_with(|p| p.non_returnable_categories = vec![Category::parse("apparel").unwrap()]);
    let us = order_in("US", Some(3));
    let evaluation = eval(&us, &policy, Reason::ChangedMind);
    assert!(!evaluation.eligible);
    assert_eq!(evaluation.rules, ["non_returnable_category"]);
    // In the EU the law overrides the seller's list within 14 days...
    let eu = order_in("NL", Some(3));
    let evaluation = eval(&eu, &policy, Reason::ChangedMind);
    assert!(evaluation.eligible);
    assert_eq!(
        evaluation.rules,
        [
            "eu_withdrawal_14d",
            "non_returnable_category",
            "eu_refund_14d"
        ]
    );
    // ...and conformity always does.
    let late = order_in("NL", Some(100));
    assert!(eval(&late, &policy, Reason::Defective).eligible);
    assert!(!eval(&late, &policy, Reason::ChangedMind).eligible);
}

#[test]
fn legal_exception_categories_block_eu_withdrawal_but_not_conformity() {
    let lines = vec![line("L1", "personalised", 1, 4000)];
    let order = order_with_lines("DE", 3, lines.clone());
    let policy = policy_with(|p| {
        p.non_returnable_categories = vec![Category::parse("personalised").unwrap()]
    });
    let evaluation = eval(&order, &policy, Reason::ChangedMind);
    assert!(!evaluation.eligible);
    assert_eq!(
        evaluation.rules,
        ["non_returnable_category", "legal_exception_category"]
    );
    let evaluation = eval(&order, &policy, Reason::Defective);
    assert!(evaluation.eligible);
    assert_eq!(
        evaluation.rules,
        [
            "eu_conformity_2y",
            "non_returnable_category",
            "legal_exception_category",
            "eu_refund_14d"
        ]
    );
    // A legal exception category the seller did not list stays returnable under the seller window.
    let evaluation = eval(&order, &SellerPolicy::default(), Reason::ChangedMind);
    assert!(evaluation.eligible);
    assert_eq!(
        evaluation.rules,
        [
            "seller_window_30d",
            "legal_exception_category",
            "eu_refund_14d"
        ]
    );
    // Outside the EU the legal list means nothing.
    let us = order_with_lines("US", 3, lines);
    assert_eq!(
        eval(&us, &SellerPolicy::default(), Reason::ChangedMind).rules,
        ["seller_window_30d"]
    );
}

#[test]
fn restocking_fee_applies_to_changed_mind_only() {
    let order = order_in("US", Some(3));
    let policy = policy_with(|p| p.restocking_fee_percent = 10);
    let evaluation = evaluate(
        &order,
        &policy,
        &items(&[("L1", 2)]),
        Reason::ChangedMind,
        now(),
    )
    .unwrap();
    assert_eq!(evaluation.items_total_minor, minor(5000));
    assert_eq!(evaluation.restocking_fee_minor, minor(500));
    assert_eq!(evaluation.requested_amount_minor, minor(4500));
    assert_eq!(
        evaluation.rules,
        ["seller_window_30d", "restocking_fee_10pct"]
    );
    for reason in Reason::ALL.iter().filter(|r| **r != Reason::ChangedMind) {
        let evaluation = evaluate(&order, &policy, &items(&[("L1", 2)]), *reason, now()).unwrap();
        assert_eq!(
            evaluation.restocking_fee_minor,
            MinorUnits::ZERO,
            "{reason}"
        );
        assert_eq!(evaluation.requested_amount_minor, minor(5000));
    }
}

#[test]
fn the_restocking_fee_rounds_down_and_can_be_waived() {
    let order = order_with_lines("US", 3, vec![line("L1", "apparel", 1, 999)]);
    let policy = policy_with(|p| p.restocking_fee_percent = 15);
    let evaluation = eval(&order, &policy, Reason::ChangedMind);
    assert_eq!(evaluation.restocking_fee_minor, minor(149));
    let waived = evaluate_with_exceptions(
        &order,
        &policy,
        &items(&[("L1", 1)]),
        Reason::ChangedMind,
        now(),
        &[ExceptionRule::RestockingFee],
    )
    .unwrap();
    assert_eq!(waived.restocking_fee_minor, MinorUnits::ZERO);
    assert_eq!(
        waived.rules,
        ["seller_window_30d", "exception_restocking_fee"]
    );
}

#[test]
fn exceptions_waive_the_window_and_the_category() {
    let policy =
        policy_with(|p| p.non_returnable_categories = vec![Category::parse("apparel").unwrap()]);
    let order = order_in("US", Some(45));
    let waived = evaluate_with_exceptions(
        &order,
        &policy,
        &items(&[("L1", 1)]),
        Reason::ChangedMind,
        now(),
        &[
            ExceptionRule::ReturnWindow,
            ExceptionRule::NonReturnableCategory,
        ],
    )
    .unwrap();
    assert!(waived.eligible);
    assert_eq!(
        waived.rules,
        [
            "seller_window_30d",
            "exception_return_window",
            "exception_non_returnable_category"
        ]
    );
    assert_eq!(waived.window_ends, None);
}

#[test]
fn before_delivery_every_window_is_open() {
    let order = order_in("US", None);
    for reason in [
        Reason::NotReceived,
        Reason::ArrivedLate,
        Reason::ChangedMind,
    ] {
        let evaluation = eval(&order, &SellerPolicy::default(), reason);
        assert!(evaluation.eligible, "{reason}");
        assert_eq!(evaluation.rules, ["seller_window_30d", "not_yet_delivered"]);
        assert_eq!(evaluation.window_ends, None);
    }
    let eu = order_in("ES", None);
    assert_eq!(
        eval(&eu, &SellerPolicy::default(), Reason::ChangedMind).rules,
        [
            "eu_withdrawal_14d",
            "seller_window_30d",
            "not_yet_delivered",
            "eu_refund_14d"
        ]
    );
}

#[test]
fn window_edges_are_inclusive() {
    let order = order_in("US", Some(30));
    assert!(eval(&order, &SellerPolicy::default(), Reason::SizeFit).eligible);
    let order = register(order_details(
        "US",
        Some(now() - days(30) - chrono::TimeDelta::seconds(1)),
        default_lines(),
    ));
    assert!(!eval(&order, &SellerPolicy::default(), Reason::SizeFit).eligible);
}

#[test]
fn unknown_lines_are_field_errors() {
    let order = us_order();
    let rejection = evaluate(
        &order,
        &SellerPolicy::default(),
        &items(&[("L9", 1)]),
        Reason::Defective,
        now(),
    )
    .unwrap_err();
    assert_eq!(rejection.field_errors()[0].field, "items[0].line_id");
}

#[test]
fn the_evaluation_records_the_policy_version() {
    assert_eq!(
        eval(&us_order(), &SellerPolicy::default(), Reason::Defective).policy_version,
        1
    );
}

/// docs/product.md, "Who pays return shipping": where the buyer pays it (the policy, for the
/// reason), the label's price is deducted from the refund; never under the EU conformity
/// guarantee, never below 0, and after any restocking fee.
#[test]
fn the_return_shipping_fee_is_deducted_where_the_buyer_pays_shipping() {
    // L1 costs 2500 (`default_lines`).
    let policy = policy_with(|p| p.return_shipping_fee_minor = minor(590));
    let us = order_in("US", Some(5));
    let changed_mind = eval(&us, &policy, Reason::ChangedMind);
    assert!(changed_mind.buyer_pays_return_shipping);
    assert_eq!(changed_mind.return_shipping_fee_minor, minor(590));
    assert_eq!(changed_mind.requested_amount_minor, minor(2500 - 590));
    assert!(changed_mind
        .rules
        .contains(&"return_shipping_fee".to_owned()));

    // A defect: the seller pays shipping, nothing is deducted.
    let defective = eval(&us, &policy, Reason::Defective);
    assert!(!defective.buyer_pays_return_shipping);
    assert_eq!(defective.return_shipping_fee_minor, MinorUnits::ZERO);
    assert_eq!(defective.requested_amount_minor, minor(2500));

    // In the EU, a defect under the conformity guarantee is free even if the policy says the
    // buyer pays for that reason; a change of mind under the withdrawal right may be charged.
    let eu = order_in("DE", Some(5));
    let strict = policy_with(|p| {
        p.return_shipping_fee_minor = minor(590);
        p.buyer_pays_return_shipping_for = vec![Reason::ChangedMind, Reason::Defective];
    });
    assert_eq!(
        eval(&eu, &strict, Reason::Defective).return_shipping_fee_minor,
        MinorUnits::ZERO
    );
    assert_eq!(
        eval(&eu, &strict, Reason::ChangedMind).requested_amount_minor,
        minor(2500 - 590)
    );

    // After a restocking fee, and never below 0.
    let both = policy_with(|p| {
        p.return_shipping_fee_minor = minor(5000);
        p.restocking_fee_percent = 20;
    });
    let charged = eval(&us, &both, Reason::ChangedMind);
    assert_eq!(charged.restocking_fee_minor, minor(500));
    assert_eq!(charged.return_shipping_fee_minor, minor(2000));
    assert_eq!(charged.requested_amount_minor, MinorUnits::ZERO);
}
