//! The analytics dashboard: `GET /v1/analytics/summary`'s figures for operators (the whole
//! marketplace or one seller) and for a seller (its own), with charts drawn on the server, and
//! the returns over time from the same summary over up to [`MAX_BUCKETS`] periods of the range.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use maud::{html, Markup};
use returns_app::Summary;
use returns_domain::returns::amount;
use returns_domain::{Currency, MinorUnits};
use serde::Deserialize;

use super::words::{self, decimal, percent};
use super::{given, refused};
use crate::auth::Role;
use crate::console::charts::{self, Bar, Columns};
use crate::console::i18n::{self, Lang};
use crate::console::pages::{errors_of, field_errors, layout, time, Page};
use crate::console::{failure, html, page, signed_in};
use crate::problem::{FieldError, Problem};

/// The most periods "over time" is cut into (one summary each).
const MAX_BUCKETS: i64 = 12;

#[derive(Deserialize)]
pub(super) struct DashboardQuery {
    seller_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// One period of the range and its figures.
struct Period {
    from: DateTime<Utc>,
    summary: Summary,
}

/// What the form shows: the fields as entered (or as the range came out).
struct Entered<'a> {
    seller_id: Option<&'a str>,
    from: String,
    to: String,
}

/// `GET /console/analytics?seller_id=&from=&to=`: the dashboard. `from` and `to` are days
/// (`2026-11-01`, the whole of `to` included) or RFC 3339 times (`to` excluded), as the API's.
pub(super) async fn dashboard(req: HttpRequest, query: web::Query<DashboardQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    let p = page(&req, Some(&session));
    let lang = p.lang;
    let asked_seller = given(query.seller_id.as_deref());
    let seller =
        match crate::analytics::summary_scope(&session.caller, asked_seller.map(str::to_owned)) {
            Ok(seller) => seller,
            Err(_) => {
                let why = match session.caller.role() {
                    Role::Seller => lang.tr(
                        "A seller sees its own analytics only.",
                        "Un vendeur ne voit que ses propres statistiques.",
                    ),
                    _ => lang.tr(
                        "Analytics are for operators and sellers.",
                        "Les statistiques sont réservées aux opérateurs et aux vendeurs.",
                    ),
                };
                return refused(&req, &session, why);
            }
        };
    let operator = session.caller.role() == Role::Operator;
    let mut entered = Entered {
        seller_id: if operator { asked_seller } else { None },
        from: given(query.from.as_deref()).unwrap_or_default().to_owned(),
        to: given(query.to.as_deref()).unwrap_or_default().to_owned(),
    };
    let mut errors = Vec::new();
    let from = when(given(query.from.as_deref()), false).unwrap_or_else(|message| {
        errors.push(FieldError {
            field: "from".into(),
            message,
        });
        None
    });
    let to = when(given(query.to.as_deref()), true).unwrap_or_else(|message| {
        errors.push(FieldError {
            field: "to".into(),
            message,
        });
        None
    });
    let Some(state) = req.app_data::<web::Data<crate::ApiState>>() else {
        return failure(
            &req,
            &session,
            &returns_app::AppError::Internal("no state".into()),
        );
    };
    let range = if errors.is_empty() {
        crate::analytics::range(state, from, to)
    } else {
        Err(Problem::validation(errors))
    };
    let (from, to) = match range {
        Ok(range) => range,
        Err(problem) => {
            let body = dashboard_page(&p, operator, &entered, Some(&problem), None);
            return html(&req, StatusCode::UNPROCESSABLE_ENTITY, body);
        }
    };
    entered.from = day_of(from);
    entered.to = day_of(
        to.checked_sub_signed(Duration::nanoseconds(1))
            .unwrap_or(to),
    );
    let summary = match service.analytics_summary(seller.as_deref(), from, to).await {
        Ok(summary) => summary,
        Err(e) => return failure(&req, &session, &e),
    };
    let mut periods = Vec::new();
    for (start, end) in buckets(from, to) {
        match service
            .analytics_summary(seller.as_deref(), start, end)
            .await
        {
            Ok(summary) => periods.push(Period {
                from: start,
                summary,
            }),
            Err(e) => return failure(&req, &session, &e),
        }
    }
    // For the whole marketplace, operators also see how each seller's buyers rated them (the
    // first sellers in id order; the API lists them all).
    let by_seller = if operator && seller.is_none() {
        match service
            .satisfaction_by_seller(from, to, None, SELLERS_SHOWN)
            .await
        {
            Ok(sellers) => sellers,
            Err(e) => return failure(&req, &session, &e),
        }
    } else {
        Vec::new()
    };
    let figures = Figures {
        summary: &summary,
        periods: &periods,
        week: is_week(from, to),
        by_seller: &by_seller,
    };
    html(
        &req,
        StatusCode::OK,
        dashboard_page(&p, operator, &entered, None, Some(&figures)),
    )
}

