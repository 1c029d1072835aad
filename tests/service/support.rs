//! Test support for the HTTP API: one method per endpoint over `TestApp`, builders for valid
//! request bodies, and assertions on the answers (docs/api.md is the contract they are written against).
//!
//! The request methods return the raw `reqwest::Response`, so that a test can look at any status;
//! the `given_*` and `act` helpers are for the steps a test only sets up, and fail loudly (with the
//! answer's body) when the service does not take them.
// Each area module uses a different part of this; modules are added one by one.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::{Method, RequestBuilder, Response};
use returns_api::auth::{Claims, JwtKeys, Role};
use returns_testkit::TestApp;
use serde_json::{json, Value};

/// The party ids used across the tests.
pub const BUYER: &str = "buyer-1";
pub const OTHER_BUYER: &str = "buyer-2";
pub const SELLER: &str = "seller-1";
pub const OTHER_SELLER: &str = "seller-2";
pub const OPERATOR: &str = "operator-1";
pub const PLATFORM: &str = "marketplace";

/// The lines of the orders `eu_order` and `us_order` build.
pub const HEADPHONES: &str = "line-1";
pub const HEADPHONES_PRICE: i64 = 4999;
pub const SHIRT: &str = "line-2";
pub const SHIRT_PRICE: i64 = 1500;
pub const SHIRTS_BOUGHT: i64 = 2;

/// The secret `TestApp` checks tokens with (`returns_testkit`'s `TEST_JWT_SECRET`, which that crate
/// does not export): needed to sign tokens the testkit will not mint, such as expired ones.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret!";

/// One method per endpoint of docs/api.md, plus tokens for the usual parties and set-up helpers.
pub trait Api {
    fn buyer(&self) -> String;
    fn other_buyer(&self) -> String;
    fn seller(&self) -> String;
    fn other_seller(&self) -> String;
    fn operator(&self) -> String;
    fn platform(&self) -> String;

    /// A request to `path`, with a bearer token when one is given.
    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder;

    async fn register_order(&self, token: &str, body: &Value) -> Response;
    async fn record_delivery(&self, token: &str, order_id: &str, delivered_at: &str) -> Response;
    async fn get_order(&self, token: &str, order_id: &str) -> Response;
    async fn put_policy(&self, token: &str, seller_id: &str, body: &Value) -> Response;
    async fn get_policy(&self, token: &str, seller_id: &str) -> Response;
    async fn open_return(&self, token: &str, body: &Value) -> Response;
    async fn open_return_with_key(&self, token: &str, body: &Value, key: &str) -> Response;
    /// `POST /v1/returns/{id}/<action>`, with the optional `If-Match` (a bare version, quoted here)
    /// and `Idempotency-Key` headers.
    async fn action(
        &self,
        token: &str,
        return_id: &str,
        action: &str,
        body: &Value,
        if_match: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Response;
    async fn get_return(&self, token: &str, return_id: &str) -> Response;
    async fn list_returns(&self, token: &str, query: &[(&str, &str)]) -> Response;
    async fn return_events(&self, token: &str, return_id: &str) -> Response;
    /// `POST /v1/test-clock/advance` as an operator.
    async fn advance_clock(&self, hours: u32) -> Response;

    /// Registers an order as the platform; it must answer 201.
    async fn given_order(&self, body: &Value) -> Value;
    /// Sets a seller's policy as that seller; it must answer 200.
    async fn given_policy(&self, seller_id: &str, body: &Value) -> Value;
    /// Opens a return; it must answer 201.
    async fn given_return(&self, token: &str, body: &Value) -> Value;
    /// Takes an action; it must answer 200. Returns the new return view.
    async fn act(&self, token: &str, return_id: &str, action: &str, body: &Value) -> Value;
    /// The return as the operator sees it; it must answer 200.
    async fn return_view(&self, return_id: &str) -> Value;
    /// The case history as the operator sees it; it must answer 200.
    async fn events_of(&self, return_id: &str) -> Vec<Value>;
    /// Moves the service clock on; it must answer 200.
    async fn given_time_passes(&self, hours: u32);
}

impl Api for TestApp {
    fn buyer(&self) -> String {
        self.token(Role::Buyer, BUYER)
    }

    fn other_buyer(&self) -> String {
        self.token(Role::Buyer, OTHER_BUYER)
    }

    fn seller(&self) -> String {
        self.token(Role::Seller, SELLER)
    }

    fn other_seller(&self) -> String {
        self.token(Role::Seller, OTHER_SELLER)
    }

    fn operator(&self) -> String {
        self.token(Role::Operator, OPERATOR)
    }

