//! Returns (docs/api.md, "Returns"): opening one, reading them, their history and messages, and
//! every action on a return.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::body::{parse_json, RawBody};
use crate::extract::{
    answered, command_options, encode_time_cursor, encode_version_cursor, page_limit, reply,
    time_cursor, version_cursor, versioned, PageQuery, Reply,
};
use crate::openapi::{CommandHeaders, CommandProblems, QueryProblems, ReadProblems};
use crate::problem::Problem;
use crate::render;
use crate::ApiState;
use returns_app::OpenReturnRequest;
use returns_domain::methods::{MethodKind, MethodRequest};
use returns_domain::order::ItemRequest;
use returns_domain::returns::{
    AcceptOffer, AcceptReturn, Action, AddEvidence, AppealDecision, AssignDispute, CarrierStatus,
    CarrierUpdate, ChooseMethod, DecideDispute, DecisionOutcome, DeclineOffer, DeclineReturn,
    EscalateReturn, ExceptionRule, FundedBy, GrantException, InspectReturn, IssueRefund, MakeOffer,
    OfferKind, OutOfStock, PayoutMethod, PostMessage, RateReturn, ReceiveReturn, ReplacementItem,
    ReturnCommand, ReturnLabel, ShipReplacement, ShipReturn, WithdrawReturn,
};
use returns_domain::{
    Evidence, EvidenceKind, Grade, LineId, MinorUnits, OrderId, Reason, Resolution, ReturnId, Sku,
};

/// The routes of returns, except `/returns/{id}/{action}`, which comes last (see [`configure_actions`]).
pub(crate) fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/returns", web::post().to(open_return))
        .route("/returns", web::get().to(list_returns))
        .route("/returns/{id}", web::get().to(get_return))
        .route("/rma/{rma}", web::get().to(return_by_rma))
        .route("/returns/{id}/events", web::get().to(return_events))
        .route("/returns/{id}/messages", web::get().to(return_messages))
}

/// `POST /returns/{id}/{action}`, after every fixed path under `/returns/{id}`.
pub(crate) fn configure_actions(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/returns/{id}/{action}", web::post().to(return_action))
}

// ----- request bodies -----
//
// Each body is parsed into the struct that documents it and then converted into the domain's
// value or command. Field types are the domain's parsed types, so validation stays the domain's;
// the conversions name every field on both sides without `..`, so that a field added to a domain
// command breaks the build here instead of going unparsed and undocumented. `#[serde(rename)]` on a
// struct keeps the domain type's name in serde's messages ("expected struct OrderDetails").

/// The body of `POST /v1/returns`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct OpenReturnBody {
    #[schema(value_type = String, example = "ORD-1001")]
    order_id: OrderId,
    items: Vec<ItemBody>,
    #[schema(value_type = crate::openapi::Reason)]
    reason: Reason,
    #[serde(default)]
    description: Option<String>,
    #[schema(value_type = crate::openapi::Resolution)]
    resolution: Resolution,
    #[serde(default)]
    evidence: Vec<EvidenceBody>,
    /// How the item is to go back (a mail label when absent).
    #[serde(default)]
    return_method: Option<MethodBody>,
}

impl TryFrom<OpenReturnBody> for OpenReturnRequest {
    type Error = Problem;

    fn try_from(body: OpenReturnBody) -> Result<Self, Problem> {
        let OpenReturnBody {
            order_id,
            items,
            reason,
            description,
            resolution,
            evidence,
            return_method,
        } = body;
        Ok(OpenReturnRequest {
            order_id,
            items: items.into_iter().map(ItemRequest::from).collect(),
            reason,
            description,
            resolution,
            evidence: evidence.into_iter().map(Evidence::from).collect(),
            return_method: return_method
                .map(|m| m.into_request("return_method."))
                .transpose()?,
        })
    }
}

