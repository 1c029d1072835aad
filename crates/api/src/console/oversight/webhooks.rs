//! Webhooks: the subscriptions, a subscription's deliveries with their attempts, and queuing a
//! parked delivery again (operators). The same app-layer calls and role checks as `/v1/webhooks`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use returns_app::{AppError, Delivery, DeliveryStatus, Subscription};
use serde::Deserialize;
use uuid::Uuid;

use super::words::delivery_status;
use super::{csrf_field, given, problem_box, refused};
use crate::auth::Role;
use crate::console::i18n::{self, Lang, Msg};
use crate::console::pages::{errors_of, field_errors, layout, time, Page};
use crate::console::session::Session;
use crate::console::{failure, html, page, posted_by, redirect, signed_in};
use crate::problem::Problem;

/// Webhooks, and deliveries, per page.
const PAGE_SIZE: usize = 50;

fn not_for_you(req: &HttpRequest, session: &Session) -> HttpResponse {
    let lang = page(req, Some(session)).lang;
    refused(
        req,
        session,
        lang.tr(
            "Webhooks are for operators and the marketplace.",
            "Les webhooks sont réservés aux opérateurs et à la place de marché.",
        ),
    )
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    cursor: Option<String>,
}

/// `GET /console/webhooks`: the webhooks the caller may see (operators: every one).
pub(super) async fn list(req: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    if crate::webhooks::manager(&session.caller).is_err() {
        return not_for_you(&req, &session);
    }
    let p = page(&req, Some(&session));
    let after = match crate::extract::cursor_of(given(query.cursor.as_deref())) {
        Ok(after) => after,
        Err(problem) => {
            let body = webhooks_page(&p, &[], None, Some(&problem), None);
            return html(&req, StatusCode::UNPROCESSABLE_ENTITY, body);
        }
    };
    match service
        .list_webhooks(&session.caller.0, after, PAGE_SIZE)
        .await
    {
        Ok((items, more)) => {
            let next = more.then(|| items.last().map(|s| s.id)).flatten();
            html(
                &req,
                StatusCode::OK,
                webhooks_page(&p, &items, next, None, None),
            )
        }
        Err(e) => failure(&req, &session, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    events: String,
}

/// `POST /console/webhooks`: registers a webhook with the checks of `POST /v1/webhooks`; a
/// refusal is shown next to its fields (the secret is never shown again) and registers nothing.
pub(super) async fn register(req: HttpRequest, form: web::Form<RegisterForm>) -> HttpResponse {
    let (session, service) = match posted_by(&req, &form.csrf) {
        Ok(posted) => posted,
        Err(answer) => return *answer,
    };
    if crate::webhooks::manager(&session.caller).is_err() {
        return not_for_you(&req, &session);
    }
    let Some(state) = req.app_data::<web::Data<crate::ApiState>>() else {
        return failure(&req, &session, &AppError::Internal("no state".into()));
    };
    let events: Vec<String> = form
        .events
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let checked = crate::webhooks::checked_webhook(
        state,
        form.url.trim().to_owned(),
        form.secret.clone(),
        events,
    )
    .await;
    let registered = match checked {
        Ok(webhook) => {
            let render = |s: &Subscription| {
                crate::extract::stored(
                    StatusCode::CREATED,
                    &crate::webhooks::WebhookView::from(s.clone()),
                )
            };
            service
                .register_webhook(
                    &session.caller.0,
                    webhook,
                    &returns_app::CommandOptions::default(),
                    render,
                )
                .await
                .map_err(Problem::from)
        }
        Err(problem) => Err(problem),
    };
    match registered {
        Ok(returns_app::Answered::Fresh(s, _)) => {
            tracing::info!(webhook_id = %s.id, "webhook registered");
            redirect(&format!("/console/webhooks/{}", s.id))
        }
        Ok(returns_app::Answered::Replayed(_)) => redirect("/console/webhooks"),
        Err(problem) => {
            let p = page(&req, Some(&session));
            let items = service
                .list_webhooks(&session.caller.0, None, PAGE_SIZE)
                .await
                .map(|(items, _)| items)
                .unwrap_or_default();
            let status =
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let entered = (form.url.as_str(), form.events.as_str());
            html(
                &req,
                status,
                webhooks_page(&p, &items, None, None, Some((entered, &problem))),
            )
        }
    }
}

/// `POST /console/webhooks/{id}/delete`: deletes the webhook as `DELETE /v1/webhooks/{id}` does
/// (its owner or an operator); nothing more is queued or sent for it.
pub(super) async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<crate::console::CsrfForm>,
) -> HttpResponse {
    let (session, service) = match posted_by(&req, &form.csrf) {
        Ok(posted) => posted,
        Err(answer) => return *answer,
    };
    if crate::webhooks::manager(&session.caller).is_err() {
        return not_for_you(&req, &session);
    }
    let Ok(id) = crate::extract::id_of(&path) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    match service.delete_webhook(&session.caller.0, id).await {
        Ok(()) => {
            tracing::info!(webhook_id = %id, "webhook deleted");
            redirect("/console/webhooks")
        }
        Err(e) => failure(&req, &session, &e),
    }
}

/// A refused registration: what was entered (address, events) and the problem.
type Registration<'a> = ((&'a str, &'a str), &'a Problem);