    fn platform(&self) -> String {
        self.token(Role::Platform, PLATFORM)
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn register_order(&self, token: &str, body: &Value) -> Response {
        send(
            self.request(Method::POST, "/v1/orders", Some(token))
                .json(body),
        )
        .await
    }

    async fn record_delivery(&self, token: &str, order_id: &str, delivered_at: &str) -> Response {
        let path = format!("/v1/orders/{order_id}/delivery");
        let body = json!({ "delivered_at": delivered_at });
        send(self.request(Method::POST, &path, Some(token)).json(&body)).await
    }

    async fn get_order(&self, token: &str, order_id: &str) -> Response {
        let path = format!("/v1/orders/{order_id}");
        send(self.request(Method::GET, &path, Some(token))).await
    }

    async fn put_policy(&self, token: &str, seller_id: &str, body: &Value) -> Response {
        let path = format!("/v1/sellers/{seller_id}/policy");
        send(self.request(Method::PUT, &path, Some(token)).json(body)).await
    }

    async fn get_policy(&self, token: &str, seller_id: &str) -> Response {
        let path = format!("/v1/sellers/{seller_id}/policy");
        send(self.request(Method::GET, &path, Some(token))).await
    }

    async fn open_return(&self, token: &str, body: &Value) -> Response {
        send(
            self.request(Method::POST, "/v1/returns", Some(token))
                .json(body),
        )
        .await
    }

    async fn open_return_with_key(&self, token: &str, body: &Value, key: &str) -> Response {
        let request = self
            .request(Method::POST, "/v1/returns", Some(token))
            .header("Idempotency-Key", key)
            .json(body);
        send(request).await
    }

    async fn action(
        &self,
        token: &str,
        return_id: &str,
        action: &str,
        body: &Value,
        if_match: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Response {
        let path = format!("/v1/returns/{return_id}/{action}");
        let mut request = self.request(Method::POST, &path, Some(token)).json(body);
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        send(request).await
    }

    async fn get_return(&self, token: &str, return_id: &str) -> Response {
        let path = format!("/v1/returns/{return_id}");
        send(self.request(Method::GET, &path, Some(token))).await
    }

    async fn list_returns(&self, token: &str, query: &[(&str, &str)]) -> Response {
        send(
            self.request(Method::GET, "/v1/returns", Some(token))
                .query(query),
        )
        .await
    }

    async fn return_events(&self, token: &str, return_id: &str) -> Response {
        let path = format!("/v1/returns/{return_id}/events?limit=200");
        send(self.request(Method::GET, &path, Some(token))).await
    }

    async fn advance_clock(&self, hours: u32) -> Response {
        let operator = self.operator();
        let request = self
            .request(Method::POST, "/v1/test-clock/advance", Some(&operator))
            .json(&json!({ "hours": hours }));
        send(request).await
    }

    async fn given_order(&self, body: &Value) -> Value {
        expect_json(self.register_order(&self.platform(), body).await, 201).await
    }

    async fn given_policy(&self, seller_id: &str, body: &Value) -> Value {
        let token = self.token(Role::Seller, seller_id);
        expect_json(self.put_policy(&token, seller_id, body).await, 200).await
    }

    async fn given_return(&self, token: &str, body: &Value) -> Value {
        expect_json(self.open_return(token, body).await, 201).await
    }

    async fn act(&self, token: &str, return_id: &str, action: &str, body: &Value) -> Value {
        let res = self
            .action(token, return_id, action, body, None, None)
            .await;
        expect_json(res, 200).await
    }

    async fn return_view(&self, return_id: &str) -> Value {
        expect_json(self.get_return(&self.operator(), return_id).await, 200).await
    }

    async fn events_of(&self, return_id: &str) -> Vec<Value> {
        let res = self.return_events(&self.operator(), return_id).await;
        items_of(&expect_json(res, 200).await)
    }

    async fn given_time_passes(&self, hours: u32) {
        expect_success(self.advance_clock(hours).await).await;
    }
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("request sent")
}

// --- bodies -----------------------------------------------------------------------------------

/// A valid order of `BUYER` from `SELLER`: headphones (1 × 49.99) and shirts (2 × 15.00),
/// delivered `delivered_days_ago` (`None`: not delivered yet).
pub fn order(
    order_id: &str,
    jurisdiction: &str,
    currency: &str,
    delivered_days_ago: Option<u64>,
) -> Value {
    let placed_days_ago = delivered_days_ago.unwrap_or(0) + 3;
    let mut body = json!({
        "order_id": order_id,
        "buyer_id": BUYER,
        "seller_id": SELLER,
        "currency": currency,
        "jurisdiction": jurisdiction,
        "placed_at": days_ago(placed_days_ago),
        "lines": [
            {
                "line_id": HEADPHONES,
                "sku": "SKU-HP-100",
                "title": "Wireless headphones",
                "category": "electronics",
                "quantity": 1,
                "unit_price_minor": HEADPHONES_PRICE
            },
            {
                "line_id": SHIRT,
                "sku": "SKU-TS-200",
                "title": "Cotton T-shirt",
                "category": "apparel",
                "quantity": SHIRTS_BOUGHT,
                "unit_price_minor": SHIRT_PRICE
            }
        ]
    });
    if let Some(days) = delivered_days_ago {
        body["delivered_at"] = json!(days_ago(days));
    }
    body
}

/// A German order in euros, delivered two days ago.
pub fn eu_order(order_id: &str) -> Value {
    order(order_id, "DE", "EUR", Some(2))
}

/// A US order in dollars, delivered two days ago.
pub fn us_order(order_id: &str) -> Value {
    order(order_id, "US", "USD", Some(2))
}

/// The body of `POST /v1/returns` asking for a refund of `items` (line id, quantity).
pub fn return_request(order_id: &str, items: &[(&str, i64)], reason: &str) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(line_id, quantity)| json!({ "line_id": line_id, "quantity": quantity }))
        .collect();
    json!({
        "order_id": order_id,
        "items": items,
        "reason": reason,
        "description": "Stopped working after a day",
        "resolution": "refund"
    })
}

/// A refund request for the headphones of `order_id`, as defective.
pub fn headphones_return(order_id: &str) -> Value {
    return_request(order_id, &[(HEADPHONES, 1)], "defective")
}

pub fn ship_body() -> Value {
    json!({ "carrier": "DHL", "tracking_number": "JD014600006281230044" })
}

/// The carrier reports the parcel delivered to the seller just now.
pub fn delivered_body() -> Value {
    json!({ "status": "delivered", "at": just_now() })
}

pub fn refund_body(amount_minor: i64) -> Value {
    json!({ "amount_minor": amount_minor, "method": "original_payment", "reference": "psp-4711" })
}

/// Takes a return of a fresh order through request, acceptance, shipping, arrival, inspection
/// and refund. Returns its id.
pub async fn a_refunded_return(app: &TestApp, order_id: &str) -> String {
    app.given_order(&eu_order(order_id)).await;
    let (buyer, seller, platform) = (app.buyer(), app.seller(), app.platform());
    let id = id_of(&app.given_return(&buyer, &headphones_return(order_id)).await);
    app.act(&seller, &id, "accept", &json!({})).await;
    app.act(&buyer, &id, "ship", &ship_body()).await;
    app.act(&platform, &id, "carrier-update", &delivered_body())
        .await;
    app.act(
        &seller,
        &id,
        "inspect",
        &json!({"grade": "as_new", "refund_amount_minor": HEADPHONES_PRICE}),
    )
    .await;
    app.act(&platform, &id, "refund", &refund_body(HEADPHONES_PRICE))
        .await;
    id
}

// --- answers ----------------------------------------------------------------------------------

/// Asserts the status (showing the body when it is not the expected one) and parses the JSON body.
pub async fn expect_json(res: Response, status: u16) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.expect("body read");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a 2xx answer (showing the body when it is not), whatever its body.
pub async fn expect_success(res: Response) {
    let status = res.status();
    let text = res.text().await.expect("body read");
    assert!(status.is_success(), "status {status}; body: {text}");
}

/// Like `expect_json`, also returning the `ETag` header.
pub async fn expect_json_with_etag(res: Response, status: u16) -> (Value, String) {
    let etag = res
        .headers()
        .get("etag")
        .map(|value| value.to_str().expect("ASCII ETag").to_owned())
        .unwrap_or_else(|| panic!("no ETag header on a {} answer", res.status()));
    (expect_json(res, status).await, etag)
}

/// Asserts an `application/problem+json` answer with `status` and `code`, and every field docs/api.md
/// names (`type`, `title`, `status`, `detail`, `code`). Returns the problem.
pub async fn expect_problem(res: Response, status: u16, code: &str) -> Value {
    let problem = expect_any_problem(res, &[status]).await;
    assert_eq!(problem["code"], code, "unexpected code: {problem}");
    problem
}

/// Asserts a problem+json answer with one of `statuses`, whatever its code. Returns the problem.
pub async fn expect_any_problem(res: Response, statuses: &[u16]) -> Value {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body read");
    assert!(
        statuses.contains(&status),
        "status {status}, expected one of {statuses:?}; body: {text}"
    );
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type:?} on a {status} answer; body: {text}"
    );
    let problem: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    for field in ["type", "title", "detail", "code"] {
        assert!(
            problem[field].is_string(),
            "problem without a string {field:?}: {problem}"
        );
    }
    assert_eq!(problem["status"], status, "problem status field: {problem}");
    assert!(
        !problem["code"].as_str().unwrap_or_default().is_empty(),
        "empty code: {problem}"
    );
    problem
}

