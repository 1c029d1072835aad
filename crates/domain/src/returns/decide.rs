//! `decide`: checks a command against a return's state and the outside facts in `Context`, and
//! yields the events to append to the return's stream and to its order's stream.
//!
//! Deadlines and amounts are computed here (from the policy in force and the calendar) and written
//! into the events, so `evolve` never needs the policy or the clock.

use chrono::{DateTime, Utc};

use crate::actor::{Actor, Role};
use crate::calendar;
use crate::credit::{CreditEvent, CreditIssued};
use crate::error::{Checks, Rejection};
use crate::evaluation::{evaluate_request, PolicyEvaluation};
use crate::methods::{MethodRequest, ReturnMethod};
use crate::money::MinorUnits;
use crate::order::{latest_reportable, Order, OrderEvent};
use crate::policy::{OnSellerTimeout, RefundMethod, SellerPolicy};
use crate::taxonomy::{Evidence, Reason, Resolution, MAX_URL_LEN};

use super::commands::{
    AcceptReturn, AddEvidence, AppealDecision, ApplyDeadline, CarrierUpdate, ChooseMethod,
    DecideDispute, DeclineReturn, EscalateReturn, GrantException, InspectReturn, IssueRefund,
    MakeOffer, OpenReturn, PostMessage, RateReturn, ReceiveReturn, ReplacementItem, ReturnCommand,
    ReturnLabel, ShipReplacement, ShipReturn,
};
use super::events::{
    DeadlineMissed, DisputeAssigned, DisputeDecided, EvidenceAdded, ExceptionGranted,
    ExchangeApproved, ExchangeFailed, ItemArrived, ItemInspected, MessagePosted, MethodDeadline,
    OfferAccepted, OfferDeclined, OfferExpired, OfferMade, RefundApproved, RefundIssued,
    ReplacementDelivered, ReplacementLost, ReplacementShipped, ReturnAppealed, ReturnAuthorized,
    ReturnClosed, ReturnDeclined, ReturnEscalated, ReturnEvent, ReturnItem, ReturnMethodChosen,
    ReturnRated, ReturnRequested, ReturnShipped, ReturnWithdrawn, ShipmentException,
    ShipmentInTransit, ShipmentLost, ShipmentReturnedToSender,
};
use super::rules::{allowed_actions, can_see, not_now, party_blocked, role_may};
use super::state::ReturnCase;
use super::vocab::{
    Action, ApprovalSource, ArrivalSource, CarrierStatus, DeadlineKind, DecisionOutcome,
    DeclineStage, EscalationTrigger, ExceptionRule, ExchangeFailure, FundedBy, Intake, OfferKind,
    OnArrival, Outcome, PayoutMethod, RefundBasis, Status,
};

/// After a decline, the buyer may escalate for this many days (docs/api.md's default).
pub const ESCALATION_WINDOW_DAYS: u32 = 7;
/// An offer stands for this many days; unanswered, it expires and the request stands again.
pub const OFFER_VALID_DAYS: u32 = 3;
/// An operator should decide an escalated return within this many business days.
pub const DECISION_BUSINESS_DAYS: u32 = 2;
/// A refund that falls due late (after inspection, say) still leaves the platform this many days
/// to pay, even when the legal refund period from the request has already run out.
pub const REFUND_PROCESSING_DAYS: u32 = 3;
/// Caps that keep one stream a sensible size.
pub const MAX_EVIDENCE_PER_RETURN: usize = 100;
pub const MAX_MESSAGES_PER_RETURN: u32 = 500;

pub const MAX_DESCRIPTION_LEN: usize = 5000;
pub const MAX_MESSAGE_LEN: usize = 5000;
pub const MAX_REASON_TEXT_LEN: usize = 2000;
pub const MAX_RATIONALE_LEN: usize = 5000;
pub const MAX_NOTES_LEN: usize = 5000;
pub const MAX_EXCEPTION_NOTE_LEN: usize = 2000;
pub const MAX_INSTRUCTIONS_LEN: usize = 2000;
pub const MAX_CARRIER_LEN: usize = 100;
pub const MAX_TRACKING_LEN: usize = 100;
pub const MAX_REFERENCE_LEN: usize = 200;
pub const MAX_RATING_COMMENT_LEN: usize = 2000;
/// A party may appeal an operator's decision for this many days.
pub const APPEAL_WINDOW_DAYS: u32 = 7;
/// The seller ships the replacement of an exchange within this many business days.
pub const REPLACEMENT_SHIP_BUSINESS_DAYS: u32 = 3;
/// A closed return may be rated for this many days.
pub const RATING_WINDOW_DAYS: u32 = 30;

/// The outside facts a command is decided with, looked up by the caller first.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The service clock.
    pub now: DateTime<Utc>,
    pub actor: &'a Actor,
    /// The return's order, as of the latest order event.
    pub order: &'a Order,
    /// The seller policy version current when the order was registered (`order.policy_version`).
    pub policy: &'a SellerPolicy,
    /// The buyer has a confirmed abuse flag: no automatic approval, no returnless refund.
    pub buyer_flagged: bool,
}

/// What a command produced: events for the return's stream, for its order's stream and for the
/// buyer's store-credit ledger, to be appended together atomically (each with its expected version). Both empty: nothing to do (an
/// idempotent repeat).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub return_events: Vec<ReturnEvent>,
    pub order_events: Vec<OrderEvent>,
    /// Store credit issued to the buyer's ledger (a refund paid as store credit).
    pub credit_events: Vec<CreditEvent>,
}

impl Decision {
    pub fn is_empty(&self) -> bool {
        self.return_events.is_empty()
            && self.order_events.is_empty()
            && self.credit_events.is_empty()
    }
}

/// Decides a command on a return (`None` before it is opened).
pub fn decide(
    state: Option<&ReturnCase>,
    command: &ReturnCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    match (state, command) {
        (None, ReturnCommand::Open(open)) => open_return(open, ctx),
        (Some(case), ReturnCommand::Open(_)) => Err(Rejection::AlreadyExists(format!(
            "return {} already exists",
            case.id
        ))),
        (None, _) => Err(Rejection::NotFound("no such return".to_owned())),
        (Some(case), command) => act(case, command, ctx),
    }
}

