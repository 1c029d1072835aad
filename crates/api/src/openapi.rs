//! The OpenAPI 3 document of the HTTP API, generated from the code and served at
//! `GET /openapi.json`.
//!
//! This module owns the document's assembly ([`ApiDoc`]): the `#[utoipa::path]` of every handler,
//! the `ToSchema` request bodies of `routes` and response views of `render`, the vocabulary schemas
//! below (closed sets of strings, listed from the domain's own `ALL` constants so that the document
//! cannot drift from what the API accepts), the problem+json answers, and the `bearer` security
//! scheme. `POST /v1/returns/{id}/{action}` is one handler in the code; the document lists one path
//! per action instead, each with its own body, because that is what a client needs to know.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use returns_domain::returns::{roles_for, Action};
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Required, Response};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};
use uuid::Uuid;

use crate::orders::{DeliveryBody, OrderLineBody, RegisterOrderBody};
use crate::problem::{FieldError, Problem};
use crate::returns::{
    AcceptBody, CarrierUpdateBody, DecideBody, DeclineBody, EscalateBody, EvidenceBody,
    GrantExceptionBody, InspectBody, ItemBody, LabelBody, MessageBody, OfferBody, OpenReturnBody,
    RateBody, ReceiveBody, RefundBody, ShipBody,
};
use crate::test_clock::AdvanceBody;

/// The whole document. Every handler of the API is listed in `paths`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Returns arbitration service",
        description = "Returns, refunds and disputes between buyers and sellers of a marketplace. \
            Errors are `application/problem+json` with a stable `code`. Every `/v1` path needs \
            `Authorization: Bearer <JWT>` (claims `sub`, `role`, `exp`)."
    ),
    paths(
        crate::orders::register_order,
        crate::orders::get_order,
        crate::orders::record_delivery,
        crate::policies::put_policy,
        crate::policies::get_policy,
        crate::returns::open_return,
        crate::returns::list_returns,
        crate::returns::get_return,
        crate::returns::return_by_rma,
        crate::returns::return_events,
        crate::returns::return_messages,
        crate::returns::return_action,
        crate::test_clock::advance_clock,
        crate::analytics::analytics_summary,
        crate::analytics::satisfaction_by_seller,
        crate::disputes::list_disputes,
        crate::disputes::recommendation,
        crate::flags::list_flags,
        crate::flags::get_flag,
        crate::flags::review_flag,
        crate::flags::party_risk,
        crate::webhooks::create_webhook,
        crate::webhooks::list_webhooks,
        crate::webhooks::get_webhook,
        crate::webhooks::delete_webhook,
        crate::webhooks::list_deliveries,
        crate::webhooks::retry_delivery,
        crate::erasure::erase_buyer,
        crate::whatif::policy_what_if,
        crate::credit::get_store_credit,
        crate::credit::credit_movements,
        crate::credit::spend_credit,
        crate::credit::expire_credit,
        crate::health::healthz,
        crate::health::readyz,
        serve,
    ),
    components(schemas(
        Problem,
        FieldError,
        crate::render::ReturnView,
        crate::render::ReturnPage,
        crate::render::OrderView,
        crate::render::PolicyView,
        crate::render::EventView,
        crate::render::EventPage,
        crate::render::MessageView,
        crate::render::MessagePage,
        crate::render::ClockView,
        crate::health::HealthStatus,
        crate::erasure::ErasureView,
        crate::webhooks::WebhookBody,
        crate::webhooks::WebhookView,
        crate::webhooks::WebhookPage,
        crate::webhooks::DeliveryView,
        crate::webhooks::DeliveryPage,
        crate::webhooks::AttemptView,
        crate::webhooks::DeliveryStatusView,
        RegisterOrderBody,
        OrderLineBody,
        DeliveryBody,
        PolicyBody,
        OpenReturnBody,
        ItemBody,
        EvidenceBody,
        LabelBody,
        AcceptBody,
        DeclineBody,
        OfferBody,
        ShipBody,
        CarrierUpdateBody,
        ReceiveBody,
        InspectBody,
        RefundBody,
        EscalateBody,
        MessageBody,
        GrantExceptionBody,
        RateBody,
        crate::returns::MethodBody,
        crate::returns::AppealBody,
        crate::returns::ShipReplacementBody,
        crate::returns::ReplacementItemBody,
        DecideBody,
        EmptyBody,
        AdvanceBody,
        Status,
        Outcome,
        Reason,
        Resolution,
        ReturnAction,
        Role,
    )),
    modifiers(&BearerAuth, &ActionPaths),
    tags(
        (name = "orders", description = "Orders as facts from the marketplace."),
        (name = "policies", description = "Sellers' return policies, versioned."),
        (name = "returns", description = "Return cases: opening, the actions of their life, their history."),
        (name = "operations", description = "Health, readiness and this document."),
        (name = "store-credit", description = "Buyers' store-credit ledgers: issued by refunds paid as store credit, spent and expired by the platform."),
        (name = "test-clock", description = "Moving the service's clock, only when started with `RETURNS_TEST_CLOCK=1`."),
    )
)]
pub struct ApiDoc;

