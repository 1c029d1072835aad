-- Webhooks: who wants which events where (`webhook_subscriptions`), an outbox of deliveries that
-- the `webhooks` projection fills from the log in its own checkpointed transactions
-- (`webhook_deliveries`), and the history of every attempt to send one (`webhook_attempts`).
-- See docs/webhooks.md.

-- A registration of `POST /v1/webhooks`. Deleting one sets `deleted_at`: its deliveries and their
-- history stay for operators, and no new ones are queued or sent.
CREATE TABLE webhook_subscriptions (
    id          uuid        PRIMARY KEY,
    owner_role  text        NOT NULL,
    owner_id    text        NOT NULL,
    url         text        NOT NULL,
    -- The HMAC key of `Returns-Signature`: it has to be kept to sign, and is never shown again.
    secret      text        NOT NULL,
    -- `return.*`, `*` or exact event types.
    events      text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE INDEX webhook_subscriptions_owner_idx ON webhook_subscriptions (owner_role, owner_id, id)
    WHERE deleted_at IS NULL;

-- One row per (subscription, event): the unique key makes queuing exactly-once even if the
-- projection applies a batch again after a crash. `seq` is the event's version in its return's
-- stream: deliveries of one (subscription, return) go out in `seq` order, and only the oldest
-- pending one is ever sent (later ones wait until it is delivered or parked).
CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY,
    subscription_id  uuid        NOT NULL REFERENCES webhook_subscriptions (id),
    event_id         uuid        NOT NULL,
    event_type       text        NOT NULL,
    return_id        uuid        NOT NULL,
    seq              bigint      NOT NULL,
    -- The exact body sent (json keeps the text as written, so every retry sends the same bytes).
    payload          json        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'delivered', 'parked')),
    -- Every attempt so far; `failures` counts those since the delivery was last (re)queued and
    -- drives the back-off, `first_attempt_at` starts the retry span of that round.
    attempts         integer     NOT NULL DEFAULT 0,
    failures         integer     NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    -- When it may be tried next; while a dispatcher sends it, the end of that dispatcher's claim.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- The dispatcher round that holds it (a result is stored only by the holder).
    claim            uuid,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    parked_at        timestamptz,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (subscription_id, return_id, seq)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries (subscription_id, status, id);

-- Every attempt to send a delivery, with what came of it.
CREATE TABLE webhook_attempts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES webhook_deliveries (id),
    attempt      integer     NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  integer     NOT NULL,
    -- The receiver's HTTP status, when it answered.
    status_code  integer,
    -- Why it failed, when it did (no bodies, no secrets).
    error        text,
    -- `delivered`, `retry` (queued again) or `parked`.
    outcome      text        NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt);
