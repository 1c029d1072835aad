//! Policy what-if (docs/api.md, "Policy what-if"): a seller's past returns judged again under a
//! proposed policy, read only, a page at a time (the API streams the pages).

use chrono::{DateTime, Duration, Utc};
use returns_domain::whatif::{self, ReturnWhatIf, MAX_PERIOD_DAYS, MAX_RETURNS};
use returns_domain::{Actor, FieldError, Rejection, SellerId, SellerPolicy};
use uuid::Uuid;

use crate::aggregates::returns::seller_cases;
use crate::error::AppError;
use crate::service::Service;

/// How many returns are judged per page.
pub const WHAT_IF_PAGE: i64 = 200;

/// One page of a what-if, and where the next starts.
#[derive(Debug)]
pub struct WhatIfPage {
    pub returns: Vec<ReturnWhatIf>,
    pub next: Option<(DateTime<Utc>, Uuid)>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    Rejection::Validation(vec![FieldError::new(field, message)]).into()
}

impl Service {
    /// Checks a what-if before it starts: who asks (the seller itself or an operator), the period
    /// (`from` before `to`, at most `MAX_PERIOD_DAYS`) and its size (at most `MAX_RETURNS`
    /// returns). Answers how many returns it will judge.
    pub async fn what_if_check(
        &self,
        caller: &Actor,
        seller_id: &SellerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, AppError> {
        returns_domain::policy::authorize_action(caller, seller_id, "ask a policy what-if")?;
        if from >= to {
            return Err(invalid("from", "must be before `to`"));
        }
        if to - from > Duration::days(MAX_PERIOD_DAYS) {
            return Err(invalid(
                "to",
                format!("a what-if covers at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        let client = self.store().pool().get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM return_index \
                 WHERE seller_id = $1 AND created_at >= $2 AND created_at < $3 LIMIT $4) x",
            )
            .await?;
        let count: i64 = client
            .query_one(
                &stmt,
                &[&seller_id.as_str(), &from, &to, &(MAX_RETURNS + 1)],
            )
            .await?
            .try_get(0)?;
        if count > MAX_RETURNS {
            return Err(invalid(
                "to",
                format!("the period holds more than {MAX_RETURNS} returns; ask for a shorter one"),
            ));
        }
        Ok(count)
    }

    /// One page of a what-if: the seller's returns created in `[from, to)` after `after`, each as
    /// it was and as it would have been under `proposed`.
    pub async fn what_if_page(
        &self,
        caller: &Actor,
        seller_id: &SellerId,
        proposed: &SellerPolicy,
        period: (DateTime<Utc>, DateTime<Utc>),
        after: Option<(DateTime<Utc>, Uuid)>,
    ) -> Result<WhatIfPage, AppError> {
        returns_domain::policy::authorize_action(caller, seller_id, "ask a policy what-if")?;
        let client = self.store().pool().get().await?;
        let page = seller_cases(
            &client,
            caller,
            seller_id.as_str(),
            period,
            after,
            WHAT_IF_PAGE,
        )
        .await?;
        let returns = page
            .cases
            .iter()
            .map(|(case, order, policy)| whatif::what_if(case, order, policy, proposed))
            .collect::<Result<_, _>>()?;
        Ok(WhatIfPage {
            returns,
            next: page.next,
        })
    }
}
