//! Given a history (run through the domain), when a recommendation is asked, then: one test group
//! per rule.

use returns_arbitration::abuse::FlagKind;
use returns_arbitration::{ConfirmedFlag, PartyStanding, Recommendation, Rule, Side};
use returns_domain::policy::OnSellerTimeout;
use returns_domain::returns::*;
use returns_domain::*;

use crate::harness::*;

fn assert_refund(rec: &Recommendation, amount: i64, return_required: bool, funded_by: FundedBy) {
    assert_eq!(rec.outcome, DecisionOutcome::RefundBuyer, "{rec:#?}");
    assert_eq!(rec.refund_amount_minor, minor(amount), "{rec:#?}");
    assert_eq!(rec.return_required, return_required, "{rec:#?}");
    assert_eq!(rec.funded_by, funded_by, "{rec:#?}");
}

fn assert_sides_with_seller(rec: &Recommendation) {
    assert_eq!(rec.outcome, DecisionOutcome::SideWithSeller, "{rec:#?}");
    assert_eq!(rec.refund_amount_minor, MinorUnits::ZERO);
    assert!(!rec.return_required);
}

fn reason(rec: &Recommendation, rule: Rule) -> &returns_arbitration::Reason {
    rec.reasons
        .iter()
        .find(|r| r.rule == rule)
        .unwrap_or_else(|| panic!("{rule} is not among {:?}", rec.rules()))
}

fn buyer_flag(position: i64) -> PartyStanding {
    PartyStanding {
        buyer_flags: vec![ConfirmedFlag {
            kind: FlagKind::EmptyBoxReturns,
            position,
        }],
        ..PartyStanding::default()
    }
}

fn seller_flag(position: i64) -> PartyStanding {
    PartyStanding {
        seller_flags: vec![ConfirmedFlag {
            kind: FlagKind::SellerDeclineRate,
            position,
        }],
        ..PartyStanding::default()
    }
}

/// A US order delivered `days_ago` days ago.
fn us_delivered(days_ago: i64) -> Story {
    Story::new(order_of(
        "ORD-1",
        "buyer-1",
        "shop-1",
        "US",
        now(),
        Some(days_ago),
        "apparel",
    ))
}

// --- seller_silence and seller_missed_deadline --------------------------------------------------

#[test]
fn a_missed_response_deadline_decides_for_the_buyer() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue);
    assert_eq!(story.case().status, Status::Escalated);

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, true, FundedBy::Seller);
    let first = &rec.reasons[0];
    assert_eq!(first.rule, Rule::SellerSilence);
    assert_eq!(first.favours, Some(Side::Buyer));
    assert_eq!(
        first.event_positions,
        [
            story.position("return.requested"),
            story.position("return.deadline_missed")
        ]
    );
    assert!(
        first.detail.contains("response deadline"),
        "{}",
        first.detail
    );
    assert!(rec.rules().contains(&Rule::WithinReturnWindow));
}

#[test]
fn a_response_deadline_past_due_but_not_yet_applied_counts_as_missed() {
    let story = Story::us().opened(Reason::ChangedMind);
    let due = story.deadline(DeadlineKind::SellerResponseDue);
    let lagging = story.clone().at(due + chrono::TimeDelta::seconds(1));

    let rec = lagging.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, true, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::SellerSilence);
    assert_eq!(
        rec.reasons[0].event_positions,
        [story.position("return.requested")]
    );
    // Before the deadline the seller is not at fault.
    let early = story.at(due - chrono::TimeDelta::seconds(1));
    assert!(!early
        .recommend(&nobody_flagged())
        .rules()
        .contains(&Rule::SellerSilence));
}

#[test]
fn a_missed_inspection_deadline_decides_for_the_buyer() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .fire(DeadlineKind::InspectBy);

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::SellerMissedDeadline);
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            story.position("return.item_arrived"),
            story.position("return.deadline_missed")
        ]
    );
}

#[test]
fn a_confirmed_buyer_flag_does_not_override_a_missed_deadline() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue);
    let rec = story.recommend(&buyer_flag(7));
    assert_refund(&rec, 2500, true, FundedBy::Seller);
    assert_eq!(reason(&rec, Rule::BuyerFlagged).event_positions, [7]);
}

// --- refusal_without_evidence / refusal_with_evidence --------------------------------------------

#[test]
fn a_refusal_at_inspection_without_pictures_decides_for_the_buyer() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::Used, 0, vec![note()]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    // No deduction either: the grade is not shown.
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::RefusalWithoutEvidence);
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            story.position("return.inspected"),
            story.position("return.declined")
        ]
    );
}

