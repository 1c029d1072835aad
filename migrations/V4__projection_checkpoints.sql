-- Where each projection is in the global feed, and who may advance it.
--
-- A runner owns a projection through a lease. Taking the lease over increments `generation` (a
-- fencing token); every batch a runner commits first locks this row and checks that the generation
-- is still its own, in the same transaction as the read-model writes and the new checkpoint. An
-- owner that was paused past its lease therefore can never write after a new owner took over.
CREATE TABLE projection_checkpoints (
    name          text        PRIMARY KEY,
    tx_id         bigint      NOT NULL DEFAULT 0,
    position      bigint      NOT NULL DEFAULT 0,
    events        bigint      NOT NULL DEFAULT 0,
    owner         text,
    generation    bigint      NOT NULL DEFAULT 0,
    lease_until   timestamptz,
    failed_event  uuid,
    failure       text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
