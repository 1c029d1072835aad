//! Appeals (docs/product.md, "Arbitration"): the party a decision went against appeals once,
//! within 7 days, with new evidence; another operator decides, and that decision is final.

use chrono::TimeDelta;
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

fn second_operator() -> Actor {
    Actor::operator("op-2")
}

/// A request the seller declined, escalated by the buyer, and denied by `op-1`.
fn denied() -> Story {
    Story::us()
        .opened()
        .step(seller(), decline())
        .step(buyer(), escalate())
        .step(operator(), side_with_seller())
}

#[test]
fn the_buyer_appeals_a_denial_and_another_operator_overturns_it() {
    let story = denied();
    assert_eq!(story.case().outcome, Some(Outcome::Denied));
    assert!(allowed_actions(story.case(), &buyer(), story.now).contains(&"appeal"));
    // Only the party the decision went against.
    assert!(!allowed_actions(story.case(), &seller(), story.now).contains(&"appeal"));
    let rejection = story
        .given()
        .when(seller(), appeal())
        .then_rejects("invalid_transition");
    assert!(rejection.detail().contains("went against"));

    let appealed = story.step(buyer(), appeal());
    assert_eq!(appealed.status(), Status::Escalated);
    assert_eq!(appealed.case().outcome, None);
    let dispute = appealed.case().dispute.clone().unwrap();
    let first = dispute.appeal.as_ref().unwrap().first_decision.clone();
    assert_eq!(first.outcome, DecisionOutcome::SideWithSeller);
    assert!(dispute.decision.is_none());
    // The denial had released the items; the appeal holds them again.
    assert_eq!(
        appealed.order_history.last().map(|e| e.event_type()),
        Some("order.return_items_reclaimed")
    );

    // The first operator may not decide the appeal.
    let rejection = appealed
        .given()
        .when(operator(), decide_refund(2500, false))
        .then_rejects("invalid_transition");
    assert!(rejection
        .detail()
        .contains("other than the one who decided first"));
    let decided = appealed.step(second_operator(), decide_refund(2500, false));
    assert_eq!(decided.status(), Status::RefundPending);
    let appealed_case = decided.case().dispute.clone().unwrap().appeal.unwrap();
    assert_eq!(appealed_case.overturned, Some(true));
    // Final: no second appeal, no escalation.
    decided
        .given()
        .when(seller(), appeal())
        .then_rejects("invalid_transition");
    decided
        .given()
        .when(buyer(), escalate())
        .then_rejects("invalid_transition");
}

#[test]
fn an_appeal_needs_new_evidence_and_comes_within_seven_days() {
    let story = denied();
    story
        .given()
        .when(
            buyer(),
            ReturnCommand::Appeal(AppealDecision {
                reason_text: "Look again".to_owned(),
                evidence: vec![],
            }),
        )
        .then_field_error("evidence");
    let late = story.clone().advance(TimeDelta::days(7));
    let rejection = late
        .given()
        .when(buyer(), appeal())
        .then_rejects("invalid_transition");
    assert!(rejection.detail().contains("appeals were open until"));
    story
        .advance(TimeDelta::days(7) - TimeDelta::seconds(1))
        .step(buyer(), appeal());
}

#[test]
fn the_seller_appeals_a_refund_before_it_is_paid_and_the_outcome_may_stand() {
    let refunding = Story::us()
        .opened()
        .step(seller(), decline())
        .step(buyer(), escalate())
        .step(operator(), decide_refund(2500, false));
    assert_eq!(refunding.status(), Status::RefundPending);
    let appealed = refunding.clone().step(seller(), appeal());
    // The refund is no longer due while the appeal is open.
    assert!(appealed.case().refund_due_minor().is_none());
    let upheld = appealed.step(second_operator(), decide_refund(2500, false));
    assert_eq!(
        upheld
            .case()
            .dispute
            .clone()
            .unwrap()
            .appeal
            .unwrap()
            .overturned,
        Some(false)
    );
    // Once paid, a decision can no longer be appealed.
    let paid = refunding.step(platform(), refund(2500, PayoutMethod::OriginalPayment));
    paid.given()
        .when(seller(), appeal())
        .then_rejects("invalid_transition");
}

#[test]
fn parties_see_the_appeal_without_operator_ids() {
    let decided = denied()
        .step(buyer(), appeal())
        .step(second_operator(), decide_refund(2500, false));
    let dispute = decided.case().dispute.clone().unwrap();
    let shown = dispute_for_parties(&dispute);
    let appeal = shown.appeal.unwrap();
    assert_eq!(appeal.first_decision.decided_by, OPERATOR_SHOWN_TO_PARTIES);
    assert_eq!(
        shown.decision.unwrap().decided_by,
        OPERATOR_SHOWN_TO_PARTIES
    );
}
