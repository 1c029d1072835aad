//! Properties over generated histories: replay is deterministic, stored events decode to the same
//! state, and refunds never exceed what was paid.

use proptest::prelude::*;

use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

/// A step of a generated history: which return it targets, who acts, what, and how much time passes
/// first. Most generated steps are refused; the accepted ones make the history.
#[derive(Debug, Clone)]
struct Step {
    target: usize,
    actor: usize,
    command: usize,
    amount: i64,
    quantity: u32,
    hours: i64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..3,
        0usize..5,
        0usize..33,
        0i64..16_000,
        0u32..4,
        0i64..16,
    )
        .prop_map(|(target, actor, command, amount, quantity, hours)| Step {
            target,
            actor,
            command,
            amount,
            quantity,
            hours,
        })
}

/// Mostly the role that may take the command (so that histories get somewhere), sometimes anyone.
fn actor(step: &Step, command: &ReturnCommand) -> Actor {
    if step.actor == 0 {
        return [
            buyer(),
            seller(),
            operator(),
            platform(),
            system(),
            other_buyer(),
        ][step.amount as usize % 6]
            .clone();
    }
    if command.action() == Action::Appeal {
        return if step.amount % 2 == 0 {
            buyer()
        } else {
            seller()
        };
    }
    match command.action() {
        Action::Open
        | Action::AcceptOffer
        | Action::DeclineOffer
        | Action::Ship
        | Action::Withdraw
        | Action::Escalate
        | Action::Rate
        | Action::ChooseMethod
        | Action::Appeal => buyer(),
        Action::Accept
        | Action::Decline
        | Action::Offer
        | Action::Receive
        | Action::Inspect
        | Action::GrantException
        | Action::ShipReplacement
        | Action::OutOfStock => seller(),
        Action::CarrierUpdate | Action::Refund => platform(),
        Action::Assign | Action::Decide | Action::Messages | Action::Evidence => operator(),
        Action::ApplyDeadline => system(),
    }
}