/// The `field`s of a validation problem's `errors`, each checked to come with a message.
#[track_caller]
pub fn error_fields(problem: &Value) -> Vec<String> {
    let errors = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors list: {problem}"));
    errors
        .iter()
        .map(|error| {
            assert!(
                error["message"].is_string(),
                "error without a message: {error}"
            );
            error["field"]
                .as_str()
                .unwrap_or_else(|| panic!("error without a field: {error}"))
                .to_owned()
        })
        .collect()
}

/// Asserts that a validation problem names `field` (or a part of it, such as `items[0].quantity`
/// for `items`).
#[track_caller]
pub fn assert_names_field(problem: &Value, field: &str) {
    let fields = error_fields(problem);
    let names = |name: &String| {
        name == field
            || name.starts_with(&format!("{field}."))
            || name.starts_with(&format!("{field}["))
    };
    assert!(
        fields.iter().any(names),
        "no error on {field:?}; errors on {fields:?}: {problem}"
    );
}

/// The `items` of a listing (a bare array is accepted too).
#[track_caller]
pub fn items_of(listing: &Value) -> Vec<Value> {
    listing
        .as_array()
        .or_else(|| listing["items"].as_array())
        .unwrap_or_else(|| panic!("not a listing: {listing}"))
        .clone()
}