/// `choose-method`, and `return_method` of `POST /v1/returns`: how the item goes back, with what
/// the method needs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ReturnMethod")]
pub(crate) struct MethodBody {
    #[schema(value_type = crate::openapi::MethodKind)]
    method: MethodKind,
    /// `relay_point`: the carrier's relay point id (1 to 64 characters of `A-Za-z0-9._:-`).
    #[serde(default)]
    point_id: Option<String>,
    /// `pickup`: the slot, starting in the future (within 30 days), up to 12 hours long.
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    slot_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    slot_end: Option<DateTime<Utc>>,
    /// `store`: the seller's store id (1 to 64 characters of `A-Za-z0-9._:-`).
    #[serde(default)]
    store_id: Option<String>,
}

impl MethodBody {
    /// The request, with missing details named under `prefix`.
    fn into_request(self, prefix: &str) -> Result<MethodRequest, Problem> {
        let MethodBody {
            method,
            point_id,
            slot_start,
            slot_end,
            store_id,
        } = self;
        let missing = |field: &str| {
            Problem::invalid(
                &format!("{prefix}{field}"),
                format!("is required for {method}"),
            )
        };
        Ok(match method {
            MethodKind::Mail => MethodRequest::Mail,
            MethodKind::RelayPoint => MethodRequest::RelayPoint {
                point_id: point_id.ok_or_else(|| missing("point_id"))?,
            },
            MethodKind::Pickup => MethodRequest::Pickup {
                slot_start: slot_start.ok_or_else(|| missing("slot_start"))?,
                slot_end: slot_end.ok_or_else(|| missing("slot_end"))?,
            },
            MethodKind::Store => MethodRequest::Store {
                store_id: store_id.ok_or_else(|| missing("store_id"))?,
            },
        })
    }
}

/// A line and how many of it to return: at most what was bought minus what is already in open
/// or refunded returns.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ItemRequest")]
pub(crate) struct ItemBody {
    #[schema(value_type = String, example = "line-1")]
    line_id: LineId,
    #[schema(example = 1)]
    quantity: u32,
}

impl From<ItemBody> for ItemRequest {
    fn from(body: ItemBody) -> Self {
        let ItemBody { line_id, quantity } = body;
        ItemRequest { line_id, quantity }
    }
}

