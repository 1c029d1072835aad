//! `/console/policy`: a seller's return policy editor (operators: any seller's, by `seller_id`),
//! with what the policy and the buyer's law together give a buyer (docs/product.md, "Legal
//! floors"). The form changes the fields it shows and keeps the others (return methods) as they
//! are; the document goes through the API's parser and command, so it refuses what
//! `PUT /v1/sellers/{seller_id}/policy` refuses, with the same problem.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use returns_app::CommandOptions;
use returns_domain::law::{
    EU_CONFORMITY_MONTHS, EU_REFUND_DAYS, EU_WITHDRAWAL_DAYS, LEGAL_EXCEPTION_CATEGORIES,
};
use returns_domain::policy::{OnSellerTimeout, RefundMethod};
use returns_domain::{Reason, Role, SellerId, SellerPolicy};
use serde::Deserialize;
use serde_json::Value;

use crate::problem::{FieldError, Problem};

use super::actions::Entered;
use super::i18n::{self, Lang};
use super::pages::{errors_of, field_errors, layout, Page};
use super::session::Session;
use super::{failure, form_session, html as answer, page, redirect, signed_in};

/// The numeric fields of the form: API name, and its words in English and French.
const NUMBERS: &[(&str, &str, &str)] = &[
    (
        "return_window_days",
        "Return window (days from delivery)",
        "Délai de retour (jours après la livraison)",
    ),
    (
        "restocking_fee_percent",
        "Restocking fee on change-of-mind returns (%)",
        "Frais de remise en stock sur les retours par changement d'avis (%)",
    ),
    (
        "return_shipping_fee_minor",
        "Price of a return label, in cents",
        "Prix d'une étiquette de retour, en centimes",
    ),
    (
        "auto_approve_max_minor",
        "Accept at once requests up to, in cents (0: never)",
        "Accepter d'office les demandes jusqu'à, en centimes (0 : jamais)",
    ),
    (
        "returnless_refund_max_minor",
        "Refund without the item back up to, in cents (0: never)",
        "Rembourser sans retour de l'article jusqu'à, en centimes (0 : jamais)",
    ),
    (
        "seller_response_business_days",
        "Business days to answer a request",
        "Jours ouvrés pour répondre à une demande",
    ),
    (
        "ship_by_days",
        "Days the buyer has to send the item",
        "Jours laissés à l'acheteur pour renvoyer l'article",
    ),
    (
        "inspect_business_days",
        "Business days to inspect a returned item",
        "Jours ouvrés pour examiner un article retourné",
    ),
    (
        "store_credit_bonus_percent",
        "Bonus on store credit (%)",
        "Bonus sur les avoirs (%)",
    ),
];

#[derive(Deserialize)]
pub(super) struct PolicyQuery {
    seller_id: Option<String>,
}

/// The seller whose policy the page shows: a seller's own; for an operator, the one named.
fn seller_for(session: &Session, named: Option<&str>) -> Option<SellerId> {
    let caller = &session.caller.0;
    match caller.role {
        Role::Seller => SellerId::parse(&caller.id).ok(),
        Role::Operator => named.and_then(|s| SellerId::parse(s.trim()).ok()),
        _ => None,
    }
}

/// The refusal of the editor to a buyer or the platform, as the API refuses them the policy.
fn not_for(session: &Session) -> returns_app::AppError {
    returns_app::AppError::Rejected(returns_domain::Rejection::Forbidden {
        action: "set-policy",
        role: session.caller.0.role,
    })
}

/// `GET /console/policy[?seller_id=]`.
pub(super) async fn show(req: HttpRequest, query: web::Query<PolicyQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(page) => return *page,
    };
    let p = page(&req, Some(&session));
    let Some(seller) = seller_for(&session, query.seller_id.as_deref()) else {
        if session.caller.0.role == Role::Operator {
            return answer(&req, StatusCode::OK, render(&p, None, None));
        }
        return failure(&req, &session, &not_for(&session));
    };
    match service.get_policy(seller.as_str()).await {
        Ok((policy, version)) => answer(
            &req,
            StatusCode::OK,
            render(&p, Some((&seller, &policy, version)), None),
        ),
        Err(e) => failure(&req, &session, &e),
    }
}