fn on_arrival_for(resolution: Resolution) -> OnArrival {
    match resolution {
        Resolution::Refund => OnArrival::Inspect,
        // A repair comes back as a (repaired) item; the outcome set has no "repaired", and
        // `exchanged` is the outcome where the buyer gets goods rather than money.
        Resolution::Exchange | Resolution::Repair => OnArrival::Exchange,
    }
}

fn merge_validation(checks: &mut Checks, rejection: Rejection) -> Result<(), Rejection> {
    match rejection {
        Rejection::Validation(errors) => {
            for error in errors {
                checks.fail(error.field, error.message);
            }
            Ok(())
        }
        other => Err(other),
    }
}

/// How a new request is handled under `policy`, given its evaluation: refunded at once without
/// the item, authorised for shipping at once, or left to the seller. Only an eligible request of a
/// buyer without a confirmed abuse flag is settled without the seller, within the policy's limits.
pub fn intake_for(
    evaluation: &PolicyEvaluation,
    policy: &SellerPolicy,
    reason: Reason,
    resolution: Resolution,
    buyer_flagged: bool,
) -> Intake {
    let requested = evaluation.requested_amount_minor;
    let trusted = evaluation.eligible && !buyer_flagged;
    let within = |max: MinorUnits| !max.is_zero() && requested <= max;
    if trusted && resolution == Resolution::Refund && within(policy.returnless_refund_max_minor) {
        Intake::Returnless
    } else if trusted && reason != Reason::NotReceived && within(policy.auto_approve_max_minor) {
        // A `not_received` claim has nothing to send back, so it is never authorised for shipping
        // automatically (it may still be refunded returnless).
        Intake::AutoApproved
    } else {
        Intake::ToSeller
    }
}

fn open_return(open: &OpenReturn, ctx: &Context<'_>) -> Result<Decision, Rejection> {
    let actor = ctx.actor;
    let order = ctx.order;
    if !role_may(Action::Open, actor.role) {
        return Err(Rejection::Forbidden {
            action: Action::Open.as_str(),
            role: actor.role,
        });
    }
    if open.order_id != order.order_id || actor.id != order.buyer_id.as_str() {
        return Err(Rejection::NotFound("no such order".to_owned()));
    }
    let now = ctx.now;
    let mut checks = Checks::new();
    checks.optional_text(
        "description",
        open.description.as_deref(),
        MAX_DESCRIPTION_LEN,
    );
    Evidence::check_all(&open.evidence, "evidence", &mut checks);
    let reservation = match order.reserve(open.return_id, &open.items, now) {
        Ok(event) => Some(event),
        Err(rejection) => {
            merge_validation(&mut checks, rejection)?;
            None
        }
    };
    // A request that names no method goes by mail; a policy without a mail label has the buyer
    // name one.
    let method_request = open.return_method.clone().unwrap_or(MethodRequest::Mail);
    method_request.check(
        &ctx.policy.return_methods,
        now,
        "return_method",
        &mut checks,
    );
    checks.finish()?;
    let reservation =
        reservation.ok_or_else(|| Rejection::field("items", "could not be reserved"))?;
    let return_method = method_request.chosen(&open.drop_off_code);
    let evaluation = evaluate_request(
        order,
        ctx.policy,
        &open.items,
        open.reason,
        now,
        &[],
        return_method.kind(),
    )?;

    let mut items = Vec::with_capacity(open.items.len());
    for item in &open.items {
        if let Some(line) = order.line(&item.line_id) {
            items.push(ReturnItem {
                line_id: line.line_id.clone(),
                sku: line.sku.clone(),
                title: line.title.clone(),
                category: line.category.clone(),
                quantity: item.quantity,
                unit_price_minor: line.unit_price_minor,
            });
        }
    }

    let requested = evaluation.requested_amount_minor;
    let policy = ctx.policy;
    let intake = intake_for(
        &evaluation,
        policy,
        open.reason,
        open.resolution,
        ctx.buyer_flagged,
    );
    let seller_response_due = match intake {
        Intake::ToSeller => Some(calendar::add_business_days(
            now,
            policy.seller_response_business_days,
            &order.jurisdiction,
        )),
        Intake::Returnless | Intake::AutoApproved => None,
    };
    let requested_event = ReturnRequested {
        return_id: open.return_id,
        rma: open.rma.clone(),
        order_id: order.order_id.clone(),
        buyer_id: order.buyer_id.clone(),
        seller_id: order.seller_id.clone(),
        currency: order.currency,
        jurisdiction: order.jurisdiction,
        items,
        reason: open.reason,
        description: open.description.clone(),
        resolution: open.resolution,
        evidence: open.evidence.clone(),
        evaluation,
        seller_response_due,
        return_method,
        at: now,
    };
    let case = ReturnCase::from_requested(&requested_event);
    let mut b = Builder::new(ctx, case);
    b.decision
        .return_events
        .push(ReturnEvent::ReturnRequested(requested_event));
    b.emit_order(reservation);
    match intake {
        Intake::Returnless => {
            b.approve_refund(Refund::money(requested, RefundBasis::AutoReturnless).keeping_item())?
        }
        Intake::AutoApproved => {
            b.authorize(
                ApprovalSource::Auto,
                None,
                None,
                on_arrival_for(open.resolution),
            );
        }
        Intake::ToSeller => {}
    }
    Ok(b.decision)
}

