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

/// The languages the sentences are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    French,
}

impl Language {
    fn pick(self, en: String, fr: String) -> String {
        match self {
            Language::English => en,
            Language::French => fr,
        }
    }
}

fn by(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| format!(" by {}", when(t))).unwrap_or_default()
}

fn avant(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| format!(" avant le {}", when(t)))
        .unwrap_or_default()
}

/// An amount as people write it: `49.99 EUR`, `5000 JPY`.
pub fn amount(minor: MinorUnits, currency: Currency) -> String {
    format!("{} {}", currency.write_amount(minor), currency.as_str())
}

/// The next step of `case`, in one sentence.
pub fn next_step(case: &ReturnCase) -> String {
    next_step_in(case, Language::English)
}

/// The next step of `case`, in one sentence of `lang`.
pub fn next_step_in(case: &ReturnCase, lang: Language) -> String {
    let d = &case.deadlines;
    let say = |en: String, fr: String| lang.pick(en, fr);
    match case.status {
        Status::Requested => say(
            format!(
                "The seller answers the request{}.",
                by(d.seller_response_due)
            ),
            format!(
                "Le vendeur répond à la demande{}.",
                avant(d.seller_response_due)
            ),
        ),
        Status::OfferPending => say(
            format!(
                "The buyer accepts or declines the seller's offer{}.",
                by(d.offer_expires)
            ),
            format!(
                "L'acheteur accepte ou refuse l'offre du vendeur{}.",
                avant(d.offer_expires)
            ),
        ),
        Status::Authorized => match &case.return_method {
            ReturnMethod::Mail => {
                let prepaid = case.shipment.label.is_some();
                say(
                    format!(
                        "The buyer sends the item by mail{}{}.",
                        if prepaid {
                            " with the seller's prepaid label"
                        } else {
                            ""
                        },
                        by(d.ship_by)
                    ),
                    format!(
                        "L'acheteur envoie l'article par la poste{}{}.",
                        if prepaid {
                            " avec l'étiquette prépayée du vendeur"
                        } else {
                            ""
                        },
                        avant(d.ship_by)
                    ),
                )
            }
            ReturnMethod::RelayPoint {
                point_id,
                drop_off_code,
            } => say(
                format!(
                    "The buyer leaves the parcel at relay point {point_id}{} and shows the code \
                     {drop_off_code}.",
                    by(d.drop_off_by)
                ),
                format!(
                    "L'acheteur dépose le colis au point relais {point_id}{} et montre le code \
                     {drop_off_code}.",
                    avant(d.drop_off_by)
                ),
            ),
            ReturnMethod::Pickup {
                slot_start,
                slot_end,
            } if d.pickup_by.is_some() => say(
                format!(
                    "The carrier collects the parcel between {} and {}: the buyer has it packed \
                     and ready.",
                    when(*slot_start),
                    when(*slot_end)
                ),
                format!(
                    "Le transporteur enlève le colis entre {} et {} : l'acheteur le tient emballé \
                     et prêt.",
                    when(*slot_start),
                    when(*slot_end)
                ),
            ),
            ReturnMethod::Pickup { .. } => say(
                format!(
                    "The buyer books a new pickup slot or sends the item by mail{}.",
                    by(d.ship_by)
                ),
                format!(
                    "L'acheteur réserve un nouveau créneau d'enlèvement ou envoie l'article par la \
                     poste{}.",
                    avant(d.ship_by)
                ),
            ),
            ReturnMethod::Store { store_id } => say(
                format!(
                    "The buyer brings the item to store {store_id}{}.",
                    by(d.drop_off_by)
                ),
                format!(
                    "L'acheteur rapporte l'article au magasin {store_id}{}.",
                    avant(d.drop_off_by)
                ),
            ),
        },
        Status::InTransit => say(
            "The parcel is on its way to the seller.".to_owned(),
            "Le colis est en route vers le vendeur.".to_owned(),
        ),
        Status::Delivered => match case.on_arrival {
            OnArrival::Refund { .. } => say(
                "The refund an operator decided falls due.".to_owned(),
                "Le remboursement décidé par un opérateur devient exigible.".to_owned(),
            ),
            OnArrival::Inspect | OnArrival::Exchange => say(
                format!("The seller inspects the item{}.", by(d.inspect_by)),
                format!("Le vendeur examine l'article{}.", avant(d.inspect_by)),
            ),
        },
        Status::RefundPending => {
            let due = case.refund_due_minor().unwrap_or(MinorUnits::ZERO);
            say(
                format!(
                    "The platform pays the refund of {}{}.",
                    amount(due, case.currency),
                    by(d.refund_due)
                ),
                format!(
                    "La plateforme verse le remboursement de {}{}.",
                    amount(due, case.currency),
                    avant(d.refund_due)
                ),
            )
        }
        Status::Declined => say(
            format!(
                "The seller declined; the buyer may escalate to the platform{}.",
                by(d.escalate_by)
            ),
            format!(
                "Le vendeur a refusé ; l'acheteur peut saisir la plateforme{}.",
                avant(d.escalate_by)
            ),
        ),
        Status::Escalated => {
            let overdue = case.dispute.as_ref().is_some_and(|x| x.overdue);
            let appealed = case.dispute.as_ref().is_some_and(|x| x.appeal.is_some());
            if appealed {
                say(
                    format!(
                        "An operator other than the first decides the appeal{}; that decision is \
                         final.",
                        by(d.decision_due)
                    ),
                    format!(
                        "Un autre opérateur que le premier tranche le recours{} ; cette décision \
                         est définitive.",
                        avant(d.decision_due)
                    ),
                )
            } else if overdue {
                say(
                    "An operator decides the dispute; the decision is overdue.".to_owned(),
                    "Un opérateur tranche le litige ; la décision est en retard.".to_owned(),
                )
            } else {
                say(
                    format!("An operator decides the dispute{}.", by(d.decision_due)),
                    format!("Un opérateur tranche le litige{}.", avant(d.decision_due)),
                )
            }
        }
        Status::ExchangePending => say(
            format!(
                "The seller ships the replacement{}.",
                by(d.replacement_ship_by)
            ),
            format!(
                "Le vendeur expédie le remplacement{}.",
                avant(d.replacement_ship_by)
            ),
        ),
        Status::ReplacementShipped => say(
            "The replacement is on its way to the buyer.".to_owned(),
            "Le remplacement est en route vers l'acheteur.".to_owned(),
        ),
        Status::Closed => match case.outcome {
            Some(Outcome::Refunded | Outcome::PartiallyRefunded) => {
                let refunded = amount(case.refunded_amount_minor, case.currency);
                say(
                    format!("Closed: {refunded} refunded."),
                    format!("Clôturé : {refunded} remboursés."),
                )
            }
            Some(Outcome::Exchanged) => say(
                "Closed: the item was exchanged.".to_owned(),
                "Clôturé : l'article a été échangé.".to_owned(),
            ),
            Some(Outcome::Denied) => say(
                "Closed: the return was denied.".to_owned(),
                "Clôturé : le retour a été refusé.".to_owned(),
            ),
            Some(Outcome::Withdrawn) => say(
                "Closed: the buyer withdrew the return.".to_owned(),
                "Clôturé : l'acheteur a annulé le retour.".to_owned(),
            ),
            Some(Outcome::Lapsed) => say(
                "Closed: the item was not sent in time.".to_owned(),
                "Clôturé : l'article n'a pas été envoyé à temps.".to_owned(),
            ),
            None => say("Closed.".to_owned(), "Clôturé.".to_owned()),
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