/// `POST /console/policy`: the form's fields over the policy in force, stored as its next version.
pub(super) async fn save(req: HttpRequest, form: web::Form<Entered>) -> HttpResponse {
    let entered = form.into_inner();
    let (session, service) = match form_session(&req, &entered) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let Some(seller) = seller_for(&session, entered.get("seller_id").map(String::as_str)) else {
        return failure(&req, &session, &not_for(&session));
    };
    let (current, version) = match service.get_policy(seller.as_str()).await {
        Ok(found) => found,
        Err(e) => return failure(&req, &session, &e),
    };
    // The version the page showed: a policy changed since (elsewhere, or by someone else) is not
    // overwritten (409).
    let shown = entered
        .get("version")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let checked = match shown {
        Some(_) => document(&current, &entered),
        None => Err(Problem::invalid(
            "version",
            "the version of the policy the page showed",
        )),
    };
    let saved = match checked {
        Ok(doc) => match crate::policies::parse_policy(&doc, "") {
            Ok(policy) => {
                let id = seller.as_str().to_owned();
                let render = move |(policy, version): &(SellerPolicy, u64)| {
                    crate::extract::stored(
                        StatusCode::OK,
                        &crate::render::policy_view(&id, policy, *version),
                    )
                };
                service
                    .set_policy(
                        &session.caller.0,
                        seller.clone(),
                        policy,
                        &CommandOptions {
                            if_match: shown,
                            ..CommandOptions::default()
                        },
                        &render,
                    )
                    .await
                    .map(|_| ())
                    .map_err(Problem::from)
            }
            Err(problem) => Err(problem),
        },
        Err(problem) => Err(problem),
    };
    match saved {
        Ok(()) => redirect(&format!("/console/policy?seller_id={}", seller.as_str())),
        Err(problem) => {
            let p = page(&req, Some(&session));
            let status =
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            answer(
                &req,
                status,
                render(
                    &p,
                    Some((&seller, &current, version)),
                    Some((&entered, &problem)),
                ),
            )
        }
    }
}

/// The policy document: `current` with the form's fields put over it.
fn document(current: &SellerPolicy, form: &Entered) -> Result<Value, Problem> {
    let mut doc = serde_json::to_value(current)
        .map_err(|e| Problem::from(returns_app::AppError::Internal(e.to_string())))?;
    let Some(fields) = doc.as_object_mut() else {
        return Err(Problem::validation(vec![FieldError {
            field: "policy".into(),
            message: "the policy in force could not be read".into(),
        }]));
    };
    let text = |key: &str| form.get(key).map_or("", |v| v.trim());
    for (name, _, _) in NUMBERS {
        let raw = text(name);
        // Not a number: sent as it is, for the parser to say what it expects.
        let value = raw
            .parse::<i64>()
            .map_or_else(|_| Value::from(raw), Value::from);
        fields.insert((*name).to_owned(), value);
    }
    let categories: Vec<Value> = text("non_returnable_categories")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(Value::from)
        .collect();
    fields.insert("non_returnable_categories".into(), Value::from(categories));
    let checked = |prefix: &str, values: &[&str]| -> Value {
        values
            .iter()
            .filter(|v| form.contains_key(&format!("{prefix}.{v}")))
            .map(|v| Value::from(*v))
            .collect::<Vec<_>>()
            .into()
    };
    let reasons: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    fields.insert(
        "buyer_pays_return_shipping_for".into(),
        checked("buyer_pays", &reasons),
    );
    let methods: Vec<&str> = RefundMethod::ALL.iter().map(|m| m.as_str()).collect();
    fields.insert("refund_methods".into(), checked("refund_method", &methods));
    fields.insert(
        "on_seller_timeout".into(),
        Value::from(text("on_seller_timeout")),
    );
    Ok(doc)
}

fn render(
    p: &Page<'_>,
    found: Option<(&SellerId, &SellerPolicy, u64)>,
    attempt: Option<(&Entered, &Problem)>,
) -> Markup {
    let lang = p.lang;
    let operator = p.session.is_some_and(|s| s.caller.0.role == Role::Operator);
    layout(
        p,
        lang.tr("Return policy", "Politique de retour"),
        html! {
            @if operator {
                form method="get" action="/console/policy" {
                    label for="seller_id" { (lang.tr("Seller", "Vendeur")) }
                    input id="seller_id" name="seller_id" type="text" required
                        value=(found.map(|(s, _, _)| s.as_str()).unwrap_or_default());
                    " " button type="submit" { (lang.tr("Show", "Afficher")) }
                }
            }
            @if let Some((seller, policy, version)) = found {
                (what_buyers_get(lang, policy))
                (editor(p, seller, policy, version, attempt))
            }
        },
    )
}