fn act(
    case: &ReturnCase,
    command: &ReturnCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let action = command.action();
    let actor = ctx.actor;
    if !can_see(case, actor) {
        return Err(Rejection::NotFound("no such return".to_owned()));
    }
    if !role_may(action, actor.role) {
        return Err(Rejection::Forbidden {
            action: action.as_str(),
            role: actor.role,
        });
    }
    if ctx.order.order_id != case.order_id {
        return Err(Rejection::NotFound(format!(
            "order {} was not supplied",
            case.order_id
        )));
    }
    if let Some(reason) =
        not_now(case, action, ctx.now).or_else(|| party_blocked(case, action, actor))
    {
        return Err(Rejection::InvalidTransition {
            action: action.as_str(),
            status: case.status.as_str(),
            reason,
            allowed: allowed_actions(case, actor, ctx.now),
        });
    }
    let mut b = Builder::new(ctx, case.clone());
    match command {
        ReturnCommand::Open(_) => {
            return Err(Rejection::AlreadyExists(format!(
                "return {} already exists",
                case.id
            )))
        }
        ReturnCommand::Accept(cmd) => b.accept(cmd)?,
        ReturnCommand::Decline(cmd) => b.decline_request(cmd)?,
        ReturnCommand::Offer(cmd) => b.offer(cmd)?,
        ReturnCommand::AcceptOffer(_) => b.accept_offer()?,
        ReturnCommand::DeclineOffer(_) => {
            let seller_response_due = b.seller_response_due();
            b.emit(ReturnEvent::OfferDeclined(OfferDeclined {
                seller_response_due,
                at: b.now,
            }));
        }
        ReturnCommand::Ship(cmd) => b.ship(cmd)?,
        ReturnCommand::CarrierUpdate(cmd) => b.carrier_update(cmd)?,
        ReturnCommand::Receive(cmd) => b.receive(cmd)?,
        ReturnCommand::Inspect(cmd) => b.inspect(cmd)?,
        ReturnCommand::Refund(cmd) => b.refund(cmd)?,
        ReturnCommand::Escalate(cmd) => b.escalate_by_party(cmd)?,
        ReturnCommand::Withdraw(_) => {
            b.emit(ReturnEvent::ReturnWithdrawn(ReturnWithdrawn { at: b.now }));
            b.close(Outcome::Withdrawn);
        }
        ReturnCommand::PostMessage(cmd) => b.post_message(cmd)?,
        ReturnCommand::AddEvidence(cmd) => b.add_evidence(cmd)?,
        ReturnCommand::GrantException(cmd) => b.grant_exception(cmd)?,
        ReturnCommand::Assign(_) => b.assign(),
        ReturnCommand::Decide(cmd) => b.decide_dispute(cmd)?,
        ReturnCommand::Rate(cmd) => b.rate(cmd)?,
        ReturnCommand::ChooseMethod(cmd) => b.choose_method(cmd)?,
        ReturnCommand::ShipReplacement(cmd) => b.ship_replacement(cmd)?,
        ReturnCommand::OutOfStock(_) => b.exchange_failed(ExchangeFailure::OutOfStock)?,
        ReturnCommand::Appeal(cmd) => b.appeal(cmd)?,
        ReturnCommand::ApplyDeadline(cmd) => b.apply_deadline(cmd)?,
    }
    Ok(b.decision)
}

/// A refund about to fall due.
struct Refund {
    amount: MinorUnits,
    principal: MinorUnits,
    bonus: MinorUnits,
    method: PayoutMethod,
    keep_item: bool,
    basis: RefundBasis,
    funded_by: Option<FundedBy>,
}

impl Refund {
    fn money(amount: MinorUnits, basis: RefundBasis) -> Refund {
        Refund {
            amount,
            principal: amount,
            bonus: MinorUnits::ZERO,
            method: PayoutMethod::OriginalPayment,
            keep_item: false,
            basis,
            funded_by: None,
        }
    }

    fn keeping_item(mut self) -> Refund {
        self.keep_item = true;
        self
    }
}

/// Accumulates the events of one command, folding each into a working copy of the return and the
/// order so that later steps see the effect of earlier ones.
struct Builder<'a> {
    now: DateTime<Utc>,
    actor: &'a Actor,
    policy: &'a SellerPolicy,
    case: ReturnCase,
    order: Order,
    decision: Decision,
}

impl<'a> Builder<'a> {
    fn new(ctx: &Context<'a>, case: ReturnCase) -> Self {
        Builder {
            now: ctx.now,
            actor: ctx.actor,
            policy: ctx.policy,
            case,
            order: ctx.order.clone(),
            decision: Decision::default(),
        }
    }

    fn emit(&mut self, event: ReturnEvent) {
        self.case.apply(&event);
        self.decision.return_events.push(event);
    }

    fn emit_order(&mut self, event: OrderEvent) {
        self.order.apply(&event);
        self.decision.order_events.push(event);
    }

    fn seller_response_due(&self) -> DateTime<Utc> {
        calendar::add_business_days(
            self.now,
            self.policy.seller_response_business_days,
            &self.case.jurisdiction,
        )
    }

    // --- consequences shared by several commands -------------------------------------------

    fn authorize(
        &mut self,
        source: ApprovalSource,
        label: Option<ReturnLabel>,
        instructions: Option<String>,
        on_arrival: OnArrival,
    ) {
        // No shipping deadline when it was waived, or when the item is already on its way.
        let deadline = if self.case.is_waived(ExceptionRule::ShipBy) || self.case.item_was_shipped()
        {
            None
        } else {
            Some(self.method_deadline(&self.case.return_method))
        };
        self.emit(ReturnEvent::ReturnAuthorized(ReturnAuthorized {
            source,
            label,
            instructions,
            ship_by: deadline.map(|d| d.due_at),
            // `ship_by` is the default kind, left out.
            ship_deadline: deadline
                .map(|d| d.kind)
                .filter(|kind| *kind != DeadlineKind::ShipBy),
            on_arrival,
            at: self.now,
        }));
    }

    /// The deadline an authorisation starts for `method`: the pickup slot's end for a pickup
    /// still to come, else the policy's days to ship (by mail) or to drop the item off (at a
    /// relay point or a store).
    fn method_deadline(&self, method: &ReturnMethod) -> MethodDeadline {
        let days = calendar::add_days(self.now, self.policy.ship_by_days);
        match method {
            ReturnMethod::Pickup { slot_end, .. } if *slot_end > self.now => MethodDeadline {
                kind: DeadlineKind::PickupBy,
                due_at: *slot_end,
            },
            ReturnMethod::Mail | ReturnMethod::Pickup { .. } => MethodDeadline {
                kind: DeadlineKind::ShipBy,
                due_at: days,
            },
            ReturnMethod::RelayPoint { .. } | ReturnMethod::Store { .. } => MethodDeadline {
                kind: DeadlineKind::DropOffBy,
                due_at: days,
            },
        }
    }

    /// The exchange goes ahead: the seller has `REPLACEMENT_SHIP_BUSINESS_DAYS` to ship the
    /// replacement.
    fn approve_exchange(&mut self) {
        let replacement_ship_by = calendar::add_business_days(
            self.now,
            REPLACEMENT_SHIP_BUSINESS_DAYS,
            &self.case.jurisdiction,
        );
        self.emit(ReturnEvent::ExchangeApproved(ExchangeApproved {
            replacement_ship_by,
            at: self.now,
        }));
    }

