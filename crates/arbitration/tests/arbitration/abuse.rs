//! Abuse detection on crafted histories: each signal raises its flag, never below the minimum
//! samples, only within the rolling window, and a dismissed flag stays dismissed for the same
//! evidence.

use chrono::{DateTime, Utc};

use returns_arbitration::abuse::{
    evaluate_flags, evaluate_flags_discounting, should_raise, Counter, ExistingFlag, Fact,
    FlagCandidate, FlagKind, FlagStatus, Party, PartyMetrics, PartyRole, PeerGroup, Thresholds,
    DEFAULT_WINDOW_DAYS,
};
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

/// Return `n` of buyer-1 at shop-1, on its own US order delivered `delivered_days_before` days
/// before `at`, requested at `at`, then taken further by `then`.
fn a_return(
    n: u128,
    at: DateTime<Utc>,
    delivered_days_before: i64,
    reason: Reason,
    then: impl FnOnce(Story) -> Story,
) -> Story {
    let order_id = format!("ORD-{n}");
    let order = order_of(
        &order_id,
        "buyer-1",
        "shop-1",
        "US",
        at,
        Some(delivered_days_before),
        "apparel",
    );
    let story = Story::new(order)
        .at(at)
        .positions_from(n as i64 * 1000)
        .step(buyer(), open(n, &order_id, reason));
    then(story)
}

fn opened_only(story: Story) -> Story {
    story
}

fn feed() -> Feed {
    Feed::new(DEFAULT_WINDOW_DAYS)
}

fn flags_of(metrics: &PartyMetrics, feed: &Feed, at: DateTime<Utc>) -> Vec<FlagCandidate> {
    evaluate_flags(metrics, &feed.baseline, &Thresholds::default(), at)
}

fn kinds(flags: &[FlagCandidate]) -> Vec<FlagKind> {
    flags.iter().map(|f| f.kind).collect()
}

fn flag(flags: &[FlagCandidate], kind: FlagKind) -> &FlagCandidate {
    flags
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} among {:?}", kinds(flags)))
}

fn ids(range: std::ops::RangeInclusive<u128>) -> Vec<ReturnId> {
    range.map(return_id).collect()
}

/// A fact about someone else, for the marketplace baseline.
fn elsewhere(role: PartyRole, counter: Counter, n: u128, at: DateTime<Utc>) -> Fact {
    Fact {
        party: Party {
            role,
            id: "someone-else".to_owned(),
        },
        counter,
        at,
        return_id: Some(return_id(90_000 + n)),
        position: None,
        days_left_in_window: None,
    }
}

// --- buyers ------------------------------------------------------------------------------------

#[test]
fn a_serial_returner_is_flagged_against_the_marketplace_baseline() {
    let at = now();
    let mut feed = feed();
    feed.orders(200, "buyer-x", "shop-x", at - days(30));
    for n in 0..10 {
        feed.baseline.record(&elsewhere(
            PartyRole::Buyer,
            Counter::Returns,
            n,
            at - days(20),
        ));
    }
    feed.orders(10, "buyer-1", "shop-1", at - days(40));
    let mut positions = Vec::new();
    for n in 1..=8 {
        let story = a_return(n, at - days(10), 5, Reason::ChangedMind, opened_only);
        positions.push(story.position("return.requested"));
        feed.story(&story);
    }

    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);

    let serial = flag(&flags, FlagKind::SerialReturner);
    assert_eq!(
        serial.party,
        Party::buyer(&BuyerId::parse("buyer-1").unwrap())
    );
    assert_eq!(serial.evidence_return_ids, ids(1..=8));
    assert_eq!(serial.evidence_positions, positions);
    assert_eq!(serial.metrics["count"], 8);
    assert_eq!(serial.metrics["denominator"], 10);
    assert_eq!(serial.metrics["rate"], 0.8);
    // 18 returns over 210 orders marketplace-wide; 2.5 × that is below the 0.5 floor.
    assert_eq!(serial.metrics["baseline_rate"], 0.0857);
    assert_eq!(serial.threshold["effective_min_rate"], 0.5);
    assert_eq!(serial.threshold["min_orders"], 5);
}

