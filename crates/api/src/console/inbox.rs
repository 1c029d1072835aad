//! `/console/returns`: a seller's returns inbox and a buyer's returns, what waits for the caller
//! first, the most urgent deadline first (docs/console.md).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use returns_app::ReturnFilter;
use returns_domain::returns::{allowed_actions, amount, ReturnCase, Status};
use returns_domain::{Actor, Role};
use serde::Deserialize;

use super::i18n::{self, Lang, Msg};
use super::pages::{layout, time, Page};
use super::{failure, html as answer, page as page_of, signed_in};

/// Actions that are always open to a party and do not make a return wait for them.
const NOT_WAITING: &[&str] = &["messages", "evidence", "withdraw", "rate", "appeal"];

/// A return in the list: whether it waits for the caller, and its next deadline.
pub(super) struct Row<'a> {
    pub case: &'a ReturnCase,
    pub waits_for_you: bool,
    pub next_deadline: Option<DateTime<Utc>>,
}

/// The rows of `cases` for `caller` at `now`: those waiting for the caller first, each group by
/// its next deadline (those without one last), then the newest first.
pub(super) fn rows<'a>(
    cases: &'a [ReturnCase],
    caller: &Actor,
    now: DateTime<Utc>,
) -> Vec<Row<'a>> {
    let mut rows: Vec<Row<'a>> = cases
        .iter()
        .map(|case| Row {
            case,
            waits_for_you: waits_for(case, caller, now),
            next_deadline: next_deadline(case),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.waits_for_you
            .cmp(&a.waits_for_you)
            .then_with(|| match (a.next_deadline, b.next_deadline) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| b.case.created_at.cmp(&a.case.created_at))
    });
    rows
}

/// Whether `case` waits for `caller`: an action other than a message, evidence, a withdrawal, a
/// rating or an appeal is open to them.
fn waits_for(case: &ReturnCase, caller: &Actor, now: DateTime<Utc>) -> bool {
    allowed_actions(case, caller, now)
        .iter()
        .any(|a| !NOT_WAITING.contains(a))
}

/// The earliest deadline running on `case`.
fn next_deadline(case: &ReturnCase) -> Option<DateTime<Utc>> {
    case.deadlines.running().iter().map(|(_, at)| *at).min()
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
    page: Option<String>,
}

/// Which returns the list shows: the open ones (the default), every one, or those in a status.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Open,
    All,
    In(Status),
}

impl Shown {
    fn of(query: Option<&str>) -> Shown {
        match query {
            Some("all") => Shown::All,
            Some(s) => Status::parse(s).map_or(Shown::Open, Shown::In),
            None => Shown::Open,
        }
    }

    fn code(&self) -> &str {
        match self {
            Shown::Open => "",
            Shown::All => "all",
            Shown::In(status) => status.as_str(),
        }
    }
}

/// Returns per page.
const PAGE_SIZE: usize = 100;

/// How many open returns (the newest) are sorted together, across pages; a status filter reaches
/// any others.
const OPEN_SORTED: usize = 1000;

/// `GET /console/returns[?status=&page=|&cursor=]`: the caller's returns (a buyer's own, a
/// seller's inbox; an operator sees every return, as over the API). The open ones by default:
/// those waiting for the caller first, the most urgent deadline first, across every page. Every
/// return, or those in one status, newest first, page after page by the API's cursor.
pub(super) async fn list(req: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(page) => return *page,
    };
    let shown = Shown::of(query.status.as_deref().filter(|s| !s.is_empty()));
    let caller = &session.caller.0;
    let now = service.now();
    let p = page_of(&req, Some(&session));
    if shown == Shown::Open {
        let (items, truncated) = match open_returns(&service, caller).await {
            Ok(found) => found,
            Err(e) => return failure(&req, &session, &e),
        };
        let number = query
            .page
            .as_deref()
            .and_then(|n| n.trim().parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(1);
        let sorted = rows(&items, caller, now);
        let more = sorted.len() > number.saturating_mul(PAGE_SIZE);
        let shown_rows: Vec<Row<'_>> = sorted
            .into_iter()
            .skip((number - 1).saturating_mul(PAGE_SIZE))
            .take(PAGE_SIZE)
            .collect();
        let next = more.then(|| format!("/console/returns?page={}", number + 1));
        let listed = Listed {
            rows: &shown_rows,
            next: next.as_deref(),
            truncated,
        };
        return answer(
            &req,
            StatusCode::OK,
            render(&p, caller.role, &listed, &shown, now),
        );
    }
    // A cursor that is none starts from the top.
    let after = crate::extract::time_cursor(query.cursor.as_deref())
        .ok()
        .flatten();
    let filter = ReturnFilter {
        status: match &shown {
            Shown::In(status) => Some(status.as_str().to_owned()),
            Shown::Open | Shown::All => None,
        },
        after,
        limit: PAGE_SIZE,
        ..ReturnFilter::default()
    };
    let page = match service.list_returns(caller, filter).await {
        Ok(page) => page,
        Err(e) => return failure(&req, &session, &e),
    };
    let newest_first: Vec<Row<'_>> = page
        .items
        .iter()
        .map(|case| Row {
            case,
            waits_for_you: waits_for(case, caller, now),
            next_deadline: next_deadline(case),
        })
        .collect();
    let next = page.next.map(|(at, id)| {
        format!(
            "/console/returns?status={}&cursor={}",
            shown.code(),
            crate::extract::encode_time_cursor(at, id)
        )
    });
    let listed = Listed {
        rows: &newest_first,
        next: next.as_deref(),
        truncated: false,
    };
    answer(
        &req,
        StatusCode::OK,
        render(&p, caller.role, &listed, &shown, now),
    )
}

