//! Webhooks as the API uses them: registering and deleting a subscription (commands, run by the
//! executor, see `aggregates::webhook`), reading subscriptions and their deliveries, and queuing
//! a parked delivery again. The tables and the sending are `returns_projections::webhooks` and
//! `::dispatch`'s; this module is the one way the API reaches them.
//!
//! A webhook belongs to the party that registered it: the platform sees its own, operators see
//! every one, and a webhook the caller may not see is "not found".

use std::time::Duration;

use chrono::Utc;
use returns_domain::Actor;
pub use returns_projections::dispatch::{AllowList, TargetError};
use returns_projections::webhooks as outbox;
pub use returns_projections::webhooks::{
    Delivery, DeliveryStatus, Requeue, Subscription, ALL_RETURN_EVENTS,
};
use uuid::Uuid;

use crate::aggregates::webhook::{sees, DeleteWebhookCommand, RegisterWebhookCommand};
use crate::clock::{Clock, SystemClock};
use crate::error::AppError;
use crate::executor::{Answered, CommandOptions};
use crate::idempotency::StoredResponse;
use crate::service::Service;

/// A webhook registration, its fields checked by the caller (the target with
/// [`Service::check_webhook_target`]).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
}

impl Service {
    /// Whether `url` may receive webhooks: http(s), and a host that resolves to addresses outside
    /// loopback, private and other restricted ranges unless `allow` names it.
    pub async fn check_webhook_target(
        &self,
        url: &str,
        allow: &AllowList,
        timeout: Duration,
    ) -> Result<(), TargetError> {
        returns_projections::dispatch::validate_target(url, allow, timeout)
            .await
            .map(|_| ())
    }

    /// `POST /v1/webhooks`: registers a webhook; it receives the events recorded from now on.
    pub async fn register_webhook<R>(
        &self,
        caller: &Actor,
        webhook: NewWebhook,
        opts: &CommandOptions,
        render: R,
    ) -> Result<Answered<Subscription>, AppError>
    where
        R: Fn(&Subscription) -> StoredResponse + Sync,
    {
        let command = RegisterWebhookCommand {
            url: webhook.url,
            secret: webhook.secret,
            events: webhook.events,
            // Deliveries are queued and sent in real time, whatever the service clock says.
            created_at: SystemClock.now(),
        };
        self.executor()
            .execute(caller, opts, &command, &render)
            .await
    }

    /// `DELETE /v1/webhooks/{id}`: nothing more is queued or sent for it.
    pub async fn delete_webhook(&self, caller: &Actor, id: Uuid) -> Result<(), AppError> {
        let command = DeleteWebhookCommand { id };
        let render = |_: &Subscription| StoredResponse {
            status: 204,
            body: Vec::new(),
            etag: None,
        };
        self.executor()
            .execute(caller, &CommandOptions::default(), &command, &render)
            .await
            .map(|_| ())
    }

    /// `GET /v1/webhooks`: the webhooks the caller may see, in registration order after `after`;
    /// at most `limit`, and whether there are more.
    pub async fn list_webhooks(
        &self,
        caller: &Actor,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<(Vec<Subscription>, bool), AppError> {
        let owner = (caller.role != returns_domain::Role::Operator)
            .then(|| (caller.role.as_str(), caller.id.as_str()));
        let client = self.store().pool().get().await?;
        Ok(outbox::list_subscriptions(&client, owner, after, limit).await?)
    }

    /// `GET /v1/webhooks/{id}`, if the caller may see it.
    pub async fn get_webhook(&self, caller: &Actor, id: Uuid) -> Result<Subscription, AppError> {
        let client = self.store().pool().get().await?;
        match outbox::get_subscription(&client, id).await? {
            Some(s) if sees(caller, &s) => Ok(s),
            _ => Err(AppError::NotFound),
        }
    }

    /// `GET /v1/webhooks/{id}/deliveries`: oldest first, optionally of one status.
    pub async fn webhook_deliveries(
        &self,
        caller: &Actor,
        id: Uuid,
        status: Option<DeliveryStatus>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<(Vec<Delivery>, bool), AppError> {
        self.get_webhook(caller, id).await?;
        let client = self.store().pool().get().await?;
        Ok(outbox::list_deliveries(&client, id, status, after, limit).await?)
    }

    /// `POST /v1/webhooks/deliveries/{id}/retry`: a parked delivery is due again at once, with a
    /// new retry span. Deliveries are queued in real time, so they are re-queued in real time too.
    pub async fn requeue_delivery(&self, id: Uuid) -> Result<Requeue, AppError> {
        let mut client = self.store().pool().get().await?;
        // One transaction: the answer is the delivery as re-queued, read before a dispatcher can
        // claim it (the row stays locked until the commit).
        let tx = client.transaction().await?;
        let requeued = outbox::requeue_delivery(&tx, id, Utc::now()).await?;
        tx.commit().await?;
        Ok(requeued)
    }

    /// `GET /v1/analytics/summary` for one seller or the whole marketplace.
    pub async fn analytics_summary(
        &self,
        seller_id: Option<&str>,
        from: chrono::DateTime<Utc>,
        to: chrono::DateTime<Utc>,
    ) -> Result<returns_projections::Summary, AppError> {
        let client = self.store().pool().get().await?;
        Ok(returns_projections::summary(&client, seller_id, from, to).await?)
    }

    /// `GET /v1/analytics/satisfaction/sellers`: satisfaction by seller, a page of sellers in id
    /// order.
    pub async fn satisfaction_by_seller(
        &self,
        from: chrono::DateTime<Utc>,
        to: chrono::DateTime<Utc>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<returns_projections::SellerScores>, AppError> {
        let client = self.store().pool().get().await?;
        Ok(
            returns_projections::summary::satisfaction_by_seller(&client, from, to, after, limit)
                .await?,
        )
    }
}