#[test]
fn where_everybody_returns_a_lot_the_bar_is_higher() {
    let at = now();
    let mut feed = feed();
    feed.orders(200, "buyer-x", "shop-x", at - days(30));
    for n in 0..100 {
        feed.baseline.record(&elsewhere(
            PartyRole::Buyer,
            Counter::Returns,
            n,
            at - days(20),
        ));
    }
    feed.orders(10, "buyer-1", "shop-1", at - days(40));
    for n in 1..=8 {
        feed.story(&a_return(
            n,
            at - days(10),
            5,
            Reason::ChangedMind,
            opened_only,
        ));
    }

    // 0.8 is below 2.5 × the marketplace's 108/210.
    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);
    assert!(!kinds(&flags).contains(&FlagKind::SerialReturner));
}

#[test]
fn a_new_buyer_with_two_orders_is_never_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(2, "buyer-1", "shop-1", at - days(20));
    for n in 1..=2 {
        feed.story(&a_return(n, at - days(10), 5, Reason::ChangedMind, |s| {
            s.returned()
                .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]))
        }));
    }
    let metrics = feed.buyer("buyer-1");
    assert_eq!(metrics.count(Counter::GradedEmptyBox, at), 2);
    assert_eq!(flags_of(metrics, &feed, at), vec![]);

    // The same record over five orders is a pattern.
    feed.orders(3, "buyer-1", "shop-1", at - days(20));
    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);
    assert_eq!(
        flag(&flags, FlagKind::EmptyBoxReturns).evidence_return_ids,
        ids(1..=2)
    );
}

#[test]
fn wardrobing_is_used_items_returned_just_before_the_window_ends() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(40));
    let used = |story: Story| {
        story
            .returned()
            .step(seller(), inspect(Grade::Used, 1250, vec![photo()]))
    };
    // Delivered 27 days before the request: 3 days left of the 30-day window.
    feed.story(&a_return(1, at - days(10), 27, Reason::SizeFit, used));
    feed.story(&a_return(2, at - days(9), 28, Reason::ChangedMind, used));
    // Early in the window: used, but not wardrobing.
    feed.story(&a_return(3, at - days(8), 5, Reason::ChangedMind, used));

    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);

    let wardrobing = flag(&flags, FlagKind::Wardrobing);
    assert_eq!(wardrobing.evidence_return_ids, ids(1..=2));
    assert_eq!(wardrobing.metrics["count"], 2);
    assert_eq!(wardrobing.threshold["days_left_in_window"], 3);
    assert_eq!(
        flag(&flags, FlagKind::UsedOrDamagedReturns).evidence_return_ids,
        ids(1..=3)
    );
}

#[test]
fn a_used_defective_item_is_not_held_against_the_buyer() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(40));
    for n in 1..=3 {
        feed.story(&a_return(n, at - days(10), 27, Reason::Defective, |s| {
            s.returned()
                .step(seller(), inspect(Grade::Used, 1250, vec![photo()]))
        }));
    }
    let metrics = feed.buyer("buyer-1");
    assert_eq!(metrics.count(Counter::GradedUsed, at), 0);
    assert_eq!(flags_of(metrics, &feed, at), vec![]);
}

#[test]
fn repeated_not_received_claims_are_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(40));
    for n in 1..=2 {
        feed.story(&a_return(
            n,
            at - days(10),
            5,
            Reason::NotReceived,
            opened_only,
        ));
    }
    assert!(flags_of(feed.buyer("buyer-1"), &feed, at).is_empty());

    feed.story(&a_return(
        3,
        at - days(5),
        5,
        Reason::NotReceived,
        opened_only,
    ));
    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);
    assert_eq!(
        flag(&flags, FlagKind::RepeatedNotReceived).evidence_return_ids,
        ids(1..=3)
    );
}

