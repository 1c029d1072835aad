//! Seller return policies: the document a seller publishes, its validation, and the policy
//! aggregate (one stream per seller) that versions it.
//!
//! The fields and defaults are exactly docs/api.md's. `SellerPolicy::parse` is the only way in, from the
//! JSON body of `PUT /v1/sellers/{seller_id}/policy` or from a stored event, and reports every bad
//! field at once as `(field, message)` so the API can answer 422 with `errors`.
//!
//! Each accepted change is an event `policy.set` with the next `policy_version` (1, 2, 3...).
//! Version 0 stands for the default policy of a seller who never set one. A return is judged by the
//! version that was current when its order was registered (`PolicyState::at_version`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actor::{Actor, Role};
use crate::error::{Checks, FieldError, Rejection};
use crate::ids::SellerId;
use crate::macros::{stored_events, string_enum};
use crate::methods::{BuyerPays, MethodKind, MethodTerms};
use crate::money::MinorUnits;
use crate::taxonomy::{Category, Reason};

string_enum! {
    /// What happens when the seller does not answer a request in time.
    pub enum OnSellerTimeout ("on_seller_timeout") {
        Escalate = "escalate",
        AutoAccept = "auto_accept",
    }
}

string_enum! {
    /// The ways of settling a return that a seller's policy advertises.
    pub enum RefundMethod ("refund method") {
        OriginalPayment = "original_payment",
        StoreCredit = "store_credit",
        Exchange = "exchange",
    }
}

/// A seller's return policy. Construct it with `parse` (or `default`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SellerPolicy {
    pub return_window_days: u32,
    pub non_returnable_categories: Vec<Category>,
    /// Applies to `changed_mind` only, and never where the legal withdrawal right applies.
    pub restocking_fee_percent: u32,
    pub buyer_pays_return_shipping_for: Vec<Reason>,
    /// What a return label costs the buyer where the buyer pays return shipping: deducted from
    /// the refund (0: the seller does not charge it).
    pub return_shipping_fee_minor: MinorUnits,
    pub auto_approve_max_minor: MinorUnits,
    pub returnless_refund_max_minor: MinorUnits,
    pub seller_response_business_days: u32,
    pub on_seller_timeout: OnSellerTimeout,
    pub ship_by_days: u32,
    pub inspect_business_days: u32,
    pub refund_methods: Vec<RefundMethod>,
    pub store_credit_bonus_percent: u32,
    /// The ways the item may go back, and who pays for each (docs/product.md, "Return
    /// methods"); by default a mail label at `return_shipping_fee_minor`, paid as
    /// `buyer_pays_return_shipping_for` says.
    pub return_methods: Vec<MethodTerms>,
}

impl Default for SellerPolicy {
    fn default() -> Self {
        Self {
            return_window_days: 30,
            non_returnable_categories: Vec::new(),
            restocking_fee_percent: 0,
            buyer_pays_return_shipping_for: vec![Reason::ChangedMind, Reason::SizeFit],
            return_shipping_fee_minor: MinorUnits::ZERO,
            auto_approve_max_minor: MinorUnits::ZERO,
            returnless_refund_max_minor: MinorUnits::ZERO,
            seller_response_business_days: 3,
            on_seller_timeout: OnSellerTimeout::Escalate,
            ship_by_days: 10,
            inspect_business_days: 3,
            refund_methods: vec![RefundMethod::OriginalPayment],
            store_credit_bonus_percent: 0,
            return_methods: vec![mail_by_reason()],
        }
    }
}

/// The mail label paid as the reason says, at the policy's `return_shipping_fee_minor`: the
/// method of a policy that names none.
fn mail_by_reason() -> MethodTerms {
    MethodTerms {
        method: MethodKind::Mail,
        buyer_pays: BuyerPays::ByReason,
        fee_minor: None,
    }
}

/// Bounds of the numeric fields. Zero response, shipping or inspection periods would make every
/// return miss its deadline at once, so those start at 1.
pub const MAX_RETURN_WINDOW_DAYS: u32 = 365;
pub const MAX_RESPONSE_BUSINESS_DAYS: u32 = 30;
pub const MAX_SHIP_BY_DAYS: u32 = 90;
pub const MAX_INSPECT_BUSINESS_DAYS: u32 = 30;
pub const MAX_LIST_LEN: usize = 100;

