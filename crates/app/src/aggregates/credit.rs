//! Store credit (docs/api.md, "Store credit"): one ledger per buyer. A refund paid as store credit
//! credits it in the refund's own transaction (see `returns`); the platform spends and expires
//! credit with the commands here.

use returns_domain::credit::{self, CreditAccount, CreditCommand, CreditEvent};
use returns_domain::BuyerId;
use returns_event_store::NewEvent;
use tokio_postgres::Row;

use super::{first, snapshot_at, SNAPSHOT_LOCKED_SQL};
use crate::error::AppError;
use crate::executor::{Aggregate, Command, Cx, Sql, Writes};
use crate::personal::PersonalValue;
use crate::views::credit_stream;

pub(crate) struct CreditAggregate;

impl Aggregate for CreditAggregate {
    type State = CreditAccount;
    type Event = CreditEvent;

    fn stream_id(state: &CreditAccount) -> String {
        credit_stream(state.buyer_id.as_str())
    }

    fn evolve(state: Option<CreditAccount>, event: &CreditEvent) -> Option<CreditAccount> {
        credit::evolve(state, event)
    }

    fn encode(events: &[CreditEvent]) -> (Vec<NewEvent>, Vec<PersonalValue>) {
        super::plain_events(events)
    }

    fn data_subject(state: &CreditAccount) -> (&'static str, &str) {
        ("buyer", state.buyer_id.as_str())
    }
}

/// The ledger of the buyer of the return `$1`, locked: read beside a refund, which may credit it.
pub(crate) const LEDGER_OF_RETURN_SQL: &str = "SELECT c.state, c.version FROM snapshots c \
     WHERE c.stream_id = 'credit-' || (SELECT r.state ->> 'buyer_id' FROM snapshots r \
                                       WHERE r.stream_id = $1) \
     FOR UPDATE";

/// A ledger as loaded: `None` while no credit was ever issued.
pub(crate) fn ledger_at(row: Option<&Row>) -> Result<Option<(CreditAccount, u64)>, AppError> {
    row.map(|r| snapshot_at(r, 0)).transpose()
}

/// `POST /v1/buyers/{buyer_id}/store-credit/spend` and `/expire`. The outcome is the ledger after
/// the command, or `None` when the buyer never had credit (the command was refused then).
pub(crate) struct CreditCommandRun {
    pub buyer_id: BuyerId,
    pub command: CreditCommand,
}

impl Command for CreditCommandRun {
    type Loaded = Option<(CreditAccount, u64)>;
    type Outcome = (CreditAccount, u64);

    fn name(&self) -> &'static str {
        match self.command {
            CreditCommand::Spend { .. } => "spend-credit",
            CreditCommand::Expire { .. } => "expire-credit",
        }
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![Sql::new(
            SNAPSHOT_LOCKED_SQL,
            vec![Box::new(credit_stream(self.buyer_id.as_str()))],
        )]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, _cx: &Cx) -> Result<Self::Loaded, AppError> {
        ledger_at(first(&rows, 0))
    }

    fn decide(
        &self,
        loaded: Self::Loaded,
        cx: &Cx,
        writes: &mut Writes,
    ) -> Result<Self::Outcome, AppError> {
        let (state, version) = loaded.map_or((None, 0), |(s, v)| (Some(s), v));
        cx.opts.expect_version(version)?;
        let events = credit::decide(
            state.as_ref(),
            &self.buyer_id,
            &self.command,
            &cx.caller,
            cx.now,
        )?;
        let new_version = version + events.len() as u64;
        let state = writes.record::<CreditAggregate>(cx, state, version, &events)?;
        // `decide` refuses every command on a ledger that does not exist.
        state
            .map(|s| (s, new_version))
            .ok_or_else(|| AppError::Internal("a credit command without a ledger".into()))
    }
}
