//! The forms of a return's actions (docs/api.md, "Actions"). Each form is declared once, as the
//! fields of the action's API body; the same declaration draws the form and turns what was posted
//! into that body, which then goes through the API's own parser ([`crate::returns::parse_action`])
//! and command, so a form refuses exactly what the API refuses, with the same problem.
//!
//! A field's input is named after its API field, without the `_minor` of amounts: people type
//! amounts as they write them (`12.50`), and the currency of the return turns them into minor
//! units. Nested fields are written with a dot (`label.carrier`).

use std::collections::HashMap;

use maud::{html, Markup};
use returns_domain::returns::{Action, ReturnCase};
use serde_json::{Map, Value};

use crate::problem::{FieldError, Problem};

use super::i18n::{self, Lang, Msg};
use super::pages::{errors_of, field_errors, Page};

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Input {
    /// One line of text.
    Text,
    /// Free text over several lines.
    LongText,
    /// An amount in the return's currency, as people write it.
    Amount,
    /// One of a closed list of values (the API's strings).
    Choice(&'static [&'static str]),
    /// A whole number from a closed list.
    Number(&'static [&'static str]),
    /// Yes or no.
    Check,
}

/// A field of an action's form.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    /// Its name in the API's body.
    pub api: &'static str,
    pub input: Input,
    pub required: bool,
}

impl Field {
    /// The name of its input.
    pub(super) fn name(&self) -> &'static str {
        self.api.strip_suffix("_minor").unwrap_or(self.api)
    }
}

const fn required(api: &'static str, input: Input) -> Field {
    Field {
        api,
        input,
        required: true,
    }
}

const fn optional(api: &'static str, input: Input) -> Field {
    Field {
        api,
        input,
        required: false,
    }
}

const OFFER_KINDS: &[&str] = &["partial_refund", "exchange", "store_credit"];
const GRADES: &[&str] = &[
    "as_new",
    "opened",
    "used",
    "damaged",
    "missing_parts",
    "wrong_item",
    "empty_box",
];
const PAYOUT_METHODS: &[&str] = &["original_payment", "store_credit"];
const OUTCOMES: &[&str] = &["refund_buyer", "side_with_seller"];
const FUNDERS: &[&str] = &["seller", "platform"];
const SCORES: &[&str] = &["5", "4", "3", "2", "1"];

const ACCEPT: &[Field] = &[
    optional("instructions", Input::LongText),
    optional("returnless", Input::Check),
    optional("label.carrier", Input::Text),
    optional("label.tracking_number", Input::Text),
    optional("label.label_url", Input::Text),
];
const WHY: &[Field] = &[required("reason_text", Input::LongText)];
const OFFER: &[Field] = &[
    required("kind", Input::Choice(OFFER_KINDS)),
    optional("amount_minor", Input::Amount),
];
const PARCEL: &[Field] = &[
    required("carrier", Input::Text),
    required("tracking_number", Input::Text),
];
const INSPECT: &[Field] = &[
    required("grade", Input::Choice(GRADES)),
    required("refund_amount_minor", Input::Amount),
    optional("notes", Input::LongText),
];
const REFUND: &[Field] = &[
    required("amount_minor", Input::Amount),
    required("method", Input::Choice(PAYOUT_METHODS)),
    required("reference", Input::Text),
];
const MESSAGE: &[Field] = &[required("body", Input::LongText)];
const DECIDE: &[Field] = &[
    required("outcome", Input::Choice(OUTCOMES)),
    required("refund_amount_minor", Input::Amount),
    optional("return_required", Input::Check),
    required("funded_by", Input::Choice(FUNDERS)),
    required("rationale", Input::LongText),
];
const RATE: &[Field] = &[
    required("score", Input::Number(SCORES)),
    optional("comment", Input::LongText),
];

/// The fields of `action`'s form; `None` for the actions the console has no form for (the
/// carrier's updates, evidence files, exceptions and the choice of a drop-off method go through
/// the API).
pub(super) fn fields_of(action: Action) -> Option<&'static [Field]> {
    Some(match action {
        Action::Accept => ACCEPT,
        Action::Decline | Action::Escalate => WHY,
        Action::Offer => OFFER,
        Action::Ship | Action::ShipReplacement => PARCEL,
        Action::Inspect => INSPECT,
        Action::Refund => REFUND,
        Action::Messages => MESSAGE,
        Action::Decide => DECIDE,
        Action::Rate => RATE,
        Action::AcceptOffer
        | Action::DeclineOffer
        | Action::Receive
        | Action::Withdraw
        | Action::Assign
        | Action::OutOfStock => &[],
        Action::Open
        | Action::CarrierUpdate
        | Action::Evidence
        | Action::GrantException
        | Action::ChooseMethod
        | Action::Appeal
        | Action::ApplyDeadline => return None,
    })
}