/// A piece of evidence: a reference to a file kept elsewhere, or a note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "Evidence")]
#[schema(as = Evidence)]
pub(crate) struct EvidenceBody {
    #[schema(value_type = crate::openapi::EvidenceKind)]
    kind: EvidenceKind,
    #[serde(default)]
    url: Option<String>,
    /// Hex SHA-256 of the file.
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl From<EvidenceBody> for Evidence {
    fn from(body: EvidenceBody) -> Self {
        let EvidenceBody {
            kind,
            url,
            sha256,
            note,
        } = body;
        Evidence {
            kind,
            url,
            sha256,
            note,
        }
    }
}

fn evidence_list(evidence: Vec<EvidenceBody>) -> Vec<Evidence> {
    evidence.into_iter().map(Evidence::from).collect()
}

/// A prepaid return label.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ReturnLabel")]
pub(crate) struct LabelBody {
    #[schema(example = "DHL")]
    carrier: String,
    tracking_number: String,
    #[serde(default)]
    label_url: Option<String>,
}

impl From<LabelBody> for ReturnLabel {
    fn from(body: LabelBody) -> Self {
        let LabelBody {
            carrier,
            tracking_number,
            label_url,
        } = body;
        ReturnLabel {
            carrier,
            tracking_number,
            label_url,
        }
    }
}

/// `accept`: with `returnless: true` the buyer keeps the item and a refund is due at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "AcceptReturn")]
pub(crate) struct AcceptBody {
    #[serde(default)]
    label: Option<LabelBody>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    returnless: bool,
}

impl From<AcceptBody> for AcceptReturn {
    fn from(body: AcceptBody) -> Self {
        let AcceptBody {
            label,
            instructions,
            returnless,
        } = body;
        AcceptReturn {
            label: label.map(ReturnLabel::from),
            instructions,
            returnless,
        }
    }
}

/// `decline`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "DeclineReturn")]
pub(crate) struct DeclineBody {
    reason_text: String,
    #[serde(default)]
    evidence: Vec<EvidenceBody>,
}

impl From<DeclineBody> for DeclineReturn {
    fn from(body: DeclineBody) -> Self {
        let DeclineBody {
            reason_text,
            evidence,
        } = body;
        DeclineReturn {
            reason_text,
            evidence: evidence_list(evidence),
        }
    }
}

/// `appeal`: the party an operator's decision went against asks for another look, once, within 7
/// days, with new evidence (at least one piece).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "AppealDecision")]
pub(crate) struct AppealBody {
    reason_text: String,
    #[schema(min_items = 1)]
    evidence: Vec<EvidenceBody>,
}

impl From<AppealBody> for AppealDecision {
    fn from(body: AppealBody) -> Self {
        let AppealBody {
            reason_text,
            evidence,
        } = body;
        AppealDecision {
            reason_text,
            evidence: evidence_list(evidence),
        }
    }
}

/// `offer`: a partial refund or store credit names its amount.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "MakeOffer")]
pub(crate) struct OfferBody {
    #[schema(value_type = crate::openapi::OfferKind)]
    kind: OfferKind,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    amount_minor: Option<MinorUnits>,
}

impl From<OfferBody> for MakeOffer {
    fn from(body: OfferBody) -> Self {
        let OfferBody { kind, amount_minor } = body;
        MakeOffer { kind, amount_minor }
    }
}

/// `ship-replacement`: the replacement of an exchange goes out; `items` default to the returned
/// items.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ShipReplacement")]
pub(crate) struct ShipReplacementBody {
    #[serde(default)]
    items: Option<Vec<ReplacementItemBody>>,
    #[schema(example = "DHL")]
    carrier: String,
    tracking_number: String,
}

/// A line of the replacement: a returned line, possibly as another SKU (another size).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ReplacementItem")]
pub(crate) struct ReplacementItemBody {
    #[schema(value_type = String, example = "line-2", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    line_id: LineId,
    #[schema(value_type = String, example = "SKU-TS-200-L", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    sku: Sku,
    /// At least 1, at most what came back of the line.
    #[schema(minimum = 1)]
    quantity: u32,
}

impl From<ShipReplacementBody> for ShipReplacement {
    fn from(body: ShipReplacementBody) -> Self {
        let ShipReplacementBody {
            items,
            carrier,
            tracking_number,
        } = body;
        ShipReplacement {
            items: items.map(|items| {
                items
                    .into_iter()
                    .map(
                        |ReplacementItemBody {
                             line_id,
                             sku,
                             quantity,
                         }| ReplacementItem {
                            line_id,
                            sku,
                            quantity,
                        },
                    )
                    .collect()
            }),
            carrier,
            tracking_number,
        }
    }
}

/// `ship`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ShipReturn")]
pub(crate) struct ShipBody {
    #[schema(example = "DHL")]
    carrier: String,
    tracking_number: String,
}

impl From<ShipBody> for ShipReturn {
    fn from(body: ShipBody) -> Self {
        let ShipBody {
            carrier,
            tracking_number,
        } = body;
        ShipReturn {
            carrier,
            tracking_number,
        }
    }
}

/// `carrier-update`: `at` is when the carrier saw it happen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "CarrierUpdate")]
pub(crate) struct CarrierUpdateBody {
    #[schema(value_type = crate::openapi::CarrierStatus)]
    status: CarrierStatus,
    #[serde(deserialize_with = "crate::time::bounded")]
    at: DateTime<Utc>,
}

impl From<CarrierUpdateBody> for CarrierUpdate {
    fn from(body: CarrierUpdateBody) -> Self {
        let CarrierUpdateBody { status, at } = body;
        CarrierUpdate { status, at }
    }
}

/// `receive`: `received_at` defaults to now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "ReceiveReturn")]
pub(crate) struct ReceiveBody {
    #[serde(default, deserialize_with = "crate::time::bounded_opt")]
    received_at: Option<DateTime<Utc>>,
}

impl From<ReceiveBody> for ReceiveReturn {
    fn from(body: ReceiveBody) -> Self {
        let ReceiveBody { received_at } = body;
        ReceiveReturn { received_at }
    }
}

/// `inspect`: a refund of 0 is a refusal and needs evidence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "InspectReturn")]
pub(crate) struct InspectBody {
    #[schema(value_type = crate::openapi::Grade)]
    grade: Grade,
    #[schema(value_type = i64, minimum = 0)]
    refund_amount_minor: MinorUnits,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    evidence: Vec<EvidenceBody>,
}

impl From<InspectBody> for InspectReturn {
    fn from(body: InspectBody) -> Self {
        let InspectBody {
            grade,
            refund_amount_minor,
            notes,
            evidence,
        } = body;
        InspectReturn {
            grade,
            refund_amount_minor,
            notes,
            evidence: evidence_list(evidence),
        }
    }
}

/// `refund`: the platform reports that the payment went through.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "IssueRefund")]
pub(crate) struct RefundBody {
    #[schema(value_type = i64, minimum = 0)]
    amount_minor: MinorUnits,
    #[schema(value_type = crate::openapi::PayoutMethod)]
    method: PayoutMethod,
    /// The payment provider's reference.
    reference: String,
}

impl From<RefundBody> for IssueRefund {
    fn from(body: RefundBody) -> Self {
        let RefundBody {
            amount_minor,
            method,
            reference,
        } = body;
        IssueRefund {
            amount_minor,
            method,
            reference,
        }
    }
}

/// `escalate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "EscalateReturn")]
pub(crate) struct EscalateBody {
    reason_text: String,
}

impl From<EscalateBody> for EscalateReturn {
    fn from(body: EscalateBody) -> Self {
        let EscalateBody { reason_text } = body;
        EscalateReturn { reason_text }
    }
}

/// `messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "PostMessage")]
pub(crate) struct MessageBody {
    body: String,
}

impl From<MessageBody> for PostMessage {
    fn from(message: MessageBody) -> Self {
        let MessageBody { body } = message;
        PostMessage { body }
    }
}

/// `grant-exception`: waive a policy rule as goodwill.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "GrantException")]
pub(crate) struct GrantExceptionBody {
    #[schema(value_type = crate::openapi::ExceptionRule)]
    rule: ExceptionRule,
    note: String,
}

impl From<GrantExceptionBody> for GrantException {
    fn from(body: GrantExceptionBody) -> Self {
        let GrantExceptionBody { rule, note } = body;
        GrantException { rule, note }
    }
}

/// `rate`: the buyer's satisfaction with a closed return, once, within 30 days of its closing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "RateReturn")]
pub(crate) struct RateBody {
    /// From 1 (very unhappy) to 5 (very happy).
    #[schema(minimum = 1, maximum = 5)]
    score: u8,
    /// What the buyer wants to say (personal data: kept out of the log, erasable).
    #[serde(default)]
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

impl From<RateBody> for RateReturn {
    fn from(body: RateBody) -> Self {
        let RateBody { score, comment } = body;
        RateReturn { score, comment }
    }
}

/// `decide`: for `side_with_seller` the amount is 0 and `return_required` and `funded_by` may be
/// left out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename = "DecideDispute")]
pub(crate) struct DecideBody {
    #[schema(value_type = crate::openapi::DecisionOutcome)]
    outcome: DecisionOutcome,
    #[schema(value_type = i64, minimum = 0)]
    refund_amount_minor: MinorUnits,
    #[serde(default)]
    return_required: bool,
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::FundedBy>)]
    funded_by: Option<FundedBy>,
    rationale: String,
}

