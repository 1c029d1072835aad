//! The console's words in English and French: the language comes from `?lang=`, then the
//! `returns_lang` cookie the switch on every page sets, then `Accept-Language`; English otherwise.

use actix_web::HttpRequest;

use super::session::cookie;

/// The name of the cookie that keeps the language chosen with the switch.
pub(super) const LANG_COOKIE: &str = "returns_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Fr,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        match code.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("en") => Some(Lang::En),
            Some("fr") => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The domain's language of sentences (`next_step_in`).
    pub(crate) fn language(self) -> returns_domain::returns::Language {
        match self {
            Lang::En => returns_domain::returns::Language::English,
            Lang::Fr => returns_domain::returns::Language::French,
        }
    }

    /// The other language, for the switch.
    pub(crate) fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }

    /// The language of `req`, and whether `?lang=` chose it (then the answer sets the cookie).
    pub(crate) fn of(req: &HttpRequest) -> (Lang, bool) {
        let asked = req
            .query_string()
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang=").and_then(Lang::parse));
        if let Some(lang) = asked {
            return (lang, true);
        }
        if let Some(lang) = cookie(req, LANG_COOKIE).as_deref().and_then(Lang::parse) {
            return (lang, false);
        }
        let accepted = req
            .headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        // The first supported language in the header's order (weights are listed best first by
        // every browser).
        let lang = accepted
            .split(',')
            .find_map(|part| Lang::parse(part.split(';').next().unwrap_or_default()))
            .unwrap_or(Lang::En);
        (lang, false)
    }

    pub(crate) fn t(self, msg: Msg) -> &'static str {
        pick(self, msg.words())
    }

    /// `en` or `fr`, for words that belong to one page only.
    pub(crate) fn tr(self, en: &'static str, fr: &'static str) -> &'static str {
        pick(self, (en, fr))
    }
}

/// Every sentence and label of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Msg {
    Console,
    SignIn,
    SignOut,
    Token,
    TokenHelp,
    TokenRefused,
    SwitchTo,
    TrackTitle,
    TrackHelp,
    Rma,
    Find,
    NotFound,
    NotFoundHelp,
    Forbidden,
    ForbiddenHelp,
    Status,
    Reason,
    NextStep,
    Deadlines,
    Timeline,
    When,
    Who,
    What,
    Queue,
    QueueHelp,
    DecisionDue,
    Assignee,
    Unassigned,
    Overdue,
    NoDisputes,
    Refunded,
    CsrfRefused,
    Recommendation,
    Events,
    AssignToMe,
    Outcome,
    RefundAmount,
    AtMost,
    ReturnRequired,
    FundedBy,
    Rationale,
    Decide,
    WhoFunds,
    TooMany,
    TooManyHelp,
}

