//! What happens next on a return, in words (the view's `next_step`, docs/api.md): who is to act,
//! what to do and by when, for the return's status and, once authorised, its return method.

use chrono::{DateTime, Utc};

use crate::methods::ReturnMethod;
use crate::money::{Currency, MinorUnits};

use super::state::ReturnCase;
use super::vocab::{OnArrival, Outcome, Status};

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn by(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| format!(" by {}", when(t))).unwrap_or_default()
}

/// An amount as people write it: `49.99 EUR`, `5000 JPY`.
pub fn amount(minor: MinorUnits, currency: Currency) -> String {
    let code = currency.as_str();
    let n = minor.get();
    let digits = currency.minor_digits();
    if digits == 0 {
        return format!("{n} {code}");
    }
    let unit = 10_i64.pow(digits);
    format!(
        "{}.{:0width$} {code}",
        n / unit,
        n % unit,
        width = digits as usize
    )
}

/// The next step of `case`, in one sentence.
pub fn next_step(case: &ReturnCase) -> String {
    let d = &case.deadlines;
    match case.status {
        Status::Requested => format!(
            "The seller answers the request{}.",
            by(d.seller_response_due)
        ),
        Status::OfferPending => format!(
            "The buyer accepts or declines the seller's offer{}.",
            by(d.offer_expires)
        ),
        Status::Authorized => match &case.return_method {
            ReturnMethod::Mail => {
                let label = if case.shipment.label.is_some() {
                    " with the seller's prepaid label"
                } else {
                    ""
                };
                format!("The buyer sends the item by mail{label}{}.", by(d.ship_by))
            }
            ReturnMethod::RelayPoint {
                point_id,
                drop_off_code,
            } => format!(
                "The buyer leaves the parcel at relay point {point_id}{} and shows the code \
                 {drop_off_code}.",
                by(d.drop_off_by)
            ),
            ReturnMethod::Pickup {
                slot_start,
                slot_end,
            } if d.pickup_by.is_some() => format!(
                "The carrier collects the parcel between {} and {}: the buyer has it packed and \
                 ready.",
                when(*slot_start),
                when(*slot_end)
            ),
            ReturnMethod::Pickup { .. } => format!(
                "The buyer books a new pickup slot or sends the item by mail{}.",
                by(d.ship_by)
            ),
            ReturnMethod::Store { store_id } => format!(
                "The buyer brings the item to store {store_id}{}.",
                by(d.drop_off_by)
            ),
        },
        Status::InTransit => "The parcel is on its way to the seller.".to_owned(),
        Status::Delivered => match case.on_arrival {
            OnArrival::Refund { .. } => "The refund an operator decided falls due.".to_owned(),
            OnArrival::Inspect | OnArrival::Exchange => {
                format!("The seller inspects the item{}.", by(d.inspect_by))
            }
        },
        Status::RefundPending => {
            let due = case.refund_due_minor().unwrap_or(MinorUnits::ZERO);
            format!(
                "The platform pays the refund of {}{}.",
                amount(due, case.currency),
                by(d.refund_due)
            )
        }
        Status::Declined => format!(
            "The seller declined; the buyer may escalate to the platform{}.",
            by(d.escalate_by)
        ),
        Status::Escalated => {
            let overdue = case.dispute.as_ref().is_some_and(|x| x.overdue);
            let appealed = case.dispute.as_ref().is_some_and(|x| x.appeal.is_some());
            if appealed {
                format!(
                    "An operator other than the first decides the appeal{}; that decision is final.",
                    by(d.decision_due)
                )
            } else if overdue {
                "An operator decides the dispute; the decision is overdue.".to_owned()
            } else {
                format!("An operator decides the dispute{}.", by(d.decision_due))
            }
        }
        Status::ExchangePending => format!(
            "The seller ships the replacement{}.",
            by(d.replacement_ship_by)
        ),
        Status::ReplacementShipped => "The replacement is on its way to the buyer.".to_owned(),
        Status::Closed => match case.outcome {
            Some(Outcome::Refunded | Outcome::PartiallyRefunded) => format!(
                "Closed: {} refunded.",
                amount(case.refunded_amount_minor, case.currency)
            ),
            Some(Outcome::Exchanged) => "Closed: the item was exchanged.".to_owned(),
            Some(Outcome::Denied) => "Closed: the return was denied.".to_owned(),
            Some(Outcome::Withdrawn) => "Closed: the buyer withdrew the return.".to_owned(),
            Some(Outcome::Lapsed) => "Closed: the item was not sent in time.".to_owned(),
            None => "Closed.".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn amounts_are_written_with_their_currency_s_decimals() {
        let m = |n| MinorUnits::new(n).unwrap();
        let c = |code| Currency::parse(code).unwrap();
        assert_eq!(amount(m(4999), c("EUR")), "49.99 EUR");
        assert_eq!(amount(m(5), c("USD")), "0.05 USD");
        assert_eq!(amount(m(5000), c("JPY")), "5000 JPY");
        assert_eq!(amount(m(1234), c("KWD")), "1.234 KWD");
    }
}
