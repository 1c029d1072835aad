//! The console's pages (maud templates): one layout, and a function per page. Every form field
//! has a label, every page has one `h1`, and the switch of language is a plain link.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use returns_app::RecordedEvent;
use returns_arbitration::Recommendation;

use crate::problem::Problem;
use returns_domain::returns::{amount, next_step_in, Action, OfferStatus, ReturnCase};

use super::actions::{self, Attempt, Entered};
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
.quick{display:flex;gap:.75rem;flex-wrap:wrap}blockquote{margin:.35rem 0 0 1rem;color:#333;white-space:pre-wrap}\
section section{border-top:1px solid #dde1e6;margin-top:1rem}a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:2px}\
figure.chart{margin:0 0 1rem}svg.chart{display:block;max-width:40rem;background:#fff}\
svg.chart .bar{fill:#14325c}svg.chart .axis{stroke:#555;stroke-width:1}\
svg.chart .label,svg.chart .value{font-size:12px;fill:#1b1b1b}\
table.figures{margin:.5rem 0 1rem}table.figures caption{text-align:left;font-weight:600;padding:.3rem 0}\
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}\
details summary{cursor:pointer}main>form{margin-bottom:1rem}\
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#14325c;padding:.5rem 1rem}\
.skip:focus{left:1rem;z-index:1}";

/// What every page knows: its language, its path (for the switch) and the session, if any.
pub(super) struct Page<'a> {
    pub lang: Lang,
    pub path: &'a str,
    /// The page's query string, kept by the language switch.
    pub query: &'a str,
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
                // The first stop of the Tab key: past the navigation, to the page itself.
                a.skip href="#main" { (p.lang.tr("Skip to the page", "Aller au contenu")) }
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
                    a href=(switch_to(p, other)) lang=(other.code()) {
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
                main id="main" tabindex="-1" { h1 { (title) } (content) }
            }
        }
    }
}

/// The same page in `lang`: its query kept, but for the language asked before.
fn switch_to(p: &Page<'_>, lang: Lang) -> String {
    let mut kept: Vec<&str> = p
        .query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
        .collect();
    let asked = format!("lang={}", lang.code());
    kept.push(&asked);
    format!("{}?{}", p.path, kept.join("&"))
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
    /// What the caller may do now (the API's `allowed_actions`).
    pub allowed: Vec<&'static str>,
    /// An action refused: what was entered, and the problem.
    pub attempt: Option<Attempt<'a>>,
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
        @if let Some(attempt) = &view.attempt {
            div.card.error role="alert" id="problem" { (attempt.problem.title) ": " (attempt.problem.detail) }
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
                @if let Some(offer) = case.offer.as_ref().filter(|o| o.status == OfferStatus::Pending) {
                    dt { (p.lang.tr("Offer", "Offre")) }
                    dd id="offer" {
                        (actions::choice(p.lang, "kind", offer.kind.as_str()))
                        @if let Some(a) = offer.amount_minor.or(offer.credit_minor) { ", " (amount(a, case.currency)) }
                        ", " (p.lang.tr("until", "jusqu'au")) " " time datetime=(offer.expires_at.to_rfc3339()) { (time(offer.expires_at)) }
                    }
                }
                @if let Some(label) = &case.shipment.label {
                    dt { (p.lang.tr("Return label", "Étiquette de retour")) }
                    dd {
                        (label.carrier) " " (label.tracking_number)
                        @if let Some(url) = label.label_url.as_deref().filter(|u| is_web_address(u)) {
                            " · " a href=(url) rel="noreferrer noopener" { (p.lang.tr("print the label", "imprimer l'étiquette")) }
                        }
                    }
                }
                @if let (Some(carrier), Some(tracking)) = (&case.shipment.carrier, &case.shipment.tracking_number) {
                    dt { (p.lang.tr("Parcel", "Colis")) }
                    dd { (carrier) " " (tracking) }
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
        (actions_of(p, view))
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
                            td {
                                (i18n::event(p.lang, &event.event_type))
                                (event_detail(p.lang, event))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The filters of the dispute queue.
pub(super) struct QueueFilters {
    pub assignee: returns_app::Assignee,
    pub seller_id: Option<String>,
    pub older_than_days: Option<u16>,
    pub overdue: bool,
    /// A seller id as typed, when it is none.
    pub seller_refused: Option<String>,
}

impl QueueFilters {
    /// The filters as a query string (a seller id has only characters a URL keeps as they are).
    fn query(&self) -> String {
        let assignee = match self.assignee {
            returns_app::Assignee::Me => "me",
            returns_app::Assignee::Nobody => "none",
            returns_app::Assignee::Anyone => "any",
        };
        let mut query = format!("assignee={assignee}");
        if let Some(seller) = &self.seller_id {
            query.push_str(&format!("&seller_id={seller}"));
        }
        if let Some(days) = self.older_than_days {
            query.push_str(&format!("&older_than_days={days}"));
        }
        if self.overdue {
            query.push_str("&overdue=1");
        }
        query
    }
}

/// The operators' queue of disputes: overdue and unassigned ones stand out.
pub(super) fn queue(
    p: &Page<'_>,
    cases: &[ReturnCase],
    filters: &QueueFilters,
    next: Option<&str>,
    now: DateTime<Utc>,
) -> Markup {
    use returns_app::Assignee;
    let lang = p.lang;
    let assignees = [
        (Assignee::Anyone, "any", lang.tr("Anyone's", "Tous")),
        (
            Assignee::Nobody,
            "none",
            lang.tr("Unassigned", "Sans opérateur"),
        ),
        (Assignee::Me, "me", lang.tr("Mine", "Les miens")),
    ];
    layout(
        p,
        p.lang.t(Msg::Queue),
        html! {
            p.help { (p.lang.t(Msg::QueueHelp)) }
            form.filters method="get" action="/console/disputes" {
                label for="assignee" { (lang.tr("Operator", "Opérateur")) }
                select id="assignee" name="assignee" {
                    @for (value, code, words) in assignees {
                        option value=(code) selected[value == filters.assignee] { (words) }
                    }
                }
                label for="seller_id" { (lang.tr("Seller", "Vendeur")) }
                input id="seller_id" name="seller_id" type="text" aria-describedby="seller_id-error"
                    value=(filters.seller_id.as_deref().or(filters.seller_refused.as_deref()).unwrap_or_default());
                @if filters.seller_refused.is_some() {
                    p.error id="seller_id-error" role="alert" { (lang.tr(
                        "A seller id: 1 to 64 letters, digits, dots, colons, underscores or hyphens.",
                        "Un identifiant de vendeur : 1 à 64 lettres, chiffres, points, deux-points, tirets bas ou tirets.",
                    )) }
                }
                label for="older_than_days" { (lang.tr("Escalated at least this many days ago", "Transmis il y a au moins ce nombre de jours")) }
                input id="older_than_days" name="older_than_days" type="number" min="0" max="365"
                    value=(filters.older_than_days.map(|d| d.to_string()).unwrap_or_default());
                label.choice {
                    input type="checkbox" name="overdue" value="1" checked[filters.overdue];
                    " " (lang.tr("Overdue only", "En retard seulement"))
                }
                p { button type="submit" { (lang.tr("Filter", "Filtrer")) } }
            }
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
                @if let Some(next) = next {
                    p { a rel="next" href={ "/console/disputes?" (filters.query()) "&cursor=" (next) } {
                        (lang.tr("More disputes", "Litiges suivants"))
                    } }
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
/// rests on (the decision form below it is pre-filled with it).
fn arbitration(p: &Page<'_>, view: &TrackView<'_>, r: &Recommendation) -> Markup {
    let case = view.case;
    let lang = p.lang;
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
                    li data-rule=(reason.rule.as_str()) {
                        strong { (i18n::rule(lang, reason.rule)) }
                        // The reason's own sentence, with its figures, is in English.
                        @if lang == Lang::En { ": " (reason.detail) }
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
        }
    }
}

/// The decision form's values as the recommendation suggests them.
fn suggested(case: &ReturnCase, r: &Recommendation) -> Entered {
    let mut entered = Entered::new();
    entered.insert("outcome".into(), r.outcome.as_str().to_owned());
    entered.insert(
        "refund_amount".into(),
        case.currency.write_amount(r.refund_amount_minor),
    );
    if r.return_required {
        entered.insert("return_required".into(), "true".into());
    }
    entered.insert("funded_by".into(), r.funded_by.as_str().to_owned());
    entered
}

/// What the caller may do now: a form per action the console has one for (an operator's decision
/// pre-filled with the recommendation), the refused one with what was entered and its problem.
fn actions_of(p: &Page<'_>, view: &TrackView<'_>) -> Markup {
    let case = view.case;
    let me = p.session.map(|s| s.caller.0.id.as_str());
    let assignee = case.dispute.as_ref().and_then(|d| d.assignee.as_deref());
    let shown: Vec<Action> = view
        .allowed
        .iter()
        .filter_map(|a| Action::parse(a).ok())
        .filter(|a| actions::fields_of(*a).is_some())
        .filter(|a| *a != Action::Assign || assignee != me)
        .collect();
    if shown.is_empty() {
        return html! {};
    }
    let (quick, mut full): (Vec<Action>, Vec<Action>) = shown
        .into_iter()
        .partition(|a| actions::fields_of(*a).is_some_and(|f| f.is_empty()));
    // A message is always possible; what moves the return on comes first.
    full.sort_by_key(|a| *a == Action::Messages);
    let attempt_for = |action: Action| view.attempt.as_ref().filter(|a| a.action == action);
    let suggestion = view.recommendation.map(|r| suggested(case, r));
    html! {
        section.card aria-labelledby="actions-title" {
            h2 id="actions-title" { (p.lang.tr("What you can do", "Ce que vous pouvez faire")) }
            @if !quick.is_empty() {
                div.quick {
                    @for action in &quick {
                        (actions::form(p, case, *action, None, attempt_for(*action).map(|a| a.problem)))
                    }
                }
            }
            @for action in &full {
                @let attempt = attempt_for(*action);
                @let entered = attempt.map(|a| &a.entered).or(
                    suggestion.as_ref().filter(|_| *action == Action::Decide));
                section aria-labelledby={ "title-" (action.as_str()) } {
                    h3 id={ "title-" (action.as_str()) } { (actions::title(p.lang, *action)) }
                    @if let Some(help) = actions::help(p.lang, *action) { p.help { (help) } }
                    (actions::form(p, case, *action, entered, attempt.map(|a| a.problem)))
                }
            }
        }
    }
}

/// Whether `url` is a web address a page may link to (no `javascript:` or `data:`).
fn is_web_address(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// What an event says beyond its name: a message, the evidence's link, a reason or rationale, a
/// grade (nothing once erased).
fn event_detail(lang: Lang, event: &RecordedEvent) -> Markup {
    let data: serde_json::Value = serde_json::from_str(event.data.get()).unwrap_or_default();
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let quoted = match event.event_type.as_str() {
        "return.message_posted" => text("body"),
        "return.declined" | "return.escalated" | "return.appealed" => text("reason_text"),
        "return.dispute_decided" => text("rationale"),
        "return.inspected" => text("notes"),
        _ => None,
    };
    let grade = data
        .get("grade")
        .and_then(|v| v.as_str())
        .filter(|_| event.event_type == "return.inspected");
    let links: Vec<(String, String)> = match event.event_type.as_str() {
        "return.evidence_added" => data.get("evidence").into_iter().cloned().collect(),
        _ => data
            .get("evidence")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default(),
    }
    .iter()
    .filter_map(|e| {
        let url = e.get("url")?.as_str()?;
        let kind = e.get("kind").and_then(|k| k.as_str()).unwrap_or("file");
        is_web_address(url).then(|| (url.to_owned(), kind.to_owned()))
    })
    .collect();
    html! {
        @if let Some(grade) = grade { ": " (actions::choice(lang, "grade", grade)) }
        @if let Some(quoted) = quoted { blockquote { (quoted) } }
        @if !links.is_empty() {
            ul.evidence {
                @for (url, kind) in &links {
                    li { a href=(url) rel="noreferrer noopener" { (lang.tr("Evidence", "Pièce")) " (" (kind) ")" } }
                }
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