/// What a buyer gets under `policy`, in the EU (where the legal floor applies) and elsewhere.
fn what_buyers_get(lang: Lang, policy: &SellerPolicy) -> Markup {
    let window = policy.return_window_days;
    let eu_window = window.max(EU_WITHDRAWAL_DAYS);
    let days = |n: u32| format!("{n} {}", lang.tr("days", "jours"));
    let fee = policy.restocking_fee_percent;
    let excluded: Vec<&str> = policy
        .non_returnable_categories
        .iter()
        .map(|c| c.as_str())
        .collect();
    let pays_for: Vec<String> = policy
        .buyer_pays_return_shipping_for
        .iter()
        .map(|r| i18n::reason(lang, r.as_str()))
        .collect();
    let conformity = [
        Reason::Defective,
        Reason::NotAsDescribed,
        Reason::MissingParts,
        Reason::WrongItem,
    ];
    let pays_for_eu: Vec<String> = policy
        .buyer_pays_return_shipping_for
        .iter()
        .filter(|r| !conformity.contains(r))
        .map(|r| i18n::reason(lang, r.as_str()))
        .collect();
    let none = lang.tr("none", "aucun");
    let list = |items: &[String]| {
        if items.is_empty() {
            none.to_owned()
        } else {
            items.join(", ")
        }
    };
    html! {
        section.card aria-labelledby="buyers-title" {
            h2 id="buyers-title" { (lang.tr("What buyers get", "Ce qu'obtiennent les acheteurs")) }
            p.help { (lang.tr(
                "Your policy, raised where needed to the law of the buyer's country: in the EU the law sets a floor no policy can go below.",
                "Votre politique, relevée si besoin au niveau de la loi du pays de l'acheteur : dans l'UE, la loi fixe un minimum qu'aucune politique ne peut abaisser.",
            )) }
            table id="what-buyers-get" {
                thead { tr {
                    th scope="col" {}
                    th scope="col" { (lang.tr("Buyers in the EU", "Acheteurs dans l'UE")) }
                    th scope="col" { (lang.tr("Buyers elsewhere", "Acheteurs ailleurs")) }
                } }
                tbody {
                    tr {
                        th scope="row" { (lang.tr("Return for any reason", "Retour sans motif")) }
                        td { (days(eu_window)) @if window < EU_WITHDRAWAL_DAYS { " " span.tag { (lang.tr("legal minimum", "minimum légal")) } } }
                        td { @if window == 0 { (lang.tr("not accepted", "non accepté")) } @else { (days(window)) } }
                    }
                    tr {
                        th scope="row" { (lang.tr("Faulty, wrong or not as described", "Défectueux, erroné ou non conforme")) }
                        td { (EU_CONFORMITY_MONTHS) " " (lang.tr("months (legal guarantee), return shipping free", "mois (garantie légale), renvoi gratuit")) }
                        td { @if window == 0 { (lang.tr("not accepted", "non accepté")) } @else { (days(window)) } }
                    }
                    tr {
                        th scope="row" { (lang.tr("Restocking fee on change of mind", "Frais de remise en stock (changement d'avis)")) }
                        td {
                            @if fee == 0 { (none) }
                            @else if eu_window > EU_WITHDRAWAL_DAYS { (fee) " % " (lang.tr("after the first 14 days only", "après les 14 premiers jours seulement")) }
                            @else { (none) " " span.tag { (lang.tr("legal floor", "plancher légal")) } }
                        }
                        td { @if fee == 0 { (none) } @else { (fee) " %" } }
                    }
                    tr {
                        th scope="row" { (lang.tr("Buyer pays return shipping for", "Renvoi payé par l'acheteur pour")) }
                        td { (list(&pays_for_eu)) }
                        td { (list(&pays_for)) }
                    }
                    tr {
                        th scope="row" { (lang.tr("Categories you exclude", "Catégories exclues")) }
                        td {
                            @if excluded.is_empty() { (none) } @else {
                                (excluded.join(", ")) ": "
                                (lang.tr("still returnable within 14 days and under the legal guarantee", "restent retournables sous 14 jours et au titre de la garantie légale"))
                            }
                        }
                        td { @if excluded.is_empty() { (none) } @else { (excluded.join(", ")) ": " (lang.tr("not returnable", "non retournables")) } }
                    }
                    tr {
                        th scope="row" { (lang.tr("Refund paid within", "Remboursement versé sous")) }
                        td { (days(EU_REFUND_DAYS)) }
                        td { (days(EU_REFUND_DAYS)) }
                    }
                }
            }
            p.help { (lang.tr("Never returnable for any reason in the EU, whatever the policy:", "Jamais retournables sans motif dans l'UE, quelle que soit la politique :")) " " (LEGAL_EXCEPTION_CATEGORIES.join(", ")) }
        }
    }
}