impl SellerPolicy {
    /// Parses a policy document: every field optional (absent or `null` takes the default),
    /// unknown fields ignored (so a client may send back what it read, `policy_version` included).
    pub fn parse(document: &Value) -> Result<SellerPolicy, Vec<FieldError>> {
        let empty = Map::new();
        let mut checks = Checks::new();
        let object = match document {
            Value::Object(object) => object,
            Value::Null => &empty,
            _ => {
                checks.fail("", "must be a JSON object");
                return Err(checks.into_errors());
            }
        };
        let defaults = SellerPolicy::default();
        let mut reader = Reader {
            object,
            checks: &mut checks,
        };
        let policy = SellerPolicy {
            return_window_days: reader.uint(
                "return_window_days",
                0,
                MAX_RETURN_WINDOW_DAYS,
                defaults.return_window_days,
            ),
            non_returnable_categories: reader.list(
                "non_returnable_categories",
                defaults.non_returnable_categories,
                |text| Category::parse(text).map_err(|e| e.to_string()),
            ),
            restocking_fee_percent: reader.uint("restocking_fee_percent", 0, 100, 0),
            buyer_pays_return_shipping_for: reader.list(
                "buyer_pays_return_shipping_for",
                defaults.buyer_pays_return_shipping_for,
                |text| Reason::parse(text).map_err(|e| e.to_string()),
            ),
            return_shipping_fee_minor: reader.amount("return_shipping_fee_minor"),
            auto_approve_max_minor: reader.amount("auto_approve_max_minor"),
            returnless_refund_max_minor: reader.amount("returnless_refund_max_minor"),
            seller_response_business_days: reader.uint(
                "seller_response_business_days",
                1,
                MAX_RESPONSE_BUSINESS_DAYS,
                defaults.seller_response_business_days,
            ),
            on_seller_timeout: reader.one_of(
                "on_seller_timeout",
                defaults.on_seller_timeout,
                OnSellerTimeout::parse,
            ),
            ship_by_days: reader.uint("ship_by_days", 1, MAX_SHIP_BY_DAYS, defaults.ship_by_days),
            inspect_business_days: reader.uint(
                "inspect_business_days",
                1,
                MAX_INSPECT_BUSINESS_DAYS,
                defaults.inspect_business_days,
            ),
            refund_methods: reader.list("refund_methods", defaults.refund_methods, |text| {
                RefundMethod::parse(text).map_err(|e| e.to_string())
            }),
            store_credit_bonus_percent: reader.uint("store_credit_bonus_percent", 0, 100, 0),
            return_methods: Vec::new(),
        };
        let mut policy = policy;
        policy.return_methods = reader.method_terms("return_methods");
        if policy.refund_methods.is_empty() {
            checks.fail("refund_methods", "must name at least one method");
        }
        if checks.is_empty() {
            Ok(policy)
        } else {
            Err(checks.into_errors())
        }
    }

    /// Whether the seller declared this category non-returnable.
    pub fn is_non_returnable(&self, category: &Category) -> bool {
        self.non_returnable_categories
            .iter()
            .any(|c| c.matches(category.as_str()))
    }

    pub fn buyer_pays_return_shipping(&self, reason: Reason) -> bool {
        self.buyer_pays_return_shipping_for.contains(&reason)
    }

    /// The terms of `method`, if the policy offers it.
    pub fn method_terms(&self, method: MethodKind) -> Option<MethodTerms> {
        self.return_methods
            .iter()
            .copied()
            .find(|t| t.method == method)
    }

    /// The method a return gets until the buyer chooses: mail when offered, else the first.
    pub fn default_method(&self) -> MethodKind {
        if self.method_terms(MethodKind::Mail).is_some() {
            MethodKind::Mail
        } else {
            self.return_methods
                .first()
                .map_or(MethodKind::Mail, |t| t.method)
        }
    }
}

