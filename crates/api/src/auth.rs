//! Bearer tokens: HS256 JWTs signed by the marketplace (or by the CLI, for development).
//!
//! Claims are `sub` (the party id), `role` and `exp` (required), and `nbf`, `iss` and `aud`
//! (optional; `iss` and `aud` are required and checked when the service is configured with them).
//! Times are always checked against the real clock, never the service's test clock.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The secret must be at least this long: a short HMAC key can be brute-forced offline.
pub const MIN_SECRET_BYTES: usize = 32;

/// Who a caller is to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Buyer,
    Seller,
    Operator,
    Platform,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Seller => "seller",
            Role::Operator => "operator",
            Role::Platform => "platform",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "buyer" => Ok(Role::Buyer),
            "seller" => Ok(Role::Seller),
            "operator" => Ok(Role::Operator),
            "platform" => Ok(Role::Platform),
            other => Err(format!(
                "unknown role {other:?}: buyer, seller, operator or platform"
            )),
        }
    }
}

/// The claims the service reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not valid before this time (seconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// What the token is for when it is not an API token: [`LOGIN_LINK_PURPOSE`] for a console
    /// sign-in link, which the API refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The token's unique id; a sign-in link carries one so that it works once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The `purpose` of a console sign-in link (docs/console.md, "Signing in").
pub const LOGIN_LINK_PURPOSE: &str = "console_login";

/// The longest a sign-in link may be valid: it travels in a URL.
pub const LOGIN_LINK_MAX_SECONDS: i64 = 15 * 60;

impl Claims {
    /// The claims of a sign-in link for `sub` as `role`, valid `ttl` seconds from `now` (Unix
    /// seconds), carrying the issuer and audience the service checks.
    pub fn login_link(sub: &str, role: Role, now: i64, ttl: i64, checks: &TokenChecks) -> Claims {
        Claims {
            sub: sub.to_owned(),
            role,
            exp: now + ttl,
            iat: Some(now),
            nbf: None,
            iss: checks.issuer.clone(),
            aud: checks.audience.clone(),
            purpose: Some(LOGIN_LINK_PURPOSE.to_owned()),
            jti: Some(uuid::Uuid::new_v4().to_string()),
        }
    }
}

/// Who may issue the tokens the service accepts, and for whom (`RETURNS_JWT_ISSUER`,
/// `RETURNS_JWT_AUDIENCE`): when set, a token must carry that `iss` / `aud`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenChecks {
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("cannot sign token: {0}")]
    Sign(String),
}

/// The keys tokens are signed and checked with.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(HS256, secret hidden)")
    }
}