#[test]
fn pictures_the_seller_adds_after_the_refusal_count_as_evidence() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::Used, 0, vec![note()]))
        .step(seller(), add_evidence(photo()))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert!(!rec.rules().contains(&Rule::RefusalWithoutEvidence));
    let refusal = reason(&rec, Rule::RefusalWithEvidence);
    assert!(refusal
        .event_positions
        .contains(&story.position("return.evidence_added")));
}

#[test]
fn a_used_item_refused_with_pictures_gets_a_partial_refund() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::Used, 0, vec![photo()]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    // Within the window (+2) against a documented refusal of a used item (−2): a tie, which goes
    // to the buyer, less the deduction for use.
    assert_refund(&rec, 1250, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::WithinReturnWindow);
    assert_eq!(
        reason(&rec, Rule::RefusalWithEvidence).favours,
        Some(Side::Seller)
    );
    assert_eq!(
        reason(&rec, Rule::PartialForUse).event_positions,
        [story.position("return.inspected")]
    );
}

#[test]
fn the_deduction_never_goes_below_what_the_seller_offered_at_inspection() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::Used, 2000, vec![photo()]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2000, false, FundedBy::Seller);
    assert!(rec.rules().contains(&Rule::PartialForUse));
}

#[test]
fn an_empty_box_shown_in_pictures_sides_with_the_seller() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::RefusalWithEvidence);
    assert!(rec.reasons[0].detail.contains("empty_box"));
}

#[test]
fn refusing_an_item_graded_as_new_favours_the_buyer() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::AsNew, 0, vec![photo()]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert!(rec.rules().contains(&Rule::RefusalContradictsGrade));
}

// --- carrier_delivered_to_seller -----------------------------------------------------------------

#[test]
fn tracking_shows_delivery_and_the_seller_escalates_without_inspecting() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept());
    let arrived = story.now;
    let story = story
        .step(buyer(), ship())
        .advance(days(2))
        .step(platform(), carrier_delivered(arrived + days(1)))
        .step(seller(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, false, FundedBy::Seller);
    let first = &rec.reasons[0];
    assert_eq!(first.rule, Rule::CarrierDeliveredToSeller);
    assert_eq!(
        first.event_positions,
        [
            story.position("return.item_arrived"),
            story.position("return.escalated")
        ]
    );
    assert!(
        first.detail.contains("2026-11-26T10:00:00Z"),
        "{}",
        first.detail
    );
}

#[test]
fn a_seller_who_received_the_item_itself_does_not_trigger_the_carrier_rule() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), escalate());
    let rec = story.recommend(&nobody_flagged());
    assert!(!rec.rules().contains(&Rule::CarrierDeliveredToSeller));
}

// --- buyer_never_shipped ----------------------------------------------------------------------

#[test]
fn a_buyer_who_never_shipped_loses() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept())
        .fire(DeadlineKind::ShipBy);
    assert_eq!(story.case().outcome, Some(Outcome::Lapsed));

    let rec = story.recommend(&nobody_flagged());

    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::BuyerNeverShipped);
    assert_eq!(rec.reasons[0].favours, Some(Side::Seller));
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            story.position("return.authorized"),
            story.position("return.deadline_missed")
        ]
    );
}

#[test]
fn the_latest_default_decides_a_seller_timeout_then_a_buyer_who_never_shipped() {
    let story = Story::us()
        .policy(|p| p.on_seller_timeout = OnSellerTimeout::AutoAccept)
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue)
        .fire(DeadlineKind::ShipBy);

    let rec = story.recommend(&nobody_flagged());

    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::BuyerNeverShipped);
    assert!(rec.rules().contains(&Rule::SellerSilence));
}

#[test]
fn a_response_timeout_after_which_the_item_went_back_only_weighs() {
    let story = Story::us()
        .policy(|p| p.on_seller_timeout = OnSellerTimeout::AutoAccept)
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue)
        .step(buyer(), ship())
        .step(seller(), receive())
        .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    // +2 window, +1 earlier miss, −4 empty box: the seller.
    assert_sides_with_seller(&rec);
    assert_eq!(reason(&rec, Rule::SellerSilence).favours, Some(Side::Buyer));
}

// --- legal_guarantee ---------------------------------------------------------------------------