/// The `type`s of a case history, in order.
#[track_caller]
pub fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| {
            event["type"]
                .as_str()
                .unwrap_or_else(|| panic!("event without a type: {event}"))
                .to_owned()
        })
        .collect()
}

/// A view's id, as a string.
#[track_caller]
pub fn id_of(view: &Value) -> String {
    view["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {view}"))
        .to_owned()
}

/// A view's `version`.
#[track_caller]
pub fn version_of(view: &Value) -> u64 {
    view["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no version: {view}"))
}

/// The strings of a JSON array field, e.g. `policy.rules` or `allowed_actions`, sorted.
#[track_caller]
pub fn strings(value: &Value) -> Vec<String> {
    let mut list: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("not a string: {item}"))
                .to_owned()
        })
        .collect();
    list.sort();
    list
}

/// Sorted owned strings, to compare with `strings`.
pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    list.sort();
    list
}

// --- tokens -----------------------------------------------------------------------------------

/// A token for `claims` signed with `secret` (HS256).
pub fn token_signed_with(secret: &[u8], claims: &Claims) -> String {
    JwtKeys::hs256(secret)
        .expect("secret long enough")
        .mint(claims)
        .expect("token")
}

/// Buyer claims for `BUYER`, expiring `exp_from_now` seconds from now (negative: in the past).
pub fn buyer_claims(exp_from_now: i64) -> Claims {
    let now = unix_now();
    Claims {
        sub: BUYER.to_owned(),
        role: Role::Buyer,
        exp: now + exp_from_now,
        iat: Some(now),
        nbf: None,
        iss: None,
        aud: None,
        purpose: None,
        jti: None,
    }
}

/// An unsigned token (`alg: none`) with valid buyer claims.
pub fn unsigned_token() -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = format!(
        r#"{{"sub":"{BUYER}","role":"buyer","exp":{}}}"#,
        unix_now() + 3600
    );
    format!("{header}.{}.", base64url(claims.as_bytes()))
}

/// Base64url without padding, as in JWTs.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

// --- time -------------------------------------------------------------------------------------

pub fn unix_now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit")
}

/// RFC 3339 (UTC) for `days` days before now.
pub fn days_ago(days: u64) -> String {
    let days = i64::try_from(days).expect("days fit");
    rfc3339(unix_now() - days * 86_400)
}

/// RFC 3339 (UTC) for now, rounded up to the next whole second so that it never precedes what the
/// service recorded a moment ago (the service accepts reports up to a few minutes ahead).
pub fn just_now() -> String {
    rfc3339(unix_now() + 1)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[test]
fn dates_are_formatted_as_rfc3339() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_827_696), "2000-02-29T12:34:56Z");
    assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
}

#[test]
fn base64url_has_no_padding() {
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}
