-- Append events after whatever version the stream is at (no concurrency check).
-- The head is read in this statement's snapshot; a writer that commits the same version first makes
-- this insert collide on events_stream_version_key, and the store retries in a new transaction.
WITH head AS (
    SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = $1
)
INSERT INTO events (event_id, stream_id, version, event_type, schema_version, data,
                    actor_role, actor_id, correlation_id, causation_id, occurred_at)
SELECT e.event_id, $1, head.version + e.ord, e.event_type, e.schema_version, e.data,
       $6, $7, $8, $9, $10
FROM head,
     unnest($2::uuid[], $3::text[], $4::int4[], $5::json[])
         WITH ORDINALITY AS e(event_id, event_type, schema_version, data, ord)
ORDER BY e.ord
RETURNING position, tx_id, version