#[test]
fn a_defect_under_the_legal_guarantee_is_refunded_in_full_with_the_item_back() {
    // Delivered 200 days ago: only the 2-year guarantee is still open.
    let story = Story::eu(200)
        .opened(Reason::Defective)
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());
    assert!(story.case().policy.eligible);

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, true, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::LegalGuarantee);
    assert_eq!(
        rec.reasons[0].event_positions,
        [story.position("return.requested")]
    );
}

#[test]
fn under_the_returnless_threshold_the_item_stays_with_the_buyer_unless_flagged() {
    let story = Story::eu(200)
        .opened(Reason::Defective)
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());
    let cheap = PartyStanding {
        returnless_refund_max_minor: minor(3000),
        ..PartyStanding::default()
    };

    let rec = story.recommend(&cheap);
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert!(rec.rules().contains(&Rule::ReturnlessRefund));

    let flagged = PartyStanding {
        returnless_refund_max_minor: minor(3000),
        ..buyer_flag(3)
    };
    let rec = story.recommend(&flagged);
    assert_refund(&rec, 2500, true, FundedBy::Seller);
    assert!(!rec.rules().contains(&Rule::ReturnlessRefund));
}

#[test]
fn a_changed_mind_after_every_window_is_not_covered_by_the_guarantee() {
    let story = Story::eu(200)
        .opened(Reason::ChangedMind)
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());
    let rec = story.recommend(&nobody_flagged());
    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::OutsideEveryWindow);
}

// --- outside_every_window / goodwill / categories -------------------------------------------------

#[test]
fn outside_every_window_without_goodwill_sides_with_the_seller() {
    let story = us_delivered(60)
        .opened(Reason::ChangedMind)
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());
    assert!(!story.case().policy.eligible);

    let rec = story.recommend(&nobody_flagged());

    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::OutsideEveryWindow);
    assert_eq!(rec.reasons[0].favours, Some(Side::Seller));
    assert_eq!(
        rec.reasons[0].event_positions,
        [story.position("return.requested")]
    );
}

#[test]
fn an_operators_goodwill_exception_is_refunded_at_the_platforms_expense() {
    let story = us_delivered(60)
        .opened(Reason::ChangedMind)
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate())
        .step(operator(), grant(ExceptionRule::ReturnWindow));

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, true, FundedBy::Platform);
    assert_eq!(rec.reasons[0].rule, Rule::GoodwillException);
    assert_eq!(
        rec.reasons[0].event_positions,
        [story.position("return.exception_granted")]
    );
}

#[test]
fn a_sellers_goodwill_exception_is_the_sellers_to_fund() {
    let story = us_delivered(60)
        .opened(Reason::ChangedMind)
        .step(seller(), grant(ExceptionRule::ReturnWindow))
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, true, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::GoodwillException);
}

#[test]
fn a_non_returnable_category_sides_with_the_seller() {
    let story = Story::new(order_of(
        "ORD-1",
        "buyer-1",
        "shop-1",
        "US",
        now(),
        Some(5),
        "personalised",
    ))
    .policy(|p| p.non_returnable_categories = vec![Category::parse("personalised").unwrap()])
    .opened(Reason::ChangedMind)
    .step(seller(), decline(vec![]))
    .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::NonReturnableCategory);
}

// --- confirmed flags -----------------------------------------------------------------------------

#[test]
fn a_confirmed_buyer_flag_tips_a_balanced_case_toward_the_seller() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::Used, 0, vec![photo()]))
        .step(buyer(), escalate());
    assert_eq!(
        story.recommend(&nobody_flagged()).outcome,
        DecisionOutcome::RefundBuyer
    );

    let rec = story.recommend(&buyer_flag(42));

    assert_sides_with_seller(&rec);
    let flag = reason(&rec, Rule::BuyerFlagged);
    assert_eq!(flag.event_positions, [42]);
    assert!(flag.detail.contains("empty_box_returns"));
}

#[test]
fn a_confirmed_seller_flag_tips_a_balanced_case_toward_the_buyer() {
    // The guarantee (+3) against an empty box in pictures (−4): the seller, by a hair.
    let story = Story::eu(200)
        .opened(Reason::Defective)
        .returned()
        .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]))
        .step(buyer(), escalate());
    assert_sides_with_seller(&story.recommend(&nobody_flagged()));

    let rec = story.recommend(&seller_flag(9));

    // A conformity claim: no deduction for use, and the seller funds it.
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(reason(&rec, Rule::SellerFlagged).event_positions, [9]);
}