/// A day or a time of the form: a day starts at midnight UTC, and as the end of the range it is
/// included whole (the range ends at the next midnight).
fn when(text: Option<&str>, end: bool) -> Result<Option<DateTime<Utc>>, String> {
    let Some(text) = text else { return Ok(None) };
    let at = if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end { day.succ_opt() } else { Some(day) };
        day.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    } else {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let at = at.ok_or_else(|| "a day such as 2026-11-01, or an RFC 3339 time".to_owned())?;
    crate::time::check(at).map(Some)
}

fn day_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Whether the range is cut into weeks (up to [`MAX_BUCKETS`] of them), or into longer periods.
fn is_week(from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    to - from <= Duration::days(7 * MAX_BUCKETS)
}

/// `[from, to)` cut into consecutive periods: weeks when that makes at most [`MAX_BUCKETS`],
/// else as many whole days each as it takes to make [`MAX_BUCKETS`]; the last one ends at `to`.
fn buckets(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let width = if is_week(from, to) {
        Duration::days(7)
    } else {
        // Whole days, enough for MAX_BUCKETS of them to cover the range with its last part-day.
        let days = (to - from).num_days();
        Duration::days((days + MAX_BUCKETS) / MAX_BUCKETS)
    };
    let mut periods = Vec::new();
    let mut start = from;
    while start < to && periods.len() < usize::try_from(MAX_BUCKETS).unwrap_or(12) {
        let end = start.checked_add_signed(width).map_or(to, |e| e.min(to));
        periods.push((start, end));
        start = end;
    }
    periods
}

struct Figures<'a> {
    summary: &'a Summary,
    periods: &'a [Period],
    week: bool,
    /// Satisfaction by seller (operators, the whole marketplace).
    by_seller: &'a [returns_app::SellerScores],
}

/// How many sellers the satisfaction table shows.
const SELLERS_SHOWN: i64 = 50;

fn dashboard_page(
    p: &Page<'_>,
    operator: bool,
    entered: &Entered<'_>,
    problem: Option<&Problem>,
    figures: Option<&Figures<'_>>,
) -> Markup {
    let lang = p.lang;
    let from_errors = field_errors(problem, "from");
    let to_errors = field_errors(problem, "to");
    layout(
        p,
        lang.tr("Analytics", "Statistiques"),
        html! {
            form method="get" action="/console/analytics" {
                @if operator {
                    label for="seller_id" { (lang.tr("Seller", "Vendeur")) }
                    p.help id="seller_id-help" { (lang.tr(
                        "A seller's id; empty for the whole marketplace.",
                        "L'identifiant d'un vendeur ; vide pour toute la place de marché.",
                    )) }
                    input id="seller_id" name="seller_id" type="text" value=(entered.seller_id.unwrap_or_default())
                        aria-describedby="seller_id-help";
                }
                label for="from" { (lang.tr("From (day included)", "Du (jour inclus)")) }
                input id="from" name="from" type="date" value=(entered.from) aria-describedby="from-error";
                (errors_of("from-error", &from_errors))
                label for="to" { (lang.tr("To (day included)", "Au (jour inclus)")) }
                input id="to" name="to" type="date" value=(entered.to) aria-describedby="to-error";
                (errors_of("to-error", &to_errors))
                p { button type="submit" { (lang.tr("Show", "Afficher")) } }
            }
            @if let Some(figures) = figures {
                (figures_of(lang, figures))
            }
        },
    )
}