/// What was posted, by input name.
pub(super) type Entered = HashMap<String, String>;

/// The API body of `action` from the posted `form`, or the problem with the fields that could not
/// be read (amounts; everything else is the API's to judge).
pub(super) fn body_of(action: Action, form: &Entered, case: &ReturnCase) -> Result<Value, Problem> {
    let fields = fields_of(action).ok_or_else(Problem::not_found)?;
    let mut body = Map::new();
    let mut errors = Vec::new();
    for field in fields {
        let raw = form.get(field.name()).map_or("", |v| v.trim());
        // Siding with the seller refunds nothing, whether or not the amount was left empty.
        let raw = if action == Action::Decide
            && field.input == Input::Amount
            && raw.is_empty()
            && form.get("outcome").map(String::as_str) == Some("side_with_seller")
        {
            "0"
        } else {
            raw
        };
        let value = match field.input {
            Input::Check => Some(Value::Bool(!raw.is_empty())),
            _ if raw.is_empty() && !field.required => None,
            Input::Amount => match case.currency.parse_amount(raw) {
                Some(amount) => Some(Value::from(amount.get())),
                None => {
                    errors.push(FieldError {
                        field: field.api.into(),
                        message: format!(
                            "an amount in {} as people write it, like 12.50",
                            case.currency.as_str()
                        ),
                    });
                    None
                }
            },
            Input::Number(_) => match raw.parse::<i64>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) => {
                    errors.push(FieldError {
                        field: field.api.into(),
                        message: "a whole number".into(),
                    });
                    None
                }
            },
            Input::Text | Input::LongText | Input::Choice(_) => Some(Value::from(raw)),
        };
        if let Some(value) = value {
            insert(&mut body, field.api, value);
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(body))
    } else {
        Err(Problem::validation(errors))
    }
}

/// Puts `value` at `path` (`a.b` is `b` in the object `a`).
fn insert(body: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((outer, inner)) => {
            let nested = body
                .entry(outer)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(nested) = nested {
                insert(nested, inner, value);
            }
        }
        None => {
            body.insert(path.to_owned(), value);
        }
    }
}

/// A form of an action that was refused: what was entered, and why.
pub(super) struct Attempt<'a> {
    pub action: Action,
    pub entered: Entered,
    pub problem: &'a Problem,
}