/// Built once: the document only depends on the code.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi_document",
    responses((status = 200, description = "This document", body = Object)),
)]
pub(crate) async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(&*DOCUMENT)
}

/// The document, built once.
pub(crate) fn document() -> &'static utoipa::openapi::OpenApi {
    &DOCUMENT
}

// ----- vocabularies -----

/// Defines a schema-only type per closed set of strings, whose values are the domain's own list.
macro_rules! vocabulary {
    ($($name:ident: $description:literal => $values:expr;)+) => {$(
        #[doc = $description]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .enum_values(Some($values.iter().map(|value| value.as_str())))
                    .into()
            }
        }

        impl ToSchema for $name {}
    )+};
}

vocabulary! {
    Status: "Where a return stands." => returns_domain::returns::Status::ALL;
    Outcome: "How a closed return ended." => returns_domain::returns::Outcome::ALL;
    Reason: "Why the buyer returns the items." => returns_domain::Reason::ALL;
    Resolution: "What the buyer asks for." => returns_domain::Resolution::ALL;
    ReturnAction: "An action on a return (`POST /v1/returns/{id}/<action>`)." =>
        Action::ON_A_RETURN;
    Role: "Who acted: a token's role, or `system` for the service's deadline scheduler." =>
        returns_domain::Role::ALL;
    EvidenceKind: "What a piece of evidence is." => returns_domain::EvidenceKind::ALL;
    OfferKind: "What the seller offers instead of the request." =>
        returns_domain::returns::OfferKind::ALL;
    CarrierStatus: "What the carrier reports." => returns_domain::returns::CarrierStatus::ALL;
    Grade: "The seller's inspection grade of a returned item." => returns_domain::Grade::ALL;
    PayoutMethod: "How a refund was paid." => returns_domain::returns::PayoutMethod::ALL;
    ExceptionRule: "A policy rule a seller or operator may waive as goodwill." =>
        returns_domain::returns::ExceptionRule::ALL;
    DecisionOutcome: "An operator's decision on a dispute." =>
        returns_domain::returns::DecisionOutcome::ALL;
    FundedBy: "Who pays a refund an operator decided." =>
        returns_domain::returns::FundedBy::ALL;
    OnSellerTimeout: "What happens when the seller does not answer a request in time." =>
        returns_domain::policy::OnSellerTimeout::ALL;
    RefundMethod: "A way of settling a return that a seller's policy offers." =>
        returns_domain::policy::RefundMethod::ALL;
    MethodKind: "How the item goes back: a mail label, a relay point, a carrier pickup, a store." =>
        returns_domain::methods::MethodKind::ALL;
    BuyerPays: "Who pays for a return method: as the reason says, never, or always." =>
        returns_domain::methods::BuyerPays::ALL;
}

/// One return method a policy offers.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct MethodTermsBody {
    pub method: MethodKind,
    /// ["by_reason"]: `by_reason` (as `buyer_pays_return_shipping_for` says), `never`, `always`
    /// (never under the EU conformity guarantee).
    pub buyer_pays: Option<BuyerPays>,
    /// What the method costs the buyer where the buyer pays, deducted from the refund; absent:
    /// the policy's `return_shipping_fee_minor`.
    #[schema(minimum = 0)]
    pub fee_minor: Option<i64>,
}

// ----- request parts documented here only -----

/// The body of an action that takes none: `{}` (any JSON is accepted and ignored).
#[derive(Debug, ToSchema)]
pub struct EmptyBody {}