fn webhooks_page(
    p: &Page<'_>,
    items: &[Subscription],
    next: Option<Uuid>,
    problem: Option<&Problem>,
    registration: Option<Registration<'_>>,
) -> Markup {
    let lang = p.lang;
    let cursor_errors = field_errors(problem, "cursor");
    layout(
        p,
        lang.tr("Webhooks", "Webhooks"),
        html! {
            p.help { (lang.tr(
                "The addresses the service posts a return's events to, and what each one receives. Open one to follow its deliveries.",
                "Les adresses auxquelles le service envoie les événements des retours, et ce que chacune reçoit. Ouvrez-en une pour suivre ses envois.",
            )) }
            (errors_of("cursor-error", &cursor_errors))
            @if items.is_empty() && problem.is_none() {
                p id="no-webhooks" { (lang.tr("No webhook is registered.", "Aucun webhook n'est enregistré.")) }
            } @else if !items.is_empty() {
                table {
                    thead { tr {
                        th scope="col" { (lang.tr("Address", "Adresse")) }
                        th scope="col" { (lang.tr("Events", "Événements")) }
                        th scope="col" { (lang.tr("Registered by", "Enregistré par")) }
                        th scope="col" { (lang.tr("Registered", "Enregistré le")) }
                        th scope="col" { (lang.tr("Deliveries", "Envois")) }
                    } }
                    tbody {
                        @for s in items {
                            tr data-webhook=(s.id) {
                                td { code { (s.url) } }
                                td { (s.events.join(", ")) }
                                td { (i18n::role(lang, &s.owner_role)) " " (s.owner_id) }
                                td { time datetime=(s.created_at.to_rfc3339()) { (time(s.created_at)) } }
                                td {
                                    a href={ "/console/webhooks/" (s.id) } { (lang.tr("All", "Tous")) }
                                    " · "
                                    a href={ "/console/webhooks/" (s.id) "?status=parked" } { (lang.tr("Parked", "Suspendus")) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a rel="next" href={ "/console/webhooks?cursor=" (next) } { (lang.tr("Next webhooks", "Webhooks suivants")) } }
            }
            (register_form(p, registration))
        },
    )
}

/// The form that registers a webhook, with a refused registration's problem next to its fields.
fn register_form(p: &Page<'_>, registration: Option<Registration<'_>>) -> Markup {
    let lang = p.lang;
    let problem = registration.map(|(_, problem)| problem);
    let (url, events) = registration.map_or(("", "return.*"), |(entered, _)| entered);
    let event_errors: Vec<&str> = problem
        .map(|pr| {
            pr.errors
                .iter()
                .filter(|e| e.field.starts_with("events"))
                .map(|e| e.message.as_str())
                .collect()
        })
        .unwrap_or_default();
    html! {
        section.card aria-labelledby="register-title" {
            h2 id="register-title" { (lang.tr("Register a webhook", "Enregistrer un webhook")) }
            @if let Some(problem) = problem {
                p.error role="alert" id="register-problem" { (problem.title) ": " (problem.detail) }
            }
            form method="post" action="/console/webhooks" id="form-register" {
                (csrf_field(p.session))
                label for="url" { (lang.tr("Address (https)", "Adresse (https)")) }
                input type="url" id="url" name="url" value=(url) required aria-describedby="url-error";
                (errors_of("url-error", &field_errors(problem, "url")))
                label for="secret" { (lang.tr("Signing secret (16 bytes or more; never shown again)", "Secret de signature (16 octets ou plus ; jamais réaffiché)")) }
                input type="password" id="secret" name="secret" required autocomplete="new-password"
                    aria-describedby="secret-error";
                (errors_of("secret-error", &field_errors(problem, "secret")))
                label for="events" { (lang.tr("Events (return.*, *, or event types, separated by commas)", "Événements (return.*, *, ou types d'événements, séparés par des virgules)")) }
                input type="text" id="events" name="events" value=(events) required aria-describedby="events-error";
                (errors_of("events-error", &event_errors))
                p { button type="submit" { (lang.tr("Register", "Enregistrer")) } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct DeliveriesQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// `GET /console/webhooks/{id}?status=&cursor=`: a webhook's deliveries, oldest first, with their
/// attempts; parked ones can be queued again by operators.
pub(super) async fn deliveries(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    if crate::webhooks::manager(&session.caller).is_err() {
        return not_for_you(&req, &session);
    }
    let Ok(id) = crate::extract::id_of(&path) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    let wanted = Wanted {
        status: given(query.status.as_deref()),
        cursor: given(query.cursor.as_deref()),
    };
    deliveries_answer(&req, &session, &service, id, &wanted, None).await
}

/// The filter and page asked for.
struct Wanted<'a> {
    status: Option<&'a str>,
    cursor: Option<&'a str>,
}

/// The deliveries page of webhook `id`, with a refused retry above the list when there is one
/// (then with its status).
async fn deliveries_answer(
    req: &HttpRequest,
    session: &Session,
    service: &returns_app::Service,
    id: Uuid,
    wanted: &Wanted<'_>,
    refusal: Option<&Problem>,
) -> HttpResponse {
    let caller = &session.caller.0;
    let webhook = match service.get_webhook(caller, id).await {
        Ok(webhook) => webhook,
        Err(e) => return failure(req, session, &e),
    };
    let p = page(req, Some(session));
    // A filter or cursor that is none: said next to its field, with no list.
    let bad_filter = |problem: &Problem| {
        let view = DeliveriesView {
            webhook: &webhook,
            wanted,
            listed: None,
            problem: Some(problem),
            refusal,
        };
        html(
            req,
            StatusCode::UNPROCESSABLE_ENTITY,
            deliveries_page(&p, &view),
        )
    };
    let status = match wanted
        .status
        .map(|s| DeliveryStatus::parse(s).ok_or(()))
        .transpose()
    {
        Ok(status) => status,
        Err(()) => {
            let problem = Problem::invalid("status", "must be pending, delivered or parked");
            return bad_filter(&problem);
        }
    };
    let after = match crate::extract::cursor_of(wanted.cursor) {
        Ok(after) => after,
        Err(problem) => return bad_filter(&problem),
    };
    let (items, more) = match service
        .webhook_deliveries(caller, id, status, after, PAGE_SIZE)
        .await
    {
        Ok(found) => found,
        Err(e) => return failure(req, session, &e),
    };
    let next = more.then(|| items.last().map(|d| d.id)).flatten();
    let code = refusal
        .and_then(|r| StatusCode::from_u16(r.status).ok())
        .unwrap_or(StatusCode::OK);
    let view = DeliveriesView {
        webhook: &webhook,
        wanted,
        listed: Some((&items, next)),
        problem: None,
        refusal,
    };
    html(req, code, deliveries_page(&p, &view))
}

struct DeliveriesView<'a> {
    webhook: &'a Subscription,
    wanted: &'a Wanted<'a>,
    listed: Option<(&'a [Delivery], Option<Uuid>)>,
    /// A bad filter or page.
    problem: Option<&'a Problem>,
    /// A retry refused.
    refusal: Option<&'a Problem>,
}

fn deliveries_page(p: &Page<'_>, view: &DeliveriesView<'_>) -> Markup {
    let lang = p.lang;
    let webhook = view.webhook;
    let status_errors = field_errors(view.problem, "status");
    let cursor_errors = field_errors(view.problem, "cursor");
    let operator = p.session.is_some_and(|s| s.caller.role() == Role::Operator);
    let retry_words = lang.tr(
        "Only a parked delivery can be queued again, and this one is not parked (any more): it may have been queued again already.",
        "Seul un envoi suspendu peut être relancé, et celui-ci ne l'est pas (ou plus) : il a peut-être déjà été relancé.",
    );
    layout(
        p,
        lang.tr("Webhook deliveries", "Envois d'un webhook"),
        html! {
            dl.card {
                dt { (lang.tr("Address", "Adresse")) } dd { code { (webhook.url) } }
                dt { (lang.tr("Events", "Événements")) } dd { (webhook.events.join(", ")) }
                dt { (lang.tr("Registered", "Enregistré le")) } dd { (time(webhook.created_at)) }
            }
            p { a href="/console/webhooks" { (lang.tr("Every webhook", "Tous les webhooks")) } }
            form method="post" action={ "/console/webhooks/" (webhook.id) "/delete" } id="form-delete" {
                (csrf_field(p.session))
                button type="submit" { (lang.tr("Delete this webhook", "Supprimer ce webhook")) }
            }
            @if let Some(problem) = view.refusal {
                (problem_box(lang, problem, (problem.code == "invalid_transition").then_some(retry_words)))
            }
            form method="get" action={ "/console/webhooks/" (webhook.id) } {
                label for="status" { (lang.t(Msg::Status)) }
                select id="status" name="status" aria-describedby="status-error" {
                    option value="" selected[view.wanted.status.is_none()] { (lang.tr("Any", "Tous")) }
                    @for s in [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Parked] {
                        option value=(s.as_str()) selected[view.wanted.status == Some(s.as_str())] { (delivery_status(lang, s)) }
                    }
                }
                (errors_of("status-error", &status_errors))
                (errors_of("cursor-error", &cursor_errors))
                p { button type="submit" { (lang.tr("Show", "Afficher")) } }
            }
            @if let Some((items, next)) = view.listed {
                @if items.is_empty() {
                    p id="no-deliveries" { (lang.tr("No delivery.", "Aucun envoi.")) }
                } @else {
                    (deliveries_table(p, view, items, operator))
                }
                @if let Some(next) = next {
                    p { a rel="next" href={ "/console/webhooks/" (webhook.id) "?cursor=" (next)
                        @if let Some(s) = view.wanted.status { "&status=" (s) } } {
                        (lang.tr("Next deliveries", "Envois suivants"))
                    } }
                }
            }
        },
    )
}

fn deliveries_table(
    p: &Page<'_>,
    view: &DeliveriesView<'_>,
    items: &[Delivery],
    operator: bool,
) -> Markup {
    let lang = p.lang;
    html! {
        table.deliveries {
            thead { tr {
                th scope="col" { (lang.tr("Event", "Événement")) }
                th scope="col" { (lang.t(Msg::Status)) }
                th scope="col" { (lang.tr("Attempts", "Essais")) }
                th scope="col" { (lang.tr("Last error", "Dernière erreur")) }
                th scope="col" { (lang.tr("Queued", "Mis en file le")) }
                @if operator { th scope="col" { (lang.tr("Action", "Action")) } }
            } }
            tbody {
                @for d in items {
                    tr id={ "delivery-" (d.id) } data-delivery=(d.id) data-status=(d.status.as_str()) {
                        td {
                            (i18n::event(lang, &d.event_type)) br;
                            span.help { (lang.tr("return", "retour")) " " code { (d.return_id) } ", v" (d.seq) }
                        }
                        td {
                            (delivery_status(lang, d.status))
                            @if let Some(at) = d.delivered_at { br; span.help { (time(at)) } }
                            @if let Some(at) = d.parked_at { br; span.help { (time(at)) } }
                            @if let (DeliveryStatus::Pending, Some(at)) = (d.status, d.next_attempt_at) {
                                br; span.help { (lang.tr("next try", "prochain essai")) " " (time(at)) }
                            }
                        }
                        td {
                            (d.attempts)
                            @if !d.history.is_empty() {
                                details {
                                    summary { (lang.tr("Each attempt", "Chaque essai")) }
                                    ol {
                                        @for a in &d.history {
                                            li {
                                                (time(a.at)) ", " (a.duration_ms) " ms"
                                                @if let Some(code) = a.status_code { ", HTTP " (code) }
                                                @if let Some(error) = &a.error { ", " (error) }
                                                " (" (attempt_outcome(lang, &a.outcome)) ")"
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        td {
                            @if let Some(code) = d.last_status { "HTTP " (code) }
                            @if d.last_status.is_some() && d.last_error.is_some() { ": " }
                            @if let Some(error) = &d.last_error { (error) }
                        }
                        td { time datetime=(d.created_at.to_rfc3339()) { (time(d.created_at)) } }
                        @if operator {
                            td {
                                @if d.status == DeliveryStatus::Parked {
                                    form.inline method="post" action={ "/console/webhooks/deliveries/" (d.id) "/retry" } {
                                        (csrf_field(p.session))
                                        input type="hidden" name="webhook" value=(view.webhook.id);
                                        button type="submit" aria-label={ (lang.tr("Queue again the delivery of", "Relancer l'envoi de")) " " (i18n::event(lang, &d.event_type)) } {
                                            (lang.tr("Retry", "Relancer"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn attempt_outcome(lang: Lang, outcome: &str) -> &'static str {
    match outcome {
        "delivered" => lang.tr("delivered", "livré"),
        "retry" => lang.tr("to be tried again", "à réessayer"),
        "parked" => lang.tr("given up", "abandonné"),
        _ => lang.tr("other", "autre"),
    }
}

#[derive(Deserialize)]
pub(super) struct RetryForm {
    #[serde(default)]
    csrf: String,
    /// The webhook whose page the form was on, to show it again with a refusal.
    #[serde(default)]
    webhook: String,
}

/// `POST /console/webhooks/deliveries/{id}/retry` (operators): queue a parked delivery again, as
/// `POST /v1/webhooks/deliveries/{id}/retry` does; a delivery that is not parked is refused in
/// words (409) and nothing changes.
pub(super) async fn retry(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RetryForm>,
) -> HttpResponse {
    let (session, service) = match posted_by(&req, &form.csrf) {
        Ok(posted) => posted,
        Err(answer) => return *answer,
    };
    if crate::webhooks::operator(&session.caller).is_err() {
        let lang = page(&req, Some(&session)).lang;
        let why = lang.tr(
            "Only operators queue a delivery again.",
            "Seuls les opérateurs relancent un envoi.",
        );
        return refused(&req, &session, why);
    }
    let Ok(id) = crate::extract::id_of(&path) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    let outcome = match service.requeue_delivery(id).await {
        Ok(outcome) => outcome,
        Err(e) => return failure(&req, &session, &e),
    };
    match crate::webhooks::requeued(outcome) {
        Ok(delivery) => redirect(&format!(
            "/console/webhooks/{}#delivery-{}",
            delivery.subscription_id, delivery.id
        )),
        Err(problem) if problem.status == StatusCode::NOT_FOUND.as_u16() => {
            failure(&req, &session, &AppError::NotFound)
        }
        Err(problem) => {
            let wanted = Wanted {
                status: None,
                cursor: None,
            };
            match Uuid::parse_str(form.webhook.trim()) {
                Ok(webhook) => {
                    deliveries_answer(&req, &session, &service, webhook, &wanted, Some(&problem))
                        .await
                }
                Err(_) => {
                    let p = page(&req, Some(&session));
                    let status =
                        StatusCode::from_u16(problem.status).unwrap_or(StatusCode::CONFLICT);
                    let body = layout(
                        &p,
                        p.lang.tr("Webhook deliveries", "Envois d'un webhook"),
                        problem_box(p.lang, &problem, None),
                    );
                    html(&req, status, body)
                }
            }
        }
    }
}