impl Msg {
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Msg::Console => ("Returns console", "Console des retours"),
            Msg::SignIn => ("Sign in", "Se connecter"),
            Msg::SignOut => ("Sign out", "Se déconnecter"),
            Msg::Token => ("Access token", "Jeton d'accès"),
            Msg::TokenHelp => (
                "Paste the token your marketplace gave you.",
                "Collez le jeton que votre place de marché vous a remis.",
            ),
            Msg::TokenRefused => (
                "This token is invalid or expired.",
                "Ce jeton est invalide ou expiré.",
            ),
            Msg::SwitchTo => ("Français", "English"),
            Msg::TrackTitle => ("Follow a return", "Suivre un retour"),
            Msg::TrackHelp => (
                "Enter the RMA number of your return, as in the confirmation you received.",
                "Saisissez le numéro RMA de votre retour, tel qu'il figure dans la confirmation reçue.",
            ),
            Msg::Rma => ("RMA number", "Numéro RMA"),
            Msg::Find => ("Find", "Rechercher"),
            Msg::NotFound => ("Not found", "Introuvable"),
            Msg::NotFoundHelp => (
                "No return of yours has this RMA number.",
                "Aucun de vos retours ne porte ce numéro RMA.",
            ),
            Msg::Forbidden => ("Not allowed", "Accès refusé"),
            Msg::ForbiddenHelp => (
                "This page is for platform operators.",
                "Cette page est réservée aux opérateurs de la plateforme.",
            ),
            Msg::Status => ("Status", "Statut"),
            Msg::Reason => ("Reason", "Motif"),
            Msg::NextStep => ("Next step", "Prochaine étape"),
            Msg::Deadlines => ("Deadlines", "Échéances"),
            Msg::Timeline => ("What happened", "Historique"),
            Msg::When => ("When", "Quand"),
            Msg::Who => ("Who", "Qui"),
            Msg::What => ("What", "Quoi"),
            Msg::Queue => ("Disputes to decide", "Litiges à trancher"),
            Msg::QueueHelp => (
                "The most urgent decision first; overdue and unassigned cases are highlighted.",
                "La décision la plus urgente d'abord ; les dossiers en retard ou sans opérateur sont signalés.",
            ),
            Msg::DecisionDue => ("Decision due", "Décision attendue le"),
            Msg::Assignee => ("Operator", "Opérateur"),
            Msg::Unassigned => ("unassigned", "non attribué"),
            Msg::Overdue => ("overdue", "en retard"),
            Msg::NoDisputes => ("No dispute is waiting.", "Aucun litige en attente."),
            Msg::Refunded => ("Refunded", "Remboursé"),
            Msg::Recommendation => ("Recommendation", "Recommandation"),
            Msg::Events => ("events", "événements"),
            Msg::AssignToMe => ("Assign to me", "Me l'attribuer"),
            Msg::Outcome => ("Outcome", "Issue"),
            Msg::RefundAmount => ("Refund", "Remboursement"),
            Msg::AtMost => ("at most", "au plus"),
            Msg::ReturnRequired => ("item to be sent back", "article à renvoyer"),
            Msg::FundedBy => ("funded by", "financé par"),
            Msg::Rationale => ("Rationale", "Motivation"),
            Msg::Decide => ("Record the decision", "Enregistrer la décision"),
            Msg::TooMany => ("Too many requests", "Trop de requêtes"),
            Msg::TooManyHelp => (
                "You have sent too many requests in a short time. Wait a moment and try again.",
                "Vous avez envoyé trop de requêtes en peu de temps. Patientez un instant puis réessayez.",
            ),
            Msg::WhoFunds => ("Who funds the refund", "Qui finance le remboursement"),
            Msg::CsrfRefused => (
                "This form has expired. Reload the page and try again.",
                "Ce formulaire a expiré. Rechargez la page et réessayez.",
            ),
        }
    }
}

/// A return's status in words.
pub(crate) fn status(lang: Lang, status: &str) -> &'static str {
    let words = match status {
        "requested" => (
            "Requested: waiting for the seller",
            "Demandé : en attente du vendeur",
        ),
        "offer_pending" => ("Offer to answer", "Offre en attente de réponse"),
        "authorized" => (
            "Authorised: send the item back",
            "Accepté : renvoyez l'article",
        ),
        "in_transit" => ("On its way back", "En route vers le vendeur"),
        "delivered" => ("Received by the seller", "Reçu par le vendeur"),
        "declined" => ("Declined by the seller", "Refusé par le vendeur"),
        "refund_pending" => ("Refund on its way", "Remboursement en cours"),
        "escalated" => (
            "With the platform's arbitration",
            "En arbitrage par la plateforme",
        ),
        "closed" => ("Closed", "Clôturé"),
        "exchange_pending" => (
            "Exchange: replacement to ship",
            "Échange : remplacement à expédier",
        ),
        "replacement_shipped" => ("Replacement on its way", "Remplacement en route"),
        _ => ("Unknown", "Inconnu"),
    };
    pick(lang, words)
}

