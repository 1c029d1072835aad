//! Who may take which action, and when: docs/api.md's action table as code.
//!
//! Three questions, asked in this order by `decide` and by `allowed_actions`:
//! 1. May this party see the return? A buyer or seller acting on someone else's return is told it
//!    does not exist (404), so that ids do not leak.
//! 2. May this role ever take the action? If not: 403 `forbidden`.
//! 3. Does the return's state allow it now? If not: 409 `invalid_transition`, with the reason and
//!    the actions that are allowed.

use chrono::{DateTime, Utc};

use crate::actor::{Actor, Role};

use super::decide::{APPEAL_WINDOW_DAYS, RATING_WINDOW_DAYS};
use super::state::{Dispute, EvidenceRecord, GrantedException, ReturnCase};
use super::vocab::{Action, Status};

/// The roles that may ever take `action`.
pub fn roles_for(action: Action) -> &'static [Role] {
    match action {
        Action::Open => &[Role::Buyer],
        Action::Accept
        | Action::Decline
        | Action::Offer
        | Action::Receive
        | Action::Inspect
        | Action::ShipReplacement
        | Action::OutOfStock => &[Role::Seller],
        Action::AcceptOffer
        | Action::DeclineOffer
        | Action::Ship
        | Action::Withdraw
        | Action::Rate
        | Action::ChooseMethod => &[Role::Buyer],
        Action::CarrierUpdate | Action::Refund => &[Role::Platform],
        Action::Escalate | Action::Appeal => &[Role::Buyer, Role::Seller],
        Action::Messages | Action::Evidence => &[Role::Buyer, Role::Seller, Role::Operator],
        Action::GrantException => &[Role::Seller, Role::Operator],
        Action::Assign | Action::Decide => &[Role::Operator],
        Action::ApplyDeadline => &[Role::System],
    }
}

pub fn role_may(action: Action, role: Role) -> bool {
    roles_for(action).contains(&role)
}

/// Whether `actor` may see `case` at all.
pub fn can_see(case: &ReturnCase, actor: &Actor) -> bool {
    match actor.role {
        Role::Buyer => actor.id == case.buyer_id.as_str(),
        Role::Seller => actor.id == case.seller_id.as_str(),
        Role::Operator | Role::Platform | Role::System => true,
    }
}

/// What stands in for an operator's id where a party looks (docs/api.md, "Visibility").
pub const OPERATOR_SHOWN_TO_PARTIES: &str = "operator";

/// Whether `viewer` sees what only the platform's side may see of a case: which operator acts on
/// it and what arbitration recommended (whose rules may name the other party's abuse flags).
/// Buyers and sellers do not.
pub fn sees_operator_data(viewer: &Actor) -> bool {
    !matches!(viewer.role, Role::Buyer | Role::Seller)
}

/// `actor` as a party sees it: an operator without its id.
pub fn actor_for_parties(actor: &Actor) -> Actor {
    match actor.role {
        Role::Operator => Actor::new(Role::Operator, OPERATOR_SHOWN_TO_PARTIES),
        _ => actor.clone(),
    }
}

/// The dispute as a party sees it: no assignee, no recommendation, and the decision by "an
/// operator".
pub fn dispute_for_parties(dispute: &Dispute) -> Dispute {
    let mut dispute = dispute.clone();
    if dispute.assignee.is_some() {
        dispute.assignee = Some(OPERATOR_SHOWN_TO_PARTIES.to_owned());
    }
    for decision in dispute
        .decision
        .iter_mut()
        .chain(dispute.appeal.iter_mut().map(|a| &mut a.first_decision))
    {
        decision.decided_by = OPERATOR_SHOWN_TO_PARTIES.to_owned();
        decision.recommendation = None;
    }
    if let Some(appeal) = &mut dispute.appeal {
        appeal.appealed_by = actor_for_parties(&appeal.appealed_by);
    }
    dispute
}

/// Goodwill exceptions as a party sees them.
pub fn exceptions_for_parties(exceptions: &[GrantedException]) -> Vec<GrantedException> {
    exceptions
        .iter()
        .map(|e| GrantedException {
            granted_by: actor_for_parties(&e.granted_by),
            ..e.clone()
        })
        .collect()
}

/// Evidence as a party sees it.
pub fn evidence_for_parties(evidence: &[EvidenceRecord]) -> Vec<EvidenceRecord> {
    evidence
        .iter()
        .map(|e| EvidenceRecord {
            added_by: actor_for_parties(&e.added_by),
            ..e.clone()
        })
        .collect()
}

