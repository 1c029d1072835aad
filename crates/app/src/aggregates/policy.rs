//! Seller return policies: every version a seller sets is kept, and a return is judged by the
//! version in force when its order was registered (docs/product.md, "Policies").

use returns_domain::policy::{self, PolicyEvent, PolicyState, SetPolicy};
use returns_domain::{SellerId, SellerPolicy};
use returns_event_store::NewEvent;
use tokio_postgres::Row;

use super::{first, snapshot_at, SNAPSHOT_LOCKED_SQL};
use crate::error::AppError;
use crate::executor::{Aggregate, Command, Cx, Sql, Writes};
use crate::personal::PersonalValue;
use crate::views::policy_stream;

pub(crate) struct PolicyAggregate;

impl Aggregate for PolicyAggregate {
    type State = PolicyState;
    type Event = PolicyEvent;

    fn stream_id(state: &PolicyState) -> String {
        policy_stream(state.seller_id.as_str())
    }

    fn evolve(state: Option<PolicyState>, event: &PolicyEvent) -> Option<PolicyState> {
        policy::evolve(state, event)
    }

    fn encode(events: &[PolicyEvent]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
        super::plain_events(events)
    }

    fn data_subject(state: &PolicyState) -> (&'static str, &str) {
        ("seller", state.seller_id.as_str())
    }
}

/// `PUT /v1/sellers/{seller_id}/policy`: the stored policy and its version.
pub(crate) struct SetPolicyCommand {
    pub seller_id: SellerId,
    pub policy: SellerPolicy,
}

impl Command for SetPolicyCommand {
    type Loaded = Option<(PolicyState, u64)>;
    type Outcome = (SellerPolicy, u64);

    fn name(&self) -> &'static str {
        "set-policy"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![Sql::new(
            SNAPSHOT_LOCKED_SQL,
            vec![Box::new(policy_stream(self.seller_id.as_str()))],
        )]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, _cx: &Cx) -> Result<Self::Loaded, AppError> {
        first(&rows, 0).map(|r| snapshot_at(r, 0)).transpose()
    }

    fn decide(
        &self,
        loaded: Self::Loaded,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<Self::Outcome, AppError> {
        let (state, version) = loaded.map_or((None, 0), |(s, v)| (Some(s), v));
        cx.opts.expect_version(version)?;
        let command = SetPolicy {
            seller_id: self.seller_id.clone(),
            policy: self.policy.clone(),
        };
        let events = policy::decide(state.as_ref(), &command, &cx.caller, cx.now)?;
        let state = writes.record::<PolicyAggregate>(cx, state, version, &events)?;
        Ok(match state {
            Some(s) => (s.current(), s.current_version()),
            None => (command.policy, 0),
        })
    }
}
