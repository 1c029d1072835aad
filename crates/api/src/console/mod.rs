//! The console: server-rendered pages under `/console` for the people behind the API's callers
//! (docs/console.md). Plain HTML forms that work without JavaScript; the stylesheet is served by
//! the binary; English and French ([`i18n`]). It reaches data only through the app layer, with
//! exactly the API's authorisation: a page shows what the signed-in caller could read over the
//! API, and a return the caller may not see is "not found", as it is there.

mod actions;
mod charts;
mod i18n;
mod inbox;
mod link;
mod opening;
mod oversight;
mod pages;
mod policy;
mod session;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use returns_app::{AppError, Assignee, EventKinds};
use returns_domain::returns::{Action, ReturnCase, ReturnCommand, Status};
use returns_domain::{Rma, Role};

use crate::problem::Problem;
use serde::Deserialize;

use actions::{Attempt, Entered};
use i18n::{Lang, Msg, LANG_COOKIE};
use pages::{Page, TrackView};
use session::Session;

/// Registers the console's routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .configure(oversight::routes)
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/style.css", web::get().to(style))
            .route("/login", web::get().to(login_form))
            .route("/login", web::post().to(login))
            .route("/login/link", web::get().to(link::show))
            .route("/login/link", web::post().to(link::redeem))
            .route("/logout", web::post().to(logout))
            .route("/track", web::get().to(track))
            .route("/disputes", web::get().to(disputes))
            .route("/returns", web::get().to(inbox::list))
            .route("/returns/{id}/{action}", web::post().to(act_form))
            .route("/policy", web::get().to(policy::show))
            .route("/policy", web::post().to(policy::save))
            .route("/orders", web::get().to(opening::find))
            .route("/orders/{order_id}/return", web::post().to(opening::open)),
    );
}

/// A page as an answer: HTML that is never cached nor framed, and the language cookie when the
/// switch chose the language.
fn html(req: &HttpRequest, status: StatusCode, body: maud::Markup) -> HttpResponse {
    let (lang, chosen) = Lang::of(req);
    let mut answer = HttpResponse::build(status);
    answer
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        // Pages link to labels and evidence elsewhere; their addresses (RMA numbers, sign-in
        // links) stay here.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ));
    if chosen {
        answer.append_header((
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/console; SameSite=Strict",
                lang.code()
            ),
        ));
    }
    answer.body(body.into_string())
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn page<'a>(req: &'a HttpRequest, session: Option<&'a Session>) -> Page<'a> {
    Page {
        lang: Lang::of(req).0,
        path: req.path(),
        query: req.query_string(),
        session,
    }
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .body(pages::STYLE)
}

/// `/console`: the signed-in user's first page (operators: the dispute queue; everyone else: their
/// returns), else the sign-in page.
async fn home(req: HttpRequest) -> HttpResponse {
    match Session::of(&req) {
        Some(s) if s.caller.0.role == Role::Operator => redirect("/console/disputes"),
        Some(_) => redirect("/console/returns"),
        None => redirect("/console/login"),
    }
}