#[test]
fn returnless_refunds_count_when_paid() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(40));
    let approved: Vec<Story> = (1..=3)
        .map(|n| {
            a_return(n, at - days(10), 5, Reason::ChangedMind, |s| {
                s.step(seller(), accept_returnless())
            })
        })
        .collect();
    for story in &approved {
        feed.story(story);
    }
    assert!(
        !kinds(&flags_of(feed.buyer("buyer-1"), &feed, at)).contains(&FlagKind::ReturnlessRefunds)
    );

    let mut paid = Feed::new(DEFAULT_WINDOW_DAYS);
    paid.orders(5, "buyer-1", "shop-1", at - days(40));
    for story in approved {
        paid.story(&story.step(platform(), pay(2500)));
    }
    let flags = flags_of(paid.buyer("buyer-1"), &paid, at);
    assert_eq!(
        flag(&flags, FlagKind::ReturnlessRefunds).evidence_return_ids,
        ids(1..=3)
    );
}

#[test]
fn a_buyer_who_loses_most_disputes_is_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(40));
    for n in 1..=3 {
        feed.story(&a_return(n, at - days(10), 5, Reason::ChangedMind, |s| {
            s.step(seller(), decline(vec![]))
                .step(buyer(), escalate())
                .step(operator(), side_with_seller())
        }));
    }

    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);
    let lost = flag(&flags, FlagKind::DisputesLost);
    assert_eq!(lost.metrics["count"], 3);
    assert_eq!(lost.metrics["per"], "disputes_decided");
    // The seller won them all: nothing against it.
    assert!(flags_of(feed.seller("shop-1"), &feed, at).is_empty());
}

// --- sellers -----------------------------------------------------------------------------------

#[test]
fn a_seller_with_many_not_as_described_returns_is_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(20, "buyer-1", "shop-1", at - days(40));
    let reasons = [
        Reason::NotAsDescribed,
        Reason::Defective,
        Reason::NotAsDescribed,
        Reason::Defective,
        Reason::NotAsDescribed,
    ];
    for (n, reason) in (1..).zip(reasons) {
        feed.story(&a_return(n, at - days(10), 5, reason, opened_only));
    }

    let flags = flags_of(feed.seller("shop-1"), &feed, at);
    let nad = flag(&flags, FlagKind::SellerNotAsDescribedRate);
    assert_eq!(nad.evidence_return_ids, ids(1..=5));
    assert_eq!(nad.metrics["rate"], 0.25);
    // Twenty orders marketplace-wide is not yet a baseline.
    assert_eq!(nad.metrics["baseline_rate"], serde_json::Value::Null);
}

#[test]
fn claims_of_a_buyer_flagged_since_do_not_count_against_the_seller() {
    let at = now();
    let mut feed = feed();
    feed.orders(20, "buyer-1", "shop-1", at - days(40));
    for n in 1..=5 {
        feed.story(&a_return(
            n,
            at - days(10),
            5,
            Reason::NotAsDescribed,
            opened_only,
        ));
    }
    // Return 3's buyer has been flagged since: four claims are left, one short of the minimum.
    let discounted = [return_id(3)].into_iter().collect();
    let metrics = feed.seller("shop-1");
    let thresholds = Thresholds::default();
    let flags = evaluate_flags_discounting(metrics, &feed.baseline, &thresholds, at, &discounted);
    assert!(
        !kinds(&flags).contains(&FlagKind::SellerNotAsDescribedRate),
        "{flags:?}"
    );
    // A sixth claim, from another buyer, makes five again; the flag names only the five.
    feed.story(&a_return(
        6,
        at - days(9),
        5,
        Reason::Defective,
        opened_only,
    ));
    let flags = evaluate_flags_discounting(
        feed.seller("shop-1"),
        &feed.baseline,
        &thresholds,
        at,
        &discounted,
    );
    let nad = flag(&flags, FlagKind::SellerNotAsDescribedRate);
    assert_eq!(nad.metrics["count"], 5);
    assert_eq!(
        nad.evidence_return_ids,
        vec![
            return_id(1),
            return_id(2),
            return_id(4),
            return_id(5),
            return_id(6)
        ]
    );
    // Only a seller's claim counts are discounted: the same set changes nothing for a buyer.
    let buyer_flags = evaluate_flags_discounting(
        feed.buyer("buyer-1"),
        &feed.baseline,
        &thresholds,
        at,
        &discounted,
    );
    assert_eq!(
        buyer_flags,
        flags_of(feed.buyer("buyer-1"), &feed, at),
        "buyers are judged on every return"
    );
}