/// Picks `en` or `fr`.
fn pick(lang: Lang, (en, fr): (&'static str, &'static str)) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

/// A return's reason, in words (the code where no words are known).
pub(crate) fn reason(lang: Lang, reason: &str) -> String {
    let words = match reason {
        "not_as_described" => ("Not as described", "Non conforme à la description"),
        "defective" => ("Defective", "Défectueux"),
        "damaged_in_transit" => ("Damaged in transit", "Endommagé pendant le transport"),
        "wrong_item" => ("Wrong item", "Mauvais article"),
        "missing_parts" => ("Missing parts", "Pièces manquantes"),
        "size_fit" => ("Size or fit", "Taille ou coupe"),
        "changed_mind" => ("Changed mind", "Changement d'avis"),
        "arrived_late" => ("Arrived late", "Arrivé en retard"),
        "not_received" => ("Not received", "Non reçu"),
        other => return other.to_owned(),
    };
    pick(lang, words).to_owned()
}

/// A running deadline, in words (the code where no words are known).
pub(crate) fn deadline(lang: Lang, kind: &str) -> String {
    let words = match kind {
        "seller_response_due" => ("The seller answers by", "Le vendeur répond avant le"),
        "ship_by" => ("The item is sent by", "L'article est envoyé avant le"),
        "drop_off_by" => (
            "The parcel is dropped off by",
            "Le colis est déposé avant le",
        ),
        "pickup_by" => ("The parcel is picked up by", "Le colis est enlevé avant le"),
        "inspect_by" => (
            "The seller inspects by",
            "Le vendeur examine l'article avant le",
        ),
        "refund_due" => (
            "The refund is paid by",
            "Le remboursement est versé avant le",
        ),
        "decision_due" => ("An operator decides by", "Un opérateur tranche avant le"),
        "offer_expires" => ("The offer expires on", "L'offre expire le"),
        "escalate_by" => (
            "Arbitration can be asked for until",
            "L'arbitrage peut être demandé jusqu'au",
        ),
        "replacement_ship_by" => (
            "The replacement is shipped by",
            "Le remplacement est expédié avant le",
        ),
        other => return other.to_owned(),
    };
    pick(lang, words).to_owned()
}

/// Who funds a refund, in words.
pub(crate) fn funder(lang: Lang, funded_by: &str) -> &'static str {
    match funded_by {
        "seller" => pick(lang, ("the seller", "le vendeur")),
        "platform" => pick(lang, ("the platform", "la plateforme")),
        _ => pick(lang, ("someone", "quelqu'un")),
    }
}

/// Who acted, in words.
pub(crate) fn role(lang: Lang, role: &str) -> &'static str {
    let words = match role {
        "buyer" => ("Buyer", "Acheteur"),
        "seller" => ("Seller", "Vendeur"),
        "operator" => ("Operator", "Opérateur"),
        "platform" => ("Marketplace", "Place de marché"),
        "system" => ("Returns service", "Service des retours"),
        _ => ("Someone", "Quelqu'un"),
    };
    pick(lang, words)
}

