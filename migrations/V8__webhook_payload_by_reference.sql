-- A delivery refers to its event instead of carrying a copy of its body: the dispatcher builds the
-- body from the immutable log when it sends (the same bytes on every retry, since the event never
-- changes). Queueing a delivery then writes a small row, which is what bounds how fast the
-- webhooks projection catches up. `payload` stays for rows queued before this change.
ALTER TABLE webhook_deliveries ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE webhook_deliveries ADD COLUMN rma text;