fn editor(
    p: &Page<'_>,
    seller: &SellerId,
    policy: &SellerPolicy,
    version: u64,
    attempt: Option<(&Entered, &Problem)>,
) -> Markup {
    let lang = p.lang;
    let csrf = p.session.map(|s| s.csrf()).unwrap_or_default();
    let problem = attempt.map(|(_, problem)| problem);
    let stored = serde_json::to_value(policy).unwrap_or_default();
    // What to show in a field: what was entered when the form was refused, else the policy.
    let value = |name: &str| -> String {
        match attempt {
            Some((entered, _)) => entered.get(name).cloned().unwrap_or_default(),
            None => match &stored[name] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            },
        }
    };
    let listed = |name: &str, v: &str| -> bool {
        match attempt {
            Some((entered, _)) => entered.contains_key(&format!("{name}.{v}")),
            None => stored[match name {
                "buyer_pays" => "buyer_pays_return_shipping_for",
                _ => "refund_methods",
            }]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(v))),
        }
    };
    let categories = match attempt {
        Some((entered, _)) => entered
            .get("non_returnable_categories")
            .cloned()
            .unwrap_or_default(),
        None => policy
            .non_returnable_categories
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    html! {
        section.card aria-labelledby="policy-title" {
            h2 id="policy-title" {
                (lang.tr("Policy of", "Politique de")) " " (seller.as_str()) ", "
                (lang.tr("version", "version")) " " span id="policy-version" { (version) }
            }
            @if let Some(problem) = problem {
                p.error role="alert" id="policy-problem" { (problem.title) ": " (problem.detail) }
            }
            form method="post" action="/console/policy" id="form-policy" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="seller_id" value=(seller.as_str());
                input type="hidden" name="version" value=(version);
                @for (name, en, fr) in NUMBERS {
                    @let error_id = format!("{name}-error");
                    label for=(name) { (lang.tr(en, fr)) }
                    input type="text" inputmode="numeric" id=(name) name=(name) value=(value(name))
                        aria-describedby=(error_id);
                    (errors_of(&error_id, &field_errors(problem, name)))
                }
                label for="non_returnable_categories" { (lang.tr("Categories you do not take back (separated by commas)", "Catégories non reprises (séparées par des virgules)")) }
                input type="text" id="non_returnable_categories" name="non_returnable_categories"
                    value=(categories) aria-describedby="non_returnable_categories-error";
                (errors_of("non_returnable_categories-error", &field_errors(problem, "non_returnable_categories")))
                fieldset aria-describedby="buyer_pays_return_shipping_for-error" {
                    legend { (lang.tr("The buyer pays return shipping for", "L'acheteur paie le renvoi pour")) }
                    @for reason in Reason::ALL {
                        label.choice {
                            input type="checkbox" name={ "buyer_pays." (reason.as_str()) } value="true"
                                checked[listed("buyer_pays", reason.as_str())];
                            " " (i18n::reason(lang, reason.as_str()))
                        }
                    }
                    (errors_of("buyer_pays_return_shipping_for-error", &field_errors(problem, "buyer_pays_return_shipping_for")))
                }
                fieldset aria-describedby="refund_methods-error" {
                    legend { (lang.tr("Settlements you offer", "Règlements proposés")) }
                    @for method in RefundMethod::ALL {
                        label.choice {
                            input type="checkbox" name={ "refund_method." (method.as_str()) } value="true"
                                checked[listed("refund_method", method.as_str())];
                            " " (refund_method_words(lang, *method))
                        }
                    }
                    (errors_of("refund_methods-error", &field_errors(problem, "refund_methods")))
                }
                label for="on_seller_timeout" { (lang.tr("When you do not answer in time", "Si vous ne répondez pas à temps")) }
                select id="on_seller_timeout" name="on_seller_timeout" aria-describedby="on_seller_timeout-error" {
                    @for choice in OnSellerTimeout::ALL {
                        option value=(choice.as_str()) selected[value("on_seller_timeout") == choice.as_str()] {
                            @match choice {
                                OnSellerTimeout::Escalate => (lang.tr("the platform decides", "la plateforme tranche")),
                                OnSellerTimeout::AutoAccept => (lang.tr("the return is accepted", "le retour est accepté")),
                            }
                        }
                    }
                }
                (errors_of("on_seller_timeout-error", &field_errors(problem, "on_seller_timeout")))
                p.help { (lang.tr(
                    "Return methods are kept as they are; they are set through the API.",
                    "Les modes de retour sont conservés tels quels ; ils se règlent par l'API.",
                )) }
                p { button type="submit" { (lang.tr("Save as a new version", "Enregistrer une nouvelle version")) } }
            }
        }
    }
}

fn refund_method_words(lang: Lang, method: RefundMethod) -> &'static str {
    match method {
        RefundMethod::OriginalPayment => lang.tr(
            "Refund to the original payment",
            "Remboursement sur le paiement d'origine",
        ),
        RefundMethod::StoreCredit => lang.tr("Store credit", "Avoir"),
        RefundMethod::Exchange => lang.tr("Exchange", "Échange"),
    }
}