/// The form of `action` on `case`, filled with `entered` (what was posted, or a suggestion) and
/// showing `problem` next to its fields.
pub(super) fn form(
    p: &Page<'_>,
    case: &ReturnCase,
    action: Action,
    entered: Option<&Entered>,
    problem: Option<&Problem>,
) -> Markup {
    let Some(fields) = fields_of(action) else {
        return html! {};
    };
    let lang = p.lang;
    let csrf = p.session.map(|s| s.csrf()).unwrap_or_default();
    let act = action.as_str();
    let value = |name: &str| {
        entered
            .and_then(|e| e.get(name))
            .map(String::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let general: Vec<&str> = problem
        .map(|pr| {
            pr.errors
                .iter()
                .filter(|e| !fields.iter().any(|f| f.api == e.field))
                .map(|e| e.message.as_str())
                .collect()
        })
        .unwrap_or_default();
    html! {
        form.action method="post" action={ "/console/returns/" (case.id.as_uuid()) "/" (act) }
            id={ "form-" (act) } {
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(problem) = problem {
                p.error role="alert" id={ (act) "-problem" } {
                    (problem.title) ": " (problem.detail)
                    @for message in &general { " " (message) }
                }
            }
            @for field in fields {
                @let id = format!("{act}-{}", field.name().replace('.', "-"));
                @let error_id = format!("{id}-error");
                @let errors = field_errors(problem, field.api);
                @let current = value(field.name());
                @let words = label(lang, action, field.api);
                @match field.input {
                    Input::Check => {
                        label.choice {
                            input type="checkbox" id=(id) name=(field.name()) value="true"
                                checked[!current.is_empty()];
                            " " (words)
                        }
                    }
                    Input::Choice(values) | Input::Number(values) => {
                        label for=(id) { (words) }
                        select id=(id) name=(field.name()) required[field.required]
                            aria-describedby=(error_id) {
                            @if !field.required { option value="" { "—" } }
                            @for v in values {
                                option value=(v) selected[current == *v] { (choice(lang, field.api, v)) }
                            }
                        }
                    }
                    Input::LongText => {
                        label for=(id) { (words) }
                        textarea id=(id) name=(field.name()) rows="3" required[field.required]
                            aria-describedby=(error_id) { (current) }
                    }
                    Input::Amount => {
                        label for=(id) {
                            (words) " (" (case.currency.as_str()) ", " (lang.t(Msg::AtMost)) " "
                            (returns_domain::returns::amount(case.items_total_minor, case.currency)) ")"
                        }
                        input type="text" inputmode="decimal" id=(id) name=(field.name())
                            value=(current) required[field.required] aria-describedby=(error_id);
                    }
                    Input::Text => {
                        label for=(id) { (words) }
                        input type="text" id=(id) name=(field.name()) value=(current)
                            required[field.required] aria-describedby=(error_id);
                    }
                }
                (errors_of(&error_id, &errors))
            }
            p { button type="submit" { (title(lang, action)) } }
        }
    }
}

/// The button (and heading) of an action.
pub(super) fn title(lang: Lang, action: Action) -> &'static str {
    match action {
        Action::Accept => lang.tr("Accept the return", "Accepter le retour"),
        Action::Decline => lang.tr("Decline the return", "Refuser le retour"),
        Action::Offer => lang.tr("Make an offer", "Faire une offre"),
        Action::AcceptOffer => lang.tr("Accept the offer", "Accepter l'offre"),
        Action::DeclineOffer => lang.tr("Decline the offer", "Refuser l'offre"),
        Action::Ship => lang.tr("I have sent the item", "J'ai renvoyé l'article"),
        Action::ShipReplacement => lang.tr("Replacement shipped", "Remplacement expédié"),
        Action::Receive => lang.tr("The parcel has arrived", "Le colis est arrivé"),
        Action::Inspect => lang.tr("Record the inspection", "Enregistrer l'examen"),
        Action::Refund => lang.tr("Record the refund", "Enregistrer le remboursement"),
        Action::Escalate => lang.tr("Ask the platform to decide", "Demander l'arbitrage"),
        Action::Withdraw => lang.tr("Withdraw the return", "Annuler le retour"),
        Action::Messages => lang.tr("Send the message", "Envoyer le message"),
        Action::Assign => lang.t(Msg::AssignToMe),
        Action::Decide => lang.t(Msg::Decide),
        Action::Rate => lang.tr("Rate this return", "Évaluer ce retour"),
        Action::OutOfStock => lang.tr(
            "No replacement in stock: refund instead",
            "Plus de remplacement en stock : rembourser",
        ),
        _ => lang.tr("Send", "Envoyer"),
    }
}

/// What an action does, said to the person about to take it.
pub(super) fn help(lang: Lang, action: Action) -> Option<&'static str> {
    Some(match action {
        Action::Accept => lang.tr(
            "The buyer is told how to send the item back. Give a prepaid label if you provide one, or refund without asking for the item.",
            "L'acheteur reçoit les instructions de renvoi. Indiquez l'étiquette prépayée si vous en fournissez une, ou remboursez sans demander l'article.",
        ),
        Action::Decline => lang.tr(
            "The buyer may then ask the platform to decide: say why, precisely.",
            "L'acheteur pourra demander l'arbitrage de la plateforme : expliquez précisément pourquoi.",
        ),
        Action::Offer => lang.tr(
            "Instead of a return: the buyer accepts or declines your offer before it expires.",
            "Au lieu d'un retour : l'acheteur accepte ou refuse votre offre avant son expiration.",
        ),
        Action::Inspect => lang.tr(
            "Say in what condition the item came back and what is to be refunded.",
            "Indiquez dans quel état l'article est revenu et ce qui doit être remboursé.",
        ),
        Action::Escalate => lang.tr(
            "An operator of the platform reads both sides and decides.",
            "Un opérateur de la plateforme examine les deux points de vue et tranche.",
        ),
        Action::Ship => lang.tr(
            "Give the carrier and the tracking number of the parcel you sent.",
            "Indiquez le transporteur et le numéro de suivi du colis envoyé.",
        ),
        Action::Messages => lang.tr(
            "The buyer, the seller and the platform's operators read the messages of a return.",
            "L'acheteur, le vendeur et les opérateurs de la plateforme lisent les messages d'un retour.",
        ),
        _ => return None,
    })
}