impl JwtKeys {
    /// HS256 with a shared secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        JwtKeys::hs256_checking(secret, &TokenChecks::default())
    }

    /// [`JwtKeys::hs256`], also requiring the issuer and audience of `checks` when they are set.
    pub fn hs256_checking(secret: &[u8], checks: &TokenChecks) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::WeakSecret);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        let mut required = vec!["exp", "sub"];
        validation.validate_exp = true;
        validation.validate_nbf = true;
        match &checks.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &checks.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        // Clocks of the marketplace and the service may differ a little.
        validation.leeway = 5;
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        })
    }

    /// Signs `claims` (used by the CLI's `token` command and by tests).
    pub fn mint(&self, claims: &Claims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// Checks signature, algorithm and expiry, and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

/// The authenticated caller of a request, as a domain actor.
#[derive(Debug, Clone)]
pub struct Caller(pub returns_domain::Actor);

impl Caller {
    pub fn role(&self) -> Role {
        match self.0.role {
            returns_domain::Role::Buyer => Role::Buyer,
            returns_domain::Role::Seller => Role::Seller,
            returns_domain::Role::Operator => Role::Operator,
            // Tokens never carry `system`; the scheduler acts in-process.
            returns_domain::Role::Platform | returns_domain::Role::System => Role::Platform,
        }
    }
}

/// The caller of `req`, counted against its rate limit (docs/api.md, "Rate limits"); a request
/// that fails authentication counts against its client address instead.
fn authenticate(req: &HttpRequest) -> Result<Caller, crate::problem::Problem> {
    use crate::problem::Problem;
    let state = req
        .app_data::<web::Data<crate::ApiState>>()
        .ok_or_else(|| Problem::unauthorized("authentication is not configured"))?;
    match verified_caller(req, state) {
        Ok(caller) => {
            state.limits.check_caller(caller.role(), &caller.0.id)?;
            Ok(caller)
        }
        Err(problem) => {
            state
                .limits
                .check_unauthenticated(req.peer_addr().map(|a| a.ip()))?;
            Err(problem)
        }
    }
}

fn verified_caller(
    req: &HttpRequest,
    state: &crate::ApiState,
) -> Result<Caller, crate::problem::Problem> {
    use crate::problem::Problem;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    caller_of_token(state, token)
}

/// The caller a token names, with the checks of every request: signature, expiry, issuer and
/// audience when configured, and a valid party id. The console's session uses it too.
pub(crate) fn caller_of_token(
    state: &crate::ApiState,
    token: &str,
) -> Result<Caller, crate::problem::Problem> {
    use crate::problem::Problem;
    let claims = state
        .jwt
        .verify(token)
        .map_err(|_| Problem::unauthorized("the token is invalid or expired"))?;
    if claims.purpose.is_some() {
        return Err(Problem::unauthorized(
            "this token is a console sign-in link, not an API token",
        ));
    }
    if returns_domain::BuyerId::parse(&claims.sub).is_err() {
        return Err(Problem::unauthorized(
            "the token's sub is not a valid party id",
        ));
    }
    let role = match claims.role {
        Role::Buyer => returns_domain::Role::Buyer,
        Role::Seller => returns_domain::Role::Seller,
        Role::Operator => returns_domain::Role::Operator,
        Role::Platform => returns_domain::Role::Platform,
    };
    Ok(Caller(returns_domain::Actor::new(role, claims.sub)))
}

impl FromRequest for Caller {
    type Error = crate::problem::Problem;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "buyer-1".into(),
            role: Role::Buyer,
            exp,
            iat: None,
            nbf: None,
            iss: None,
            aud: None,
            purpose: None,
            jti: None,
        }
    }

    #[test]
    fn a_token_not_yet_valid_is_refused() {
        let keys = JwtKeys::hs256(SECRET).unwrap();
        let later = Claims {
            nbf: Some(now() + 600),
            ..claims(now() + 3600)
        };
        let token = keys.mint(&later).unwrap();
        assert!(matches!(keys.verify(&token), Err(AuthError::Invalid(_))));
        let valid_now = Claims {
            nbf: Some(now() - 1),
            ..claims(now() + 3600)
        };
        assert!(keys.verify(&keys.mint(&valid_now).unwrap()).is_ok());
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured_and_ignored_otherwise() {
        let checks = TokenChecks {
            issuer: Some("https://market.example".into()),
            audience: Some("returns".into()),
        };
        let strict = JwtKeys::hs256_checking(SECRET, &checks).unwrap();
        let lax = JwtKeys::hs256(SECRET).unwrap();
        let with = |iss: Option<&str>, aud: Option<&str>| {
            let claims = Claims {
                iss: iss.map(str::to_owned),
                aud: aud.map(str::to_owned),
                purpose: None,
                jti: None,
                ..claims(now() + 60)
            };
            lax.mint(&claims).unwrap()
        };
        let good = with(Some("https://market.example"), Some("returns"));
        assert!(strict.verify(&good).is_ok());
        for bad in [
            with(None, Some("returns")),
            with(Some("https://market.example"), None),
            with(Some("https://other.example"), Some("returns")),
            with(Some("https://market.example"), Some("other-service")),
        ] {
            assert!(strict.verify(&bad).is_err());
        }
        // Without configured checks, `iss` and `aud` in a token change nothing.
        assert!(lax.verify(&good).is_ok());
        assert!(lax.verify(&with(None, None)).is_ok());
    }

    #[test]
    fn a_minted_token_verifies() {
        let keys = JwtKeys::hs256(SECRET).unwrap();
        let minted = claims(now() + 60);
        let token = keys.mint(&minted).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), minted);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = JwtKeys::hs256(SECRET).unwrap();
        let token = keys.mint(&claims(now() - 60)).unwrap();
        assert!(keys.verify(&token).is_err());
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let keys = JwtKeys::hs256(SECRET).unwrap();
        let other = JwtKeys::hs256(b"another-secret-another-secret-xx").unwrap();
        let token = other.mint(&claims(now() + 60)).unwrap();
        assert!(keys.verify(&token).is_err());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        use base64_free::encode_segment;
        let keys = JwtKeys::hs256(SECRET).unwrap();
        let header = encode_segment(br#"{"alg":"none","typ":"JWT"}"#);
        let body = encode_segment(
            format!(r#"{{"sub":"buyer-1","role":"buyer","exp":{}}}"#, now() + 60).as_bytes(),
        );
        assert!(keys.verify(&format!("{header}.{body}.")).is_err());
        assert!(keys.verify(&format!("{header}.{body}")).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(JwtKeys::hs256(b"short").unwrap_err(), AuthError::WeakSecret);
    }

    /// Base64url without padding, enough to forge a token by hand in a test.
    mod base64_free {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        pub fn encode_segment(bytes: &[u8]) -> String {
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    let idx = (n >> (18 - 6 * i)) & 63;
                    out.push(ALPHABET[idx as usize] as char);
                }
            }
            out
        }
    }
}