async fn login_form(req: HttpRequest) -> HttpResponse {
    html(&req, StatusCode::OK, pages::login(&page(&req, None), None))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login(req: HttpRequest, form: web::Form<LoginForm>) -> HttpResponse {
    if !session::from_own_page(&req) {
        return from_elsewhere(&req);
    }
    let state = req.app_data::<web::Data<crate::ApiState>>();
    let token = form.token.trim();
    let valid = !token.is_empty()
        && state.is_some_and(|s| crate::auth::caller_of_token(s, token).is_ok())
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
    if !valid {
        let p = page(&req, None);
        let error = p.lang.t(Msg::TokenRefused);
        return html(
            &req,
            StatusCode::UNAUTHORIZED,
            pages::login(&p, Some(error)),
        );
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console"))
        .insert_header((header::SET_COOKIE, session::sign_in_cookie(&req, token)))
        .finish()
}

/// A sign-in form posted from another site: refused, and nobody signed in.
fn from_elsewhere(req: &HttpRequest) -> HttpResponse {
    let p = page(req, None);
    let text = p.lang.tr(
        "This sign-in came from another site. Sign in from this console's own page.",
        "Cette connexion provient d'un autre site. Connectez-vous depuis la page de cette console.",
    );
    html(
        req,
        StatusCode::FORBIDDEN,
        pages::message(&p, p.lang.t(Msg::Forbidden), text),
    )
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn logout(req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    if let Err(answer) = posted_by(&req, &form.csrf) {
        return *answer;
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .insert_header((header::SET_COOKIE, session::sign_out_cookie(&req)))
        .finish()
}

fn csrf_refused(req: &HttpRequest, session: &Session) -> HttpResponse {
    let p = page(req, Some(session));
    let text = p.lang.t(Msg::CsrfRefused);
    html(
        req,
        StatusCode::FORBIDDEN,
        pages::message(&p, p.lang.t(Msg::Forbidden), text),
    )
}

/// The signed-in caller of a console page and the service, counted against the caller's rate
/// limit like an API request (docs/api.md, "Rate limits"); else the answer to give: the sign-in
/// page, or 429 with `Retry-After`.
fn signed_in(req: &HttpRequest) -> Result<(Session, returns_app::Service), Box<HttpResponse>> {
    let session = Session::of(req).ok_or_else(|| Box::new(redirect("/console/login")))?;
    let Some(state) = req.app_data::<web::Data<crate::ApiState>>() else {
        let unavailable = failure(req, &session, &AppError::Internal("no state".into()));
        return Err(Box::new(unavailable));
    };
    let caller = &session.caller;
    if let Err(limited) = state.limits.check_caller(caller.role(), &caller.0.id) {
        let p = page(req, Some(&session));
        let mut answer = html(
            req,
            StatusCode::TOO_MANY_REQUESTS,
            pages::message(&p, p.lang.t(Msg::TooMany), p.lang.t(Msg::TooManyHelp)),
        );
        if let Some(seconds) = limited.retry_after {
            if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
                answer.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        return Err(Box::new(answer));
    }
    Ok((session, state.service.clone()))
}

/// A failure of the app layer as a page: not found and forbidden in words, anything else as the
/// service being unavailable (details only in the logs).
fn failure(req: &HttpRequest, session: &Session, error: &AppError) -> HttpResponse {
    let p = page(req, Some(session));
    let (status, title, text) = match error {
        AppError::NotFound => (
            StatusCode::NOT_FOUND,
            p.lang.t(Msg::NotFound),
            p.lang.t(Msg::NotFoundHelp),
        ),
        AppError::Rejected(returns_domain::Rejection::Forbidden { .. }) => (
            StatusCode::FORBIDDEN,
            p.lang.t(Msg::Forbidden),
            p.lang.t(Msg::ForbiddenHelp),
        ),
        other => {
            tracing::warn!(error = %other, "console page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "503",
                "The service is unavailable; try again in a moment.",
            )
        }
    };
    html(req, status, pages::message(&p, title, text))
}

#[derive(Deserialize)]
struct TrackQuery {
    rma: Option<String>,
}

/// `/console/track?rma=`: a return followed by its RMA number: where it stands, the next step and
/// its deadline in words, and everything that happened. The form alone without `rma`.
async fn track(req: HttpRequest, query: web::Query<TrackQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    let p = page(&req, Some(&session));
    let wanted = query
        .rma
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let Some(wanted) = wanted else {
        return html(&req, StatusCode::OK, pages::track(&p, None, None));
    };
    // A malformed number is simply not one of the caller's returns.
    let Ok(rma) = Rma::parse(wanted) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    let caller = &session.caller.0;
    let case = match service.return_by_rma(caller, &rma).await {
        Ok(case) => case,
        Err(e) => return failure(&req, &session, &e),
    };
    let events = match service
        .return_events(caller, case.id, EventKinds::All, 0, 200)
        .await
    {
        Ok(page) => page.events,
        Err(e) => return failure(&req, &session, &e),
    };
    let recommendation = operator_view(&service, caller, &case).await;
    let view = TrackView {
        case: &case,
        events: &events,
        recommendation: recommendation.as_ref(),
        allowed: returns_domain::returns::allowed_actions(&case, caller, service.now()),
        attempt: None,
    };
    html(
        &req,
        StatusCode::OK,
        pages::track(&p, Some(wanted), Some(view)),
    )
}

/// What arbitration recommends for an open dispute, for an operator (nothing for anyone else, or
/// when there is no dispute to decide).
async fn operator_view(
    service: &returns_app::Service,
    caller: &returns_domain::Actor,
    case: &ReturnCase,
) -> Option<returns_arbitration::Recommendation> {
    if caller.role != Role::Operator || case.status != Status::Escalated {
        return None;
    }
    service.recommendation(caller, case.id).await.ok()
}

/// The return `id` names in a console path, if the caller may see it.
async fn case_of(
    service: &returns_app::Service,
    session: &Session,
    id: &str,
) -> Result<ReturnCase, AppError> {
    let id = returns_domain::ReturnId::parse(id).map_err(|_| AppError::NotFound)?;
    service.get_return(&session.caller.0, id).await
}

fn back_to(case: &ReturnCase) -> HttpResponse {
    redirect(&format!("/console/track?rma={}", case.rma.as_str()))
}

/// Runs `command` on `case` as the session's caller, with the API's rules and answer.
async fn act(
    req: &HttpRequest,
    session: &Session,
    case: &ReturnCase,
    command: ReturnCommand,
) -> Result<(), Problem> {
    let state = req
        .app_data::<web::Data<crate::ApiState>>()
        .ok_or_else(|| Problem::from(AppError::Internal("no state".into())))?;
    let render = crate::returns::case_answer(state, &session.caller, StatusCode::OK);
    state
        .service
        .act_on_return(
            &session.caller.0,
            case.id,
            command,
            &returns_app::CommandOptions::default(),
            &render,
        )
        .await?;
    Ok(())
}

/// The session of a posted form that carries the session's CSRF token `csrf`, or the page that
/// says why not (the sign-in page, 429, or 403 for a missing or wrong token).
fn posted_by(
    req: &HttpRequest,
    csrf: &str,
) -> Result<(Session, returns_app::Service), Box<HttpResponse>> {
    let (session, service) = signed_in(req)?;
    if !session.csrf_matches(csrf) {
        return Err(Box::new(csrf_refused(req, &session)));
    }
    Ok((session, service))
}

/// [`posted_by`] for a form read as its fields.
fn form_session(
    req: &HttpRequest,
    form: &Entered,
) -> Result<(Session, returns_app::Service), Box<HttpResponse>> {
    posted_by(
        req,
        form.get("csrf").map(String::as_str).unwrap_or_default(),
    )
}

/// The session of a form's request and the case it acts on, or the page that says why not.
async fn form_case(
    req: &HttpRequest,
    id: &str,
    form: &Entered,
) -> Result<(Session, returns_app::Service, ReturnCase), HttpResponse> {
    let (session, service) = form_session(req, form).map_err(|answer| *answer)?;
    match case_of(&service, &session, id).await {
        Ok(case) => Ok((session, service, case)),
        Err(e) => Err(failure(req, &session, &e)),
    }
}

/// `POST /console/returns/{id}/{action}`: an action's form (see [`actions`]), turned into the
/// API's body and run with the API's rules; a problem is shown next to its field on the case page
/// and changes nothing.
async fn act_form(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Entered>,
) -> HttpResponse {
    let (id, action) = path.into_inner();
    let entered = form.into_inner();
    let (session, service, case) = match form_case(&req, &id, &entered).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Ok(action) = Action::parse(&action) else {
        return failure(&req, &session, &AppError::NotFound);
    };
    let outcome = match actions::body_of(action, &entered, &case) {
        Ok(body) => {
            match crate::returns::parse_action(action.as_str(), body.to_string().as_bytes()) {
                Ok(command) => act(&req, &session, &case, command).await,
                Err(problem) => Err(problem),
            }
        }
        Err(problem) => Err(problem),
    };
    match outcome {
        Ok(()) => back_to(&case),
        Err(problem) => {
            let attempt = Attempt {
                action,
                entered,
                problem: &problem,
            };
            problem_page(&req, &session, &service, &case, attempt).await
        }
    }
}

/// The case page again, with the attempt's problem shown next to the fields it names (or above
/// the form), and what was entered kept; the status is the problem's.
async fn problem_page(
    req: &HttpRequest,
    session: &Session,
    service: &returns_app::Service,
    case: &ReturnCase,
    attempt: Attempt<'_>,
) -> HttpResponse {
    let caller = &session.caller.0;
    let events = service
        .return_events(caller, case.id, EventKinds::All, 0, 200)
        .await
        .map(|page| page.events)
        .unwrap_or_default();
    let recommendation = operator_view(service, caller, case).await;
    let status =
        StatusCode::from_u16(attempt.problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let view = TrackView {
        case,
        events: &events,
        recommendation: recommendation.as_ref(),
        allowed: returns_domain::returns::allowed_actions(case, caller, service.now()),
        attempt: Some(attempt),
    };
    let p = page(req, Some(session));
    html(
        req,
        status,
        pages::track(&p, Some(case.rma.as_str()), Some(view)),
    )
}

#[derive(Deserialize)]
struct QueueQuery {
    assignee: Option<String>,
    overdue: Option<String>,
    cursor: Option<String>,
    seller_id: Option<String>,
    older_than_days: Option<String>,
}

/// `/console/disputes` (operators): the queue of open disputes, the most urgent decision first,
/// filtered by who has them, seller and age.
async fn disputes(req: HttpRequest, query: web::Query<QueueQuery>) -> HttpResponse {
    let (session, service) = match signed_in(&req) {
        Ok(signed_in) => signed_in,
        Err(answer) => return *answer,
    };
    let now = service.now();
    let typed_seller = query
        .seller_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let filters = pages::QueueFilters {
        assignee: match query.assignee.as_deref() {
            Some("me") => Assignee::Me,
            Some("none") => Assignee::Nobody,
            _ => Assignee::Anyone,
        },
        seller_id: typed_seller
            .filter(|s| returns_domain::SellerId::parse(s).is_ok())
            .map(str::to_owned),
        seller_refused: typed_seller
            .filter(|s| returns_domain::SellerId::parse(s).is_err())
            .map(str::to_owned),
        older_than_days: query
            .older_than_days
            .as_deref()
            .and_then(|d| d.trim().parse::<u16>().ok())
            .filter(|d| *d > 0),
        overdue: query.overdue.is_some(),
    };
    let filter = returns_app::DisputeFilter {
        assignee: filters.assignee,
        seller_id: filters.seller_id.clone(),
        escalated_before: filters
            .older_than_days
            .map(|days| now - chrono::Duration::days(i64::from(days))),
        due_before: filters.overdue.then_some(now),
    };
    if filters.seller_refused.is_some() {
        // A seller id that is none: said next to the field, and no list that would look filtered.
        let p = page(&req, Some(&session));
        return html(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::queue(&p, &[], &filters, None, now),
        );
    }
    // A cursor that is none starts from the top.
    let after = crate::extract::time_cursor(query.cursor.as_deref())
        .ok()
        .flatten();
    let queue = match service
        .disputes(&session.caller.0, &filter, after, 100)
        .await
    {
        Ok(page) => page,
        Err(e) => return failure(&req, &session, &e),
    };
    let next = queue
        .next
        .map(|(due, id)| crate::extract::encode_time_cursor(due, id));
    let p = page(&req, Some(&session));
    html(
        &req,
        StatusCode::OK,
        pages::queue(&p, &queue.items, &filters, next.as_deref(), now),
    )
}