/// A confirmed pattern of refusals that operators overturned weighs +3, more than a tie-breaker:
/// it turns a case that an empty box in pictures wins for the seller (−4 against +2 for the
/// window), where a high decline rate (+1) does not.
#[test]
fn seller_flags_weigh_by_what_they_show() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::EmptyBox, 0, vec![photo()]))
        .step(buyer(), escalate());
    let flagged = |kind: FlagKind| PartyStanding {
        seller_flags: vec![ConfirmedFlag { kind, position: 9 }],
        ..PartyStanding::default()
    };
    assert_sides_with_seller(&story.recommend(&flagged(FlagKind::SellerDeclineRate)));
    let rec = story.recommend(&flagged(FlagKind::SellerRefusalsOverturned));
    assert_eq!(rec.outcome, DecisionOutcome::RefundBuyer);
    assert_eq!(reason(&rec, Rule::SellerFlagged).favours, Some(Side::Buyer));
    // Items not as described bear on a claim about the goods, less on a change of mind.
    let weight = returns_arbitration::seller_flag_weight;
    assert_eq!(
        weight(FlagKind::SellerNotAsDescribedRate, Reason::Defective),
        2
    );
    assert_eq!(
        weight(FlagKind::SellerNotAsDescribedRate, Reason::ChangedMind),
        1
    );
    assert_eq!(
        weight(FlagKind::SellerMissedDeadlines, Reason::Defective),
        1
    );
}

// --- other rules ---------------------------------------------------------------------------------

#[test]
fn damage_in_transit_is_funded_by_the_platform() {
    let story = Story::us()
        .opened(Reason::DamagedInTransit)
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());

    let rec = story.recommend(&nobody_flagged());

    assert_refund(&rec, 2500, true, FundedBy::Platform);
    assert!(rec.rules().contains(&Rule::CarrierDamage));
}

#[test]
fn a_not_received_claim_is_judged_by_the_recorded_delivery_not_by_tracking_evidence() {
    // The order's delivery is recorded (5 days ago): the claim fails, tracking or not.
    let claim = Story::us().opened(Reason::NotReceived);
    let delivered = claim
        .clone()
        .step(seller(), decline(vec![]))
        .step(buyer(), escalate());
    let rec = delivered.recommend(&nobody_flagged());
    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::DeliveryTrackedToBuyer);
    assert_eq!(
        rec.reasons[0].event_positions,
        [delivered.position("return.requested")]
    );

    // No delivery recorded: the seller's tracking evidence (a parcel still in transit, say)
    // proves nothing, and the buyer is refunded with nothing to send back.
    let undelivered = order_of("ORD-1", "buyer-1", "shop-1", "US", now(), None, "apparel");
    let with_tracking = Story::new(undelivered)
        .opened(Reason::NotReceived)
        .step(seller(), decline(vec![tracking()]))
        .step(buyer(), escalate());
    let rec = with_tracking.recommend(&nobody_flagged());
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::NoRecordedDelivery);
    assert!(!rec.rules().contains(&Rule::DeliveryTrackedToBuyer));
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            with_tracking.position("return.requested"),
            with_tracking.position("return.declined")
        ]
    );
}

#[test]
fn an_overdue_refund_recommends_the_approved_refund() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept_returnless())
        .fire(DeadlineKind::RefundDue);
    assert_eq!(story.case().status, Status::Escalated);

    let rec = story.recommend(&nobody_flagged());

    // The buyer keeps the item under the seller's returnless approval.
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::RefundOverdue);
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            story.position("return.refund_approved"),
            story.position("return.deadline_missed")
        ]
    );
}

#[test]
fn nothing_is_recommended_twice_once_refunded() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept_returnless())
        .step(platform(), pay(2500));
    assert_eq!(story.case().outcome, Some(Outcome::Refunded));

    let rec = story.recommend(&nobody_flagged());

    assert_sides_with_seller(&rec);
    assert_eq!(
        reason(&rec, Rule::NothingLeftToRefund).event_positions,
        [story.position("return.refunded")]
    );
}

#[test]
fn the_answer_has_the_api_field_names() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .fire(DeadlineKind::SellerResponseDue);
    let json = serde_json::to_value(story.recommend(&nobody_flagged())).unwrap();
    assert_eq!(json["outcome"], "refund_buyer");
    assert_eq!(json["refund_amount_minor"], 2500);
    assert_eq!(json["return_required"], true);
    assert_eq!(json["funded_by"], "seller");
    let first = &json["reasons"][0];
    assert_eq!(first["rule"], "seller_silence");
    assert!(first["detail"].is_string());
    assert!(first["event_positions"].is_array());
    assert_eq!(first["favours"], "buyer");
}

