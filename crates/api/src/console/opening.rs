//! `/console/orders`: a buyer finds an order and opens a return on it (docs/console.md). The form
//! is turned into the body of `POST /v1/returns` and goes through the API's parser and command,
//! so it refuses what the API refuses, with the same problem.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use returns_app::{Answered, AppError, CommandOptions};
use returns_domain::returns::amount;
use returns_domain::{Order, Reason, Resolution};
use serde::Deserialize;
use serde_json::json;

use crate::problem::{FieldError, Problem};

use super::actions::Entered;
use super::i18n::{self, Lang, Msg};
use super::pages::{errors_of, field_errors, layout, Page};
use super::session::Session;
use super::{failure, form_session, html as answer, page, redirect, signed_in};

#[derive(Deserialize)]
pub(super) struct OrderQuery {
    order_id: Option<String>,
}

/// `GET /console/orders[?order_id=]`: the order form, and the order found with the form to open
/// a return on it.
pub(super) async fn find(req: HttpRequest, query: web::Query<OrderQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(page) => return *page,
    };
    let wanted = query
        .order_id
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let p = page(&req, Some(&session));
    let Some(wanted) = wanted else {
        return answer(&req, StatusCode::OK, render(&p, None, None, None));
    };
    match service.get_order(&session.caller.0, wanted).await {
        Ok(order) => answer(
            &req,
            StatusCode::OK,
            render(&p, Some(wanted), Some(&order), None),
        ),
        Err(e) => failure(&req, &session, &e),
    }
}

/// `POST /console/orders/{order_id}/return`: opens the return; on success, its tracking page.
pub(super) async fn open(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Entered>,
) -> HttpResponse {
    let entered = form.into_inner();
    let (session, service) = match form_session(&req, &entered) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let caller = &session.caller.0;
    let order = match service.get_order(caller, &path).await {
        Ok(order) => order,
        Err(e) => return failure(&req, &session, &e),
    };
    let opened = match body_of(&order, &entered)
        .and_then(|body| crate::returns::parse_open(body.to_string().as_bytes()))
    {
        Ok(request) => {
            let Some(state) = req.app_data::<web::Data<crate::ApiState>>() else {
                return failure(&req, &session, &AppError::Internal("no state".into()));
            };
            let render = crate::returns::case_answer(state, &session.caller, StatusCode::CREATED);
            service
                .open_return(caller, request, &CommandOptions::default(), &render)
                .await
                .map_err(Problem::from)
        }
        Err(problem) => Err(problem),
    };
    match opened {
        Ok(Answered::Fresh(case, _)) => {
            redirect(&format!("/console/track?rma={}", case.rma.as_str()))
        }
        // Without an idempotency key an answer is never a replay; the list shows the return.
        Ok(Answered::Replayed(_)) => redirect("/console/returns"),
        Err(problem) => refused(&req, &session, &order, &entered, &problem),
    }
}

fn refused(
    req: &HttpRequest,
    session: &Session,
    order: &Order,
    entered: &Entered,
    problem: &Problem,
) -> HttpResponse {
    let p = page(req, Some(session));
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    answer(
        req,
        status,
        render(
            &p,
            Some(order.order_id.as_str()),
            Some(order),
            Some((entered, problem)),
        ),
    )
}

/// The body of `POST /v1/returns` from the form: the lines with a quantity, the reason, the
/// resolution and the description.
fn body_of(order: &Order, form: &Entered) -> Result<serde_json::Value, Problem> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for line in &order.lines {
        let raw = form
            .get(&quantity_name(line.line_id.as_str()))
            .map_or("", |v| v.trim());
        if raw.is_empty() || raw == "0" {
            continue;
        }
        match raw.parse::<u32>() {
            Ok(quantity) => {
                items.push(json!({"line_id": line.line_id.as_str(), "quantity": quantity}))
            }
            Err(_) => errors.push(FieldError {
                field: "items".into(),
                message: format!("the quantity of {} is not a whole number", line.title),
            }),
        }
    }
    if items.is_empty() && errors.is_empty() {
        errors.push(FieldError {
            field: "items".into(),
            message: "choose at least one item and how many to return".into(),
        });
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let text = |key: &str| form.get(key).map_or("", |v| v.trim()).to_owned();
    let description = text("description");
    Ok(json!({
        "order_id": order.order_id.as_str(),
        "items": items,
        "reason": text("reason"),
        "resolution": text("resolution"),
        "description": (!description.is_empty()).then_some(description),
    }))
}