/// Stored policies are decoded through the same validation as requests.
impl<'de> Deserialize<'de> for SellerPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = Value::deserialize(deserializer)?;
        SellerPolicy::parse(&document).map_err(|errors| {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            serde::de::Error::custom(text.join("; "))
        })
    }
}

/// Reads typed fields out of a JSON object, recording a field error for each bad one and returning
/// the default in its place so that all errors are found in one pass.
struct Reader<'a> {
    object: &'a Map<String, Value>,
    checks: &'a mut Checks,
}

impl<'a> Reader<'a> {
    fn present(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|value| !value.is_null())
    }

    fn uint(&mut self, field: &str, min: u32, max: u32, default: u32) -> u32 {
        let Some(value) = self.present(field) else {
            return default;
        };
        match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                self.checks
                    .fail(field, format!("must be an integer from {min} to {max}"));
                default
            }
        }
    }

    fn amount(&mut self, field: &str) -> MinorUnits {
        let Some(value) = self.present(field) else {
            return MinorUnits::ZERO;
        };
        match value.as_i64().map(MinorUnits::new) {
            Some(Ok(amount)) => amount,
            _ => {
                self.checks.fail(
                    field,
                    "must be a non-negative integer amount in minor units",
                );
                MinorUnits::ZERO
            }
        }
    }

    fn one_of<T: Copy, E>(&mut self, field: &str, default: T, parse: fn(&str) -> Result<T, E>) -> T
    where
        E: ToString,
    {
        let Some(value) = self.present(field) else {
            return default;
        };
        match value.as_str().map(parse) {
            Some(Ok(parsed)) => parsed,
            Some(Err(error)) => {
                self.checks.fail(field, error.to_string());
                default
            }
            None => {
                self.checks.fail(field, "must be a string");
                default
            }
        }
    }

    /// `return_methods`: 1 to 4 objects `{"method", "buyer_pays"?, "fee_minor"?}`, each method
    /// once; `buyer_pays` defaults to `by_reason`, and without `fee_minor` the method costs the
    /// policy's `return_shipping_fee_minor`. Absent: a mail label by reason.
    fn method_terms(&mut self, field: &str) -> Vec<MethodTerms> {
        let fallback = vec![mail_by_reason()];
        let Some(value) = self.present(field) else {
            return fallback;
        };
        let Some(items) = value.as_array() else {
            self.checks.fail(field, "must be a list of methods");
            return fallback;
        };
        if items.is_empty() || items.len() > MethodKind::ALL.len() {
            self.checks.fail(
                field,
                format!("must list 1 to {} methods", MethodKind::ALL.len()),
            );
            return fallback;
        }
        let mut terms: Vec<MethodTerms> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let Some(object) = item.as_object() else {
                self.checks.fail(
                    &at,
                    "must be an object with `method`, `buyer_pays`, `fee_minor`",
                );
                continue;
            };
            let mut inner_checks = Checks::new();
            let mut inner = Reader {
                object,
                checks: &mut inner_checks,
            };
            let method = inner.one_of("method", MethodKind::Mail, MethodKind::parse);
            let named = inner.present("method").is_some();
            let buyer_pays = inner.one_of("buyer_pays", BuyerPays::ByReason, BuyerPays::parse);
            let fee_minor = inner
                .present("fee_minor")
                .is_some()
                .then(|| inner.amount("fee_minor"));
            let clean = inner_checks.is_empty();
            for error in inner_checks.into_errors() {
                self.checks
                    .fail(format!("{at}.{}", error.field), error.message);
            }
            if !named {
                self.checks.fail(format!("{at}.method"), "is required");
                continue;
            }
            if !clean {
                continue;
            }
            if terms.iter().any(|t| t.method == method) {
                self.checks.fail(format!("{at}.method"), "is listed twice");
                continue;
            }
            terms.push(MethodTerms {
                method,
                buyer_pays,
                fee_minor,
            });
        }
        terms
    }

    fn list<T: PartialEq>(
        &mut self,
        field: &str,
        default: Vec<T>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let Some(value) = self.present(field) else {
            return default;
        };
        let Some(items) = value.as_array() else {
            self.checks.fail(field, "must be a list of strings");
            return default;
        };
        if items.len() > MAX_LIST_LEN {
            self.checks
                .fail(field, format!("must have at most {MAX_LIST_LEN} entries"));
            return default;
        }
        let mut parsed: Vec<T> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_field = format!("{field}[{i}]");
            match item.as_str().map(&parse) {
                Some(Ok(value)) if parsed.contains(&value) => {
                    self.checks.fail(item_field, "is listed twice");
                }
                Some(Ok(value)) => parsed.push(value),
                Some(Err(message)) => self.checks.fail(item_field, message),
                None => self.checks.fail(item_field, "must be a string"),
            }
        }
        parsed
    }
}