fn figures_of(lang: Lang, figures: &Figures<'_>) -> Markup {
    let s = figures.summary;
    let none = lang.tr("none", "aucun");
    html! {
        p id="scope" {
            @match &s.seller_id {
                Some(seller) => { (lang.tr("Seller", "Vendeur")) " " strong { (seller) } }
                None => { (lang.tr("The whole marketplace", "Toute la place de marché")) }
            }
            ", " (lang.tr("returns created and orders placed from", "retours créés et commandes passées du")) " "
            time datetime=(s.from.to_rfc3339()) { (time(s.from)) } " "
            (lang.tr("until", "jusqu'au")) " "
            time datetime=(s.to.to_rfc3339()) { (time(s.to)) } " "
            (lang.tr("(excluded).", "(exclu)."))
        }
        section.card aria-labelledby="overview-title" {
            h2 id="overview-title" { (lang.tr("Overview", "Vue d'ensemble")) }
            dl id="overview" {
                dt { (lang.tr("Returns", "Retours")) } dd data-figure="returns" { (s.returns) }
                dt { (lang.tr("Orders", "Commandes")) } dd data-figure="orders" { (s.orders) }
                dt { (lang.tr("Return rate", "Taux de retour")) } dd data-figure="return_rate" { (percent(lang, s.return_rate)) }
                dt { (lang.tr("Disputes", "Litiges")) } dd data-figure="disputes" { (s.disputes) }
                dt { (lang.tr("Dispute rate (of returns)", "Taux de litige (des retours)")) }
                dd data-figure="dispute_rate" { (percent(lang, s.dispute_rate)) }
                dt { (lang.tr("Median time to refund", "Délai médian de remboursement")) }
                dd data-figure="median_hours_to_refund" {
                    @match s.median_hours_to_refund {
                        Some(hours) => { (decimal(lang, hours, 1)) " " (lang.tr("hours", "heures")) }
                        None => (lang.tr("no refund", "aucun remboursement")),
                    }
                }
                dt { (lang.tr("Deadlines missed (SLA breaches)", "Échéances dépassées (SLA)")) }
                dd data-figure="sla_breaches" { (s.sla_breaches) }
                dt { (lang.tr("Refunded", "Remboursé")) }
                dd data-figure="refunded" {
                    @if s.refunded_by_currency.is_empty() { (none) }
                    @for (i, (code, minor)) in s.refunded_by_currency.iter().enumerate() {
                        @if i > 0 { ", " }
                        (money(code, *minor))
                    }
                }
            }
        }
        section.card aria-labelledby="time-title" {
            h2 id="time-title" { (lang.tr("Over time", "Dans le temps")) }
            (over_time(lang, figures))
        }
        section.card aria-labelledby="reasons-title" {
            h2 id="reasons-title" { (lang.tr("Returns by reason", "Retours par motif")) }
            (breakdown(lang, "by-reason", lang.tr("Returns by reason", "Retours par motif"),
                lang.tr("Reason", "Motif"),
                s.by_reason.iter().map(|(k, v)| (i18n::reason(lang, k), *v))))
        }
        section.card aria-labelledby="categories-title" {
            h2 id="categories-title" { (lang.tr("Returns by category", "Retours par catégorie")) }
            (breakdown(lang, "by-category", lang.tr("Returns by item category", "Retours par catégorie d'article"),
                lang.tr("Category", "Catégorie"),
                s.by_category.iter().map(|(k, v)| (k.clone(), *v))))
        }
        section.card aria-labelledby="appeals-title" {
            h2 id="appeals-title" { (lang.tr("Appeals", "Recours")) }
            dl id="appeals" {
                dt { (lang.tr("Disputes decided", "Litiges tranchés")) } dd { (s.appeals.decisions) }
                dt { (lang.tr("Appeals", "Recours")) } dd { (s.appeals.appeals) }
                dt { (lang.tr("Appeal rate (of decisions)", "Taux de recours (des décisions)")) } dd { (percent(lang, s.appeals.appeal_rate)) }
                dt { (lang.tr("Appeals decided", "Recours tranchés")) } dd { (s.appeals.appeals_decided) }
                dt { (lang.tr("Decisions overturned", "Décisions infirmées")) } dd { (s.appeals.overturned) }
                dt { (lang.tr("Overturn rate (of appeals decided)", "Taux d'infirmation (des recours tranchés)")) } dd { (percent(lang, s.appeals.overturn_rate)) }
            }
        }
        section.card aria-labelledby="satisfaction-title" {
            h2 id="satisfaction-title" { (lang.tr("Satisfaction", "Satisfaction")) }
            p.help { (lang.tr(
                "Buyers' ratings (1 to 5) of closed returns, given in the range. CSAT is the share of ratings of 4 or 5.",
                "Notes des acheteurs (1 à 5) sur les retours clôturés, données sur la période. Le CSAT est la part des notes de 4 ou 5.",
            )) }
            (scores_table(lang, lang.tr("All ratings", "Toutes les notes"), lang.tr("Ratings", "Notes"),
                std::iter::once((lang.tr("All", "Toutes").to_owned(), &s.satisfaction.all))))
            @if !s.satisfaction.by_reason.is_empty() {
                (scores_table(lang, lang.tr("By reason", "Par motif"), lang.tr("Reason", "Motif"),
                    s.satisfaction.by_reason.iter().map(|(k, v)| (i18n::reason(lang, k), v))))
            }
            @if !s.satisfaction.by_outcome.is_empty() {
                (scores_table(lang, lang.tr("By outcome", "Par issue"), lang.tr("Outcome", "Issue"),
                    s.satisfaction.by_outcome.iter().map(|(k, v)| (k.clone(), v))))
            }
            @if !figures.by_seller.is_empty() {
                (scores_table(lang, lang.tr("By seller (the first sellers by id)", "Par vendeur (les premiers par identifiant)"),
                    lang.tr("Seller", "Vendeur"),
                    figures.by_seller.iter().map(|s| (s.seller_id.clone(), &s.scores))))
            }
        }
        @if s.seller_id.is_some() {
            section.card aria-labelledby="confirmed-title" {
                h2 id="confirmed-title" { (lang.tr("Confirmed abuse flags", "Signalements d'abus confirmés")) }
                @if s.confirmed_flags.is_empty() {
                    p { (lang.tr("None.", "Aucun.")) }
                } @else {
                    ul id="confirmed-flags" {
                        @for flag in &s.confirmed_flags {
                            li {
                                (words::flag_kind_code(lang, &flag.kind)) ", "
                                (lang.tr("raised", "levé le")) " " (time(flag.raised_at))
                                @if let Some(at) = flag.confirmed_at {
                                    ", " (lang.tr("confirmed", "confirmé le")) " " (time(at))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An amount refunded in one currency, in its units (the code alone where it is not one).
fn money(code: &str, minor: i64) -> String {
    match (Currency::parse(code), MinorUnits::new(minor)) {
        (Ok(currency), Ok(units)) => amount(units, currency),
        _ => format!("{minor} {code}"),
    }
}

/// Returns per period: the chart, and every period's figures as a table.
fn over_time(lang: Lang, figures: &Figures<'_>) -> Markup {
    let (title, period) = if figures.week {
        (
            lang.tr("Returns per week", "Retours par semaine"),
            lang.tr("Week starting", "Semaine du"),
        )
    } else {
        (
            lang.tr("Returns per period", "Retours par période"),
            lang.tr("Period starting", "Période du"),
        )
    };
    let bars: Vec<Bar> = figures
        .periods
        .iter()
        .map(|period| Bar {
            label: day_of(period.from),
            value: count(period.summary.returns),
            shown: period.summary.returns.to_string(),
        })
        .collect();
    let description = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.shown))
        .collect::<Vec<_>>()
        .join("; ");
    let columns = Columns {
        label: period,
        value: lang.tr("Returns", "Retours"),
    };
    html! {
        (charts::columns("over-time", title, &description, &columns, &bars))
        table.figures id="periods" {
            caption { (lang.tr("Each period's figures", "Les chiffres de chaque période")) }
            thead { tr {
                th scope="col" { (period) }
                th scope="col" { (lang.tr("Returns", "Retours")) }
                th scope="col" { (lang.tr("Orders", "Commandes")) }
                th scope="col" { (lang.tr("Return rate", "Taux de retour")) }
                th scope="col" { (lang.tr("Disputes", "Litiges")) }
                th scope="col" { (lang.tr("Deadlines missed", "Échéances dépassées")) }
            } }
            tbody {
                @for period in figures.periods {
                    tr {
                        th scope="row" { time datetime=(period.from.to_rfc3339()) { (day_of(period.from)) } }
                        td { (period.summary.returns) }
                        td { (period.summary.orders) }
                        td { (percent(lang, period.summary.return_rate)) }
                        td { (period.summary.disputes) }
                        td { (period.summary.sla_breaches) }
                    }
                }
            }
        }
    }
}

/// Counts as chart values (counts are far below 2^53, so exact).
#[allow(clippy::cast_precision_loss)]
fn count(n: i64) -> f64 {
    n as f64
}

/// A breakdown of returns as bars, the largest first; a sentence when there is nothing.
fn breakdown(
    lang: Lang,
    id: &str,
    title: &str,
    label: &str,
    rows: impl Iterator<Item = (String, i64)>,
) -> Markup {
    let mut rows: Vec<(String, i64)> = rows.collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if rows.is_empty() {
        return html! { p { (lang.tr("No return in this range.", "Aucun retour sur cette période.")) } };
    }
    let bars: Vec<Bar> = rows
        .into_iter()
        .map(|(label, n)| Bar {
            label,
            value: count(n),
            shown: n.to_string(),
        })
        .collect();
    let description = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.shown))
        .collect::<Vec<_>>()
        .join("; ");
    let columns = Columns {
        label,
        value: lang.tr("Returns", "Retours"),
    };
    charts::bars(id, title, &description, &columns, &bars)
}

fn scores_table<'a>(
    lang: Lang,
    caption: &str,
    label: &str,
    rows: impl Iterator<Item = (String, &'a returns_app::Scores)>,
) -> Markup {
    let dash = "—";
    html! {
        table.figures {
            caption { (caption) }
            thead { tr {
                th scope="col" { (label) }
                th scope="col" { (lang.tr("Ratings", "Notes")) }
                th scope="col" { (lang.tr("Average score", "Note moyenne")) }
                th scope="col" { (lang.tr("CSAT", "CSAT")) }
            } }
            tbody {
                @for (name, scores) in rows {
                    tr {
                        th scope="row" { (name) }
                        td { (scores.ratings) }
                        td { @match scores.average_score { Some(a) => (decimal(lang, a, 2)), None => (dash) } }
                        td { @match scores.csat { Some(c) => (percent(lang, c)), None => (dash) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn thirty_days_are_five_weeks_the_last_one_short() {
        let periods = buckets(at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
        assert_eq!(periods.len(), 5);
        assert_eq!(periods[1].0, at("2026-11-08T00:00:00Z"));
        assert_eq!(
            periods[4],
            (at("2026-11-29T00:00:00Z"), at("2026-12-01T00:00:00Z"))
        );
    }

    #[test]
    fn a_long_range_is_cut_into_twelve_periods_at_most_and_covers_it_all() {
        for (from, to) in [
            ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"),
            ("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
        ] {
            let periods = buckets(at(from), at(to));
            assert!(!periods.is_empty() && periods.len() <= 12, "{from}..{to}");
            assert_eq!(periods[0].0, at(from));
            assert_eq!(periods.last().unwrap().1, at(to), "{from}..{to}");
            assert!(periods.windows(2).all(|w| w[0].1 == w[1].0));
        }
    }

    #[test]
    fn a_day_is_its_midnight_and_a_last_day_is_included_whole() {
        assert_eq!(
            when(Some("2026-11-01"), false),
            Ok(Some(at("2026-11-01T00:00:00Z")))
        );
        assert_eq!(
            when(Some("2026-11-30"), true),
            Ok(Some(at("2026-12-01T00:00:00Z")))
        );
        assert_eq!(
            when(Some("2026-11-01T10:00:00+01:00"), true),
            Ok(Some(at("2026-11-01T09:00:00Z")))
        );
        assert!(when(Some("yesterday"), false).is_err());
        assert!(when(Some("1900-01-01"), false).is_err());
        assert_eq!(when(None, false), Ok(None));
    }
}
