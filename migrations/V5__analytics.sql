-- The analytics read model, fed from the log by the `analytics` projection.

CREATE TABLE analytics_orders (
    order_id   text        PRIMARY KEY,
    seller_id  text        NOT NULL,
    buyer_id   text        NOT NULL,
    placed_at  timestamptz NOT NULL
);
CREATE INDEX analytics_orders_seller_idx ON analytics_orders (seller_id, placed_at);
CREATE INDEX analytics_orders_placed_idx ON analytics_orders (placed_at);

CREATE TABLE analytics_returns (
    return_id      uuid        PRIMARY KEY,
    order_id       text        NOT NULL,
    seller_id      text        NOT NULL,
    buyer_id       text        NOT NULL,
    reason         text        NOT NULL,
    categories     text[]      NOT NULL,
    requested_minor bigint     NOT NULL,
    created_at     timestamptz NOT NULL,
    disputed       boolean     NOT NULL DEFAULT false,
    sla_breaches   integer     NOT NULL DEFAULT 0,
    refunded_minor bigint,
    refunded_at    timestamptz,
    outcome        text,
    closed_at      timestamptz
);
CREATE INDEX analytics_returns_seller_idx ON analytics_returns (seller_id, created_at);
CREATE INDEX analytics_returns_created_idx ON analytics_returns (created_at);
