//! The oversight pages' words in English and French: flag kinds and statuses, the figures of
//! abuse detection, delivery statuses, and numbers as each language writes them.

use returns_app::DeliveryStatus;
use returns_arbitration::abuse::{FlagKind, FlagStatus, PartyRole};

use crate::console::i18n::Lang;

/// A kind of abuse flag, in words.
pub(super) fn flag_kind(lang: Lang, kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::SerialReturner => {
            lang.tr("Returns most orders", "Retourne la plupart des commandes")
        }
        FlagKind::Wardrobing => lang.tr(
            "Uses items, then returns them",
            "Utilise les articles, puis les retourne",
        ),
        FlagKind::EmptyBoxReturns => lang.tr(
            "Sends back empty boxes or other items",
            "Renvoie des colis vides ou d'autres articles",
        ),
        FlagKind::UsedOrDamagedReturns => lang.tr(
            "Sends back items used or damaged",
            "Renvoie des articles usagés ou abîmés",
        ),
        FlagKind::RepeatedNotReceived => lang.tr(
            "Often claims parcels were not received",
            "Déclare souvent des colis non reçus",
        ),
        FlagKind::ReturnlessRefunds => lang.tr(
            "Many refunds while keeping the item",
            "Nombreux remboursements en gardant l'article",
        ),
        FlagKind::DisputesLost => lang.tr("Loses most disputes", "Perd la plupart des litiges"),
        FlagKind::SellerNotAsDescribedRate => lang.tr(
            "Items often not as described or defective",
            "Articles souvent non conformes ou défectueux",
        ),
        FlagKind::SellerRefusalsOverturned => lang.tr(
            "Refusals often overturned by operators",
            "Refus souvent infirmés par les opérateurs",
        ),
        FlagKind::SellerMissedDeadlines => lang.tr(
            "Often misses its deadlines",
            "Dépasse souvent ses échéances",
        ),
        FlagKind::SellerDeclineRate => {
            lang.tr("Declines many returns", "Refuse de nombreux retours")
        }
    }
}

/// A flag kind named by its code (the analytics' confirmed flags), in words; the code where it
/// is unknown.
pub(super) fn flag_kind_code(lang: Lang, code: &str) -> String {
    FlagKind::ALL
        .iter()
        .find(|k| k.as_str() == code)
        .map_or_else(|| code.to_owned(), |k| flag_kind(lang, *k).to_owned())
}

/// Where a flag stands, in words.
pub(super) fn flag_status(lang: Lang, status: FlagStatus) -> &'static str {
    match status {
        FlagStatus::Open => lang.tr("Open: to review", "Ouvert : à examiner"),
        FlagStatus::Confirmed => lang.tr("Confirmed", "Confirmé"),
        FlagStatus::Dismissed => lang.tr("Dismissed", "Écarté"),
    }
}

/// A flagged party's role, in words.
pub(super) fn party_role(lang: Lang, role: PartyRole) -> &'static str {
    crate::console::i18n::role(lang, role.as_str())
}

/// Where a webhook delivery stands, in words.
pub(super) fn delivery_status(lang: Lang, status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => lang.tr("Pending", "En attente"),
        DeliveryStatus::Delivered => lang.tr("Delivered", "Livrée"),
        DeliveryStatus::Parked => lang.tr(
            "Parked: every attempt failed",
            "Suspendue : tous les essais ont échoué",
        ),
    }
}

