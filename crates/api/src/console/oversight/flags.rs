//! Abuse flags (operators): the list by status, one flag with its evidence and the review form,
//! and a party's risk. The same app-layer calls as `/v1/flags` and `/v1/parties/{role}/{id}/risk`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use returns_app::{AppError, CommandOptions, Flag};
use returns_arbitration::abuse::{allowed_verdicts, FlagStatus, PartyRole, Verdict};
use returns_domain::{Rejection, ReturnId, Rma};
use serde::Deserialize;

use super::words::{self, flag_kind, flag_status, party_role};
use super::{csrf_field, given, problem_box};
use crate::console::i18n::{Lang, Msg};
use crate::console::pages::{errors_of, field_errors, layout, time, Page};
use crate::console::session::Session;
use crate::console::{failure, html, page, posted_by, redirect, signed_in};
use crate::problem::Problem;

/// Flags per page of the list.
const PAGE_SIZE: usize = 50;

/// The most returns of a flag's evidence looked up for their RMA numbers (the rest are listed by
/// id).
const EVIDENCE_LOOKUPS: usize = 50;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// `GET /console/flags?status=&cursor=` (operators): flags, the oldest raised first.
pub(super) async fn list(req: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    let caller = &session.caller.0;
    // Flags are operators' business whatever the query says (the app layer refuses anyone else).
    if let Err(e) = returns_app::operator_only(caller, "read flags") {
        return failure(&req, &session, &e);
    }
    let p = page(&req, Some(&session));
    let wanted = given(query.status.as_deref());
    let status = match wanted.map(|s| FlagStatus::parse(s).ok_or(s)).transpose() {
        Ok(status) => status,
        Err(_) => {
            let problem = Problem::invalid("status", "one of open, confirmed, dismissed");
            let body = flags_page(&p, wanted, None, Some(&problem));
            return html(&req, StatusCode::UNPROCESSABLE_ENTITY, body);
        }
    };
    let after = match crate::extract::cursor_of(given(query.cursor.as_deref())) {
        Ok(after) => after,
        Err(problem) => {
            let body = flags_page(&p, wanted, None, Some(&problem));
            return html(&req, StatusCode::UNPROCESSABLE_ENTITY, body);
        }
    };
    match service.list_flags(caller, status, after, PAGE_SIZE).await {
        Ok(found) => {
            let listed = Listed {
                flags: &found.items,
                next: found.next,
            };
            html(
                &req,
                StatusCode::OK,
                flags_page(&p, wanted, Some(listed), None),
            )
        }
        Err(e) => failure(&req, &session, &e),
    }
}

struct Listed<'a> {
    flags: &'a [Flag],
    next: Option<uuid::Uuid>,
}

fn flags_page(
    p: &Page<'_>,
    status: Option<&str>,
    listed: Option<Listed<'_>>,
    problem: Option<&Problem>,
) -> Markup {
    let lang = p.lang;
    let status_errors = field_errors(problem, "status");
    let cursor_errors = field_errors(problem, "cursor");
    html! {
        (layout(p, lang.tr("Abuse flags", "Signalements d'abus"), html! {
            p.help { (lang.tr(
                "Buyers and sellers whose figures crossed a threshold of abuse detection, the oldest raised first. Open a flag to see its evidence and review it.",
                "Acheteurs et vendeurs dont les chiffres ont franchi un seuil de détection des abus, le plus ancien d'abord. Ouvrez un signalement pour voir ses éléments et l'examiner.",
            )) }
            form method="get" action="/console/flags" {
                label for="status" { (lang.t(Msg::Status)) }
                select id="status" name="status" aria-describedby="status-error" {
                    option value="" selected[status.is_none()] { (lang.tr("Any", "Tous")) }
                    @for s in [FlagStatus::Open, FlagStatus::Confirmed, FlagStatus::Dismissed] {
                        option value=(s.as_str()) selected[status == Some(s.as_str())] { (flag_status(lang, s)) }
                    }
                }
                (errors_of("status-error", &status_errors))
                (errors_of("cursor-error", &cursor_errors))
                p { button type="submit" { (lang.tr("Show", "Afficher")) } }
            }
            @if let Some(listed) = listed {
                @if listed.flags.is_empty() {
                    p id="no-flags" { (lang.tr("No flag.", "Aucun signalement.")) }
                } @else {
                    (flag_table(lang, listed.flags))
                }
                @if let Some(next) = listed.next {
                    p { a rel="next" href={ "/console/flags?cursor=" (next) @if let Some(s) = status { "&status=" (s) } } {
                        (lang.tr("Next flags", "Signalements suivants"))
                    } }
                }
            }
        }))
    }
}