impl From<DecideBody> for DecideDispute {
    fn from(body: DecideBody) -> Self {
        let DecideBody {
            outcome,
            refund_amount_minor,
            return_required,
            funded_by,
            rationale,
        } = body;
        DecideDispute {
            outcome,
            refund_amount_minor,
            return_required,
            funded_by,
            rationale,
            // The service attaches what the operator was shown; a caller cannot.
            recommendation: None,
        }
    }
}

// ----- returns -----

/// Open a return (buyer).
///
/// Unknown order or someone else's order: 404. Unknown line, or a quantity above what was bought
/// minus what is in open or refunded returns: 422. A return outside the policy is still created,
/// with `policy.eligible=false`, and left to the seller and to arbitration.
#[utoipa::path(
    post,
    path = "/v1/returns",
    tag = "returns",
    request_body = OpenReturnBody,
    params(CommandHeaders),
    responses(
        (status = 201, description = "The return view", body = render::ReturnView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        CommandProblems,
    ),
    security(("bearer" = [])),
)]
async fn open_return(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    body: RawBody,
) -> Reply {
    let request = parse_open(&body.0)?;
    let opts = command_options(&req, &body.0)?;
    let render = case_answer(&state, &caller, StatusCode::CREATED);
    let answer = state
        .service
        .open_return(&caller.0, request, &opts, &render)
        .await?;
    Ok(answered(answer))
}