/// The caller's open returns, the newest [`OPEN_SORTED`] of them, and whether there are more.
async fn open_returns(
    service: &returns_app::Service,
    caller: &Actor,
) -> Result<(Vec<ReturnCase>, bool), returns_app::AppError> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let filter = ReturnFilter {
            open_only: true,
            after,
            limit: 200,
            ..ReturnFilter::default()
        };
        let page = service.list_returns(caller, filter).await?;
        items.extend(page.items);
        match page.next {
            Some(next) if items.len() < OPEN_SORTED => after = Some(next),
            Some(_) => return Ok((items, true)),
            None => return Ok((items, false)),
        }
    }
}

/// A page of the list: its rows, where the next page is, and whether open returns were left out
/// of the sorting.
struct Listed<'a> {
    rows: &'a [Row<'a>],
    next: Option<&'a str>,
    truncated: bool,
}

fn render(
    p: &Page<'_>,
    role: Role,
    listed: &Listed<'_>,
    shown: &Shown,
    now: DateTime<Utc>,
) -> Markup {
    let rows = listed.rows;
    let lang = p.lang;
    let title = match role {
        Role::Buyer => lang.tr("My returns", "Mes retours"),
        _ => lang.tr("Returns inbox", "Retours reçus"),
    };
    layout(
        p,
        title,
        html! {
            p.help {
                @if *shown == Shown::Open {
                    (lang.tr(
                        "The returns waiting for you come first, the most urgent deadline first; then the others, newest first.",
                        "Les retours qui attendent votre action d'abord, l'échéance la plus proche en premier ; puis les autres, du plus récent au plus ancien.",
                    ))
                } @else {
                    (lang.tr("The newest first.", "Les plus récents d'abord."))
                }
            }
            @if listed.truncated {
                p.help id="truncated" { (lang.tr(
                    "Only the 1,000 newest open returns are sorted here: choose a status to see the others.",
                    "Seuls les 1 000 retours en cours les plus récents sont triés ici : choisissez un statut pour voir les autres.",
                )) }
            }
            form method="get" action="/console/returns" {
                label for="status" { (lang.t(Msg::Status)) }
                select id="status" name="status" {
                    option value="" selected[*shown == Shown::Open] { (lang.tr("Open", "En cours")) }
                    option value="all" selected[*shown == Shown::All] { (lang.tr("All", "Tous")) }
                    @for s in Status::ALL {
                        option value=(s.as_str()) selected[*shown == Shown::In(*s)] {
                            (i18n::status(lang, s.as_str()))
                        }
                    }
                }
                " " button type="submit" { (lang.tr("Filter", "Filtrer")) }
            }
            @if rows.is_empty() {
                p { (lang.tr("No return here.", "Aucun retour ici.")) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (lang.t(Msg::Rma)) }
                        th scope="col" { (lang.t(Msg::Status)) }
                        th scope="col" { (lang.t(Msg::Reason)) }
                        th scope="col" { (lang.tr("Amount", "Montant")) }
                        th scope="col" { (lang.tr("Next deadline", "Prochaine échéance")) }
                    } }
                    tbody {
                        @for row in rows { (line(lang, row, now)) }
                    }
                }
                @if let Some(next) = listed.next {
                    p { a rel="next" href=(next) { (lang.tr("More returns", "Retours suivants")) } }
                }
            }
        },
    )
}

fn line(lang: Lang, row: &Row<'_>, now: DateTime<Utc>) -> Markup {
    let case = row.case;
    let late = row.next_deadline.is_some_and(|at| at < now);
    html! {
        tr class=[late.then_some("overdue")] data-rma=(case.rma.as_str()) {
            td {
                a href={ "/console/track?rma=" (case.rma.as_str()) } { (case.rma.as_str()) }
                @if row.waits_for_you { " " span.tag.yours { (lang.tr("your move", "à vous")) } }
            }
            td { (i18n::status(lang, case.status.as_str())) }
            td { (i18n::reason(lang, case.reason.as_str())) }
            td { (amount(case.items_total_minor, case.currency)) }
            td {
                @if let Some(at) = row.next_deadline {
                    time datetime=(at.to_rfc3339()) { (time(at)) }
                    @if late { " " span.tag.late { (lang.t(Msg::Overdue)) } }
                }
            }
        }
    }
}