/// What an event of a return's history did, in words (the event type where no words are known
/// yet, so that nothing is hidden).
pub(crate) fn event(lang: Lang, event_type: &str) -> String {
    let words = match event_type {
        "return.requested" => Some(("Return requested", "Retour demandé")),
        "return.method_chosen" => Some(("Return method chosen", "Mode de retour choisi")),
        "return.authorized" => Some(("Return accepted", "Retour accepté")),
        "return.declined" => Some(("Return declined", "Retour refusé")),
        "return.exception_granted" => Some(("Exception granted", "Dérogation accordée")),
        "return.offer_made" => Some(("Offer made", "Offre proposée")),
        "return.offer_accepted" => Some(("Offer accepted", "Offre acceptée")),
        "return.offer_declined" => Some(("Offer declined", "Offre refusée")),
        "return.offer_expired" => Some(("Offer expired", "Offre expirée")),
        "return.shipped" => Some(("Item sent back", "Article renvoyé")),
        "return.shipment_in_transit" => Some(("Parcel in transit", "Colis en transit")),
        "return.shipment_exception" => Some(("Carrier problem", "Incident de transport")),
        "return.shipment_lost" => Some(("Parcel lost", "Colis perdu")),
        "return.shipment_returned_to_sender" => {
            Some(("Parcel returned to sender", "Colis retourné à l'expéditeur"))
        }
        "return.item_arrived" => Some(("Parcel delivered to the seller", "Colis livré au vendeur")),
        "return.inspected" => Some(("Item inspected", "Article examiné")),
        "return.exchange_approved" => Some(("Exchange approved", "Échange accepté")),
        "return.replacement_shipped" => Some(("Replacement shipped", "Remplacement expédié")),
        "return.replacement_delivered" => Some(("Replacement delivered", "Remplacement livré")),
        "return.replacement_lost" => Some(("Replacement lost", "Remplacement perdu")),
        "return.exchange_failed" => Some(("Exchange not possible", "Échange impossible")),
        "return.refund_approved" => Some(("Refund approved", "Remboursement approuvé")),
        "return.refunded" => Some(("Refund paid", "Remboursement versé")),
        "return.escalated" => Some(("Sent to arbitration", "Transmis à l'arbitrage")),
        "return.dispute_assigned" => Some(("Operator assigned", "Opérateur désigné")),
        "return.dispute_decided" => Some(("Dispute decided", "Litige tranché")),
        "return.appealed" => Some(("Decision appealed", "Décision contestée")),
        "return.message_posted" => Some(("Message", "Message")),
        "return.evidence_added" => Some(("Evidence added", "Pièce ajoutée")),
        "return.deadline_missed" => Some(("Deadline missed", "Échéance dépassée")),
        "return.withdrawn" => Some(("Return withdrawn", "Retour annulé")),
        "return.closed" => Some(("Return closed", "Retour clôturé")),
        "return.rated" => Some(("Return rated", "Retour évalué")),
        _ => None,
    };
    words.map_or_else(|| event_type.to_owned(), |w| pick(lang, w).to_owned())
}