/// The command of `PUT /v1/sellers/{seller_id}/policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPolicy {
    pub seller_id: SellerId,
    pub policy: SellerPolicy,
}

/// A new version of a seller's policy took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    pub seller_id: SellerId,
    pub policy_version: u64,
    pub policy: SellerPolicy,
    pub set_by: Actor,
    pub at: DateTime<Utc>,
}

stored_events! {
    /// Events of the policy stream (one stream per seller).
    pub enum PolicyEvent {
        PolicySet(PolicySet) = "policy.set",
    }
}

/// Every version of one seller's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyState {
    pub seller_id: SellerId,
    /// In version order: `versions[n - 1]` is version `n`.
    pub versions: Vec<PolicySet>,
}

impl PolicyState {
    pub fn current_version(&self) -> u64 {
        self.versions.last().map_or(0, |v| v.policy_version)
    }

    /// The policy in force now (the default while the seller never set one).
    pub fn current(&self) -> SellerPolicy {
        self.versions
            .last()
            .map(|v| v.policy.clone())
            .unwrap_or_default()
    }

    /// The policy as it was at `version`; 0 is the default policy. `None` for a version that does
    /// not exist (yet).
    pub fn at_version(&self, version: u64) -> Option<SellerPolicy> {
        if version == 0 {
            return Some(SellerPolicy::default());
        }
        self.versions
            .iter()
            .find(|v| v.policy_version == version)
            .map(|v| v.policy.clone())
    }

    pub fn apply(&mut self, event: &PolicyEvent) {
        match event {
            PolicyEvent::PolicySet(set) => self.versions.push(set.clone()),
        }
    }
}

/// Folds one event into the state (`None` before the first event).
pub fn evolve(state: Option<PolicyState>, event: &PolicyEvent) -> Option<PolicyState> {
    match (state, event) {
        (Some(mut state), event) => {
            state.apply(event);
            Some(state)
        }
        (None, PolicyEvent::PolicySet(set)) => Some(PolicyState {
            seller_id: set.seller_id.clone(),
            versions: vec![set.clone()],
        }),
    }
}

/// The seller itself or an operator may set a seller's policy; anyone else is refused whatever the
/// policy says, so callers check this before they parse the policy.
pub fn authorize(actor: &Actor, seller_id: &SellerId) -> Result<(), Rejection> {
    authorize_action(actor, seller_id, "set-policy")
}

/// Whether `actor` may take `action` on `seller_id`'s policy: that seller, or an operator.
pub fn authorize_action(
    actor: &Actor,
    seller_id: &SellerId,
    action: &'static str,
) -> Result<(), Rejection> {
    let allowed = match actor.role {
        Role::Operator => true,
        Role::Seller => actor.id == seller_id.as_str(),
        Role::Buyer | Role::Platform | Role::System => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Rejection::Forbidden {
            action,
            role: actor.role,
        })
    }
}