/// Why `action` is not possible in the current state, or `None` if it is.
pub fn not_now(case: &ReturnCase, action: Action, now: DateTime<Utc>) -> Option<String> {
    let status = case.status;
    let in_status = |allowed: &[Status]| {
        if allowed.contains(&status) {
            None
        } else {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            Some(format!(
                "the return is {status}; {action} needs {}",
                names.join(" or ")
            ))
        }
    };
    match action {
        Action::Accept | Action::Decline | Action::Offer => in_status(&[Status::Requested]),
        Action::AcceptOffer | Action::DeclineOffer => in_status(&[Status::OfferPending]),
        Action::Ship => in_status(&[Status::Authorized]),
        // On a replacement's way to the buyer, the carrier reports on the replacement.
        Action::CarrierUpdate => in_status(&[
            Status::Authorized,
            Status::InTransit,
            Status::ReplacementShipped,
        ]),
        Action::Receive => in_status(&[Status::Authorized, Status::InTransit]),
        Action::ShipReplacement | Action::OutOfStock => in_status(&[Status::ExchangePending]),
        Action::Inspect => in_status(&[Status::Delivered]),
        Action::Refund => in_status(&[Status::RefundPending]),
        Action::Escalate => escalation_blocked(case, now),
        Action::Withdraw => withdrawal_blocked(case),
        Action::Messages => None,
        Action::Evidence => (status == Status::Closed).then(|| "the return is closed".to_owned()),
        Action::GrantException => {
            in_status(&[Status::Requested, Status::Declined, Status::Escalated])
        }
        Action::Assign | Action::Decide => in_status(&[Status::Escalated]),
        Action::Rate => rating_blocked(case, now),
        Action::Appeal => appeal_blocked(case, now),
        // Before the item is on its way.
        Action::ChooseMethod => {
            in_status(&[Status::Requested, Status::OfferPending, Status::Authorized])
        }
        Action::Open => Some("the return already exists".to_owned()),
        // Deadlines are judged by `decide` itself (idempotently), never refused for the state.
        Action::ApplyDeadline => None,
    }
}

/// Escalation: any status but closed and escalated; from declined only within the escalation
/// window; and never again by a party once an operator decided (the decision is final).
fn escalation_blocked(case: &ReturnCase, now: DateTime<Utc>) -> Option<String> {
    match case.status {
        Status::Closed => Some("the return is closed".to_owned()),
        Status::Escalated => Some("the return is already escalated".to_owned()),
        _ if case.dispute.as_ref().is_some_and(|d| d.decision.is_some()) => {
            Some("an operator already decided this return; the decision is final".to_owned())
        }
        Status::Declined => match case.deadlines.escalate_by {
            Some(escalate_by) if now < escalate_by => None,
            Some(escalate_by) => Some(format!("the escalation window closed at {escalate_by}")),
            None => Some("the escalation window is closed".to_owned()),
        },
        _ => None,
    }
}

/// Appeal: once, within `APPEAL_WINDOW_DAYS` of an operator's decision, while the decision can
/// still be undone (nothing paid, the item not yet sent).
fn appeal_blocked(case: &ReturnCase, now: DateTime<Utc>) -> Option<String> {
    let Some(dispute) = &case.dispute else {
        return Some("there is no operator decision to appeal".to_owned());
    };
    if dispute.appeal.is_some() {
        return Some("the decision was appealed already; the appeal's outcome is final".to_owned());
    }
    let Some(decision) = &dispute.decision else {
        return Some("there is no operator decision to appeal".to_owned());
    };
    let until = crate::calendar::add_days(decision.decided_at, APPEAL_WINDOW_DAYS);
    if now >= until {
        return Some(format!("appeals were open until {until}"));
    }
    let reversible = case.refunded_amount_minor.is_zero()
        && !case.item_was_shipped()
        && match case.status {
            Status::Closed => case.outcome == Some(super::vocab::Outcome::Denied),
            Status::RefundPending | Status::Authorized => true,
            _ => false,
        };
    (!reversible).then(|| {
        "the decision was carried out already (a refund paid or the item sent back)".to_owned()
    })
}

/// What only one of the parties may do on `case`: appeal a decision that went against them.
pub fn party_blocked(case: &ReturnCase, action: Action, actor: &Actor) -> Option<String> {
    if action != Action::Appeal {
        return None;
    }
    let decision = case.dispute.as_ref().and_then(|d| d.decision.as_ref())?;
    let loser = match decision.outcome {
        super::vocab::DecisionOutcome::RefundBuyer => Role::Seller,
        super::vocab::DecisionOutcome::SideWithSeller => Role::Buyer,
    };
    (actor.role != loser)
        .then(|| "only the party the decision went against may appeal it".to_owned())
}

/// Rating: once, on a closed return, within `RATING_WINDOW_DAYS` of its closing.
fn rating_blocked(case: &ReturnCase, now: DateTime<Utc>) -> Option<String> {
    if case.status != Status::Closed {
        return Some(format!("the return is {}; rate needs closed", case.status));
    }
    if case.rating.is_some() {
        return Some("the return was already rated".to_owned());
    }
    let closed_at = case.closed_at.unwrap_or(case.updated_at);
    let until = crate::calendar::add_days(closed_at, RATING_WINDOW_DAYS);
    (now >= until).then(|| format!("ratings were open until {until}"))
}

/// Withdrawal: before the item is delivered back. That is the statuses before `delivered`, plus
/// `declined` and `escalated` while the item has not reached the seller.
fn withdrawal_blocked(case: &ReturnCase) -> Option<String> {
    match case.status {
        Status::Requested | Status::OfferPending | Status::Authorized | Status::InTransit => None,
        Status::Declined | Status::Escalated if !case.item_is_back() => None,
        Status::Declined | Status::Escalated => {
            Some("the item is already back with the seller".to_owned())
        }
        status => Some(format!(
            "the return is {status}; withdraw is only possible before delivery"
        )),
    }
}

/// The actions of docs/api.md that `actor` may take on `case` at `now` (the view's `allowed_actions`).
pub fn allowed_actions(case: &ReturnCase, actor: &Actor, now: DateTime<Utc>) -> Vec<&'static str> {
    if !can_see(case, actor) {
        return Vec::new();
    }
    Action::ON_A_RETURN
        .iter()
        .filter(|&&action| {
            role_may(action, actor.role)
                && not_now(case, action, now).is_none()
                && party_blocked(case, action, actor).is_none()
        })
        .map(|action| action.as_str())
        .collect()
}
