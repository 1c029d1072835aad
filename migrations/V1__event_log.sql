-- The event log: the only source of truth of the service.
--
-- One row per event. `position` is a global, gap-tolerant sequence number; `tx_id` is the id of the
-- transaction that appended the event. The global feed is read in (tx_id, position) order and only
-- up to the oldest transaction still running, which makes catch-up gap-free even though sequence
-- numbers commit out of order (see docs/event-store.md).
CREATE TABLE events (
    event_id       uuid        NOT NULL,
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    tx_id          bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    stream_id      text        NOT NULL,
    version        bigint      NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    data           json        NOT NULL,
    actor_role     text        NOT NULL,
    actor_id       text        NOT NULL,
    correlation_id uuid        NOT NULL,
    causation_id   uuid,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_pkey PRIMARY KEY (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_version_positive CHECK (version > 0),
    CONSTRAINT events_schema_version_positive CHECK (schema_version > 0)
);

-- `data` is `json`, not `jsonb`: the log stores and returns each event's text exactly as written
-- and never queries inside it (read models have their own tables), so the parse into jsonb on every
-- insert and the rendering back to text on every read would be pure cost.

-- The feed index: catch-up reads walk it in order.
CREATE UNIQUE INDEX events_feed_idx ON events (tx_id, position);

-- Events are immutable. Personal data never goes into `data`; it lives in tables that can be
-- erased, so this table never has to change.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER events_immutable_rows
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_immutable_table
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