/// Flags as rows: the party (linked to its risk), the kind, when, the figures against the
/// threshold, the status, and a link to the flag.
fn flag_table(lang: Lang, flags: &[Flag]) -> Markup {
    html! {
        table.flags {
            thead { tr {
                th scope="col" { (lang.tr("Party", "Partie")) }
                th scope="col" { (lang.tr("Signal", "Signal")) }
                th scope="col" { (lang.tr("Raised", "Levé le")) }
                th scope="col" { (lang.tr("Figures against the threshold", "Chiffres et seuil")) }
                th scope="col" { (lang.t(Msg::Status)) }
            } }
            tbody {
                @for flag in flags {
                    tr data-flag=(flag.id) data-status=(flag.status.as_str()) {
                        td { (party_link(lang, flag.party_role, &flag.party_id)) }
                        td { a href={ "/console/flags/" (flag.id) } { (flag_kind(lang, flag.kind)) } }
                        td { time datetime=(flag.raised_at.to_rfc3339()) { (time(flag.raised_at)) } }
                        td { (against_threshold(lang, flag)) }
                        td { (flag_status(lang, flag.status)) }
                    }
                }
            }
        }
    }
}

fn party_link(lang: Lang, role: PartyRole, id: &str) -> Markup {
    html! {
        a href={ "/console/parties/" (role.as_str()) "/" (id) } {
            (party_role(lang, role)) " " (id)
        }
    }
}

/// "2 of 5 orders (40.0%); threshold: at least 2 and 0.0%".
fn against_threshold(lang: Lang, flag: &Flag) -> String {
    let m = &flag.metrics;
    let t = &flag.threshold;
    let count = words::value(lang, "count", &m["count"]);
    let denominator = words::value(lang, "denominator", &m["denominator"]);
    let per = words::value(lang, "per", &m["per"]);
    let rate = words::value(lang, "rate", &m["rate"]);
    let min_count = words::value(lang, "min_count", &t["min_count"]);
    let effective = if t["effective_min_rate"].is_null() {
        &t["min_rate"]
    } else {
        &t["effective_min_rate"]
    };
    let min_rate = words::value(lang, "min_rate", effective);
    match lang {
        Lang::En => format!(
            "{count} of {denominator} {per} ({rate}); threshold: at least {min_count} and {min_rate}"
        ),
        Lang::Fr => format!(
            "{count} sur {denominator} {per} ({rate}) ; seuil : au moins {min_count} et {min_rate}"
        ),
    }
}

/// A return of a flag's evidence: its id, and its RMA number when it could be read.
struct EvidenceReturn {
    id: uuid::Uuid,
    rma: Option<Rma>,
}

/// The review form as it was filled in, and why it was refused.
struct Refusal<'a> {
    verdict: &'a str,
    note: &'a str,
    problem: &'a Problem,
}

/// `GET /console/flags/{id}` (operators): one flag, its evidence, and the review form.
pub(super) async fn one(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    let Ok(id) = crate::extract::id_of(&path) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    flag_answer(&req, &session, &service, id, None).await
}

