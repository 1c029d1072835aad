-- The next batch of the global feed after ($1, $2) = (tx_id, position).
-- Only transactions older than the oldest one still running are read: their set of events is final,
-- so the feed never skips an event that commits later with a smaller key. The horizon is taken in
-- this same statement, from this statement's snapshot.
SELECT position, tx_id, event_id, stream_id, version, event_type, schema_version, data,
       actor_role, actor_id, correlation_id, causation_id, occurred_at, recorded_at
FROM events
WHERE (tx_id, position) > ($1::bigint, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY tx_id, position
LIMIT $3