/// A field's label.
fn label(lang: Lang, action: Action, api: &str) -> &'static str {
    match (action, api) {
        (_, "instructions") => {
            lang.tr("Instructions for the buyer", "Instructions pour l'acheteur")
        }
        (_, "returnless") => lang.tr(
            "Refund without asking for the item back",
            "Rembourser sans demander le renvoi de l'article",
        ),
        (_, "label.carrier") => lang.tr(
            "Carrier of the prepaid label",
            "Transporteur de l'étiquette prépayée",
        ),
        (_, "label.tracking_number") => lang.tr(
            "Tracking number of the label",
            "Numéro de suivi de l'étiquette",
        ),
        (_, "label.label_url") => lang.tr(
            "Address of the label to print",
            "Adresse de l'étiquette à imprimer",
        ),
        (Action::Decline, "reason_text") => lang.tr("Why you decline", "Motif du refus"),
        (_, "reason_text") => lang.tr(
            "What went wrong, in your words",
            "Ce qui ne va pas, avec vos mots",
        ),
        (_, "kind") => lang.tr("What you offer", "Ce que vous proposez"),
        (Action::Offer, "amount_minor") => lang.tr("Amount offered", "Montant proposé"),
        (_, "amount_minor") => lang.tr("Amount refunded", "Montant remboursé"),
        (_, "carrier") => lang.tr("Carrier", "Transporteur"),
        (_, "tracking_number") => lang.tr("Tracking number", "Numéro de suivi"),
        (_, "grade") => lang.tr("Condition of the item", "État de l'article"),
        (Action::Decide, "refund_amount_minor") => lang.t(Msg::RefundAmount),
        (_, "refund_amount_minor") => lang.tr("Refund to pay", "Remboursement à verser"),
        (_, "notes") => lang.tr("Notes", "Remarques"),
        (_, "method") => lang.tr("Paid to", "Versé sur"),
        (_, "reference") => lang.tr("Payment reference", "Référence du paiement"),
        (_, "body") => lang.tr("Message", "Message"),
        (_, "outcome") => lang.t(Msg::Outcome),
        (_, "return_required") => lang.t(Msg::ReturnRequired),
        (_, "funded_by") => lang.t(Msg::WhoFunds),
        (_, "rationale") => lang.t(Msg::Rationale),
        (_, "score") => lang.tr("Your rating", "Votre note"),
        (_, "comment") => lang.tr("Comment", "Commentaire"),
        _ => lang.tr("Value", "Valeur"),
    }
}

/// A value of a closed list, in words.
pub(super) fn choice(lang: Lang, api: &str, value: &str) -> &'static str {
    match (api, value) {
        ("kind", "partial_refund") => lang.tr(
            "A partial refund; the buyer keeps the item",
            "Un remboursement partiel ; l'acheteur garde l'article",
        ),
        ("kind", "exchange") => lang.tr("An exchange", "Un échange"),
        ("kind" | "method", "store_credit") => lang.tr("Store credit", "Un avoir"),
        ("method", "original_payment") => lang.tr(
            "The original means of payment",
            "Le moyen de paiement d'origine",
        ),
        ("grade", "as_new") => lang.tr("As new", "Comme neuf"),
        ("grade", "opened") => lang.tr("Opened, as new", "Ouvert, comme neuf"),
        ("grade", "used") => lang.tr("Used", "Utilisé"),
        ("grade", "damaged") => lang.tr("Damaged", "Endommagé"),
        ("grade", "missing_parts") => lang.tr("Parts missing", "Pièces manquantes"),
        ("grade", "wrong_item") => lang.tr("Not the item sold", "Pas l'article vendu"),
        ("grade", "empty_box") => lang.tr("Empty box", "Boîte vide"),
        ("outcome", "refund_buyer") => lang.tr("Refund the buyer", "Rembourser l'acheteur"),
        ("outcome", "side_with_seller") => {
            lang.tr("Side with the seller", "Donner raison au vendeur")
        }
        ("funded_by", funder) => i18n::funder(lang, funder),
        ("score", "5") => lang.tr("5: very happy", "5 : très satisfait"),
        ("score", "4") => lang.tr("4: happy", "4 : satisfait"),
        ("score", "3") => lang.tr("3: so-so", "3 : mitigé"),
        ("score", "2") => lang.tr("2: unhappy", "2 : mécontent"),
        ("score", "1") => lang.tr("1: very unhappy", "1 : très mécontent"),
        _ => lang.tr("Other", "Autre"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_build_nested_objects() {
        let mut body = Map::new();
        insert(&mut body, "label.carrier", Value::from("DHL"));
        insert(&mut body, "label.tracking_number", Value::from("1Z"));
        insert(&mut body, "instructions", Value::from("Keep the box"));
        assert_eq!(
            Value::Object(body),
            serde_json::json!({"label": {"carrier": "DHL", "tracking_number": "1Z"}, "instructions": "Keep the box"})
        );
    }

    #[test]
    fn every_action_of_a_return_is_placed_and_every_choice_has_words() {
        for action in Action::ON_A_RETURN {
            for field in fields_of(action).unwrap_or_default() {
                for lang in [Lang::En, Lang::Fr] {
                    assert_ne!(label(lang, action, field.api), label(lang, action, "?"));
                    if let Input::Choice(values) | Input::Number(values) = field.input {
                        for v in values {
                            assert_ne!(choice(lang, field.api, v), choice(lang, "?", "?"));
                        }
                    }
                }
            }
        }
    }
}
