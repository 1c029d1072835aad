-- Only pending deliveries are ever looked up by due time: the claim of the dispatcher and the
-- queue depth of /metrics (`webhook_queue_depth`). A partial index over the pending rows serves
-- both, stays small as delivered rows pile up, and replaces the index over every row.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
DROP INDEX webhook_deliveries_due_idx;
