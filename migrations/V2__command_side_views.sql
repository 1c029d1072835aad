-- Views kept current in each command's own transaction, so that a caller reads its own writes at
-- once and a command loads its aggregate in one query instead of replaying the stream. Each row is
-- derived from the log and can be rebuilt from it; none is a source of truth.

-- The current state of every aggregate (return case, order, seller policy), as of `version`,
-- which is always the stream's version: both are written in the same transaction.
CREATE TABLE snapshots (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL,
    state     json   NOT NULL
);

-- What lists and visibility checks of returns need, without reading the whole state.
CREATE TABLE return_index (
    return_id  uuid        PRIMARY KEY,
    rma        text        NOT NULL,
    order_id   text        NOT NULL,
    buyer_id   text        NOT NULL,
    seller_id  text        NOT NULL,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT return_index_rma_key UNIQUE (rma)
);
CREATE INDEX return_index_buyer_idx ON return_index (buyer_id, created_at DESC, return_id DESC);
CREATE INDEX return_index_seller_idx ON return_index (seller_id, created_at DESC, return_id DESC);
CREATE INDEX return_index_order_idx ON return_index (order_id);
CREATE INDEX return_index_created_idx ON return_index (created_at DESC, return_id DESC);

-- The deadlines running now, one row per return and kind; the scheduler takes due rows with
-- FOR UPDATE SKIP LOCKED, so several instances never apply the same deadline twice at once.
CREATE TABLE deadlines (
    return_id uuid        NOT NULL,
    kind      text        NOT NULL,
    due_at    timestamptz NOT NULL,
    PRIMARY KEY (return_id, kind)
);
CREATE INDEX deadlines_due_idx ON deadlines (due_at);

-- Answers to requests sent with an Idempotency-Key, per caller, kept 24 hours.
CREATE TABLE idempotency_keys (
    caller_role  text        NOT NULL,
    caller_id    text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_role, caller_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