/// The request of `POST /v1/returns` in `body`, or the problem with it.
pub(crate) fn parse_open(body: &[u8]) -> Result<OpenReturnRequest, Problem> {
    OpenReturnRequest::try_from(parse_json::<OpenReturnBody>(body)?)
}

/// The answer showing a return as `caller` sees it now, with its `ETag`.
pub(crate) fn case_answer<'a>(
    state: &'a ApiState,
    caller: &'a Caller,
    status: StatusCode,
) -> impl Fn(&returns_domain::ReturnCase) -> returns_app::StoredResponse + Sync + 'a {
    move |case| {
        versioned(
            status,
            &render::return_view(case, &caller.0, state.service.now()),
            case.version,
        )
    }
}

fn return_id(path: &str) -> Result<ReturnId, Problem> {
    // An id that is not a UUID names no return: 404, like any unknown id.
    ReturnId::parse(path).map_err(|_| Problem::not_found())
}

/// A return, as the caller may see it.
#[utoipa::path(
    get,
    path = "/v1/returns/{id}",
    tag = "returns",
    params(("id" = Uuid, Path, description = "The return id")),
    responses(
        (status = 200, description = "The return view", body = render::ReturnView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        ReadProblems,
    ),
    security(("bearer" = [])),
)]
async fn get_return(state: web::Data<ApiState>, caller: Caller, path: web::Path<String>) -> Reply {
    let id = return_id(&path)?;
    let case = state.service.get_return(&caller.0, id).await?;
    Ok(reply(case_answer(&state, &caller, StatusCode::OK)(&case)))
}

/// An RMA number as a person may type it (any case, with or without `RMA`, hyphens or spaces).
fn rma_of(text: &str, field: &str) -> Result<returns_domain::Rma, Problem> {
    returns_domain::Rma::parse(text).map_err(|e| Problem::invalid(field, e.to_string()))
}

