//! Webhook subscriptions: configuration rather than case history, so they are rows, not streams;
//! registering and deleting one still runs through the executor, with the one idempotency protocol
//! of every command (a retried registration gets the same webhook back instead of a second one
//! that would deliver every event twice).
//!
//! The target URL is checked (scheme, host, resolved addresses) by [`crate::Service`] before the
//! command runs, since that takes a DNS lookup, which has no place inside a transaction.

use chrono::{DateTime, Utc};
use returns_domain::{Actor, Role};
use returns_projections::webhooks::{
    subscription_from_row, Subscription, DELETE_SUBSCRIPTION_SQL, INSERT_SUBSCRIPTION_SQL,
    LOCK_LIVE_SUBSCRIPTION_SQL,
};
use tokio_postgres::Row;
use uuid::Uuid;

use super::first;
use crate::error::AppError;
use crate::executor::{Command, Cx, Sql, Writes};

/// Whether `caller` may see `subscription`: its owner, or an operator.
pub(crate) fn sees(caller: &Actor, subscription: &Subscription) -> bool {
    caller.role == Role::Operator
        || (subscription.owner_role == caller.role.as_str() && subscription.owner_id == caller.id)
}

/// `POST /v1/webhooks` (operators and the platform), its body validated.
pub(crate) struct RegisterWebhookCommand {
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
    /// Real time: deliveries are queued and sent in real time.
    pub created_at: DateTime<Utc>,
}

impl Command for RegisterWebhookCommand {
    type Loaded = ();
    type Outcome = Subscription;

    fn name(&self) -> &'static str {
        "register-webhook"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        Vec::new()
    }

    fn parse(&self, _rows: Vec<Vec<Row>>, _cx: &Cx) -> Result<(), AppError> {
        Ok(())
    }

    fn decide(&self, _: (), cx: &Cx, writes: &mut Writes) -> Result<Subscription, AppError> {
        let subscription = Subscription {
            id: Uuid::now_v7(),
            owner_role: cx.caller.role.as_str().to_owned(),
            owner_id: cx.caller.id.clone(),
            url: self.url.clone(),
            events: self.events.clone(),
            created_at: self.created_at,
        };
        writes.push(Sql::new(
            INSERT_SUBSCRIPTION_SQL,
            vec![
                Box::new(subscription.id),
                Box::new(subscription.owner_role.clone()),
                Box::new(subscription.owner_id.clone()),
                Box::new(subscription.url.clone()),
                Box::new(self.secret.clone()),
                Box::new(subscription.events.clone()),
                Box::new(subscription.created_at),
            ],
        ));
        Ok(subscription)
    }
}

/// `DELETE /v1/webhooks/{id}` (its owner or an operator): nothing more is queued or sent for it.
pub(crate) struct DeleteWebhookCommand {
    pub id: Uuid,
}

impl Command for DeleteWebhookCommand {
    type Loaded = Subscription;
    type Outcome = Subscription;

    fn name(&self) -> &'static str {
        "delete-webhook"
    }

    fn load(&self, _cx: &Cx) -> Vec<Sql> {
        vec![Sql::new(
            LOCK_LIVE_SUBSCRIPTION_SQL,
            vec![Box::new(self.id)],
        )]
    }

    fn parse(&self, rows: Vec<Vec<Row>>, cx: &Cx) -> Result<Subscription, AppError> {
        let row = first(&rows, 0).ok_or(AppError::NotFound)?;
        let subscription = subscription_from_row(row)?;
        if !sees(&cx.caller, &subscription) {
            return Err(AppError::NotFound);
        }
        Ok(subscription)
    }

    fn decide(
        &self,
        subscription: Subscription,
        _cx: &Cx,
        writes: &mut Writes,
    ) -> Result<Subscription, AppError> {
        writes.push(Sql::new(
            DELETE_SUBSCRIPTION_SQL,
            vec![Box::new(subscription.id)],
        ));
        Ok(subscription)
    }
}