/// What a rule of arbitration found, in words (docs/arbitration.md); the reason's own sentence,
/// with its figures, follows it on English pages.
pub(crate) fn rule(lang: Lang, rule: returns_arbitration::Rule) -> &'static str {
    use returns_arbitration::Rule;
    let words = match rule {
        Rule::SellerSilence => (
            "The seller did not answer the request in time",
            "Le vendeur n'a pas répondu à la demande à temps",
        ),
        Rule::SellerMissedDeadline => (
            "The seller missed the deadline to inspect the item or ship the replacement",
            "Le vendeur a dépassé le délai pour examiner l'article ou expédier le remplacement",
        ),
        Rule::RefusalWithoutEvidence => (
            "The seller refused the returned item without photo or video evidence",
            "Le vendeur a refusé l'article retourné sans photo ni vidéo",
        ),
        Rule::CarrierDeliveredToSeller => (
            "The carrier delivered the parcel to the seller, who inspected nothing",
            "Le transporteur a livré le colis au vendeur, qui n'a rien examiné",
        ),
        Rule::RefundOverdue => (
            "The refund was not paid in time",
            "Le remboursement n'a pas été versé à temps",
        ),
        Rule::BuyerNeverShipped => (
            "The buyer did not send the item back in time",
            "L'acheteur n'a pas renvoyé l'article à temps",
        ),
        Rule::ReturnParcelLost => (
            "The carrier lost the return parcel sent on the seller's label",
            "Le transporteur a perdu le colis retour envoyé avec l'étiquette du vendeur",
        ),
        Rule::ReplacementLost => (
            "The carrier lost the replacement on its way to the buyer",
            "Le transporteur a perdu le remplacement en route vers l'acheteur",
        ),
        Rule::LegalGuarantee => (
            "The legal guarantee of conformity covers the claim",
            "La garantie légale de conformité couvre la réclamation",
        ),
        Rule::WithinReturnWindow => (
            "The return was asked for within a return window",
            "Le retour a été demandé dans un délai de retour",
        ),
        Rule::GoodwillException => (
            "A goodwill exception made the return eligible",
            "Une dérogation commerciale a rendu le retour recevable",
        ),
        Rule::OutsideEveryWindow => (
            "The return was asked for after every window had closed",
            "Le retour a été demandé après la fin de tous les délais",
        ),
        Rule::NonReturnableCategory => (
            "The item is in a category the seller does not take back",
            "L'article relève d'une catégorie que le vendeur ne reprend pas",
        ),
        Rule::RefusalWithEvidence => (
            "The seller refused the item, with photo or video evidence",
            "Le vendeur a refusé l'article, photos ou vidéos à l'appui",
        ),
        Rule::RefusalContradictsGrade => (
            "The seller refused an item it graded as new or opened",
            "Le vendeur a refusé un article qu'il a lui-même jugé neuf ou ouvert",
        ),
        Rule::DeliveryTrackedToBuyer => (
            "The delivery of the order to the buyer is recorded",
            "La livraison de la commande à l'acheteur est enregistrée",
        ),
        Rule::NoRecordedDelivery => (
            "No delivery of the order is recorded",
            "Aucune livraison de la commande n'est enregistrée",
        ),
        Rule::BuyerFlagged => (
            "The buyer has a confirmed abuse flag",
            "L'acheteur fait l'objet d'un signalement d'abus confirmé",
        ),
        Rule::SellerFlagged => (
            "The seller has a confirmed abuse flag",
            "Le vendeur fait l'objet d'un signalement d'abus confirmé",
        ),
        Rule::PartialForUse => (
            "The item came back used: part of the price is kept for the use",
            "L'article est revenu utilisé : une partie du prix est retenue pour l'usage",
        ),
        Rule::CarrierDamage => (
            "Damaged in transit: the platform funds the refund",
            "Endommagé pendant le transport : la plateforme finance le remboursement",
        ),
        Rule::ReturnlessRefund => (
            "Within the seller's returnless threshold: the buyer keeps the item",
            "Sous le seuil de remboursement sans retour du vendeur : l'acheteur garde l'article",
        ),
        Rule::NothingLeftToRefund => (
            "Everything paid has been refunded already",
            "Tout ce qui a été payé a déjà été remboursé",
        ),
    };
    pick(lang, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_of_arbitration_has_its_own_words_in_both_languages() {
        use std::collections::HashSet;
        for lang in [Lang::En, Lang::Fr] {
            let said: HashSet<&str> = returns_arbitration::Rule::ALL
                .iter()
                .map(|r| rule(lang, *r))
                .collect();
            assert_eq!(said.len(), returns_arbitration::Rule::ALL.len());
        }
    }

    #[test]
    fn codes_parse_with_regions_and_case() {
        assert_eq!(Lang::parse("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::parse(" EN"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn every_reason_deadline_and_status_of_the_domain_has_words_in_both_languages() {
        use returns_domain::returns::{DeadlineKind, Status};
        use returns_domain::Reason;
        for lang in [Lang::En, Lang::Fr] {
            for r in Reason::ALL {
                assert_ne!(reason(lang, r.as_str()), r.as_str(), "{r:?}");
            }
            for k in DeadlineKind::ALL {
                assert_ne!(deadline(lang, k.as_str()), k.as_str(), "{k:?}");
            }
            for s in Status::ALL {
                assert!(
                    !["Unknown", "Inconnu"].contains(&status(lang, s.as_str())),
                    "{s:?}"
                );
            }
        }
    }
}