/// The body of `PUT /v1/sellers/{seller_id}/policy`: every field optional, absent or null taking
/// the default in brackets; unknown fields are ignored, so a policy read back may be sent again.
///
/// Only for the document: the service parses the policy with `SellerPolicy::parse`, which reports
/// every bad field at once.
#[derive(Debug, ToSchema)]
pub struct PolicyBody {
    /// Days from delivery [30].
    #[schema(minimum = 0, maximum = 365)]
    pub return_window_days: Option<u32>,
    /// Categories the seller does not take back [[]].
    pub non_returnable_categories: Option<Vec<String>>,
    /// For `changed_mind` only [0].
    #[schema(minimum = 0, maximum = 100)]
    pub restocking_fee_percent: Option<u32>,
    /// [["changed_mind", "size_fit"]].
    pub buyer_pays_return_shipping_for: Option<Vec<Reason>>,
    /// What a return label costs the buyer where the buyer pays return shipping, deducted from
    /// the refund [0].
    #[schema(minimum = 0)]
    pub return_shipping_fee_minor: Option<i64>,
    /// Returns up to this amount are approved at once [0].
    #[schema(minimum = 0)]
    pub auto_approve_max_minor: Option<i64>,
    /// Returns up to this amount are refunded without sending the item back [0].
    #[schema(minimum = 0)]
    pub returnless_refund_max_minor: Option<i64>,
    /// [3].
    #[schema(minimum = 1, maximum = 30)]
    pub seller_response_business_days: Option<u32>,
    /// ["escalate"].
    pub on_seller_timeout: Option<OnSellerTimeout>,
    /// [10].
    #[schema(minimum = 1, maximum = 90)]
    pub ship_by_days: Option<u32>,
    /// [3].
    #[schema(minimum = 1, maximum = 30)]
    pub inspect_business_days: Option<u32>,
    /// [["original_payment"]].
    pub refund_methods: Option<Vec<RefundMethod>>,
    /// [0].
    #[schema(minimum = 0)]
    pub store_credit_bonus_percent: Option<u32>,
    /// The ways the item may go back, 1 to 4, each once [[{"method": "mail", "buyer_pays":
    /// "by_reason"}]].
    pub return_methods: Option<Vec<MethodTermsBody>>,
}

/// The optional headers of a command (any POST or PUT of `/v1`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct CommandHeaders {
    /// `"<version>"` (the `ETag` of an earlier answer): if the resource has moved on, 409
    /// `version_conflict` and nothing is written.
    #[param(
        rename = "If-Match",
        example = "\"3\"",
        pattern = r#"^(\*|(W/)?"[0-9]+")$"#,
        nullable = false
    )]
    pub if_match: Option<String>,
    /// 1 to 255 characters: a retry with the same key, caller and body within 24 hours gets the
    /// first answer again and writes nothing new; the same key with another body is 422
    /// `idempotency_key_reused`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        nullable = false
    )]
    pub idempotency_key: Option<String>,
    /// A UUID recorded as the correlation id of the events written.
    #[param(rename = "X-Request-Id", nullable = false)]
    pub request_id: Option<Uuid>,
}

// ----- problem answers -----

fn problem_description(status: u16) -> &'static str {
    match status {
        401 => "`unauthorized`: the bearer token is missing, malformed or expired",
        403 => "`forbidden`: the caller's role may never do this",
        404 => "`not_found`: no such resource, or not one the caller may see",
        409 => {
            "`invalid_transition` (not allowed in the current state; `detail` says why) or \
                `version_conflict` (`If-Match` is stale, or another body for an existing id) or \
                `contended` (concurrent commands kept colliding; nothing was written, retry)"
        }
        413 => "`payload_too_large`: the body is over the limit (1 MiB by default)",
        429 => {
            "`rate_limited`: the caller sent too many requests; retry after `Retry-After` seconds"
        }
        422 => "`validation_failed` (with `errors`) or `idempotency_key_reused`",
        503 => {
            "`unavailable`: the database cannot be reached, is restarting or timed out; \
                retry after `Retry-After` seconds"
        }
        _ => "a problem",
    }
}

