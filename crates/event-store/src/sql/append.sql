-- Append events to a stream that must be at version $2 (0: must not exist yet).
-- One statement, one round trip. The guard makes an append at a version the stream has not reached
-- insert nothing; an append at a version the stream has passed collides on
-- events_stream_version_key. Either way the caller sees a conflict and nothing is written.
WITH guard AS (
    SELECT 1
    WHERE $2::bigint = 0
       OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $2::bigint)
)
INSERT INTO events (event_id, stream_id, version, event_type, schema_version, data,
                    actor_role, actor_id, correlation_id, causation_id, occurred_at)
SELECT e.event_id, $1, $2::bigint + e.ord, e.event_type, e.schema_version, e.data,
       $7, $8, $9, $10, $11
FROM guard,
     unnest($3::uuid[], $4::text[], $5::int4[], $6::json[])
         WITH ORDINALITY AS e(event_id, event_type, schema_version, data, ord)
ORDER BY e.ord
RETURNING position, tx_id, version