/// The page of flag `id`, with a refused review when there is one (then with its status).
async fn flag_answer(
    req: &HttpRequest,
    session: &Session,
    service: &returns_app::Service,
    id: uuid::Uuid,
    refusal: Option<Refusal<'_>>,
) -> HttpResponse {
    let caller = &session.caller.0;
    let flag = match service.get_flag(caller, id).await {
        Ok(flag) => flag,
        Err(e) => return failure(req, session, &e),
    };
    let mut evidence = Vec::with_capacity(flag.evidence.return_ids.len());
    for (i, return_id) in flag.evidence.return_ids.iter().enumerate() {
        let rma = if i < EVIDENCE_LOOKUPS {
            service
                .get_return(caller, ReturnId::from_uuid(*return_id))
                .await
                .ok()
                .map(|case| case.rma)
        } else {
            None
        };
        evidence.push(EvidenceReturn {
            id: *return_id,
            rma,
        });
    }
    let status = refusal
        .as_ref()
        .and_then(|r| StatusCode::from_u16(r.problem.status).ok())
        .unwrap_or(StatusCode::OK);
    let p = page(req, Some(session));
    html(
        req,
        status,
        flag_page(&p, &flag, &evidence, refusal.as_ref()),
    )
}

fn flag_page(
    p: &Page<'_>,
    flag: &Flag,
    evidence: &[EvidenceReturn],
    refusal: Option<&Refusal<'_>>,
) -> Markup {
    let lang = p.lang;
    let title = lang.tr("Abuse flag", "Signalement d'abus");
    layout(
        p,
        title,
        html! {
            section.card aria-labelledby="flag-title" {
                h2 id="flag-title" { (flag_kind(lang, flag.kind)) }
                dl {
                    dt { (lang.tr("Party", "Partie")) }
                    dd { (party_link(lang, flag.party_role, &flag.party_id)) }
                    dt { (lang.tr("Signal code", "Code du signal")) }
                    dd { code { (flag.kind.as_str()) } }
                    dt { (lang.t(Msg::Status)) }
                    dd id="flag-status" data-status=(flag.status.as_str()) { (flag_status(lang, flag.status)) }
                    dt { (lang.tr("Raised", "Levé le")) }
                    dd { time datetime=(flag.raised_at.to_rfc3339()) { (time(flag.raised_at)) } }
                    dt { (lang.tr("In short", "En bref")) }
                    dd id="against-threshold" { (against_threshold(lang, flag)) }
                    @if let Some(review) = &flag.review {
                        dt { (lang.tr("Reviewed", "Examiné")) }
                        dd id="reviewed" {
                            (review.reviewed_by) ", "
                            time datetime=(review.reviewed_at.to_rfc3339()) { (time(review.reviewed_at)) }
                        }
                        @if let Some(note) = &review.note {
                            dt { (lang.tr("Note", "Note")) }
                            dd id="review-note" {
                                @match note.as_str() { Some(text) => (text), None => (note.to_string()) }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="figures-title" {
                h2 id="figures-title" { (lang.tr("Figures and threshold", "Chiffres et seuil")) }
                div.pair {
                    (figures_table(lang, lang.tr("The party's figures", "Chiffres de la partie"), &flag.metrics))
                    (figures_table(lang, lang.tr("The threshold crossed", "Seuil franchi"), &flag.threshold))
                }
            }
            section.card aria-labelledby="evidence-title" {
                h2 id="evidence-title" { (lang.tr("Evidence", "Éléments")) }
                @if evidence.is_empty() {
                    p { (lang.tr("No return is named.", "Aucun retour n'est cité.")) }
                } @else {
                    h3 { (lang.tr("Returns", "Retours")) }
                    ul id="evidence-returns" {
                        @for r in evidence {
                            li {
                                @match &r.rma {
                                    Some(rma) => a href={ "/console/track?rma=" (rma.as_str()) } { (rma.as_str()) },
                                    None => code { (r.id) },
                                }
                            }
                        }
                    }
                }
                @if !flag.evidence.event_positions.is_empty() {
                    h3 { (lang.tr("Events of the log", "Événements du journal")) }
                    p.help { (lang.tr(
                        "Global positions of the events that made these returns count.",
                        "Positions globales des événements qui font compter ces retours.",
                    )) }
                    p id="evidence-positions" {
                        @for (i, position) in flag.evidence.event_positions.iter().enumerate() {
                            @if i > 0 { ", " } (position)
                        }
                    }
                }
            }
            (review_form(p, flag, refusal))
        },
    )
}

/// A flag's figures or threshold as a table, each figure in words.
fn figures_table(lang: Lang, caption: &str, figures: &serde_json::Value) -> Markup {
    html! {
        table.figures {
            caption { (caption) }
            tbody {
                @if let Some(map) = figures.as_object() {
                    @for (key, value) in map {
                        tr data-figure=(key) {
                            th scope="row" { (words::figure(lang, key)) }
                            td { (words::value(lang, key, value)) }
                        }
                    }
                }
            }
        }
    }
}

/// The review form: the verdicts the flag allows now, and a note; or why there is none.
fn review_form(p: &Page<'_>, flag: &Flag, refusal: Option<&Refusal<'_>>) -> Markup {
    let lang = p.lang;
    let allowed = allowed_verdicts(flag.status);
    let problem = refusal.map(|r| r.problem);
    let verdict_errors = field_errors(problem, "verdict");
    let note_errors = field_errors(problem, "note");
    let entered_verdict = refusal.map(|r| r.verdict).unwrap_or_default();
    let explained = problem
        .filter(|p| p.code == "invalid_transition")
        .map(|_| rules(lang));
    html! {
        section.card aria-labelledby="review-title" {
            h2 id="review-title" { (lang.tr("Review", "Examen")) }
            @if let Some(problem) = problem {
                (problem_box(lang, problem, explained))
            }
            p.help { (rules(lang)) }
            @if allowed.is_empty() {
                p id="review-final" { (lang.tr(
                    "This flag was dismissed: that is final.",
                    "Ce signalement a été écarté : c'est définitif.",
                )) }
            } @else {
                form method="post" action={ "/console/flags/" (flag.id) "/review" } {
                    (csrf_field(p.session))
                    input type="hidden" name="version" value=(flag.version);
                    fieldset aria-describedby="verdict-error" {
                        legend { (lang.tr("Verdict", "Décision")) }
                        @for verdict in &allowed {
                            label.choice {
                                input type="radio" name="verdict" value=(verdict.as_str())
                                    required checked[entered_verdict == verdict.as_str()];
                                " " (verdict_words(lang, *verdict, flag.status))
                            }
                        }
                        (errors_of("verdict-error", &verdict_errors))
                    }
                    label for="note" { (lang.tr("Note (optional)", "Note (facultative)")) }
                    p.help id="note-help" { (lang.tr(
                        "Why, for the record: at most 4000 characters. It is personal data of the flagged party.",
                        "Pourquoi, pour mémoire : 4000 caractères au plus. C'est une donnée personnelle de la partie signalée.",
                    )) }
                    textarea id="note" name="note" rows="4"
                        aria-describedby="note-help note-error" { (refusal.map(|r| r.note).unwrap_or_default()) }
                    (errors_of("note-error", &note_errors))
                    p { button type="submit" { (lang.tr("Record the review", "Enregistrer l'examen")) } }
                }
            }
        }
    }
}

fn rules(lang: Lang) -> &'static str {
    lang.tr(
        "An open flag can be confirmed or dismissed; a confirmed flag can later be dismissed, which lifts it; a dismissal is final.",
        "Un signalement ouvert peut être confirmé ou écarté ; un signalement confirmé peut ensuite être écarté, ce qui le lève ; un signalement écarté l'est définitivement.",
    )
}

fn verdict_words(lang: Lang, verdict: Verdict, status: FlagStatus) -> &'static str {
    match (verdict, status) {
        (Verdict::Confirmed, _) => lang.tr(
            "Confirm: this is abuse (it weighs in the party's returns and disputes)",
            "Confirmer : il s'agit d'abus (cela pèse sur ses retours et litiges)",
        ),
        (Verdict::Dismissed, FlagStatus::Confirmed) => {
            lang.tr("Dismiss: lift the flag", "Écarter : lever le signalement")
        }
        (Verdict::Dismissed, _) => lang.tr(
            "Dismiss: this is not abuse",
            "Écarter : il ne s'agit pas d'abus",
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: String,
}

/// `POST /console/flags/{id}/review` (operators): the review, checked and run as
/// `POST /v1/flags/{id}/review` is; a refusal is shown on the flag's page and changes nothing.
pub(super) async fn review(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReviewForm>,
) -> HttpResponse {
    let (session, service) = match posted_by(&req, &form.csrf) {
        Ok(posted) => posted,
        Err(answer) => return *answer,
    };
    let caller = &session.caller.0;
    if let Err(e) = returns_app::operator_only(caller, returns_app::REVIEW_FLAGS) {
        return failure(&req, &session, &e);
    }
    let Ok(id) = crate::extract::id_of(&path) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    let note = (!form.note.trim().is_empty()).then(|| form.note.clone());
    let refused = |problem| Refusal {
        verdict: &form.verdict,
        note: &form.note,
        problem,
    };
    let (verdict, note) = match crate::flags::checked_review(&form.verdict, note) {
        Ok(checked) => checked,
        Err(problem) => {
            return flag_answer(&req, &session, &service, id, Some(refused(&problem))).await
        }
    };
    // The version the page showed: a review of a flag that changed since is refused (409). A form
    // without it is none of the console's.
    let Ok(version) = form.version.trim().parse::<u64>() else {
        let problem = Problem::invalid("version", "the version of the flag the page showed");
        return flag_answer(&req, &session, &service, id, Some(refused(&problem))).await;
    };
    let opts = CommandOptions {
        if_match: Some(version),
        ..CommandOptions::default()
    };
    let outcome = service
        .review_flag(caller, id, verdict, note, &opts, crate::flags::flag_answer)
        .await;
    match outcome {
        Ok(_) => redirect(&format!("/console/flags/{id}")),
        Err(
            e @ (AppError::NotFound
            | AppError::Rejected(Rejection::Forbidden { .. } | Rejection::NotFound(_))
            | AppError::Unavailable(_)
            | AppError::Internal(_)
            | AppError::RmaTaken),
        ) => failure(&req, &session, &e),
        Err(e) => {
            let problem = Problem::from(e);
            flag_answer(&req, &session, &service, id, Some(refused(&problem))).await
        }
    }
}

/// `GET /console/parties/{role}/{id}` (operators): a buyer's or seller's figures over the
/// rolling window, and its flags.
pub(super) async fn party(req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    let (role, id) = path.into_inner();
    let Some(role) = PartyRole::parse(&role) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    let risk = match service.party_risk(&session.caller.0, role, &id).await {
        Ok(risk) => risk,
        Err(e) => return failure(&req, &session, &e),
    };
    let p = page(&req, Some(&session));
    let lang = p.lang;
    let title = format!(
        "{} {} {}",
        lang.tr("Risk:", "Risque :"),
        party_role(lang, role).to_lowercase(),
        risk.party.id
    );
    let body = layout(
        &p,
        &title,
        html! {
            section.card aria-labelledby="metrics-title" {
                h2 id="metrics-title" { (lang.tr("Figures over the rolling window", "Chiffres sur la période glissante")) }
                p.help { (lang.tr(
                    "Counts and rates of the last days of service time (the window); an unknown party shows zeros.",
                    "Nombres et taux des derniers jours (la période) ; une partie inconnue n'a que des zéros.",
                )) }
                (figures_table(lang, lang.tr("Figures", "Chiffres"), &risk.metrics))
            }
            section.card aria-labelledby="party-flags-title" {
                h2 id="party-flags-title" { (lang.tr("Flags", "Signalements")) }
                @if risk.flags.is_empty() {
                    p id="no-flags" { (lang.tr("No flag.", "Aucun signalement.")) }
                } @else {
                    (flag_table(lang, &risk.flags))
                }
            }
        },
    );
    html(&req, StatusCode::OK, body)
}
