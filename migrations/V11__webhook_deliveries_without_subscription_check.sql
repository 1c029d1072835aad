-- Queuing a delivery no longer checks its subscription row by foreign key. The check ran once per
-- queued delivery (a trigger per row) and cost about 28% of inserting them, which is what bounds
-- how fast the webhooks projection catches up; it guarded nothing: subscriptions are never deleted
-- (`DELETE /v1/webhooks/{id}` sets `deleted_at`), and the projection queues deliveries only for
-- subscriptions it read in the same transaction.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_subscription_id_fkey;
