-- The command executor (crates/app/src/executor.rs) writes a command's events, snapshots, views
-- and idempotent answer as one pipelined batch followed by COMMIT. Within such a batch a failed
-- statement must abort the transaction, so that COMMIT turns into a rollback and nothing is kept:
-- the append therefore raises an error when the stream is not at the expected version, where the
-- plain statement of `append.sql` inserts nothing and lets its caller notice.
--
-- SQLSTATE RS409: the stream is not at the expected version (the stream has passed it, a unique
-- violation on events_stream_version_key, is reported as such).
CREATE FUNCTION append_events(
    p_stream          text,
    p_expected        bigint,
    p_ids             uuid[],
    p_types           text[],
    p_schema_versions int4[],
    p_data            json[],
    p_actor_role      text,
    p_actor_id        text,
    p_correlation_id  uuid,
    p_causation_id    uuid,
    p_occurred_at     timestamptz
) RETURNS TABLE (o_position bigint, o_tx_id bigint, o_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_expected > 0 AND NOT EXISTS (
        SELECT 1 FROM events WHERE stream_id = p_stream AND version = p_expected
    ) THEN
        RAISE EXCEPTION 'stream % is not at version %', p_stream, p_expected
            USING ERRCODE = 'RS409';
    END IF;
    RETURN QUERY
    WITH appended AS (
        INSERT INTO events (event_id, stream_id, version, event_type, schema_version, data,
                            actor_role, actor_id, correlation_id, causation_id, occurred_at)
        SELECT e.event_id, p_stream, p_expected + e.ord, e.event_type, e.schema_version, e.data,
               p_actor_role, p_actor_id, p_correlation_id, p_causation_id, p_occurred_at
        FROM unnest(p_ids, p_types, p_schema_versions, p_data)
                 WITH ORDINALITY AS e(event_id, event_type, schema_version, data, ord)
        ORDER BY e.ord
        RETURNING events.position, events.tx_id, events.version
    )
    SELECT a.position, a.tx_id, a.version FROM appended a ORDER BY a.version;
END;
$$;

-- The ETag of a stored idempotent answer (the version of the resource it showed), so that a replay
-- carries the same header as the first answer without reading it back out of the body.
ALTER TABLE idempotency_keys ADD COLUMN etag bigint;