fn quantity_name(line_id: &str) -> String {
    format!("quantity.{line_id}")
}

fn render(
    p: &Page<'_>,
    wanted: Option<&str>,
    order: Option<&Order>,
    attempt: Option<(&Entered, &Problem)>,
) -> Markup {
    let lang = p.lang;
    layout(
        p,
        lang.tr("Return an item", "Retourner un article"),
        html! {
            form method="get" action="/console/orders" {
                label for="order_id" { (lang.tr("Order number", "Numéro de commande")) }
                p.help id="order_id-help" { (lang.tr(
                    "As in your order confirmation.",
                    "Tel qu'il figure dans la confirmation de commande.",
                )) }
                input id="order_id" name="order_id" type="text" value=(wanted.unwrap_or_default())
                    aria-describedby="order_id-help" required;
                p { button type="submit" { (lang.t(Msg::Find)) } }
            }
            @if let Some(order) = order {
                (open_form(p, order, attempt))
            }
        },
    )
}

fn open_form(p: &Page<'_>, order: &Order, attempt: Option<(&Entered, &Problem)>) -> Markup {
    let lang = p.lang;
    let csrf = p.session.map(|s| s.csrf()).unwrap_or_default();
    let problem = attempt.map(|(_, problem)| problem);
    let value = |key: &str| {
        attempt
            .and_then(|(entered, _)| entered.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let items_errors = field_errors(problem, "items");
    html! {
        section.card aria-labelledby="open-title" {
            h2 id="open-title" { (lang.tr("Order", "Commande")) " " (order.order_id.as_str()) }
            @if let Some(problem) = problem {
                p.error role="alert" id="open-problem" { (problem.title) ": " (problem.detail) }
            }
            form method="post" action={ "/console/orders/" (order.order_id.as_str()) "/return" } id="form-open" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset aria-describedby="items-error" {
                    legend { (lang.tr("What goes back", "Ce qui est renvoyé")) }
                    @for line in &order.lines {
                        @let name = quantity_name(line.line_id.as_str());
                        @let id = format!("quantity-{}", line.line_id.as_str());
                        @let available = order.available_quantity(&line.line_id);
                        label for=(id) {
                            (line.title) " · " (amount(line.unit_price_minor, order.currency)) " · "
                            (lang.tr("can be returned:", "retournable :")) " " (available)
                        }
                        input type="number" id=(id) name=(name) min="0" max=(available)
                            value=(value(&name)) disabled[available == 0];
                    }
                    (errors_of("items-error", &items_errors))
                }
                label for="reason" { (lang.t(Msg::Reason)) }
                select id="reason" name="reason" required aria-describedby="reason-error" {
                    @for reason in Reason::ALL {
                        option value=(reason.as_str()) selected[value("reason") == reason.as_str()] {
                            (i18n::reason(lang, reason.as_str()))
                        }
                    }
                }
                (errors_of("reason-error", &field_errors(problem, "reason")))
                label for="resolution" { (lang.tr("What you would like", "Ce que vous souhaitez")) }
                select id="resolution" name="resolution" required aria-describedby="resolution-error" {
                    @for resolution in Resolution::ALL {
                        option value=(resolution.as_str()) selected[value("resolution") == resolution.as_str()] {
                            (resolution_words(lang, resolution.as_str()))
                        }
                    }
                }
                (errors_of("resolution-error", &field_errors(problem, "resolution")))
                label for="description" { (lang.tr("What is wrong, in your words", "Ce qui ne va pas, avec vos mots")) }
                textarea id="description" name="description" rows="3" aria-describedby="description-error" {
                    (value("description"))
                }
                (errors_of("description-error", &field_errors(problem, "description")))
                p { button type="submit" { (lang.tr("Open the return", "Ouvrir le retour")) } }
            }
        }
    }
}

fn resolution_words(lang: Lang, resolution: &str) -> &'static str {
    match resolution {
        "refund" => lang.tr("A refund", "Un remboursement"),
        "exchange" => lang.tr("An exchange", "Un échange"),
        "repair" => lang.tr("A repair", "Une réparation"),
        _ => lang.tr("Other", "Autre"),
    }
}
