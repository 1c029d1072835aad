//! The console's sign-in: the token the marketplace gave its user, kept in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/console` (`Secure` when the request came over TLS) and
//! verified on every request with the same checks as the API's `Authorization` header, so an
//! expired token signs the user out. Every form carries a CSRF token derived from the session's
//! token (which a page of another site can neither read nor guess); a form posted without it
//! changes nothing.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use sha2::{Digest, Sha256};

use crate::auth::Caller;

/// The cookie that holds the session's token.
pub(super) const SESSION_COOKIE: &str = "returns_session";

/// The value of cookie `name` sent with `req`.
pub(super) fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A signed-in user: who they are and the token the session holds.
pub(crate) struct Session {
    pub caller: Caller,
    token: String,
}

impl Session {
    /// The session of `req`, if it carries a valid token.
    pub(crate) fn of(req: &HttpRequest) -> Option<Session> {
        let token = cookie(req, SESSION_COOKIE)?;
        let state = req.app_data::<web::Data<crate::ApiState>>()?;
        let caller = crate::auth::caller_of_token(state, &token).ok()?;
        Some(Session { caller, token })
    }

    /// The CSRF token every form of this session carries.
    pub(crate) fn csrf(&self) -> String {
        csrf_of(&self.token)
    }

    /// Whether a posted form's CSRF token is this session's.
    pub(crate) fn csrf_matches(&self, posted: &str) -> bool {
        let expected = self.csrf();
        // Compared in constant time: the comparison must not tell how much of a guess was right.
        expected.len() == posted.len()
            && expected
                .bytes()
                .zip(posted.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

fn csrf_of(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"returns-console-csrf\0")
        .chain_update(token.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a sign-in form was posted from this service's own page. Browsers say where a form
/// comes from: `Sec-Fetch-Site` (every current browser), else `Origin` (which is `null` under the
/// console's `Referrer-Policy: no-referrer`, and then tells nothing). A form posted from another
/// site would sign its visitor into someone else's account (login CSRF), so it is refused. A
/// client that sends neither (not a browser) is not refused for it.
pub(super) fn from_own_page(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None | Some(Ok("null")) => true,
        Some(Ok(origin)) => {
            let info = req.connection_info();
            let own = format!("{}://{}", info.scheme(), info.host());
            origin.eq_ignore_ascii_case(&own)
        }
        Some(Err(_)) => false,
    }
}

/// Whether `req` came over TLS (directly or, as its proxy says, to the proxy).
fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The `Set-Cookie` value that signs `token` in.
pub(super) fn sign_in_cookie(req: &HttpRequest, token: &str) -> String {
    let secure = if over_tls(req) { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that signs out.
pub(super) fn sign_out_cookie(req: &HttpRequest) -> String {
    let secure = if over_tls(req) { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_depends_on_the_session_and_nothing_else() {
        assert_eq!(csrf_of("a.b.c"), csrf_of("a.b.c"));
        assert_ne!(csrf_of("a.b.c"), csrf_of("a.b.d"));
        assert_eq!(csrf_of("a.b.c").len(), 64);
    }
}
