//! Properties over generated histories (run through the domain's `decide`): at every moment the
//! recommended refund stays within what was paid for the items, and the answer is consistent.

use std::collections::BTreeSet;

use proptest::prelude::*;

use returns_arbitration::abuse::FlagKind;
use returns_arbitration::{recommend_at, ConfirmedFlag, PartyStanding};
use returns_domain::policy::OnSellerTimeout;
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

#[derive(Debug, Clone)]
struct Setup {
    eu: bool,
    delivered_days_ago: Option<i64>,
    reason: usize,
    auto_accept: bool,
    buyer_flagged: bool,
    seller_flagged: bool,
    returnless_max: i64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        prop::option::of(0i64..800),
        0usize..Reason::ALL.len(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0i64), 0i64..6000],
    )
        .prop_map(
            |(
                eu,
                delivered_days_ago,
                reason,
                auto_accept,
                buyer_flagged,
                seller_flagged,
                returnless_max,
            )| {
                Setup {
                    eu,
                    delivered_days_ago,
                    reason,
                    auto_accept,
                    buyer_flagged,
                    seller_flagged,
                    returnless_max,
                }
            },
        )
}

/// A command by the role that may take it (most are refused in the state they meet; the accepted
/// ones make the history).
fn command(story: &Story, which: usize, amount: i64, flag: bool) -> (Actor, ReturnCommand) {
    let grade = Grade::ALL[(amount / 3) as usize % Grade::ALL.len()];
    let evidence = if flag { vec![photo()] } else { vec![note()] };
    let funded = if flag {
        FundedBy::Seller
    } else {
        FundedBy::Platform
    };
    match which {
        0 => (seller(), accept()),
        1 => (seller(), accept_returnless()),
        2 => (
            seller(),
            decline(if flag { vec![tracking()] } else { vec![] }),
        ),
        3 => (
            seller(),
            ReturnCommand::Offer(MakeOffer {
                kind: OfferKind::PartialRefund,
                amount_minor: Some(minor(amount.max(1))),
            }),
        ),
        4 => (buyer(), ReturnCommand::AcceptOffer(AcceptOffer)),
        5 => (buyer(), ReturnCommand::DeclineOffer(DeclineOffer)),
        6 => (buyer(), ship()),
        7 => (platform(), carrier_delivered(story.now)),
        8 => (seller(), receive()),
        // A third of the inspections refuse the item; the rest refund up to what was paid.
        9 => {
            let refund = if amount % 3 == 0 { 0 } else { amount % 2501 };
            (seller(), inspect(grade, refund, evidence))
        }
        10 => {
            let due = story
                .case
                .as_ref()
                .and_then(ReturnCase::refund_due_minor)
                .map_or(amount, MinorUnits::get);
            (platform(), pay(due.max(1)))
        }
        11 => (buyer(), escalate()),
        12 => (seller(), escalate()),
        13 => (buyer(), ReturnCommand::Withdraw(WithdrawReturn)),
        14 => (
            seller(),
            add_evidence(if flag { photo() } else { tracking() }),
        ),
        15 => (
            if flag { operator() } else { seller() },
            grant(ExceptionRule::ALL[amount as usize % ExceptionRule::ALL.len()]),
        ),
        16 => (operator(), decide_refund(amount.max(1), flag, funded)),
        17 => (operator(), side_with_seller()),
        18 => (operator(), message()),
        _ => {
            // The scheduler applies whichever deadline is running.
            let running = story
                .case
                .as_ref()
                .and_then(|case| case.deadlines.running().first().copied());
            match running {
                Some((kind, due_at)) => (
                    system(),
                    ReturnCommand::ApplyDeadline(ApplyDeadline { kind, due_at }),
                ),
                None => (operator(), message()),
            }
        }
    }
}