    /// The exchange cannot go ahead: the requested amount is refunded instead.
    fn exchange_failed(&mut self, cause: ExchangeFailure) -> Result<(), Rejection> {
        self.emit(ReturnEvent::ExchangeFailed(ExchangeFailed {
            cause,
            at: self.now,
        }));
        let requested = self.case.requested_amount_minor;
        self.approve_refund(Refund::money(requested, RefundBasis::ExchangeFailed))
    }

    /// The return judged again as at its request, with `exceptions` waived and sent back by
    /// `method`.
    fn judged_again(
        &self,
        exceptions: &[ExceptionRule],
        method: crate::methods::MethodKind,
    ) -> Result<PolicyEvaluation, Rejection> {
        evaluate_request(
            &self.order,
            self.policy,
            &self.case.item_requests(),
            self.case.reason,
            self.case.created_at,
            exceptions,
            method,
        )
    }

    /// The refund falls due. A zero refund has nothing to pay: the return closes as refunded.
    fn approve_refund(&mut self, refund: Refund) -> Result<(), Rejection> {
        if refund.amount.is_zero() {
            let recorded = self.order.record_refund(
                self.case.id,
                MinorUnits::ZERO,
                MinorUnits::ZERO,
                self.now,
            )?;
            self.emit_order(recorded);
            self.emit(ReturnEvent::ReturnClosed(ReturnClosed {
                outcome: Outcome::Refunded,
                at: self.now,
            }));
            return Ok(());
        }
        // Due `refund_due_days` after the request (14 in the EU), but never sooner than a few
        // days from now, so a refund that only falls due after inspection can still be paid.
        let legal = calendar::add_days(
            self.case.created_at,
            self.case.policy.evaluation.refund_due_days,
        );
        let refund_due = legal.max(calendar::add_days(self.now, REFUND_PROCESSING_DAYS));
        self.emit(ReturnEvent::RefundApproved(RefundApproved {
            amount_minor: refund.amount,
            principal_minor: refund.principal,
            bonus_minor: refund.bonus,
            method: refund.method,
            keep_item: refund.keep_item,
            basis: refund.basis,
            funded_by: refund.funded_by,
            refund_due,
            at: self.now,
        }));
        Ok(())
    }

    /// Closes the return; without a refund, its items go back to the order's pool.
    fn close(&mut self, outcome: Outcome) {
        self.emit(ReturnEvent::ReturnClosed(ReturnClosed {
            outcome,
            at: self.now,
        }));
        if outcome.releases_items() {
            if let Some(release) = self.order.release(self.case.id, self.now) {
                self.emit_order(release);
            }
        }
    }

    fn decline(
        &mut self,
        stage: DeclineStage,
        reason_text: Option<String>,
        evidence: Vec<Evidence>,
    ) {
        self.emit(ReturnEvent::ReturnDeclined(ReturnDeclined {
            stage,
            reason_text,
            evidence,
            escalate_by: calendar::add_days(self.now, ESCALATION_WINDOW_DAYS),
            at: self.now,
        }));
    }

    fn escalate(&mut self, trigger: EscalationTrigger, reason_text: Option<String>) {
        self.emit(ReturnEvent::ReturnEscalated(ReturnEscalated {
            trigger,
            reason_text,
            decision_due: calendar::add_business_days(
                self.now,
                DECISION_BUSINESS_DAYS,
                &self.case.jurisdiction,
            ),
            at: self.now,
        }));
    }

    /// The item reached the seller. Inspection is due within the policy's business days counted
    /// from the arrival, unless an operator already decided the refund.
    fn arrival(
        &mut self,
        source: ArrivalSource,
        arrived_at: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let on_arrival = self.case.on_arrival;
        let inspect_by = match on_arrival {
            OnArrival::Refund { .. } => None,
            OnArrival::Inspect | OnArrival::Exchange => Some(calendar::add_business_days(
                arrived_at,
                self.policy.inspect_business_days,
                &self.case.jurisdiction,
            )),
        };
        self.emit(ReturnEvent::ItemArrived(ItemArrived {
            source,
            arrived_at,
            inspect_by,
            at: self.now,
        }));
        if let OnArrival::Refund {
            amount_minor,
            funded_by,
        } = on_arrival
        {
            let mut refund = Refund::money(amount_minor, RefundBasis::Decision);
            refund.funded_by = Some(funded_by);
            self.approve_refund(refund)?;
        }
        Ok(())
    }

    fn reported_time(&self, field: &str, at: DateTime<Utc>, checks: &mut Checks) {
        checks.check(
            at <= latest_reportable(self.now),
            field,
            "must not be in the future",
        );
        checks.check(
            at >= self.case.created_at,
            field,
            "must not precede the return request",
        );
    }

    fn amount_cap(&self, field: &str, amount: MinorUnits, checks: &mut Checks) {
        let cap = self.case.items_total_minor;
        checks.check(
            amount <= cap,
            field,
            format!("cannot exceed what was paid for the items ({cap})"),
        );
    }

    // --- commands ---------------------------------------------------------------------------