#[test]
fn a_seller_like_its_peers_is_not_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(200, "buyer-x", "shop-x", at - days(30));
    for n in 0..30 {
        feed.baseline.record(&elsewhere(
            PartyRole::Seller,
            Counter::NotAsDescribed,
            n,
            at - days(20),
        ));
    }
    feed.orders(20, "buyer-1", "shop-1", at - days(40));
    for n in 1..=5 {
        feed.story(&a_return(
            n,
            at - days(10),
            5,
            Reason::NotAsDescribed,
            opened_only,
        ));
    }
    // 0.25 against 2 × 35/220: within what peers do.
    assert!(flags_of(feed.seller("shop-1"), &feed, at).is_empty());
}

/// A marketplace whose sellers get 5 not-as-described claims per 100 orders, and shop-1 with
/// `orders` orders of which `claims` were claimed not as described.
fn shop_against_peers(orders: usize, claims: u128) -> (Feed, DateTime<Utc>) {
    let at = now();
    let mut feed = feed();
    feed.orders(5000, "buyer-x", "shop-x", at - days(30));
    for n in 0..250 {
        feed.baseline.record(&elsewhere(
            PartyRole::Seller,
            Counter::NotAsDescribed,
            n,
            at - days(20),
        ));
    }
    feed.orders(orders, "buyer-1", "shop-1", at - days(40));
    for n in 1..=claims {
        feed.story(&a_return(
            n,
            at - days(10),
            5,
            Reason::NotAsDescribed,
            opened_only,
        ));
    }
    (feed, at)
}

#[test]
fn a_small_sample_that_runs_high_against_peers_is_not_yet_a_pattern() {
    // 6 claims in 50 orders (12%) against a bar of 2 × ~5.1%: above it, but a sample that small
    // is not sure to be (its rate's lower bound is about 6%).
    let (feed, at) = shop_against_peers(50, 6);
    assert!(flags_of(feed.seller("shop-1"), &feed, at).is_empty());

    // 15% over 400 orders is: the lower bound (about 12%) clears the bar (2 × ~5.7%).
    let (feed, at) = shop_against_peers(400, 60);
    let flags = flags_of(feed.seller("shop-1"), &feed, at);
    let nad = flag(&flags, FlagKind::SellerNotAsDescribedRate);
    assert_eq!(nad.metrics["rate"], 0.15);
    let lower = nad.metrics["rate_lower_bound"].as_f64().unwrap();
    let bar = nad.threshold["effective_min_rate"].as_f64().unwrap();
    assert!(lower > bar && lower < 0.15, "{lower} against {bar}");
    assert_eq!(nad.threshold["confidence_z"], 1.645);
}

#[test]
fn the_wilson_lower_bound_tightens_with_the_sample() {
    use returns_arbitration::abuse::flags::wilson_lower_bound;
    assert_eq!(wilson_lower_bound(0, 0, 1.645), 0.0);
    assert_eq!(wilson_lower_bound(0, 10, 1.645), 0.0);
    let small = wilson_lower_bound(6, 50, 1.645);
    let large = wilson_lower_bound(60, 500, 1.645);
    assert!(small < large && large < 0.12, "{small} {large}");
    assert!((small - 0.0626).abs() < 0.001, "{small}");
}

