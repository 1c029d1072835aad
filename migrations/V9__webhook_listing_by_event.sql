-- Deliveries of a webhook are listed in the order of their events (event ids are time-ordered),
-- through the unique (subscription_id, event_id) index that already makes queuing exactly-once.
-- The separate listing index over (subscription_id, status, id) cost one more index entry for
-- every queued delivery and a new one at each change of status; it is dropped.
DROP INDEX webhook_deliveries_listing_idx;
