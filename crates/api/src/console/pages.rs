//! The console's pages (maud templates): one layout, and a function per page. Every form field
//! has a label, every page has one `h1`, and the switch of language is a plain link.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use returns_app::RecordedEvent;
use returns_arbitration::Recommendation;

use crate::problem::Problem;
use returns_domain::returns::{amount, next_step_in, ReturnCase};

use super::i18n::{self, Lang, Msg};
use super::session::Session;

/// The stylesheet, served at `/console/style.css`.
pub(super) const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}\
header{display:flex;gap:1rem;align-items:center;padding:.75rem 1.5rem;background:#14325c;color:#fff}\
header a,header button{color:#fff}header .grow{flex:1}\
header nav{display:flex;gap:1rem;flex-wrap:wrap}header nav a[aria-current]{font-weight:700;text-decoration:none}\
main{max-width:60rem;margin:1.5rem auto;padding:0 1.5rem}\
form.inline{display:inline}button{font:inherit;padding:.35rem .9rem;cursor:pointer}\
label{display:block;font-weight:600;margin:.75rem 0 .25rem}label.choice{font-weight:400}\
fieldset{border:1px solid #dde1e6;margin:.75rem 0}select{font:inherit;padding:.35rem}\
input,textarea{font:inherit;width:100%;max-width:40rem;padding:.4rem;box-sizing:border-box}\
input[type=radio],input[type=checkbox]{width:auto;margin:0 .4rem 0 0}\
header button{background:transparent;border:1px solid #fff;border-radius:.25rem}\
.error{color:#a4000f;font-weight:600}.help{color:#555}\
table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde1e6}\
tr.overdue{background:#fde8e8}.tag{font-size:.85em;padding:.1rem .4rem;border-radius:.3rem;background:#ffe9a8}\
tr.overdue .tag.late{background:#f6b0b0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem}\
dt{font-weight:600}.card{background:#fff;padding:1rem 1.25rem;border:1px solid #dde1e6;margin-bottom:1rem}\
a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:2px}\
figure.chart{margin:0 0 1rem}svg.chart{display:block;max-width:40rem;background:#fff}\
svg.chart .bar{fill:#14325c}svg.chart .axis{stroke:#555;stroke-width:1}\
svg.chart .label,svg.chart .value{font-size:12px;fill:#1b1b1b}\
table.figures{margin:.5rem 0 1rem}table.figures caption{text-align:left;font-weight:600;padding:.3rem 0}\
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}\
details summary{cursor:pointer}";

/// What every page knows: its language, its path (for the switch) and the session, if any.
pub(super) struct Page<'a> {
    pub lang: Lang,
    pub path: &'a str,
    pub session: Option<&'a Session>,
}

pub(super) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn layout(p: &Page<'_>, title: &str, content: Markup) -> Markup {
    let other = p.lang.other();
    html! {
        (DOCTYPE)
        html lang=(p.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (p.lang.t(Msg::Console)) }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    strong { (p.lang.t(Msg::Console)) }
                    @if let Some(session) = p.session {
                        nav aria-label=(p.lang.tr("Main", "Principal")) {
                            @for (href, words) in nav_links(p.lang, session.caller.0.role) {
                                a href=(href) aria-current=[(p.path == href).then_some("page")] { (words) }
                            }
                        }
                    }
                    span.grow {}
                    a href={ (p.path) "?lang=" (other.code()) } lang=(other.code()) {
                        (p.lang.t(Msg::SwitchTo))
                    }
                    @if let Some(session) = p.session {
                        span { (i18n::role(p.lang, session.caller.0.role.as_str())) " " (session.caller.0.id) }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(session.csrf());
                            button type="submit" { (p.lang.t(Msg::SignOut)) }
                        }
                    }
                }
                main { h1 { (title) } (content) }
            }
        }
    }
}

/// The pages a role reaches from every page's header.
fn nav_links(lang: Lang, role: returns_domain::Role) -> Vec<(&'static str, &'static str)> {
    use returns_domain::Role;
    let track = (
        "/console/track",
        lang.tr("Follow a return", "Suivre un retour"),
    );
    match role {
        Role::Operator => vec![
            ("/console/disputes", lang.tr("Disputes", "Litiges")),
            ("/console/flags", lang.tr("Abuse flags", "Signalements")),
            ("/console/analytics", lang.tr("Analytics", "Statistiques")),
            ("/console/webhooks", lang.tr("Webhooks", "Webhooks")),
            track,
        ],
        Role::Seller => vec![
            (
                "/console/returns",
                lang.tr("Returns inbox", "Retours reçus"),
            ),
            (
                "/console/policy",
                lang.tr("Return policy", "Politique de retour"),
            ),
            ("/console/analytics", lang.tr("Analytics", "Statistiques")),
            track,
        ],
        Role::Buyer => vec![
            ("/console/returns", lang.tr("My returns", "Mes retours")),
            (
                "/console/orders",
                lang.tr("Return an item", "Retourner un article"),
            ),
            track,
        ],
        _ => vec![track],
    }
}

/// The sign-in page, with the reason the last attempt failed next to the field.
pub(super) fn login(p: &Page<'_>, error: Option<&str>) -> Markup {
    layout(
        p,
        p.lang.t(Msg::SignIn),
        html! {
            form method="post" action="/console/login" {
                label for="token" { (p.lang.t(Msg::Token)) }
                p.help id="token-help" { (p.lang.t(Msg::TokenHelp)) }
                textarea id="token" name="token" rows="4" required
                    aria-describedby="token-help token-error" {}
                @if let Some(error) = error {
                    p.error id="token-error" role="alert" { (error) }
                }
                p { button type="submit" { (p.lang.t(Msg::SignIn)) } }
            }
        },
    )
}

/// A page that says one thing (not found, not allowed, ...).
pub(super) fn message(p: &Page<'_>, title: &str, text: &str) -> Markup {
    layout(p, title, html! { p { (text) } })
}

/// A return as its tracking page shows it.
pub(super) struct TrackView<'a> {
    pub case: &'a ReturnCase,
    pub events: &'a [RecordedEvent],
    /// For an operator on an open dispute: what arbitration recommends.
    pub recommendation: Option<&'a Recommendation>,
    /// A decision refused: what was entered, and the problem.
    pub decision: Option<(Option<DecisionForm>, &'a Problem)>,
}

/// The decision form as it was filled in.
#[derive(Debug, Clone, Default)]
pub(super) struct DecisionForm {
    pub outcome: String,
    pub refund_amount: String,
    pub return_required: bool,
    pub funded_by: String,
    pub rationale: String,
}

/// The RMA form, and the return found by it.
pub(super) fn track(p: &Page<'_>, rma: Option<&str>, view: Option<TrackView<'_>>) -> Markup {
    layout(
        p,
        p.lang.t(Msg::TrackTitle),
        html! {
            form method="get" action="/console/track" {
                label for="rma" { (p.lang.t(Msg::Rma)) }
                p.help id="rma-help" { (p.lang.t(Msg::TrackHelp)) }
                input id="rma" name="rma" type="text" value=(rma.unwrap_or_default())
                    aria-describedby="rma-help" required;
                p { button type="submit" { (p.lang.t(Msg::Find)) } }
            }
            @if let Some(view) = view {
                (tracked(p, &view))
            }
        },
    )
}

fn tracked(p: &Page<'_>, view: &TrackView<'_>) -> Markup {
    let case = view.case;
    let deadlines = case.deadlines.running();
    html! {
        @if let Some((_, problem)) = &view.decision {
            div.card.error role="alert" id="problem" { (problem.title) ": " (problem.detail) }
        }
        section.card aria-labelledby="case-title" {
            h2 id="case-title" { (case.rma.as_str()) }
            dl {
                dt { (p.lang.t(Msg::Status)) }
                dd id="status" data-status=(case.status.as_str()) { (i18n::status(p.lang, case.status.as_str())) }
                dt { (p.lang.t(Msg::Reason)) }
                dd { (i18n::reason(p.lang, case.reason.as_str())) }
                @if case.refunded_amount_minor.get() > 0 {
                    dt { (p.lang.t(Msg::Refunded)) }
                    dd { (amount(case.refunded_amount_minor, case.currency)) }
                }
                dt { (p.lang.t(Msg::NextStep)) }
                dd id="next-step" { (next_step_in(case, p.lang.language())) }
            }
            @if !deadlines.is_empty() {
                h3 { (p.lang.t(Msg::Deadlines)) }
                ul {
                    @for (kind, at) in &deadlines {
                        li { (i18n::deadline(p.lang, kind.as_str())) " " time datetime=(at.to_rfc3339()) { (time(*at)) } }
                    }
                }
            }
        }
        @if let Some(recommendation) = view.recommendation {
            (arbitration(p, view, recommendation))
        }
        section.card aria-labelledby="timeline-title" {
            h2 id="timeline-title" { (p.lang.t(Msg::Timeline)) }
            table {
                thead { tr {
                    th scope="col" { (p.lang.t(Msg::When)) }
                    th scope="col" { (p.lang.t(Msg::Who)) }
                    th scope="col" { (p.lang.t(Msg::What)) }
                } }
                tbody {
                    @for event in view.events {
                        tr {
                            td { time datetime=(event.metadata.occurred_at.to_rfc3339()) { (time(event.metadata.occurred_at)) } }
                            td { (i18n::role(p.lang, &event.metadata.actor.role)) }
                            td { (i18n::event(p.lang, &event.event_type)) }
                        }
                    }
                }
            }
        }
    }
}

/// The operators' queue of disputes: overdue and unassigned ones stand out.
pub(super) fn queue(p: &Page<'_>, cases: &[ReturnCase], now: DateTime<Utc>) -> Markup {
    layout(
        p,
        p.lang.t(Msg::Queue),
        html! {
            p.help { (p.lang.t(Msg::QueueHelp)) }
            @if cases.is_empty() {
                p { (p.lang.t(Msg::NoDisputes)) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (p.lang.t(Msg::Rma)) }
                        th scope="col" { (p.lang.t(Msg::Reason)) }
                        th scope="col" { (p.lang.t(Msg::DecisionDue)) }
                        th scope="col" { (p.lang.t(Msg::Assignee)) }
                    } }
                    tbody {
                        @for case in cases {
                            @if let Some(dispute) = &case.dispute {
                                @let late = dispute.overdue || dispute.decision_due < now;
                                tr class=[late.then_some("overdue")] {
                                    td { a href={ "/console/track?rma=" (case.rma.as_str()) } { (case.rma.as_str()) } }
                                    td { (i18n::reason(p.lang, case.reason.as_str())) }
                                    td {
                                        time datetime=(dispute.decision_due.to_rfc3339()) { (time(dispute.decision_due)) }
                                        @if late { " " span.tag.late { (p.lang.t(Msg::Overdue)) } }
                                    }
                                    td {
                                        @match &dispute.assignee {
                                            Some(operator) => (operator),
                                            None => span.tag { (p.lang.t(Msg::Unassigned)) },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The messages of `problem` about `field`.
pub(super) fn field_errors<'a>(problem: Option<&'a Problem>, field: &str) -> Vec<&'a str> {
    problem
        .map(|p| {
            p.errors
                .iter()
                .filter(|e| e.field == field)
                .map(|e| e.message.as_str())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn errors_of(id: &str, messages: &[&str]) -> Markup {
    html! {
        @if !messages.is_empty() {
            p.error id=(id) { @for m in messages { (m) " " } }
        }
    }
}

/// An operator's part of an open dispute: the recommendation with each reason and the events it
/// rests on, taking the case, and the decision form (pre-filled with the recommendation).
fn arbitration(p: &Page<'_>, view: &TrackView<'_>, r: &Recommendation) -> Markup {
    let case = view.case;
    let lang = p.lang;
    let csrf = p.session.map(|s| s.csrf()).unwrap_or_default();
    let me = p.session.map(|s| s.caller.0.id.as_str());
    let assignee = case.dispute.as_ref().and_then(|d| d.assignee.as_deref());
    let problem = view.decision.as_ref().map(|(_, problem)| *problem);
    let entered = view
        .decision
        .as_ref()
        .and_then(|(form, _)| form.clone())
        .unwrap_or_else(|| DecisionForm {
            outcome: r.outcome.as_str().to_owned(),
            refund_amount: case.currency.write_amount(r.refund_amount_minor),
            return_required: r.return_required,
            funded_by: r.funded_by.as_str().to_owned(),
            rationale: String::new(),
        });
    let outcome_errors = field_errors(problem, "outcome");
    let amount_errors = field_errors(problem, "refund_amount_minor");
    let funded_errors = field_errors(problem, "funded_by");
    let rationale_errors = field_errors(problem, "rationale");
    html! {
        section.card aria-labelledby="recommendation-title" {
            h2 id="recommendation-title" { (lang.t(Msg::Recommendation)) }
            p id="recommended" {
                (outcome_words(lang, r.outcome.as_str())) ", "
                (amount(r.refund_amount_minor, case.currency))
                @if r.return_required { ", " (lang.t(Msg::ReturnRequired)) }
                ", " (lang.t(Msg::FundedBy)) " " (i18n::funder(lang, r.funded_by.as_str()))
            }
            ol {
                @for reason in &r.reasons {
                    li {
                        code { (reason.rule.as_str()) } ": " (reason.detail)
                        @if !reason.event_positions.is_empty() {
                            " (" (lang.t(Msg::Events)) " "
                            @for (i, position) in reason.event_positions.iter().enumerate() {
                                @if i > 0 { ", " } (position)
                            }
                            ")"
                        }
                    }
                }
            }
            @if assignee != me {
                form method="post" action={ "/console/returns/" (case.id.as_uuid()) "/assign" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (lang.t(Msg::AssignToMe)) }
                }
            }
        }
        section.card aria-labelledby="decision-title" {
            h2 id="decision-title" { (lang.t(Msg::Decision)) }
            form method="post" action={ "/console/returns/" (case.id.as_uuid()) "/decide" } {
                input type="hidden" name="csrf" value=(csrf);
                fieldset aria-describedby="outcome-error" {
                    legend { (lang.t(Msg::Outcome)) }
                    @for value in ["refund_buyer", "side_with_seller"] {
                        label.choice {
                            input type="radio" name="outcome" value=(value)
                                checked[entered.outcome == value];
                            " " (outcome_words(lang, value))
                        }
                    }
                    (errors_of("outcome-error", &outcome_errors))
                }
                label for="refund_amount" {
                    (lang.t(Msg::RefundAmount)) " (" (case.currency.as_str()) ", "
                    (lang.t(Msg::AtMost)) " " (amount(case.items_total_minor, case.currency)) ")"
                }
                input id="refund_amount" name="refund_amount" type="text" inputmode="decimal"
                    value=(entered.refund_amount) aria-describedby="refund_amount-error";
                (errors_of("refund_amount-error", &amount_errors))
                label.choice {
                    input type="checkbox" name="return_required" value="true"
                        checked[entered.return_required];
                    " " (lang.t(Msg::ReturnRequired))
                }
                label for="funded_by" { (lang.t(Msg::WhoFunds)) }
                select id="funded_by" name="funded_by" aria-describedby="funded_by-error" {
                    @for value in ["seller", "platform"] {
                        option value=(value) selected[entered.funded_by == value] {
                            (i18n::funder(lang, value))
                        }
                    }
                }
                (errors_of("funded_by-error", &funded_errors))
                label for="rationale" { (lang.t(Msg::Rationale)) }
                textarea id="rationale" name="rationale" rows="4" required
                    aria-describedby="rationale-error" { (entered.rationale) }
                (errors_of("rationale-error", &rationale_errors))
                p { button type="submit" { (lang.t(Msg::Decide)) } }
            }
        }
    }
}

fn outcome_words(lang: Lang, outcome: &str) -> &'static str {
    match (outcome, lang) {
        ("refund_buyer", Lang::En) => "Refund the buyer",
        ("refund_buyer", Lang::Fr) => "Rembourser l'acheteur",
        ("side_with_seller", Lang::En) => "Side with the seller",
        ("side_with_seller", Lang::Fr) => "Donner raison au vendeur",
        (_, Lang::En) => "Unknown outcome",
        (_, Lang::Fr) => "Issue inconnue",
    }
}
