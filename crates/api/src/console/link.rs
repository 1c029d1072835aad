//! Sign-in links: the marketplace hands its user a link to `/console/login/link?token=…`, the
//! token being a short-lived JWT signed like its API tokens, with `purpose: "console_login"` and a
//! unique `jti` (docs/console.md, "Signing in"). Opening the link shows whose session it opens and
//! a button; pressing it uses the link up (it works once) and opens a session of
//! [`SESSION_SECONDS`] with a token the service signs. Opening alone changes nothing, so a mail
//! scanner that follows links does not use them up. A link token is refused by the API.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{TimeZone, Utc};
use maud::html;
use serde::Deserialize;

use crate::auth::{Claims, LOGIN_LINK_MAX_SECONDS, LOGIN_LINK_PURPOSE};

use super::i18n;
use super::pages::layout;
use super::{html as answer, page, session};

/// How long a session opened by a link lasts.
pub(crate) const SESSION_SECONDS: i64 = 8 * 3600;

#[derive(Deserialize)]
pub(super) struct LinkForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

/// Why a link does not sign in.
enum Refusal {
    Invalid,
    Used,
}

/// The claims of a valid sign-in link: signed by the marketplace's key, not expired, for the
/// console, with an id, and not valid for longer than a link may be.
fn link_claims(state: &crate::ApiState, token: &str) -> Option<Claims> {
    let claims = state.jwt.verify(token.trim()).ok()?;
    let now = Utc::now().timestamp();
    let for_console = claims.purpose.as_deref() == Some(LOGIN_LINK_PURPOSE);
    let with_id = claims
        .jti
        .as_deref()
        .is_some_and(|j| !j.is_empty() && j.len() <= 128);
    let short = claims.exp - claims.iat.unwrap_or(now).min(now) <= LOGIN_LINK_MAX_SECONDS;
    let party = returns_domain::BuyerId::parse(&claims.sub).is_ok();
    (for_console && with_id && short && party).then_some(claims)
}

/// Where to go once signed in: a console page, never another site.
fn next_page(next: &str) -> &str {
    let local =
        (next == "/console" || next.starts_with("/console/") || next.starts_with("/console?"))
            && !next.contains('\\')
            && next.bytes().all(|b| b.is_ascii_graphic());
    if local {
        next
    } else {
        "/console"
    }
}

fn refused(req: &HttpRequest, why: Refusal) -> HttpResponse {
    let p = page(req, None);
    let text = match why {
        Refusal::Invalid => p.lang.tr(
            "This sign-in link is invalid or has expired. Ask the marketplace for a new one.",
            "Ce lien de connexion est invalide ou a expiré. Demandez-en un nouveau à la place de marché.",
        ),
        Refusal::Used => p.lang.tr(
            "This sign-in link was used already. Ask the marketplace for a new one.",
            "Ce lien de connexion a déjà servi. Demandez-en un nouveau à la place de marché.",
        ),
    };
    let title = p.lang.tr("Sign-in link", "Lien de connexion");
    answer(
        req,
        StatusCode::UNAUTHORIZED,
        layout(&p, title, html! { p role="alert" { (text) } }),
    )
}

/// `GET /console/login/link?token=&next=`: whose session the link opens, and the button that
/// opens it.
pub(super) async fn show(req: HttpRequest, query: web::Query<LinkForm>) -> HttpResponse {
    let Some(state) = req.app_data::<web::Data<crate::ApiState>>() else {
        return refused(&req, Refusal::Invalid);
    };
    let Some(claims) = link_claims(state, &query.token) else {
        return refused(&req, Refusal::Invalid);
    };
    let p = page(&req, None);
    let lang = p.lang;
    let title = lang.tr("Sign in", "Se connecter");
    answer(
        &req,
        StatusCode::OK,
        layout(
            &p,
            title,
            html! {
                p { (lang.tr("This link signs you in as", "Ce lien vous connecte en tant que")) " "
                    strong id="who" { (i18n::role(lang, claims.role.as_str())) " " (claims.sub) } "." }
                form method="post" action="/console/login/link" {
                    input type="hidden" name="token" value=(query.token.trim());
                    input type="hidden" name="next" value=(next_page(&query.next));
                    button type="submit" { (lang.tr("Continue", "Continuer")) }
                }
            },
        ),
    )
}

/// `POST /console/login/link`: uses the link up and opens the session.
pub(super) async fn redeem(req: HttpRequest, form: web::Form<LinkForm>) -> HttpResponse {
    if !session::from_own_page(&req) {
        return super::from_elsewhere(&req);
    }
    let Some(state) = req.app_data::<web::Data<crate::ApiState>>() else {
        return refused(&req, Refusal::Invalid);
    };
    let Some(link) = link_claims(state, &form.token) else {
        return refused(&req, Refusal::Invalid);
    };
    let (Some(jti), Some(expires_at)) =
        (link.jti.as_deref(), Utc.timestamp_opt(link.exp, 0).single())
    else {
        return refused(&req, Refusal::Invalid);
    };
    match state.service.redeem_login_link(jti, expires_at).await {
        Ok(true) => {}
        Ok(false) => return refused(&req, Refusal::Used),
        Err(e) => {
            tracing::warn!(error = %e, "a sign-in link could not be recorded");
            return HttpResponse::ServiceUnavailable().finish();
        }
    }
    let now = Utc::now().timestamp();
    let session_claims = Claims {
        exp: now + SESSION_SECONDS,
        iat: Some(now),
        nbf: None,
        purpose: None,
        jti: None,
        ..link
    };
    let token = match state.jwt.mint(&session_claims) {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(error = %e, "a console session could not be signed");
            return HttpResponse::ServiceUnavailable().finish();
        }
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next_page(&form.next)))
        .insert_header((header::SET_COOKIE, session::sign_in_cookie(&req, &token)))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_pages_are_places_to_go_next() {
        assert_eq!(
            next_page("/console/track?rma=RMA-1"),
            "/console/track?rma=RMA-1"
        );
        for elsewhere in [
            "https://evil.example/console",
            "//evil.example",
            "/consoler",
            "/v1/returns",
            "/console/\\evil",
            "",
        ] {
            assert_eq!(next_page(elsewhere), "/console", "{elsewhere}");
        }
    }
}