/// Decides `SetPolicy`: the seller itself or an operator may set it. Setting the policy that is
/// already current yields no event (PUT is idempotent and a new version would be noise).
pub fn decide(
    state: Option<&PolicyState>,
    command: &SetPolicy,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<PolicyEvent>, Rejection> {
    authorize(actor, &command.seller_id)?;
    let current = state.map_or(0, PolicyState::current_version);
    if let Some(state) = state {
        if state
            .versions
            .last()
            .is_some_and(|v| v.policy == command.policy)
        {
            return Ok(Vec::new());
        }
    }
    Ok(vec![PolicyEvent::PolicySet(PolicySet {
        seller_id: command.seller_id.clone(),
        policy_version: current + 1,
        policy: command.policy.clone(),
        set_by: actor.clone(),
        at: now,
    })])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn an_empty_document_is_the_default_policy() {
        assert_eq!(
            SellerPolicy::parse(&json!({})).unwrap(),
            SellerPolicy::default()
        );
        assert_eq!(
            SellerPolicy::parse(&Value::Null).unwrap(),
            SellerPolicy::default()
        );
        let default = SellerPolicy::default();
        assert_eq!(default.return_window_days, 30);
        assert_eq!(
            default.buyer_pays_return_shipping_for,
            [Reason::ChangedMind, Reason::SizeFit]
        );
        assert_eq!(default.refund_methods, [RefundMethod::OriginalPayment]);
        assert_eq!(default.on_seller_timeout, OnSellerTimeout::Escalate);
    }

    #[test]
    fn return_methods_default_to_a_mail_label_at_the_policy_fee_and_refuse_bad_entries() {
        let parsed = SellerPolicy::parse(&json!({"return_shipping_fee_minor": 495})).unwrap();
        assert_eq!(
            parsed.return_methods,
            [MethodTerms {
                method: MethodKind::Mail,
                buyer_pays: BuyerPays::ByReason,
                fee_minor: None,
            }]
        );
        let listed = json!({"return_shipping_fee_minor": 495, "return_methods": [
            {"method": "relay_point", "buyer_pays": "never"},
            {"method": "pickup", "buyer_pays": "always", "fee_minor": 800},
        ]});
        let parsed = SellerPolicy::parse(&listed).unwrap();
        assert_eq!(parsed.default_method(), MethodKind::RelayPoint);
        assert_eq!(
            parsed
                .method_terms(MethodKind::Pickup)
                .and_then(|t| t.fee_minor),
            Some(MinorUnits::new(800).unwrap())
        );
        assert_eq!(
            parsed
                .method_terms(MethodKind::RelayPoint)
                .and_then(|t| t.fee_minor),
            None
        );
        // The stored form parses back to the same policy.
        let stored = serde_json::to_value(&parsed).unwrap();
        assert_eq!(SellerPolicy::parse(&stored).unwrap(), parsed);
        for (bad, field) in [
            (json!([]), "return_methods"),
            (json!([{"method": "drone"}]), "return_methods[0].method"),
            (json!([{"buyer_pays": "never"}]), "return_methods[0].method"),
            (
                json!([{"method": "mail"}, {"method": "mail"}]),
                "return_methods[1].method",
            ),
            (
                json!([{"method": "mail", "buyer_pays": "sometimes"}]),
                "return_methods[0].buyer_pays",
            ),
            (
                json!([{"method": "mail", "fee_minor": -1}]),
                "return_methods[0].fee_minor",
            ),
            (json!(["mail"]), "return_methods[0]"),
        ] {
            let errors = SellerPolicy::parse(&json!({ "return_methods": bad })).unwrap_err();
            assert!(errors.iter().any(|e| e.field == field), "{bad}: {errors:?}");
        }
    }

    #[test]
    fn the_serialised_policy_has_exactly_the_api_fields() {
        let value = serde_json::to_value(SellerPolicy::default()).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "auto_approve_max_minor",
                "buyer_pays_return_shipping_for",
                "inspect_business_days",
                "non_returnable_categories",
                "on_seller_timeout",
                "refund_methods",
                "restocking_fee_percent",
                "return_methods",
                "return_shipping_fee_minor",
                "return_window_days",
                "returnless_refund_max_minor",
                "seller_response_business_days",
                "ship_by_days",
                "store_credit_bonus_percent",
            ]
        );
        assert_eq!(
            serde_json::from_value::<SellerPolicy>(value).unwrap(),
            SellerPolicy::default()
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = SellerPolicy::parse(&json!({
            "return_window_days": -1,
            "restocking_fee_percent": 101,
            "buyer_pays_return_shipping_for": ["changed_mind", "bored", "changed_mind"],
            "auto_approve_max_minor": -5,
            "on_seller_timeout": "ignore",
            "refund_methods": [],
            "ship_by_days": 0,
            "store_credit_bonus_percent": "ten",
            "non_returnable_categories": "perishable",
            "policy_version": 7
        }))
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "return_window_days",
                "non_returnable_categories",
                "restocking_fee_percent",
                "buyer_pays_return_shipping_for[1]",
                "buyer_pays_return_shipping_for[2]",
                "auto_approve_max_minor",
                "on_seller_timeout",
                "ship_by_days",
                "store_credit_bonus_percent",
                "refund_methods",
            ]
        );
        assert_eq!(fields(&SellerPolicy::parse(&json!([1])).unwrap_err()), [""]);
    }

    #[test]
    fn a_full_document_parses() {
        let policy = SellerPolicy::parse(&json!({
            "return_window_days": 10,
            "non_returnable_categories": ["underwear"],
            "restocking_fee_percent": 15,
            "buyer_pays_return_shipping_for": [],
            "auto_approve_max_minor": 5000,
            "returnless_refund_max_minor": 800,
            "seller_response_business_days": 2,
            "on_seller_timeout": "auto_accept",
            "ship_by_days": 7,
            "inspect_business_days": 5,
            "refund_methods": ["original_payment", "store_credit", "exchange"],
            "store_credit_bonus_percent": 10
        }))
        .unwrap();
        assert_eq!(policy.restocking_fee_percent, 15);
        assert!(policy.is_non_returnable(&Category::parse("Underwear").unwrap()));
        assert_eq!(policy.on_seller_timeout, OnSellerTimeout::AutoAccept);
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn versions_count_up_and_identical_policies_are_no_ops() {
        let seller = SellerId::parse("shop-1").unwrap();
        let command = SetPolicy {
            seller_id: seller.clone(),
            policy: SellerPolicy::default(),
        };
        let actor = Actor::seller("shop-1");
        let events = decide(None, &command, &actor, at()).unwrap();
        let state = events.iter().fold(None, evolve).unwrap();
        assert_eq!(state.current_version(), 1);
        assert!(decide(Some(&state), &command, &actor, at())
            .unwrap()
            .is_empty());

        let mut changed = command.clone();
        changed.policy.return_window_days = 60;
        let events = decide(Some(&state), &changed, &Actor::operator("op-1"), at()).unwrap();
        let state = events.iter().fold(Some(state), evolve).unwrap();
        assert_eq!(state.current_version(), 2);
        assert_eq!(state.at_version(1).unwrap().return_window_days, 30);
        assert_eq!(state.at_version(2).unwrap().return_window_days, 60);
        assert_eq!(state.at_version(0), Some(SellerPolicy::default()));
        assert_eq!(state.at_version(3), None);
    }

    #[test]
    fn only_the_seller_itself_or_an_operator_sets_a_policy() {
        let command = SetPolicy {
            seller_id: SellerId::parse("shop-1").unwrap(),
            policy: SellerPolicy::default(),
        };
        for actor in [
            Actor::seller("shop-2"),
            Actor::buyer("shop-1"),
            Actor::platform("mp"),
            Actor::system(),
        ] {
            let rejection = decide(None, &command, &actor, at()).unwrap_err();
            assert_eq!(rejection.code(), "forbidden");
        }
    }

    #[test]
    fn policy_events_round_trip() {
        let event = PolicyEvent::PolicySet(PolicySet {
            seller_id: SellerId::parse("shop-1").unwrap(),
            policy_version: 3,
            policy: SellerPolicy::default(),
            set_by: Actor::operator("op"),
            at: at(),
        });
        let back =
            PolicyEvent::from_stored(event.event_type(), event.schema_version(), event.to_data())
                .unwrap();
        assert_eq!(back, event);
        assert_eq!(event.event_type(), "policy.set");
        assert!(PolicyEvent::from_stored("policy.set", 2, event.to_data()).is_err());
    }
}