/// The return with this RMA number, as the caller may see it (docs/api.md, "Returns"): the
/// buyer's and seller's own, any for operators and the platform; someone else's is 404.
#[utoipa::path(
    get,
    path = "/v1/rma/{rma}",
    tag = "returns",
    params(("rma" = String, Path, description = "An RMA number such as RMA-7KQ3-XD2M, in any case, \
        with or without the prefix and hyphens")),
    responses(
        (status = 200, description = "The return view", body = render::ReturnView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        ReadProblems,
        (status = 422, description = "`validation_failed`: not an RMA number (its check fails)",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn return_by_rma(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
) -> Reply {
    let rma = rma_of(&path, "rma")?;
    let case = state.service.return_by_rma(&caller.0, &rma).await?;
    Ok(reply(case_answer(&state, &caller, StatusCode::OK)(&case)))
}

/// The filters and paging of `GET /v1/returns`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[param(value_type = Option<crate::openapi::Status>)]
    status: Option<String>,
    order_id: Option<String>,
    buyer_id: Option<String>,
    seller_id: Option<String>,
    /// The return with this RMA number (any case, with or without the prefix and hyphens).
    rma: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The returns the caller may see, newest first, filtered.
#[utoipa::path(
    get,
    path = "/v1/returns",
    tag = "returns",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of return views", body = render::ReturnPage),
        QueryProblems,
    ),
    security(("bearer" = [])),
)]
async fn list_returns(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Reply {
    let query = query.into_inner();
    let limit = page_limit(query.limit.as_deref())?;
    let after = time_cursor(query.cursor.as_deref())?;
    let filter = returns_app::ReturnFilter {
        status: query.status,
        order_id: query.order_id,
        buyer_id: query.buyer_id,
        seller_id: query.seller_id,
        rma: query
            .rma
            .as_deref()
            .map(|text| rma_of(text, "rma").map(|rma| rma.as_str().to_owned()))
            .transpose()?,
        after,
        limit,
        open_only: false,
    };
    let page = state.service.list_returns(&caller.0, filter).await?;
    let now = state.service.now();
    Ok(HttpResponse::Ok().json(render::ReturnPage {
        items: page
            .items
            .iter()
            .map(|case| render::return_view(case, &caller.0, now))
            .collect(),
        next_cursor: page.next.map(|(at, id)| encode_time_cursor(at, id)),
    }))
}

/// A page of a return's events of `kinds`, as the query asks.
async fn history_page(
    state: &ApiState,
    caller: &Caller,
    path: &str,
    query: &PageQuery,
    kinds: returns_app::EventKinds,
) -> Result<returns_app::EventPage, Problem> {
    let id = return_id(path)?;
    let limit = page_limit(query.limit.as_deref())?;
    let after = version_cursor(query.cursor.as_deref())?;
    Ok(state
        .service
        .return_events(&caller.0, id, kinds, after, limit)
        .await?)
}

/// The case history of a return, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/returns/{id}/events",
    tag = "returns",
    params(("id" = Uuid, Path, description = "The return id"), PageQuery),
    responses(
        (status = 200, description = "A page of the return's events", body = render::EventPage),
        ReadProblems,
        (status = 422, description = "`validation_failed`: a bad `limit` or `cursor`",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn return_events(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Reply {
    let page = history_page(&state, &caller, &path, &query, returns_app::EventKinds::All).await?;
    Ok(HttpResponse::Ok().json(render::EventPage {
        items: page
            .events
            .iter()
            .map(|e| render::event_view(e, &caller.0))
            .collect(),
        next_cursor: page.next.map(encode_version_cursor),
    }))
}

/// The messages of a return, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/returns/{id}/messages",
    tag = "returns",
    params(("id" = Uuid, Path, description = "The return id"), PageQuery),
    responses(
        (status = 200, description = "A page of the return's messages", body = render::MessagePage),
        ReadProblems,
        (status = 422, description = "`validation_failed`: a bad `limit` or `cursor`",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn return_messages(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Reply {
    let kinds = returns_app::EventKinds::Messages;
    let page = history_page(&state, &caller, &path, &query, kinds).await?;
    Ok(HttpResponse::Ok().json(render::MessagePage {
        items: page
            .events
            .iter()
            .map(|e| render::message_view(e, &caller.0))
            .collect(),
        next_cursor: page.next.map(encode_version_cursor),
    }))
}

pub(crate) fn parse_action(action: &str, body: &[u8]) -> Result<ReturnCommand, Problem> {
    // A name that is no action on a return names no resource.
    let action = Action::parse(action).map_err(|_| Problem::not_found())?;
    Ok(match action {
        Action::Accept => ReturnCommand::Accept(parse_json::<AcceptBody>(body)?.into()),
        Action::Decline => ReturnCommand::Decline(parse_json::<DeclineBody>(body)?.into()),
        Action::Offer => ReturnCommand::Offer(parse_json::<OfferBody>(body)?.into()),
        Action::AcceptOffer => {
            parse_json::<Value>(body)?;
            ReturnCommand::AcceptOffer(AcceptOffer)
        }
        Action::DeclineOffer => {
            parse_json::<Value>(body)?;
            ReturnCommand::DeclineOffer(DeclineOffer)
        }
        Action::Ship => ReturnCommand::Ship(parse_json::<ShipBody>(body)?.into()),
        Action::CarrierUpdate => {
            ReturnCommand::CarrierUpdate(parse_json::<CarrierUpdateBody>(body)?.into())
        }
        Action::Receive => ReturnCommand::Receive(parse_json::<ReceiveBody>(body)?.into()),
        Action::Inspect => ReturnCommand::Inspect(parse_json::<InspectBody>(body)?.into()),
        Action::Refund => ReturnCommand::Refund(parse_json::<RefundBody>(body)?.into()),
        Action::Escalate => ReturnCommand::Escalate(parse_json::<EscalateBody>(body)?.into()),
        Action::Withdraw => {
            parse_json::<Value>(body)?;
            ReturnCommand::Withdraw(WithdrawReturn)
        }
        Action::Messages => ReturnCommand::PostMessage(parse_json::<MessageBody>(body)?.into()),
        Action::Evidence => ReturnCommand::AddEvidence(AddEvidence {
            evidence: parse_json::<EvidenceBody>(body)?.into(),
        }),
        Action::GrantException => {
            ReturnCommand::GrantException(parse_json::<GrantExceptionBody>(body)?.into())
        }
        Action::Assign => {
            parse_json::<Value>(body)?;
            ReturnCommand::Assign(AssignDispute)
        }
        Action::Decide => ReturnCommand::Decide(parse_json::<DecideBody>(body)?.into()),
        Action::Rate => ReturnCommand::Rate(parse_json::<RateBody>(body)?.into()),
        Action::ShipReplacement => {
            ReturnCommand::ShipReplacement(parse_json::<ShipReplacementBody>(body)?.into())
        }
        Action::Appeal => ReturnCommand::Appeal(parse_json::<AppealBody>(body)?.into()),
        Action::OutOfStock => {
            parse_json::<Value>(body)?;
            ReturnCommand::OutOfStock(OutOfStock)
        }
        Action::ChooseMethod => ReturnCommand::ChooseMethod(ChooseMethod {
            method: parse_json::<MethodBody>(body)?.into_request("")?,
            drop_off_code: String::new(),
        }),
        // Opening has its own path and deadlines are the scheduler's.
        Action::Open | Action::ApplyDeadline => return Err(Problem::not_found()),
    })
}

/// Take an action on a return.
///
/// The document lists one path per action, each with its body (see `openapi`).
#[utoipa::path(
    post,
    path = "/v1/returns/{id}/{action}",
    tag = "returns",
    params(
        ("id" = Uuid, Path, description = "The return id"),
        ("action" = crate::openapi::ReturnAction, Path, description = "The action"),
        CommandHeaders,
    ),
    responses(
        (status = 200, description = "The new return view", body = render::ReturnView,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        CommandProblems,
    ),
    security(("bearer" = [])),
)]
async fn return_action(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: RawBody,
) -> Reply {
    let (id, action) = path.into_inner();
    let id = return_id(&id)?;
    let command = parse_action(&action, &body.0)?;
    let opts = command_options(&req, &body.0)?;
    let render = case_answer(&state, &caller, StatusCode::OK);
    let answer = state
        .service
        .act_on_return(&caller.0, id, command, &opts, &render)
        .await?;
    Ok(answered(answer))
}