/// `application/problem+json` answers with these statuses.
fn problems(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|&status| {
            let response = ResponseBuilder::new()
                .description(problem_description(status))
                .content(
                    "application/problem+json",
                    Content::new(Some(Ref::from_schema_name(Problem::name()))),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// Defines a type per set of problem answers, for `responses(...)` of `#[utoipa::path]`.
macro_rules! problem_set {
    ($($(#[doc = $doc:literal])+ $name:ident: [$($status:literal),+];)+) => {$(
        $(#[doc = $doc])+
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problems(&[$($status),+])
            }
        }
    )+};
}

problem_set! {
    /// Reading one resource by id.
    ReadProblems: [401, 404, 429, 503];
    /// Reading with query or path values that are checked.
    QueryProblems: [401, 422, 429, 503];
    /// A command that creates or replaces a resource named in its body or path.
    CreateProblems: [401, 403, 409, 413, 422, 429, 503];
    /// A command on an existing resource.
    CommandProblems: [401, 403, 404, 409, 413, 422, 429, 503];
    /// Moving the test clock (404 when the test clock is off).
    ClockProblems: [401, 403, 404, 413, 422, 429, 503];
    /// Operator reports: checked query values, and roles that may never read them.
    ReportProblems: [401, 403, 422, 429, 503];
}

// ----- modifiers -----

/// The `bearer` scheme that every `/v1` operation requires.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with claims `sub` (the party id), `role` (`buyer`, `seller`, \
                         `operator` or `platform`) and `exp`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the document says of one action of `POST /v1/returns/{id}/<action>`.
struct ActionDoc {
    summary: &'static str,
    from: &'static str,
    body: Cow<'static, str>,
}

/// The body schema and description of each action; `None` for the actions not taken on that
/// path. The match is exhaustive so that a new action of the domain cannot go undocumented.
fn action_doc(action: Action) -> Option<ActionDoc> {
    let (summary, from, body) = match action {
        Action::Accept => (
            "Accept the request; with `returnless` the buyer keeps the item and a refund is due",
            "requested",
            AcceptBody::name(),
        ),
        Action::Decline => ("Decline the request", "requested", DeclineBody::name()),
        Action::Offer => (
            "Offer a partial refund, an exchange or store credit instead",
            "requested",
            OfferBody::name(),
        ),
        Action::AcceptOffer => (
            "Accept the seller's offer",
            "offer_pending",
            EmptyBody::name(),
        ),
        Action::DeclineOffer => (
            "Decline the seller's offer",
            "offer_pending",
            EmptyBody::name(),
        ),
        Action::Ship => (
            "Report the item shipped back",
            "authorized",
            ShipBody::name(),
        ),
        Action::CarrierUpdate => (
            "Report tracking news from the carrier",
            "authorized, in_transit",
            CarrierUpdateBody::name(),
        ),
        Action::Receive => (
            "Confirm the item arrived",
            "authorized, in_transit",
            ReceiveBody::name(),
        ),
        Action::Inspect => (
            "Grade the item and set the refund; a refund of 0 is a refusal and needs evidence",
            "delivered",
            InspectBody::name(),
        ),
        Action::Refund => (
            "Report that the refund was paid",
            "refund_pending",
            RefundBody::name(),
        ),
        Action::Escalate => (
            "Escalate to an operator",
            "any but closed and escalated (from declined only within the escalation window)",
            EscalateBody::name(),
        ),
        Action::Withdraw => (
            "Withdraw the return",
            "any before delivered",
            EmptyBody::name(),
        ),
        Action::Messages => ("Post a message", "any", MessageBody::name()),
        Action::Evidence => (
            "Add a piece of evidence",
            "any but closed",
            EvidenceBody::name(),
        ),
        Action::GrantException => (
            "Waive a policy rule as goodwill",
            "requested, declined, escalated",
            GrantExceptionBody::name(),
        ),
        Action::Assign => (
            "Take the dispute (assign it to oneself)",
            "escalated",
            EmptyBody::name(),
        ),
        Action::Decide => ("Decide the dispute", "escalated", DecideBody::name()),
        Action::ShipReplacement => (
            "Ship the replacement of an exchange (by default the returned items again)",
            "exchange_pending",
            crate::returns::ShipReplacementBody::name(),
        ),
        Action::OutOfStock => (
            "Report that no replacement can be sent: the requested amount is refunded instead",
            "exchange_pending",
            EmptyBody::name(),
        ),
        Action::Appeal => (
            "Appeal an operator's decision (the party it went against, once, within 7 days, with new evidence); another operator decides, finally",
            "closed (denied by a decision), refund_pending or authorized after a decision, before any refund or shipment",
            crate::returns::AppealBody::name(),
        ),
        Action::ChooseMethod => (
            "Choose how the item goes back: mail, a relay point, a carrier pickup or a store",
            "requested, offer_pending, authorized",
            crate::returns::MethodBody::name(),
        ),
        Action::Rate => (
            "Rate how the return was handled (1 to 5, once, within 30 days of closing)",
            "closed",
            RateBody::name(),
        ),
        Action::Open | Action::ApplyDeadline => return None,
    };
    Some(ActionDoc {
        summary,
        from,
        body,
    })
}

/// The path of the one action handler as `#[utoipa::path]` declares it.
const ACTION_TEMPLATE: &str = "/v1/returns/{id}/{action}";

/// Replaces the generic action path by one path per action, each with its body and who may take
/// it (from the domain's `roles_for`).
struct ActionPaths;

impl Modify for ActionPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = &mut openapi.paths.paths;
        let Some(template) = paths.remove(ACTION_TEMPLATE).and_then(|item| item.post) else {
            return;
        };
        for &action in &Action::ON_A_RETURN {
            let Some(doc) = action_doc(action) else {
                continue;
            };
            let name = action.as_str();
            let roles: Vec<&str> = roles_for(action).iter().map(|r| r.as_str()).collect();
            let mut operation = template.clone();
            operation.operation_id = Some(format!("return_{}", name.replace('-', "_")));
            operation.summary = Some(doc.summary.to_owned());
            operation.description = Some(format!(
                "Who: {}. From status: {}. Answers 200 with the new return view; 403 `forbidden` \
                 for a role that may never take this action, 409 `invalid_transition` when it \
                 may not now.",
                roles.join(", "),
                doc.from
            ));
            operation.parameters = operation.parameters.map(|parameters| {
                parameters
                    .into_iter()
                    .filter(|p| !matches!(p, RefOr::T(p) if p.name == "action"))
                    .collect()
            });
            operation.request_body = Some(RefOr::T(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name(doc.body))),
                    )
                    .build(),
            ));
            let path = format!("/v1/returns/{{id}}/{name}");
            match paths.get_mut(&path) {
                // `messages` is also read with GET.
                Some(item) => item.post = Some(operation),
                None => {
                    paths.insert(path, PathItem::new(HttpMethod::Post, operation));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn collect_refs(value: &Value, refs: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => refs.push(target.clone()),
                        _ => collect_refs(value, refs),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        let doc = document();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for target in refs {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {target}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{target} is not in the document"
            );
        }
    }

    #[test]
    fn every_action_has_its_own_path_with_a_body() {
        let doc = document();
        assert!(doc["paths"][ACTION_TEMPLATE].is_null());
        for action in Action::ON_A_RETURN {
            let path = format!("/v1/returns/{{id}}/{}", action.as_str());
            let post = &doc["paths"][&path]["post"];
            assert!(post["requestBody"].is_object(), "{path}: {post}");
            assert_eq!(
                post["security"][0]["bearer"],
                serde_json::json!([]),
                "{path}"
            );
            let params = post["parameters"].as_array().unwrap();
            assert!(params.iter().all(|p| p["name"] != "action"), "{path}");
            assert!(params.iter().any(|p| p["name"] == "id"), "{path}");
        }
        assert!(doc["paths"]["/v1/returns/{id}/messages"]["get"].is_object());
    }

    #[test]
    fn the_policy_body_documents_every_field_of_the_policy() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let keys = |name: &str| -> Vec<String> {
            let mut keys: Vec<String> = schemas[name]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            keys.retain(|k| k != "seller_id" && k != "policy_version");
            keys.sort();
            keys
        };
        assert_eq!(keys("PolicyBody"), keys("PolicyView"));
    }

    #[test]
    fn vocabularies_list_the_domains_strings() {
        let doc = document();
        let status = &doc["components"]["schemas"]["Status"]["enum"];
        assert_eq!(status.as_array().unwrap().len(), 11);
        assert!(status
            .as_array()
            .unwrap()
            .contains(&"refund_pending".into()));
    }
}
