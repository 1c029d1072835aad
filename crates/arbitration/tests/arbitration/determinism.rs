//! The same history gives the same recommendation, and the recommendation of any past moment can be
//! recomputed from the log.

use returns_arbitration::{recommend, recommend_at, Rule};
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

/// Within the window, returned, then refused with pictures of an empty box, and escalated.
fn empty_box_dispute() -> Story {
    Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .advance(days(1))
        .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]))
        .step(buyer(), escalate())
}

#[test]
fn the_same_history_gives_the_same_answer() {
    let story = empty_box_dispute();
    let first = story.recommend(&nobody_flagged());
    let again = story.recommend(&nobody_flagged());
    assert_eq!(first, again);
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    // The history is read in position order, however it is handed over.
    let mut shuffled = story.history.clone();
    shuffled.reverse();
    assert_eq!(
        recommend(&shuffled, story.case(), &nobody_flagged(), story.now),
        first
    );
    // A replayed case is the same case.
    let replayed = ReturnCase::replay(story.history.iter().map(|(_, e)| e)).unwrap();
    assert_eq!(
        recommend(&story.history, &replayed, &nobody_flagged(), story.now),
        first
    );
}

#[test]
fn the_answer_of_a_past_moment_is_recomputed_from_the_log() {
    let story = empty_box_dispute();
    let received = story.position("return.item_arrived");
    // The inspection's refusal is complete with its last event, the decline.
    let refused = story.position("return.declined");

    // Right after the item arrived, nothing spoke against the buyer.
    let then = recommend_at(&story.history, received, &nobody_flagged()).unwrap();
    assert_eq!(then.outcome, DecisionOutcome::RefundBuyer);
    assert!(!then.rules().contains(&Rule::RefusalWithEvidence));

    // After the inspection, the pictures of an empty box decide.
    let later = recommend_at(&story.history, refused, &nobody_flagged()).unwrap();
    assert_eq!(later.outcome, DecisionOutcome::SideWithSeller);

    // Each moment's answer, as the live case gave it then (not a replay of the log), is what the
    // log gives for that moment afterwards.
    let answer_now = |story: &Story| {
        let position = story.history.last().map(|(p, _)| *p).unwrap();
        (position, story.recommend(&nobody_flagged()))
    };
    let mut live = Story::us().opened(Reason::ChangedMind);
    let mut moments = vec![answer_now(&live)];
    live = live.returned();
    moments.push(answer_now(&live));
    live = live
        .advance(days(1))
        .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]));
    moments.push(answer_now(&live));
    live = live.step(buyer(), escalate());
    moments.push(answer_now(&live));
    assert_eq!(live.history, story.history, "the same story");
    for (position, answer) in &moments {
        assert_eq!(
            recommend_at(&story.history, *position, &nobody_flagged()).as_ref(),
            Some(answer),
            "at position {position}"
        );
    }
    assert_eq!(moments[0].1.outcome, DecisionOutcome::RefundBuyer);
    assert_eq!(moments[3].1.outcome, DecisionOutcome::SideWithSeller);
    // Before the return existed there is nothing to recommend.
    assert_eq!(recommend_at(&story.history, 0, &nobody_flagged()), None);
}

#[test]
fn a_decision_does_not_change_what_was_recommended() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue)
        .step(operator(), message());
    let shown = story.recommend(&nobody_flagged());

    let followed = story
        .clone()
        .step(operator(), decide_refund(2500, true, FundedBy::Seller));
    assert_eq!(followed.recommend(&nobody_flagged()), shown);
    let decision = followed
        .case()
        .dispute
        .as_ref()
        .unwrap()
        .decision
        .clone()
        .unwrap();
    let record = shown.shown(&decision);
    assert!(record.followed);
    assert_eq!(record.rules, shown.rules());

    let overruled = story.step(operator(), side_with_seller());
    assert_eq!(overruled.recommend(&nobody_flagged()), shown);
    let decision = overruled
        .case()
        .dispute
        .as_ref()
        .unwrap()
        .decision
        .clone()
        .unwrap();
    assert!(!shown.shown(&decision).followed);
}

#[test]
fn following_means_the_same_terms() {
    let rec = Story::us()
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue)
        .recommend(&nobody_flagged());
    let refund = DecisionOutcome::RefundBuyer;
    assert!(rec.is_followed_by(refund, minor(2500), true, Some(FundedBy::Seller)));
    assert!(!rec.is_followed_by(refund, minor(2000), true, Some(FundedBy::Seller)));
    assert!(!rec.is_followed_by(refund, minor(2500), false, Some(FundedBy::Seller)));
    assert!(!rec.is_followed_by(refund, minor(2500), true, Some(FundedBy::Platform)));
    assert!(!rec.is_followed_by(
        DecisionOutcome::SideWithSeller,
        MinorUnits::ZERO,
        false,
        None
    ));
}