#[test]
fn rule_names_are_stable_snake_case() {
    for rule in Rule::ALL {
        assert_eq!(
            serde_json::to_value(rule).unwrap(),
            serde_json::Value::from(rule.as_str())
        );
    }
    for kind in FlagKind::ALL {
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::Value::from(kind.as_str())
        );
    }
}

#[test]
fn details_carry_no_free_text_written_by_people() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .returned()
        .step(seller(), inspect(Grade::Used, 0, vec![note()]))
        .step(buyer(), escalate());
    let json = serde_json::to_string(&story.recommend(&nobody_flagged())).unwrap();
    for text in ["Unfair", "seams", "https://"] {
        assert!(!json.contains(text), "{text} leaked into {json}");
    }
}

// --- return_parcel_lost --------------------------------------------------------------------------

/// EU Directive 2011/83/EU, art. 13(3): the trader refunds once the consumer shows the goods were
/// sent back; a parcel on the seller's own label travels at the seller's risk.
#[test]
fn a_lost_return_parcel_the_buyer_can_show_was_sent_is_refunded_without_a_return() {
    let scanned = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(platform(), carrier(CarrierStatus::InTransit, now()))
        .step(platform(), carrier(CarrierStatus::Lost, now()));
    assert_eq!(scanned.case().status, Status::Escalated);
    let rec = scanned.recommend(&nobody_flagged());
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::ReturnParcelLost);
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            scanned.position("return.shipment_in_transit"),
            scanned.position("return.shipment_lost")
        ]
    );

    // Never scanned, and on the buyer's own shipping: no proof it was sent.
    let unproven = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(platform(), carrier(CarrierStatus::Lost, now()));
    let rec = unproven.recommend(&nobody_flagged());
    assert!(!rec.rules().contains(&Rule::ReturnParcelLost));
}

// --- buyer_never_shipped while escalated ---------------------------------------------------------

#[test]
fn a_buyer_who_lets_the_ship_by_date_pass_while_escalated_is_not_refunded() {
    let story = Story::us()
        .opened(Reason::ChangedMind)
        .step(seller(), accept())
        .step(buyer(), escalate());
    let due = story
        .history
        .iter()
        .find_map(|(_, e)| match e {
            ReturnEvent::ReturnAuthorized(a) => a.ship_by,
            _ => None,
        })
        .unwrap();
    // Before the date, the buyer may still send it: the merits decide.
    let early = story.clone().at(due - chrono::TimeDelta::hours(1));
    assert!(!early
        .recommend(&nobody_flagged())
        .rules()
        .contains(&Rule::BuyerNeverShipped));
    let late = story.at(due + chrono::TimeDelta::hours(1));
    let rec = late.recommend(&nobody_flagged());
    assert_sides_with_seller(&rec);
    assert_eq!(rec.reasons[0].rule, Rule::BuyerNeverShipped);
}

// --- replacement_lost ----------------------------------------------------------------------------

/// Directive 2011/83/EU, art. 20: the seller's shipment is at the seller's risk until the buyer
/// has it.
#[test]
fn a_lost_replacement_is_refunded_by_the_seller() {
    let story = Story::us()
        .step(buyer(), {
            let ReturnCommand::Open(mut exchange) = open(1, "ORD-1", Reason::SizeFit) else {
                unreachable!("open() opens")
            };
            exchange.resolution = Resolution::Exchange;
            ReturnCommand::Open(exchange)
        })
        .step(seller(), accept())
        .step(buyer(), ship())
        .step(seller(), receive())
        .step(seller(), inspect(Grade::AsNew, 0, vec![]))
        .step(
            seller(),
            ReturnCommand::ShipReplacement(ShipReplacement {
                items: None,
                carrier: "UPS".to_owned(),
                tracking_number: "1Z-R".to_owned(),
            }),
        )
        .step(platform(), carrier(CarrierStatus::Lost, now()));
    assert_eq!(story.case().status, Status::Escalated);
    let rec = story.recommend(&nobody_flagged());
    assert_refund(&rec, 2500, false, FundedBy::Seller);
    assert_eq!(rec.reasons[0].rule, Rule::ReplacementLost);
    assert_eq!(
        rec.reasons[0].event_positions,
        [
            story.position("return.replacement_shipped"),
            story.position("return.replacement_lost")
        ]
    );
}