/// Half of the steps take a command that fits the return's status, so that generated histories
/// get as far as inspections, refusals and decisions; the other half are anything at all.
fn guided(story: &Story, which: usize, amount: i64) -> usize {
    if which % 2 == 1 {
        return which;
    }
    let fitting: &[usize] = match story.case.as_ref().map(|case| case.status) {
        Some(Status::Requested) => &[0, 1, 2, 3, 15],
        Some(Status::OfferPending) => &[4, 5],
        Some(Status::Authorized) => &[6, 6, 19],
        Some(Status::InTransit) => &[7, 8],
        Some(Status::Delivered) => &[9, 9, 14, 12, 19],
        Some(Status::Declined) => &[11, 14, 15],
        Some(Status::RefundPending) => &[10, 11, 19],
        Some(Status::Escalated) => &[16, 17, 15, 19],
        // The replacement goes out, or does not in time.
        Some(Status::ExchangePending) => &[11, 19],
        Some(Status::ReplacementShipped) => &[7, 8, 11],
        Some(Status::Closed) | None => &[18],
    };
    fitting[amount as usize % fitting.len()]
}

fn history(setup: &Setup, steps: &[(usize, i64, bool, i64)]) -> (Story, PartyStanding) {
    let order = order_of(
        "ORD-1",
        "buyer-1",
        "shop-1",
        if setup.eu { "DE" } else { "US" },
        now(),
        setup.delivered_days_ago,
        "apparel",
    );
    let mut story = Story::new(order).policy(|p| {
        if setup.auto_accept {
            p.on_seller_timeout = OnSellerTimeout::AutoAccept;
        }
    });
    let reason = Reason::ALL[setup.reason];
    story
        .try_step(&buyer(), &open(1, "ORD-1", reason))
        .expect("the return opens");
    for &(which, amount, flag, hours) in steps {
        story.now += chrono::TimeDelta::hours(hours);
        let which = guided(&story, which, amount);
        if which == 19 {
            // Move the clock to the running deadline so that it applies.
            if let Some((_, due)) = story
                .case
                .as_ref()
                .and_then(|case| case.deadlines.running().first().copied())
            {
                story.now = story.now.max(due);
            }
        }
        let (actor, command) = command(&story, which, amount, flag);
        let _refused_or_done = story.try_step(&actor, &command);
    }
    let standing = PartyStanding {
        buyer_flags: if setup.buyer_flagged {
            vec![ConfirmedFlag {
                kind: FlagKind::SerialReturner,
                position: 1,
            }]
        } else {
            vec![]
        },
        seller_flags: if setup.seller_flagged {
            vec![ConfirmedFlag {
                kind: FlagKind::SellerDeclineRate,
                position: 2,
            }]
        } else {
            vec![]
        },
        returnless_refund_max_minor: minor(setup.returnless_max),
        order_delivered_at: story.order.delivered_at,
    };
    (story, standing)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_recommended_amount_never_exceeds_what_was_paid(
        setup in setup(),
        steps in prop::collection::vec((0usize..20, 0i64..4000, any::<bool>(), 0i64..200), 0..40),
    ) {
        let (story, standing) = history(&setup, &steps);
        let known: BTreeSet<i64> = story
            .history
            .iter()
            .map(|(p, _)| *p)
            .chain([1, 2])
            .collect();
        for (position, _) in &story.history {
            let rec = recommend_at(&story.history, *position, &standing).unwrap();
            let prefix: Vec<&ReturnEvent> = story
                .history
                .iter()
                .filter(|(p, _)| p <= position)
                .map(|(_, e)| e)
                .collect();
            let case = ReturnCase::replay(prefix).unwrap();

            prop_assert!(rec.refund_amount_minor <= case.items_total_minor, "{rec:#?}");
            match rec.outcome {
                DecisionOutcome::RefundBuyer => prop_assert!(!rec.refund_amount_minor.is_zero()),
                DecisionOutcome::SideWithSeller => {
                    prop_assert!(rec.refund_amount_minor.is_zero());
                    prop_assert!(!rec.return_required);
                }
            }
            prop_assert!(!rec.reasons.is_empty());
            for reason in &rec.reasons {
                prop_assert!(
                    reason.event_positions.iter().all(|p| known.contains(p)),
                    "{reason:?} cites an event not in the history"
                );
            }
            prop_assert_eq!(&recommend_at(&story.history, *position, &standing).unwrap(), &rec);
        }
    }
}