    fn accept(&mut self, cmd: &AcceptReturn) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        if let Some(label) = &cmd.label {
            if cmd.returnless {
                checks.fail("label", "must be left out when returnless is true");
            }
            checks.text("label.carrier", &label.carrier, MAX_CARRIER_LEN);
            checks.text(
                "label.tracking_number",
                &label.tracking_number,
                MAX_TRACKING_LEN,
            );
            if let Some(url) = &label.label_url {
                let lower = url.to_ascii_lowercase();
                checks.check(
                    (lower.starts_with("https://") || lower.starts_with("http://"))
                        && url.len() <= MAX_URL_LEN,
                    "label.label_url",
                    "must be an http(s) URL of at most 2048 characters",
                );
            }
        }
        checks.optional_text(
            "instructions",
            cmd.instructions.as_deref(),
            MAX_INSTRUCTIONS_LEN,
        );
        checks.finish()?;
        if cmd.returnless {
            let requested = self.case.requested_amount_minor;
            self.approve_refund(
                Refund::money(requested, RefundBasis::SellerReturnless).keeping_item(),
            )
        } else {
            let on_arrival = on_arrival_for(self.case.resolution);
            self.authorize(
                ApprovalSource::Seller,
                cmd.label.clone(),
                cmd.instructions.clone(),
                on_arrival,
            );
            Ok(())
        }
    }

    fn decline_request(&mut self, cmd: &DeclineReturn) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("reason_text", &cmd.reason_text, MAX_REASON_TEXT_LEN);
        Evidence::check_all(&cmd.evidence, "evidence", &mut checks);
        checks.finish()?;
        self.decline(
            DeclineStage::Response,
            Some(cmd.reason_text.clone()),
            cmd.evidence.clone(),
        );
        Ok(())
    }

    fn offer(&mut self, cmd: &MakeOffer) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        // A seller offers only the settlements its policy advertises (`refund_methods`); money back
        // (a partial refund) is always possible.
        let advertised = match cmd.kind {
            OfferKind::PartialRefund => None,
            OfferKind::StoreCredit => Some(RefundMethod::StoreCredit),
            OfferKind::Exchange => Some(RefundMethod::Exchange),
        };
        if let Some(method) = advertised {
            checks.check(
                self.policy.refund_methods.contains(&method),
                "kind",
                format!(
                    "the seller's policy does not offer {} (refund_methods)",
                    method.as_str()
                ),
            );
        }
        let (amount, credit) = match cmd.kind {
            OfferKind::PartialRefund => match cmd.amount_minor {
                None => {
                    checks.fail("amount_minor", "is required for a partial_refund offer");
                    (None, None)
                }
                Some(amount) => {
                    checks.check(!amount.is_zero(), "amount_minor", "must be above 0");
                    self.amount_cap("amount_minor", amount, &mut checks);
                    (Some(amount), None)
                }
            },
            OfferKind::StoreCredit => {
                let amount = cmd.amount_minor.unwrap_or(self.case.requested_amount_minor);
                checks.check(!amount.is_zero(), "amount_minor", "must be above 0");
                self.amount_cap("amount_minor", amount, &mut checks);
                let bonus = amount.percent(self.policy.store_credit_bonus_percent);
                let credit = bonus.and_then(|bonus| amount.checked_add(bonus));
                if credit.is_err() {
                    checks.fail("amount_minor", "is too large");
                }
                (Some(amount), credit.ok())
            }
            OfferKind::Exchange => {
                checks.check(
                    cmd.amount_minor.is_none_or(MinorUnits::is_zero),
                    "amount_minor",
                    "must be left out for an exchange offer",
                );
                (None, None)
            }
        };
        checks.finish()?;
        self.emit(ReturnEvent::OfferMade(OfferMade {
            kind: cmd.kind,
            amount_minor: amount,
            credit_minor: credit,
            expires_at: calendar::add_days(self.now, OFFER_VALID_DAYS),
            at: self.now,
        }));
        Ok(())
    }

    fn accept_offer(&mut self) -> Result<(), Rejection> {
        let Some(offer) = self.case.offer.clone() else {
            return Err(Rejection::InvalidTransition {
                action: Action::AcceptOffer.as_str(),
                status: self.case.status.as_str(),
                reason: "there is no offer".to_owned(),
                allowed: allowed_actions(&self.case, self.actor, self.now),
            });
        };
        self.emit(ReturnEvent::OfferAccepted(OfferAccepted {
            kind: offer.kind,
            at: self.now,
        }));
        let amount = offer.amount_minor.unwrap_or(MinorUnits::ZERO);
        match offer.kind {
            OfferKind::PartialRefund => self.approve_refund(
                Refund::money(amount, RefundBasis::OfferPartialRefund).keeping_item(),
            ),
            OfferKind::StoreCredit => {
                let credit = offer.credit_minor.unwrap_or(amount);
                self.approve_refund(Refund {
                    amount: credit,
                    principal: amount,
                    bonus: credit.saturating_sub(amount),
                    method: PayoutMethod::StoreCredit,
                    keep_item: true,
                    basis: RefundBasis::OfferStoreCredit,
                    funded_by: None,
                })
            }
            OfferKind::Exchange => {
                self.authorize(ApprovalSource::Offer, None, None, OnArrival::Exchange);
                Ok(())
            }
        }
    }

    fn ship(&mut self, cmd: &ShipReturn) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("carrier", &cmd.carrier, MAX_CARRIER_LEN);
        checks.text("tracking_number", &cmd.tracking_number, MAX_TRACKING_LEN);
        checks.finish()?;
        self.emit(ReturnEvent::ReturnShipped(ReturnShipped {
            carrier: cmd.carrier.clone(),
            tracking_number: cmd.tracking_number.clone(),
            at: self.now,
        }));
        Ok(())
    }

    fn carrier_update(&mut self, cmd: &CarrierUpdate) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        self.reported_time("at", cmd.at, &mut checks);
        checks.finish()?;
        if self.case.status == Status::ReplacementShipped {
            // The parcel on its way now is the replacement, going to the buyer.
            match cmd.status {
                CarrierStatus::Delivered => {
                    self.emit(ReturnEvent::ReplacementDelivered(ReplacementDelivered {
                        delivered_at: cmd.at,
                        at: self.now,
                    }));
                    self.close(Outcome::Exchanged);
                }
                // A lost replacement goes to an operator, who may refund instead.
                CarrierStatus::Lost => {
                    self.emit(ReturnEvent::ReplacementLost(ReplacementLost {
                        lost_at: cmd.at,
                        at: self.now,
                    }));
                    self.escalate(EscalationTrigger::ParcelLost, None);
                }
                _ => {}
            }
            return Ok(());
        }
        match cmd.status {
            CarrierStatus::Exception => {
                self.emit(ReturnEvent::ShipmentException(ShipmentException {
                    at_carrier: cmd.at,
                    at: self.now,
                }));
                Ok(())
            }
            // A lost parcel is no party's doing to settle alone: an operator decides, and a
            // parcel the buyer can show was sent is not the buyer's loss (docs/arbitration.md).
            CarrierStatus::Lost => {
                self.emit(ReturnEvent::ShipmentLost(ShipmentLost {
                    lost_at: cmd.at,
                    at: self.now,
                }));
                self.escalate(EscalationTrigger::ParcelLost, None);
                Ok(())
            }
            CarrierStatus::ReturnedToSender => {
                let deadline = (!self.case.is_waived(ExceptionRule::ShipBy))
                    .then(|| self.method_deadline(&self.case.return_method));
                self.emit(ReturnEvent::ShipmentReturnedToSender(
                    ShipmentReturnedToSender {
                        returned_at: cmd.at,
                        deadline,
                        at: self.now,
                    },
                ));
                Ok(())
            }
            CarrierStatus::InTransit | CarrierStatus::DroppedOff | CarrierStatus::PickedUp => {
                let repeat = self.case.status == Status::InTransit
                    && self.case.shipment.in_transit_at == Some(cmd.at);
                if !repeat {
                    self.emit(ReturnEvent::ShipmentInTransit(ShipmentInTransit {
                        in_transit_at: cmd.at,
                        scan: (cmd.status != CarrierStatus::InTransit).then_some(cmd.status),
                        at: self.now,
                    }));
                }
                Ok(())
            }
            CarrierStatus::Delivered => self.arrival(ArrivalSource::Carrier, cmd.at),
        }
    }

    fn receive(&mut self, cmd: &ReceiveReturn) -> Result<(), Rejection> {
        let received_at = cmd.received_at.unwrap_or(self.now);
        let mut checks = Checks::new();
        self.reported_time("received_at", received_at, &mut checks);
        checks.finish()?;
        self.arrival(ArrivalSource::Seller, received_at)
    }

    fn inspect(&mut self, cmd: &InspectReturn) -> Result<(), Rejection> {
        let amount = cmd.refund_amount_minor;
        let exchange = self.case.on_arrival == OnArrival::Exchange;
        // A refund of 0 refuses the item, except on an exchange, where a good grade with no
        // refund means the replacement goes out.
        let refusal = amount.is_zero() && (!exchange || cmd.grade.is_refusal_grade());
        let mut checks = Checks::new();
        checks.optional_text("notes", cmd.notes.as_deref(), MAX_NOTES_LEN);
        Evidence::check_all(&cmd.evidence, "evidence", &mut checks);
        self.amount_cap("refund_amount_minor", amount, &mut checks);
        if refusal && cmd.evidence.is_empty() {
            checks.fail("evidence", "refusing the item (refund 0) needs evidence");
        }
        checks.finish()?;
        self.emit(ReturnEvent::ItemInspected(ItemInspected {
            grade: cmd.grade,
            refund_amount_minor: amount,
            notes: cmd.notes.clone(),
            evidence: cmd.evidence.clone(),
            at: self.now,
        }));
        if !amount.is_zero() {
            self.approve_refund(Refund::money(amount, RefundBasis::Inspection))
        } else if refusal {
            self.decline(DeclineStage::Inspection, None, cmd.evidence.clone());
            Ok(())
        } else {
            self.approve_exchange();
            Ok(())
        }
    }

    fn refund(&mut self, cmd: &IssueRefund) -> Result<(), Rejection> {
        let Some(due) = self.case.pending_refund.clone() else {
            return Err(Rejection::InvalidTransition {
                action: Action::Refund.as_str(),
                status: self.case.status.as_str(),
                reason: "no refund is due".to_owned(),
                allowed: allowed_actions(&self.case, self.actor, self.now),
            });
        };
        let mut checks = Checks::new();
        checks.check(
            !cmd.amount_minor.is_zero(),
            "amount_minor",
            "must be above 0",
        );
        checks.check(
            cmd.amount_minor <= due.amount_minor,
            "amount_minor",
            format!("cannot exceed the refund due ({})", due.amount_minor),
        );
        checks.check(
            due.method != PayoutMethod::StoreCredit || cmd.method == PayoutMethod::StoreCredit,
            "method",
            "this refund is due as store credit",
        );
        // Money due goes back by the means the buyer paid with: store credit only where the buyer
        // accepted it (an offer), never in place of money.
        checks.check(
            due.method != PayoutMethod::OriginalPayment
                || cmd.method == PayoutMethod::OriginalPayment,
            "method",
            "this refund is due to the original payment",
        );
        checks.text("reference", &cmd.reference, MAX_REFERENCE_LEN);
        checks.finish()?;
        // The goods are paid back first; only what exceeds them is store-credit bonus.
        let principal = cmd.amount_minor.min(due.principal_minor);
        let bonus = cmd.amount_minor.saturating_sub(principal);
        let recorded = self
            .order
            .record_refund(self.case.id, principal, bonus, self.now)?;
        self.emit(ReturnEvent::RefundIssued(RefundIssued {
            amount_minor: cmd.amount_minor,
            principal_minor: principal,
            bonus_minor: bonus,
            method: cmd.method,
            reference: cmd.reference.clone(),
            at: self.now,
        }));
        self.emit_order(recorded);
        if cmd.method == PayoutMethod::StoreCredit {
            self.decision
                .credit_events
                .push(CreditEvent::CreditIssued(CreditIssued {
                    buyer_id: self.case.buyer_id.clone(),
                    currency: self.case.currency,
                    amount_minor: cmd.amount_minor,
                    principal_minor: principal,
                    bonus_minor: bonus,
                    return_id: self.case.id,
                    at: self.now,
                }));
        }
        let outcome = if principal >= self.case.requested_amount_minor {
            Outcome::Refunded
        } else {
            Outcome::PartiallyRefunded
        };
        self.close(outcome);
        Ok(())
    }

    fn escalate_by_party(&mut self, cmd: &EscalateReturn) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("reason_text", &cmd.reason_text, MAX_REASON_TEXT_LEN);
        checks.finish()?;
        let trigger = match self.actor.role {
            Role::Seller => EscalationTrigger::Seller,
            _ => EscalationTrigger::Buyer,
        };
        self.escalate(trigger, Some(cmd.reason_text.clone()));
        Ok(())
    }

    fn post_message(&mut self, cmd: &PostMessage) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("body", &cmd.body, MAX_MESSAGE_LEN);
        checks.check(
            self.case.message_count < MAX_MESSAGES_PER_RETURN,
            "body",
            format!("a return holds at most {MAX_MESSAGES_PER_RETURN} messages"),
        );
        checks.finish()?;
        self.emit(ReturnEvent::MessagePosted(MessagePosted {
            author: self.actor.clone(),
            body: cmd.body.clone(),
            at: self.now,
        }));
        Ok(())
    }

    fn add_evidence(&mut self, cmd: &AddEvidence) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        cmd.evidence.check("evidence", &mut checks);
        checks.check(
            self.case.evidence.len() < MAX_EVIDENCE_PER_RETURN,
            "evidence",
            format!("a return holds at most {MAX_EVIDENCE_PER_RETURN} pieces of evidence"),
        );
        checks.finish()?;
        self.emit(ReturnEvent::EvidenceAdded(EvidenceAdded {
            added_by: self.actor.clone(),
            evidence: cmd.evidence.clone(),
            at: self.now,
        }));
        Ok(())
    }

    fn grant_exception(&mut self, cmd: &GrantException) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("note", &cmd.note, MAX_EXCEPTION_NOTE_LEN);
        checks.check(
            !self.case.is_waived(cmd.rule),
            "rule",
            "was already granted on this return",
        );
        checks.finish()?;
        let mut rules: Vec<_> = self.case.exceptions.iter().map(|e| e.rule).collect();
        rules.push(cmd.rule);
        // Judged as at the time of the request, with the rule waived.
        let evaluation = self.judged_again(&rules, self.case.return_method.kind())?;
        // A request the seller turned down is reopened: the seller (or operator) just waived what
        // stood in its way. A refusal at inspection is about the item, not the policy, and stands.
        let reopen = self.case.status == Status::Declined
            && self
                .case
                .decline
                .as_ref()
                .is_some_and(|d| d.stage == DeclineStage::Response);
        let reopened_seller_response_due = reopen.then(|| self.seller_response_due());
        self.emit(ReturnEvent::ExceptionGranted(ExceptionGranted {
            rule: cmd.rule,
            note: cmd.note.clone(),
            granted_by: self.actor.clone(),
            evaluation,
            reopened_seller_response_due,
            at: self.now,
        }));
        Ok(())
    }

    fn assign(&mut self) {
        let already = self
            .case
            .dispute
            .as_ref()
            .and_then(|d| d.assignee.as_deref())
            .is_some_and(|assignee| assignee == self.actor.id);
        if !already {
            self.emit(ReturnEvent::DisputeAssigned(DisputeAssigned {
                assignee: self.actor.id.clone(),
                at: self.now,
            }));
        }
    }

    fn decide_dispute(&mut self, cmd: &DecideDispute) -> Result<(), Rejection> {
        let amount = cmd.refund_amount_minor;
        let mut checks = Checks::new();
        checks.text("rationale", &cmd.rationale, MAX_RATIONALE_LEN);
        match cmd.outcome {
            DecisionOutcome::RefundBuyer => {
                checks.check(
                    !amount.is_zero(),
                    "refund_amount_minor",
                    "must be above 0; to refuse the refund, side with the seller",
                );
                self.amount_cap("refund_amount_minor", amount, &mut checks);
                checks.check(
                    cmd.funded_by.is_some(),
                    "funded_by",
                    "is required to refund the buyer",
                );
            }
            DecisionOutcome::SideWithSeller => checks.check(
                amount.is_zero(),
                "refund_amount_minor",
                "must be 0 when siding with the seller",
            ),
        }
        // An appeal is decided by an operator other than the first, and its outcome is final.
        let appeal = self.case.dispute.as_ref().and_then(|d| d.appeal.as_ref());
        if let Some(appeal) = appeal {
            if appeal.first_decision.decided_by == self.actor.id {
                return Err(Rejection::InvalidTransition {
                    action: Action::Decide.as_str(),
                    status: self.case.status.as_str(),
                    reason:
                        "an appeal is decided by an operator other than the one who decided first"
                            .to_owned(),
                    allowed: allowed_actions(&self.case, self.actor, self.now),
                });
            }
        }
        let overturns = appeal.map(|a| a.first_decision.outcome != cmd.outcome);
        checks.finish()?;
        self.emit(ReturnEvent::DisputeDecided(DisputeDecided {
            outcome: cmd.outcome,
            refund_amount_minor: amount,
            return_required: cmd.return_required,
            funded_by: cmd.funded_by,
            rationale: cmd.rationale.clone(),
            decided_by: self.actor.id.clone(),
            at: self.now,
            recommendation: cmd.recommendation.clone(),
            overturns,
        }));
        match (cmd.outcome, cmd.funded_by) {
            (DecisionOutcome::RefundBuyer, Some(funded_by)) => {
                let back = self.case.item_is_back();
                if cmd.return_required && !back {
                    let on_arrival = OnArrival::Refund {
                        amount_minor: amount,
                        funded_by,
                    };
                    self.authorize(ApprovalSource::Decision, None, None, on_arrival);
                    Ok(())
                } else {
                    let mut refund = Refund::money(amount, RefundBasis::Decision);
                    refund.keep_item = !back;
                    refund.funded_by = Some(funded_by);
                    self.approve_refund(refund)
                }
            }
            // Refused above: a refund needs someone to fund it.
            (DecisionOutcome::RefundBuyer, None) => Ok(()),
            (DecisionOutcome::SideWithSeller, _) => {
                self.close(Outcome::Denied);
                Ok(())
            }
        }
    }

    /// The buyer chooses how the item goes back. The return is judged again with the method's
    /// terms (its fee may differ). Once authorised, the method's deadline replaces the running one
    /// without granting more time: the days to ship or drop off run from the authorisation, and
    /// a pickup slot must end by then.
    fn choose_method(&mut self, cmd: &ChooseMethod) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        cmd.method
            .check(&self.policy.return_methods, self.now, "", &mut checks);
        let running = self.case.deadlines.running().first().copied();
        let authorized = self.case.status == Status::Authorized;
        if let (true, Some((_, due)), MethodRequest::Pickup { slot_end, .. }) =
            (authorized, running, &cmd.method)
        {
            checks.check(
                *slot_end <= due,
                "slot_end",
                format!("must end by the return's deadline ({due})"),
            );
        }
        checks.finish()?;
        let method = cmd.method.chosen(&cmd.drop_off_code);
        let exceptions: Vec<_> = self.case.exceptions.iter().map(|e| e.rule).collect();
        let evaluation = self.judged_again(&exceptions, method.kind())?;
        let deadline = match (authorized, running) {
            (true, Some((_, due))) => {
                let mut deadline = self.method_deadline(&method);
                if deadline.kind != DeadlineKind::PickupBy {
                    deadline.due_at = due;
                }
                Some(deadline)
            }
            _ => None,
        };
        let evaluation = (evaluation != self.case.policy.evaluation).then_some(evaluation);
        self.emit(ReturnEvent::ReturnMethodChosen(ReturnMethodChosen {
            method,
            evaluation,
            deadline,
            at: self.now,
        }));
        Ok(())
    }

    /// The seller ships the replacement: by default the returned items again; a line may go out
    /// as another SKU (another size), never more of it than came back.
    fn ship_replacement(&mut self, cmd: &ShipReplacement) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("carrier", &cmd.carrier, MAX_CARRIER_LEN);
        checks.text("tracking_number", &cmd.tracking_number, MAX_TRACKING_LEN);
        let items = match &cmd.items {
            None => self
                .case
                .items
                .iter()
                .map(|item| ReplacementItem {
                    line_id: item.line_id.clone(),
                    sku: item.sku.clone(),
                    quantity: item.quantity,
                })
                .collect(),
            Some(items) => {
                checks.check(!items.is_empty(), "items", "must list at least one item");
                for (i, item) in items.iter().enumerate() {
                    let returned = self.case.items.iter().find(|r| r.line_id == item.line_id);
                    match returned {
                        None => checks.fail(
                            format!("items[{i}].line_id"),
                            "is not a line of this return",
                        ),
                        Some(returned) => checks.check(
                            (1..=returned.quantity).contains(&item.quantity),
                            format!("items[{i}].quantity"),
                            format!("must be from 1 to {} (what came back)", returned.quantity),
                        ),
                    }
                    let repeated = items[..i].iter().any(|o| o.line_id == item.line_id);
                    checks.check(!repeated, format!("items[{i}].line_id"), "is listed twice");
                }
                items.clone()
            }
        };
        checks.finish()?;
        self.emit(ReturnEvent::ReplacementShipped(ReplacementShipped {
            items,
            carrier: cmd.carrier.clone(),
            tracking_number: cmd.tracking_number.clone(),
            at: self.now,
        }));
        Ok(())
    }

    /// The losing party appeals with new evidence: the case goes back to the operators. A denied
    /// return that had released its items holds them again.
    fn appeal(&mut self, cmd: &AppealDecision) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.text("reason_text", &cmd.reason_text, MAX_REASON_TEXT_LEN);
        checks.check(
            !cmd.evidence.is_empty(),
            "evidence",
            "an appeal brings new evidence: at least one piece",
        );
        Evidence::check_all(&cmd.evidence, "evidence", &mut checks);
        checks.check(
            self.case.evidence.len() + cmd.evidence.len() <= MAX_EVIDENCE_PER_RETURN,
            "evidence",
            format!("a return holds at most {MAX_EVIDENCE_PER_RETURN} pieces of evidence"),
        );
        checks.finish()?;
        if let Some(reclaimed) = self.order.reclaim(self.case.id, self.now)? {
            self.emit_order(reclaimed);
        }
        self.emit(ReturnEvent::ReturnAppealed(ReturnAppealed {
            appealed_by: self.actor.clone(),
            reason_text: cmd.reason_text.clone(),
            evidence: cmd.evidence.clone(),
            decision_due: calendar::add_business_days(
                self.now,
                DECISION_BUSINESS_DAYS,
                &self.case.jurisdiction,
            ),
            at: self.now,
        }));
        Ok(())
    }

    fn rate(&mut self, cmd: &RateReturn) -> Result<(), Rejection> {
        let mut checks = Checks::new();
        checks.check(
            (1..=5).contains(&cmd.score),
            "score",
            "must be a whole number from 1 to 5",
        );
        checks.optional_text("comment", cmd.comment.as_deref(), MAX_RATING_COMMENT_LEN);
        checks.finish()?;
        self.emit(ReturnEvent::ReturnRated(ReturnRated {
            score: cmd.score,
            comment: cmd.comment.clone(),
            at: self.now,
        }));
        Ok(())
    }

    /// Applies a deadline that fell due; idempotent (see `ApplyDeadline`).
    fn apply_deadline(&mut self, cmd: &ApplyDeadline) -> Result<(), Rejection> {
        let running = self.case.deadlines.get(cmd.kind) == Some(cmd.due_at);
        if !running || self.now < cmd.due_at {
            return Ok(());
        }
        self.emit(ReturnEvent::DeadlineMissed(DeadlineMissed {
            kind: cmd.kind,
            due_at: cmd.due_at,
            at: self.now,
        }));
        match cmd.kind {
            DeadlineKind::SellerResponseDue => {
                // Auto-accepting only makes sense for an eligible return with something to send
                // back; anything else goes to an operator.
                let auto_accept = self.policy.on_seller_timeout == OnSellerTimeout::AutoAccept
                    && self.case.policy.eligible
                    && self.case.reason != Reason::NotReceived;
                if auto_accept {
                    let on_arrival = on_arrival_for(self.case.resolution);
                    self.authorize(ApprovalSource::SellerTimeout, None, None, on_arrival);
                } else {
                    self.escalate(EscalationTrigger::SellerResponseTimeout, None);
                }
            }
            DeadlineKind::ShipBy | DeadlineKind::DropOffBy => self.close(Outcome::Lapsed),
            DeadlineKind::ReplacementShipBy => {
                self.exchange_failed(ExchangeFailure::NotShippedInTime)?;
            }
            // The carrier did not collect the parcel in its slot: the buyer is not to lose the
            // return for it, and may send it by mail within the policy's days from now.
            DeadlineKind::PickupBy => {
                let deadline = self.method_deadline(&ReturnMethod::Mail);
                self.emit(ReturnEvent::ReturnMethodChosen(ReturnMethodChosen {
                    method: ReturnMethod::Mail,
                    evaluation: None,
                    deadline: Some(deadline),
                    at: self.now,
                }));
            }
            DeadlineKind::InspectBy => {
                if self.case.on_arrival == OnArrival::Exchange {
                    self.approve_exchange();
                } else {
                    let requested = self.case.requested_amount_minor;
                    self.approve_refund(Refund::money(requested, RefundBasis::InspectionDeadline))?;
                }
            }
            DeadlineKind::RefundDue => self.escalate(EscalationTrigger::RefundOverdue, None),
            // The operator SLA is reported (the miss is recorded and the dispute marked overdue);
            // the case stays with the operators.
            DeadlineKind::DecisionDue => {}
            DeadlineKind::OfferExpires => {
                let seller_response_due = self.seller_response_due();
                self.emit(ReturnEvent::OfferExpired(OfferExpired {
                    seller_response_due,
                    at: self.now,
                }));
            }
            DeadlineKind::EscalateBy => self.close(Outcome::Denied),
        }
        Ok(())
    }
}
