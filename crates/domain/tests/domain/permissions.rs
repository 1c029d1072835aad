//! docs/api.md's action table, checked over every action × role × status.

use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

const ALL: &[Status] = Status::ALL;

/// docs/api.md's table, written out independently of the crate's `rules` module.
fn table() -> Vec<(&'static str, Vec<Role>, Vec<Status>)> {
    use Role::*;
    use Status::*;
    let all_but = |excluded: &[Status]| -> Vec<Status> {
        ALL.iter()
            .copied()
            .filter(|s| !excluded.contains(s))
            .collect()
    };
    vec![
        ("accept", vec![Seller], vec![Requested]),
        ("decline", vec![Seller], vec![Requested]),
        ("offer", vec![Seller], vec![Requested]),
        ("accept-offer", vec![Buyer], vec![OfferPending]),
        ("decline-offer", vec![Buyer], vec![OfferPending]),
        ("ship", vec![Buyer], vec![Authorized]),
        (
            "carrier-update",
            vec![Platform],
            vec![Authorized, InTransit, ReplacementShipped],
        ),
        ("receive", vec![Seller], vec![Authorized, InTransit]),
        ("inspect", vec![Seller], vec![Delivered]),
        ("refund", vec![Platform], vec![RefundPending]),
        (
            "escalate",
            vec![Buyer, Seller],
            all_but(&[Closed, Escalated]),
        ),
        // Before delivery; declined and escalated cases here have not had the item back.
        (
            "withdraw",
            vec![Buyer],
            vec![
                Requested,
                OfferPending,
                Authorized,
                InTransit,
                Declined,
                Escalated,
            ],
        ),
        ("messages", vec![Buyer, Seller, Operator], ALL.to_vec()),
        (
            "evidence",
            vec![Buyer, Seller, Operator],
            all_but(&[Closed]),
        ),
        (
            "grant-exception",
            vec![Seller, Operator],
            vec![Requested, Declined, Escalated],
        ),
        ("assign", vec![Operator], vec![Escalated]),
        ("decide", vec![Operator], vec![Escalated]),
        // Once, within 30 days of closing.
        ("rate", vec![Buyer], vec![Closed]),
        ("ship-replacement", vec![Seller], vec![ExchangePending]),
        // Only after a decision, which none of these stories has (see `appeals`).
        ("appeal", vec![Buyer, Seller], vec![]),
        ("out-of-stock", vec![Seller], vec![ExchangePending]),
        // Before the item is on its way.
        (
            "choose-method",
            vec![Buyer],
            vec![Requested, OfferPending, Authorized],
        ),
    ]
}

fn command_for(action: &str) -> ReturnCommand {
    match action {
        "accept" => accept(),
        "decline" => decline(),
        "offer" => offer(OfferKind::PartialRefund, Some(1000)),
        "accept-offer" => accept_offer(),
        "decline-offer" => decline_offer(),
        "ship" => ship(),
        "carrier-update" => carrier(CarrierStatus::InTransit, now()),
        "receive" => receive(),
        "inspect" => inspect(Grade::AsNew, 2500, false),
        "refund" => refund(2500, PayoutMethod::OriginalPayment),
        "escalate" => escalate(),
        "withdraw" => withdraw(),
        "messages" => message(),
        "evidence" => add_evidence(),
        "grant-exception" => grant(ExceptionRule::ShipBy),
        "assign" => assign(),
        "decide" => decide_refund(1000, false),
        "choose-method" => choose_method(methods::MethodRequest::Mail),
        "ship-replacement" => ship_replacement(None),
        "out-of-stock" => out_of_stock(),
        "appeal" => appeal(),
        "rate" => ReturnCommand::Rate(RateReturn {
            score: 4,
            comment: None,
        }),
        other => panic!("no sample command for {other}"),
    }
}

/// One return in each status.
fn stories() -> Vec<Story> {
    let opened = Story::us().opened();
    let accepted = opened.clone().step(seller(), accept());
    let shipped = accepted.clone().step(buyer(), ship());
    let exchange = exchange_approved();
    vec![
        opened.clone(),
        opened
            .clone()
            .step(seller(), offer(OfferKind::PartialRefund, Some(1000))),
        accepted,
        shipped.clone(),
        shipped.step(seller(), receive()),
        opened.clone().step(seller(), decline()),
        opened.clone().step(seller(), accept_returnless()),
        opened.clone().step(buyer(), escalate()),
        opened.step(buyer(), withdraw()),
        exchange.clone(),
        exchange.step(seller(), ship_replacement(None)),
    ]
}

fn actors() -> Vec<Actor> {
    vec![buyer(), seller(), operator(), platform(), system()]
}

#[test]
fn the_stories_cover_every_status() {
    let statuses: Vec<Status> = stories().iter().map(Story::status).collect();
    assert_eq!(statuses, ALL);
}

#[test]
fn every_action_role_and_status_follows_the_table() {
    let table = table();
    assert_eq!(table.len(), Action::ON_A_RETURN.len());
    let mut checked = 0;
    for story in stories() {
        let status = story.status();
        for actor in actors() {
            let mut expected_allowed = Vec::new();
            for (action, roles, statuses) in &table {
                let result = story
                    .given()
                    .when(actor.clone(), command_for(action))
                    .result;
                let context = format!("{action} by {} in {status}", actor.role);
                if !roles.contains(&actor.role) {
                    assert_eq!(
                        result.map(|_| ()).unwrap_err().code(),
                        "forbidden",
                        "{context}"
                    );
                } else if statuses.contains(&status) {
                    assert!(result.is_ok(), "{context}: {result:?}");
                    expected_allowed.push(*action);
                } else {
                    let rejection = result.map(|_| ()).unwrap_err();
                    assert_eq!(rejection.code(), "invalid_transition", "{context}");
                }
                checked += 1;
            }
            assert_eq!(
                allowed_actions(story.case(), &actor, story.now),
                expected_allowed,
                "allowed_actions for {} in {status}",
                actor.role
            );
        }
    }
    assert_eq!(checked, 11 * 5 * 22);
}

#[test]
fn other_parties_are_told_the_return_does_not_exist() {
    for story in stories() {
        for actor in [other_buyer(), other_seller()] {
            assert!(allowed_actions(story.case(), &actor, story.now).is_empty());
            for (action, _, _) in table() {
                let rejection = story
                    .given()
                    .when(actor.clone(), command_for(action))
                    .then_rejects("not_found");
                assert!(matches!(rejection, Rejection::NotFound(_)));
            }
        }
    }
}

#[test]
fn the_platform_takes_no_party_action() {
    let story = Story::us().opened();
    assert!(allowed_actions(story.case(), &platform(), now()).is_empty());
    assert!(allowed_actions(story.case(), &system(), now()).is_empty());
}

#[test]
fn roles_in_rejections_are_named() {
    let rejection = Story::us()
        .opened()
        .given()
        .when(buyer(), accept())
        .then_rejects("forbidden");
    assert_eq!(rejection.detail(), "a buyer may never accept");
}