#[test]
fn refusals_that_arbitration_overturns_are_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(20, "buyer-1", "shop-1", at - days(40));
    for n in 1..=3 {
        feed.story(&a_return(n, at - days(10), 5, Reason::ChangedMind, |s| {
            s.step(seller(), decline(vec![]))
                .step(buyer(), escalate())
                .step(operator(), decide_refund(2500, true, FundedBy::Seller))
        }));
    }

    let flags = flags_of(feed.seller("shop-1"), &feed, at);
    assert_eq!(
        flag(&flags, FlagKind::SellerRefusalsOverturned).evidence_return_ids,
        ids(1..=3)
    );
    assert!(flags_of(feed.buyer("buyer-1"), &feed, at).is_empty());
}

#[test]
fn missed_deadlines_and_declining_everything_are_flagged() {
    // `missed` missed response deadlines, then `declined` declines, the rest of the 20 returns
    // untouched.
    let shop = |missed: u128, declined: u128| {
        let at = now();
        let mut feed = feed();
        feed.orders(20, "buyer-1", "shop-1", at - days(40));
        for n in 1..=missed {
            feed.story(&a_return(n, at - days(20), 5, Reason::ChangedMind, |s| {
                s.fire(DeadlineKind::SellerResponseDue)
            }));
        }
        for n in missed + 1..=20 {
            feed.story(&a_return(n, at - days(10), 5, Reason::ChangedMind, |s| {
                if n <= missed + declined {
                    s.step(seller(), decline(vec![]))
                } else {
                    s
                }
            }));
        }
        flags_of(feed.seller("shop-1"), &feed, at)
    };

    let flags = shop(10, 10);
    let missed = flag(&flags, FlagKind::SellerMissedDeadlines);
    assert_eq!(missed.evidence_return_ids, ids(1..=10));
    // 10 of 20 is sure to be above 20% (its lower bound is about 32%).
    assert!(missed.metrics["rate_lower_bound"].as_f64().unwrap() > 0.2);
    // Declining half of 20 returns is at the bar, but not surely above it: no flag.
    assert!(
        !kinds(&flags).contains(&FlagKind::SellerDeclineRate),
        "{:?}",
        kinds(&flags)
    );

    let flags = shop(5, 15);
    let declines = flag(&flags, FlagKind::SellerDeclineRate);
    assert_eq!(declines.evidence_return_ids, ids(6..=20));
    assert_eq!(declines.metrics["rate"], 0.75);
    // 5 of 20 (25%) may be an honest shop's bad luck: its lower bound, about 13%, is under 20%.
    assert!(
        !kinds(&flags).contains(&FlagKind::SellerMissedDeadlines),
        "{:?}",
        kinds(&flags)
    );
}

#[test]
fn a_new_seller_is_never_flagged() {
    let at = now();
    let mut feed = feed();
    feed.orders(10, "buyer-1", "shop-1", at - days(40));
    for n in 1..=10 {
        feed.story(&a_return(n, at - days(10), 5, Reason::Defective, |s| {
            s.step(seller(), decline(vec![]))
        }));
    }
    assert!(flags_of(feed.seller("shop-1"), &feed, at).is_empty());

    // The control: the same declines by an established shop are a pattern.
    feed.orders(90, "buyer-2", "shop-1", at - days(60));
    for n in 11..=40 {
        feed.story(&a_return(n, at - days(10), 5, Reason::Defective, |s| {
            s.step(seller(), decline(vec![]))
        }));
    }
    let flags = flags_of(feed.seller("shop-1"), &feed, at);
    assert!(
        kinds(&flags).contains(&FlagKind::SellerDeclineRate),
        "{:?}",
        kinds(&flags)
    );
}

// --- the rolling window --------------------------------------------------------------------------