/// A figure of a party's metrics, or of a flag's figures and threshold, in words; the key where
/// no words are known.
pub(super) fn figure(lang: Lang, key: &str) -> String {
    let words = match key {
        "orders" => ("Orders", "Commandes"),
        "returns" => ("Returns", "Retours"),
        "not_received_claims" => ("“Not received” claims", "Déclarations « non reçu »"),
        "graded_used" => ("Returned used", "Retournés usagés"),
        "graded_damaged" => ("Returned damaged", "Retournés abîmés"),
        "graded_empty_box" => ("Empty boxes", "Colis vides"),
        "graded_wrong_item" => ("Other items sent back", "Autres articles renvoyés"),
        "returnless_refunds" => ("Refunds keeping the item", "Remboursements sans renvoi"),
        "disputes_decided" => ("Disputes decided", "Litiges tranchés"),
        "disputes_lost" => ("Disputes lost", "Litiges perdus"),
        "not_as_described" => ("Not as described", "Non conformes"),
        "defective" => ("Defective", "Défectueux"),
        "declined" => ("Declined or refused", "Refusés"),
        "refusals_overturned" => ("Refusals overturned", "Refus infirmés"),
        "missed_deadlines" => ("Deadlines missed", "Échéances dépassées"),
        "window_days" => ("Window (days)", "Période (jours)"),
        "return_rate" => ("Return rate", "Taux de retour"),
        "not_as_described_rate" => ("Not-as-described rate", "Taux de non-conformité"),
        "decline_rate" => ("Decline rate", "Taux de refus"),
        "count" => ("Count", "Nombre"),
        "per" => ("Counted against", "Rapporté aux"),
        "denominator" => ("Out of", "Sur"),
        "rate" => ("Rate", "Taux"),
        "rate_lower_bound" => (
            "Rate at the least (confidence bound)",
            "Taux au moins (borne de confiance)",
        ),
        "baseline_rate" => ("Peers' rate", "Taux des pairs"),
        "baseline_scope" => ("Peers", "Pairs"),
        "min_count" => ("Count at least", "Nombre au moins"),
        "min_rate" => ("Rate at least", "Taux au moins"),
        "baseline_multiple" => ("Times the peers' rate", "Fois le taux des pairs"),
        "effective_min_rate" => ("Rate to reach", "Taux à atteindre"),
        "confidence_z" => ("Confidence (z)", "Confiance (z)"),
        "confident" => (
            "Judged on the confidence bound",
            "Jugé sur la borne de confiance",
        ),
        "min_orders" => ("Orders at least", "Commandes au moins"),
        "min_returns" => ("Returns at least", "Retours au moins"),
        "days_left_in_window" => (
            "Days left in the return window",
            "Jours restants du délai de retour",
        ),
        _ => return key.to_owned(),
    };
    lang.tr(words.0, words.1).to_owned()
}

/// What a figure is counted against (`per`), in words.
pub(super) fn per(lang: Lang, per: &str) -> String {
    match per {
        "orders" => lang.tr("orders", "commandes").to_owned(),
        "returns" => lang.tr("returns", "retours").to_owned(),
        "disputes_decided" => lang.tr("disputes decided", "litiges tranchés").to_owned(),
        other => other.to_owned(),
    }
}

/// Whether a figure's key names a rate (shown as a percentage).
fn is_rate(key: &str) -> bool {
    key.ends_with("rate") || key == "rate_lower_bound"
}

/// A figure's value as people read it: rates as percentages, counts as numbers, nothing as a
/// dash.
pub(super) fn value(lang: Lang, key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".to_owned(),
        Value::Bool(b) => lang
            .tr(
                if *b { "yes" } else { "no" },
                if *b { "oui" } else { "non" },
            )
            .to_owned(),
        Value::Number(n) if is_rate(key) => n
            .as_f64()
            .map_or_else(|| n.to_string(), |r| percent(lang, r)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => decimal(lang, f, 2),
            _ => n.to_string(),
        },
        Value::String(s) if key == "per" => per(lang, s),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `ratio` (0 to 1) as a percentage with one decimal, as `lang` writes it.
pub(super) fn percent(lang: Lang, ratio: f64) -> String {
    let number = decimal(lang, ratio * 100.0, 1);
    match lang {
        Lang::En => format!("{number}%"),
        Lang::Fr => format!("{number}\u{a0}%"),
    }
}

/// `x` with `digits` decimals, with the decimal separator of `lang`.
pub(super) fn decimal(lang: Lang, x: f64, digits: usize) -> String {
    let text = format!("{x:.digits$}");
    match lang {
        Lang::En => text,
        Lang::Fr => text.replace('.', ","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_flag_kind_has_words_in_both_languages() {
        for lang in [Lang::En, Lang::Fr] {
            for kind in FlagKind::ALL {
                assert_ne!(flag_kind_code(lang, kind.as_str()), kind.as_str());
            }
        }
        assert_ne!(
            flag_kind(Lang::En, FlagKind::Wardrobing),
            flag_kind(Lang::Fr, FlagKind::Wardrobing)
        );
    }

    #[test]
    fn rates_read_as_percentages_and_counts_as_numbers() {
        assert_eq!(value(Lang::En, "rate", &json!(0.4)), "40.0%");
        assert_eq!(
            value(Lang::Fr, "effective_min_rate", &json!(0.25)),
            "25,0\u{a0}%"
        );
        assert_eq!(value(Lang::En, "count", &json!(2)), "2");
        assert_eq!(value(Lang::Fr, "per", &json!("orders")), "commandes");
        assert_eq!(value(Lang::En, "baseline_rate", &json!(null)), "—");
        assert_eq!(value(Lang::Fr, "confident", &json!(true)), "oui");
    }
}