fn command(
    step: &Step,
    case: Option<&ReturnCase>,
    target: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> ReturnCommand {
    let amount = step.amount;
    // Mostly valid quantities, sometimes 0 or more than was bought.
    let quantity = if step.hours % 10 == 0 {
        step.quantity
    } else {
        1 + step.quantity % 2
    };
    let lines = [("L1", quantity), ("L2", quantity.min(1))];
    let open = || {
        open_return(
            target as u128 + 1,
            &lines[..1 + step.amount as usize % 2],
            Reason::ALL[step.amount as usize % 9],
            Resolution::ALL[step.quantity as usize % 3],
        )
    };
    if case.is_none() && step.command % 4 != 0 {
        return open();
    }
    match step.command {
        0 | 1 => open(),
        2 => accept(),
        3 => accept_returnless(),
        4 => decline(),
        5 => offer(OfferKind::ALL[step.quantity as usize % 3], Some(amount)),
        6 => accept_offer(),
        7 => decline_offer(),
        8 => ship(),
        9 => carrier(CarrierStatus::ALL[step.quantity as usize % 2], now),
        10 => receive(),
        11 => inspect(
            Grade::ALL[step.quantity as usize % 7],
            amount % 6000,
            step.quantity % 2 == 0,
        ),
        12 => {
            // Usually exactly what is due, sometimes anything.
            let due = case.and_then(|c| c.refund_due_minor()).map(i64::from);
            let method = case
                .and_then(|c| c.pending_refund.as_ref())
                .map_or(PayoutMethod::OriginalPayment, |p| p.method);
            match due {
                Some(due) if step.quantity != 3 => refund(due, method),
                _ => refund(amount, PayoutMethod::ALL[step.quantity as usize % 2]),
            }
        }
        13 => escalate(),
        // Withdrawing ends a history early, so it is drawn less often.
        14 if step.amount % 3 == 0 => withdraw(),
        14 => message(),
        15 => appeal(),
        16 => grant(ExceptionRule::ALL[step.quantity as usize % 4]),
        17 => assign(),
        18 => decide_refund(amount % 6000, step.quantity % 2 == 0),
        19 => side_with_seller(),
        21 if step.amount % 5 == 0 => out_of_stock(),
        21 => ship_replacement(None),
        // Mostly a valid score, sometimes 0 or more than 5.
        20 => ReturnCommand::Rate(RateReturn {
            score: (step.quantity * 2) as u8,
            comment: None,
        }),
        // Extra weight on the steps that move a return forward.
        22 | 30 => receive(),
        23 | 31 => accept(),
        24 => carrier(CarrierStatus::Delivered, now),
        25 => inspect(Grade::ALL[step.quantity as usize % 7], amount % 6000, true),
        26 | 27 => command(
            &Step {
                command: 12,
                ..step.clone()
            },
            case,
            target,
            now,
        ),
        28 | 29 => ship(),
        32 => accept_returnless(),
        _ => {
            // The scheduler: apply whatever deadline is running (time moves there first).
            match case.and_then(|c| c.deadlines.running().into_iter().next()) {
                Some((kind, due_at)) => deadline(kind, due_at),
                None => message(),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn histories_replay_deterministically_and_never_overpay(steps in proptest::collection::vec(step(), 1..60)) {
        let mut order = us_order();
        let policy = SellerPolicy {
            auto_approve_max_minor: minor(3000),
            returnless_refund_max_minor: minor(1000),
            store_credit_bonus_percent: 10,
            restocking_fee_percent: 10,
            ..SellerPolicy::default()
        };
        let mut cases: Vec<Option<ReturnCase>> = vec![None, None, None];
        let mut histories: Vec<Vec<ReturnEvent>> = vec![vec![], vec![], vec![]];
        let mut order_history = Vec::new();
        let mut now = now();
        for step in &steps {
            let target = step.target;
            let case = cases[target].clone();
            let mut command = command(step, case.as_ref(), target, now);
            if let ReturnCommand::ApplyDeadline(apply) = &command {
                now = now.max(apply.due_at);
            } else {
                now += chrono::TimeDelta::hours(step.hours);
                if let ReturnCommand::CarrierUpdate(update) = &mut command {
                    update.at = now;
                }
            }
            let actor = actor(step, &command);
            let ctx = Context { now, actor: &actor, order: &order, policy: &policy, buyer_flagged: false };
            let Ok(decision) = decide(case.as_ref(), &command, &ctx) else { continue };
            for event in &decision.return_events {
                cases[target] = evolve(cases[target].take(), event);
                histories[target].push(event.clone());
            }
            for event in &decision.order_events {
                order.apply(event);
                order_history.push(event.clone());
            }
            if let Some(case) = &cases[target] {
                // Refunds never exceed what was paid for the items of the return (a store-credit
                // bonus aside, which pays back nothing).
                let principal = case.refund.as_ref().map_or(MinorUnits::ZERO, |r| r.principal_minor);
                prop_assert!(principal <= case.items_total_minor);
                prop_assert_eq!(case.version as usize, histories[target].len());
            }
        }
        for (case, history) in cases.iter().zip(&histories) {
            // Replaying the events as stored (encoded, then decoded) gives the same state.
            let decoded: Vec<ReturnEvent> = history
                .iter()
                .map(|e| ReturnEvent::from_stored(e.event_type(), e.schema_version(), e.to_data()).unwrap())
                .collect();
            prop_assert_eq!(&ReturnCase::replay(&decoded), case);
            // The snapshot the service stores decodes to the same state.
            if let Some(case) = case {
                let stored = serde_json::to_string(case).unwrap();
                let back: ReturnCase = serde_json::from_str(&stored).unwrap();
                prop_assert_eq!(&back, case);
            }
        }
        let mut all_order_events = vec![OrderEvent::OrderRegistered(order::OrderRegistered {
            order: order.registered.clone(),
            policy_version: 1,
            at: now,
        })];
        all_order_events.extend(order_history.iter().cloned());
        // The order's events as stored replay to the order the decisions saw, and its snapshot
        // decodes to it.
        let stored_order_events: Vec<OrderEvent> = all_order_events
            .iter()
            .map(|e| OrderEvent::from_stored(e.event_type(), e.schema_version(), e.to_data()).unwrap())
            .collect();
        let replayed = Order::replay(&stored_order_events).unwrap();
        prop_assert_eq!(&replayed.returns, &order.returns);
        let snapshot: Order = serde_json::from_str(&serde_json::to_string(&order).unwrap()).unwrap();
        prop_assert_eq!(&snapshot.returns, &order.returns);
        for line in &order.lines {
            // Over all returns, refunds and quantities stay within what was bought and paid.
            prop_assert!(order.refunded_for_line(&line.line_id) <= order.paid_for_line(&line.line_id));
            let taken: u32 = order
                .returns
                .values()
                .filter(|a| a.status != order::AllocationStatus::Released)
                .flat_map(|a| a.items.iter())
                .filter(|i| i.line_id == line.line_id)
                .map(|i| i.quantity)
                .sum();
            prop_assert!(taken <= line.quantity);
        }
    }
}