#[test]
fn facts_leave_the_window_and_the_row_forgets_them() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(10));
    for n in 1..=3 {
        feed.story(&a_return(
            n,
            at - days(10),
            5,
            Reason::NotReceived,
            opened_only,
        ));
    }
    assert_eq!(
        kinds(&flags_of(feed.buyer("buyer-1"), &feed, at)),
        [FlagKind::RepeatedNotReceived]
    );

    // 180 days later the claims are out of the window.
    let later = at + days(175);
    assert_eq!(
        feed.buyer("buyer-1")
            .count(Counter::NotReceivedClaims, later),
        0
    );
    assert!(flags_of(feed.buyer("buyer-1"), &feed, later).is_empty());

    // A fact a year later prunes the row: old buckets and evidence are gone, even when asked about
    // the old days.
    feed.orders(1, "buyer-1", "shop-1", at + days(365));
    let metrics = feed.buyer("buyer-1");
    assert_eq!(metrics.count(Counter::NotReceivedClaims, at), 0);
    assert!(metrics.evidence(Counter::NotReceivedClaims, at).is_empty());
    assert_eq!(metrics.count(Counter::Orders, at + days(365)), 1);
}

#[test]
fn a_metrics_row_round_trips_through_json() {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(10));
    feed.story(&a_return(
        1,
        at - days(5),
        5,
        Reason::NotReceived,
        opened_only,
    ));
    let metrics = feed.buyer("buyer-1");

    let row = serde_json::to_string(metrics).unwrap();
    let back: PartyMetrics = serde_json::from_str(&row).unwrap();
    assert_eq!(&back, metrics);

    let summary = metrics.summary(at);
    assert_eq!(summary["orders"], 5);
    assert_eq!(summary["returns"], 1);
    assert_eq!(summary["not_received_claims"], 1);
    assert_eq!(summary["return_rate"], 0.2);
    assert_eq!(summary["window_days"], 180);
}

#[test]
fn thresholds_read_from_a_partial_document_keep_their_defaults() {
    let thresholds: Thresholds = serde_json::from_value(serde_json::json!({
        "wardrobing_days_left": 5,
        "serial_returner": {"min_count": 10, "min_rate": 0.7}
    }))
    .unwrap();
    assert_eq!(thresholds.wardrobing_days_left, 5);
    assert_eq!(thresholds.serial_returner.min_count, 10);
    assert_eq!(thresholds.serial_returner.baseline_multiple, None);
    assert_eq!(
        thresholds.buyer_samples,
        Thresholds::default().buyer_samples
    );
}

// --- raising flags again -------------------------------------------------------------------------

fn not_received_candidate(claims: u128) -> FlagCandidate {
    let at = now();
    let mut feed = feed();
    feed.orders(5, "buyer-1", "shop-1", at - days(10));
    for n in 1..=claims {
        feed.story(&a_return(
            n,
            at - days(5),
            5,
            Reason::NotReceived,
            opened_only,
        ));
    }
    let flags = flags_of(feed.buyer("buyer-1"), &feed, at);
    flag(&flags, FlagKind::RepeatedNotReceived).clone()
}

fn existing(kind: FlagKind, status: FlagStatus, evidence: Vec<ReturnId>) -> ExistingFlag {
    ExistingFlag {
        kind,
        status,
        evidence_return_ids: evidence,
    }
}

#[test]
fn a_flag_is_raised_once_while_open_or_confirmed() {
    let candidate = not_received_candidate(3);
    assert!(should_raise(&candidate, &[]));
    for status in [FlagStatus::Open, FlagStatus::Confirmed] {
        let flags = [existing(FlagKind::RepeatedNotReceived, status, ids(1..=3))];
        assert!(!should_raise(&candidate, &flags), "{status:?}");
    }
    // Flags of another kind do not stand in its way.
    let other = [existing(
        FlagKind::DisputesLost,
        FlagStatus::Open,
        ids(1..=3),
    )];
    assert!(should_raise(&candidate, &other));
}

