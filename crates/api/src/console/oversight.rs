//! The operators' oversight pages: abuse flags with their review, a party's risk, the analytics
//! dashboard and webhook deliveries (docs/console.md). Each page calls the app-layer function
//! the JSON API calls, with the API's authorisation and checks.

mod analytics;
mod flags;
mod webhooks;
mod words;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::i18n::{Lang, Msg};
use super::session::Session;
use crate::problem::Problem;

/// Registers the oversight pages under the console's scope.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/flags", web::get().to(flags::list))
        .route("/flags/{id}", web::get().to(flags::one))
        .route("/flags/{id}/review", web::post().to(flags::review))
        .route("/parties/{role}/{id}", web::get().to(flags::party))
        .route("/analytics", web::get().to(analytics::dashboard))
        .route("/webhooks", web::get().to(webhooks::list))
        .route("/webhooks", web::post().to(webhooks::register))
        .route("/webhooks/{id}", web::get().to(webhooks::deliveries))
        .route("/webhooks/{id}/delete", web::post().to(webhooks::delete))
        .route(
            "/webhooks/deliveries/{id}/retry",
            web::post().to(webhooks::retry),
        );
}

/// A page refused to the caller (403), saying why in `text`.
fn refused(req: &HttpRequest, session: &Session, text: &str) -> HttpResponse {
    let p = super::page(req, Some(session));
    super::html(
        req,
        StatusCode::FORBIDDEN,
        super::pages::message(&p, p.lang.t(Msg::Forbidden), text),
    )
}

/// What went wrong with a form, in words, above the form: what the problem's code means, then
/// the API's own detail (the words `explained` give where the page knows better).
fn problem_box(lang: Lang, problem: &Problem, explained: Option<&str>) -> Markup {
    let meaning = explained.unwrap_or(match problem.code {
        "invalid_transition" => lang.tr(
            "This cannot be done as things stand now.",
            "Ce n'est pas possible en l'état.",
        ),
        "version_conflict" => lang.tr(
            "This changed since the page was shown; it is shown again as it is now. Check it and try again.",
            "Ceci a changé depuis l'affichage de la page ; elle est affichée à nouveau telle qu'elle est. Vérifiez et réessayez.",
        ),
        "validation_failed" => lang.tr(
            "Part of what was entered is not valid; see the fields below.",
            "Une partie de la saisie n'est pas valide ; voyez les champs ci-dessous.",
        ),
        "contended" => lang.tr(
            "Someone else was acting at the same time and nothing was changed; try again.",
            "Quelqu'un d'autre agissait au même moment et rien n'a changé ; réessayez.",
        ),
        _ => lang.tr("This was refused.", "Ceci a été refusé."),
    });
    html! {
        div.card.error role="alert" id="problem" data-code=(problem.code) {
            p { (meaning) }
            p.help lang="en" { (problem.title) ": " (problem.detail) }
        }
    }
}

/// A hidden CSRF field for the session's forms.
fn csrf_field(session: Option<&Session>) -> Markup {
    let csrf = session.map(Session::csrf).unwrap_or_default();
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// An optional text of a query or form: `None` when empty or blank.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}
