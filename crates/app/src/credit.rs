//! Store credit (docs/api.md, "Store credit"): a buyer's ledger, read by the buyer, operators and
//! the platform, and moved by the platform's commands (see `aggregates::credit`).

use returns_domain::credit::{self, CreditAccount, CreditCommand, CreditEvent};
use returns_domain::{Actor, BuyerId};

use crate::aggregates::credit::CreditCommandRun;
use crate::error::AppError;
use crate::executor::{Answered, CommandOptions};
use crate::idempotency::StoredResponse;
use crate::service::Service;

/// A page of a ledger's movements, oldest first: each with the ledger's version after it.
#[derive(Debug)]
pub struct CreditPage {
    pub movements: Vec<(u64, CreditEvent)>,
    /// The version of the page's last movement, when more may follow.
    pub next: Option<u64>,
}
use crate::views::{self, credit_stream};

impl Service {
    /// `GET /v1/buyers/{buyer_id}/store-credit`: the ledger and its version (an empty ledger at
    /// version 0 while no credit was ever issued).
    pub async fn store_credit(
        &self,
        caller: &Actor,
        buyer_id: &BuyerId,
    ) -> Result<(CreditAccount, u64), AppError> {
        credit::check_read(buyer_id, caller)?;
        let client = self.store().pool().get().await?;
        let stream = credit_stream(buyer_id.as_str());
        Ok(views::load::<CreditAccount, _>(&client, &stream, false)
            .await?
            .unwrap_or_else(|| (CreditAccount::empty(buyer_id.clone()), 0)))
    }

    /// `GET /v1/buyers/{buyer_id}/store-credit/movements`: every movement, oldest first, after
    /// version `after`, at most `limit` (1 to 200).
    pub async fn credit_movements(
        &self,
        caller: &Actor,
        buyer_id: &BuyerId,
        after: u64,
        limit: usize,
    ) -> Result<CreditPage, AppError> {
        credit::check_read(buyer_id, caller)?;
        let client = self.store().pool().get().await?;
        let limit = limit.clamp(1, 200);
        let stream = credit_stream(buyer_id.as_str());
        let mut events = self
            .store()
            .read_stream_in(&client, &stream, after.saturating_add(1), limit + 1)
            .await?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.version)
        } else {
            None
        };
        let movements = events
            .iter()
            .map(|e| {
                let data = serde_json::from_str(e.data.get())?;
                CreditEvent::from_stored(&e.event_type, e.schema_version, data)
                    .map(|event| (e.version, event))
                    .map_err(|err| AppError::Internal(format!("{}: {err}", e.event_id)))
            })
            .collect::<Result<_, AppError>>()?;
        Ok(CreditPage { movements, next })
    }

    /// `POST /v1/buyers/{buyer_id}/store-credit/spend` and `/expire` (the platform).
    pub async fn move_credit<R>(
        &self,
        caller: &Actor,
        buyer_id: BuyerId,
        command: CreditCommand,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<(CreditAccount, u64)>, AppError>
    where
        R: Fn(&(CreditAccount, u64)) -> StoredResponse + Sync,
    {
        let command = CreditCommandRun { buyer_id, command };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }
}