#[test]
fn a_dismissed_flag_stays_dismissed_for_the_same_evidence_and_returns_for_new_evidence() {
    let dismissed = [existing(
        FlagKind::RepeatedNotReceived,
        FlagStatus::Dismissed,
        ids(1..=3),
    )];
    assert!(!should_raise(&not_received_candidate(3), &dismissed));

    let with_a_new_claim = not_received_candidate(4);
    assert_eq!(with_a_new_claim.evidence_return_ids, ids(1..=4));
    assert!(should_raise(&with_a_new_claim, &dismissed));

    // Dismissed twice: evidence judged in either dismissal is not new.
    let twice = [
        existing(
            FlagKind::RepeatedNotReceived,
            FlagStatus::Dismissed,
            ids(1..=3),
        ),
        existing(
            FlagKind::RepeatedNotReceived,
            FlagStatus::Dismissed,
            ids(2..=4),
        ),
    ];
    assert!(!should_raise(&with_a_new_claim, &twice));
}

/// A fact about `party` on return `n`, at `at`.
fn fact_on_return(party: &Party, counter: Counter, n: u128, at: DateTime<Utc>) -> Fact {
    Fact {
        party: party.clone(),
        counter,
        at,
        return_id: Some(return_id(n)),
        position: Some(n as i64),
        days_left_in_window: None,
    }
}

/// A seller is judged against the sellers of its main category once their figures reach the
/// evidence floor: a not-as-described rate that is high for the marketplace but ordinary for the
/// category raises nothing (docs/abuse.md, "Marketplace baseline").
#[test]
fn a_seller_is_judged_against_its_categorys_peers() {
    let now = now();
    let fact = |party: &Party, counter: Counter, n: u128| fact_on_return(party, counter, n, now);
    let seller = Party::seller(&SellerId::parse("shop-apparel").unwrap());
    let mut metrics = PartyMetrics::new(seller.clone(), DEFAULT_WINDOW_DAYS);
    metrics.record_categories(["Apparel"]);
    assert_eq!(metrics.main_category(), Some("apparel"));
    // 100 orders, 12 returns not as described (12 %).
    for n in 0..100 {
        metrics.record(&fact(&seller, Counter::Orders, n));
    }
    for n in 0..12 {
        metrics.record(&fact(&seller, Counter::Returns, 1000 + n));
        metrics.record(&fact(&seller, Counter::NotAsDescribed, 1000 + n));
    }
    // The marketplace: 2 % not as described; apparel sellers: 10 %.
    let other = Party::seller(&SellerId::parse("shop-other").unwrap());
    let peer = Party::seller(&SellerId::parse("shop-peer").unwrap());
    let mut marketplace_only = returns_arbitration::abuse::Baseline::new(DEFAULT_WINDOW_DAYS);
    let mut with_peers = returns_arbitration::abuse::Baseline::new(DEFAULT_WINDOW_DAYS);
    for n in 0..2000 {
        let f = fact(&other, Counter::Orders, 10_000 + n);
        marketplace_only.record(&f);
        with_peers.record(&f);
    }
    for n in 0..40 {
        let f = fact(&other, Counter::NotAsDescribed, 20_000 + n);
        marketplace_only.record(&f);
        with_peers.record(&f);
    }
    for n in 0..300 {
        let f = fact(&peer, Counter::Orders, 30_000 + n);
        marketplace_only.record(&f);
        with_peers.record(&f);
        with_peers.record_in_category(&f, "apparel");
    }
    for n in 0..30 {
        let f = fact(&peer, Counter::NotAsDescribed, 40_000 + n);
        marketplace_only.record(&f);
        with_peers.record(&f);
        with_peers.record_in_category(&f, "apparel");
    }
    let kinds = |baseline| -> Vec<FlagKind> {
        evaluate_flags(&metrics, baseline, &Thresholds::default(), now)
            .into_iter()
            .map(|c| c.kind)
            .collect()
    };
    assert!(kinds(&marketplace_only).contains(&FlagKind::SellerNotAsDescribedRate));
    assert!(!kinds(&with_peers).contains(&FlagKind::SellerNotAsDescribedRate));
}

