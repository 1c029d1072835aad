-- One stream from a version on, in version order.
SELECT position, tx_id, event_id, stream_id, version, event_type, schema_version, data,
       actor_role, actor_id, correlation_id, causation_id, occurred_at, recorded_at
FROM events
WHERE stream_id = $1 AND version >= $2
ORDER BY version
LIMIT $3