#[test]
fn a_buyer_across_the_catalogue_is_judged_against_the_buyers_of_its_jurisdiction() {
    let now = now();
    let fact = |party: &Party, counter: Counter, n: u128| fact_on_return(party, counter, n, now);
    let buyer = Party::buyer(&BuyerId::parse("buyer-de").unwrap());
    let mut metrics = PartyMetrics::new(buyer.clone(), DEFAULT_WINDOW_DAYS);
    // Ten German orders across the catalogue: no category holds half of the lines.
    metrics.record_categories([
        "home", "home", "home", "home", "Apparel", "apparel", "apparel",
    ]);
    metrics.record_categories(["books", "books", "books"]);
    for _ in 0..10 {
        metrics.record_jurisdiction("de");
    }
    assert_eq!(metrics.main_category(), Some("home"));
    assert_eq!(metrics.main_jurisdiction(), Some("DE"));
    assert_eq!(metrics.peer_groups(), vec![PeerGroup::Jurisdiction("DE")]);
    // Six returns in ten orders.
    for n in 0..10 {
        metrics.record(&fact(&buyer, Counter::Orders, n));
    }
    for n in 0..6 {
        metrics.record(&fact(&buyer, Counter::Returns, 100 + n));
    }
    // Marketplace: 10 % of orders returned; German buyers: 20 %.
    let other = Party::buyer(&BuyerId::parse("buyer-us").unwrap());
    let peer = Party::buyer(&BuyerId::parse("buyer-de-2").unwrap());
    let mut marketplace_only = returns_arbitration::abuse::Baseline::new(DEFAULT_WINDOW_DAYS);
    let mut with_peers = returns_arbitration::abuse::Baseline::new(DEFAULT_WINDOW_DAYS);
    let germany = PeerGroup::Jurisdiction("DE");
    for (party, orders, returns, base) in [(&other, 2000, 180, 10_000), (&peer, 300, 60, 50_000)] {
        for n in 0..orders + returns {
            let counter = if n < orders {
                Counter::Orders
            } else {
                Counter::Returns
            };
            let f = fact(party, counter, base + n);
            marketplace_only.record(&f);
            with_peers.record(&f);
            if party == &peer {
                with_peers.record_in_group(&f, &germany);
            }
        }
    }
    let serial = |baseline| {
        evaluate_flags(&metrics, baseline, &Thresholds::default(), now)
            .into_iter()
            .find(|c| c.kind == FlagKind::SerialReturner)
    };
    // Against the marketplace (10 %, bar 25 %) six in ten is surely above: its lower bound is
    // about 35 %.
    let flagged = serial(&marketplace_only).expect("flagged against the marketplace");
    assert_eq!(flagged.metrics["baseline_scope"], "marketplace");
    // Against German buyers (20 %, bar 50 %) it is not.
    assert_eq!(serial(&with_peers), None);
}

#[test]
fn a_buyer_who_mostly_buys_one_category_is_judged_against_its_buyers_first() {
    let buyer = Party::buyer(&BuyerId::parse("buyer-shoes").unwrap());
    let mut metrics = PartyMetrics::new(buyer, DEFAULT_WINDOW_DAYS);
    metrics.record_categories(["shoes", "shoes", "books"]);
    metrics.record_jurisdiction("FR");
    assert_eq!(
        metrics.peer_groups(),
        vec![PeerGroup::Category("shoes"), PeerGroup::Jurisdiction("FR")]
    );
    // A seller has no jurisdiction group.
    let seller = Party::seller(&SellerId::parse("shop-shoes").unwrap());
    let mut metrics = PartyMetrics::new(seller, DEFAULT_WINDOW_DAYS);
    metrics.record_categories(["shoes"]);
    metrics.record_jurisdiction("FR");
    assert_eq!(metrics.peer_groups(), vec![PeerGroup::Category("shoes")]);
}
