-- Abuse detection: the `abuse` projection's state and the flags it raises. See docs/abuse.md.

-- The projection's own state is kept as `json` (stored as written, not parsed into `jsonb`): it is
-- only ever read and written whole, by the projection and by the risk endpoint.

-- What abuse detection remembers of each return still open (`arbitration::abuse::ReturnMemo`): a
-- few facts of its request and of its last decisions, enough to tell what a later event means for
-- its buyer and seller. The row goes when the return is closed.
CREATE TABLE abuse_returns (
    return_id uuid  PRIMARY KEY,
    memo      json  NOT NULL
);

-- One row per buyer and per seller: day-bucketed counters and evidence over the rolling window
-- (`arbitration::abuse::PartyMetrics`), folded from the feed.
CREATE TABLE abuse_parties (
    party_role text        NOT NULL CHECK (party_role IN ('buyer', 'seller')),
    party_id   text        NOT NULL,
    metrics    json        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (party_role, party_id)
);

-- The marketplace baseline (`arbitration::abuse::Baseline`): one row.
CREATE TABLE abuse_baseline (
    id       smallint PRIMARY KEY CHECK (id = 1),
    baseline json     NOT NULL
);

-- Flags: the view of the `flag-<id>` streams (`flag.raised`, `flag.reviewed`), written in the same
-- transaction as the events (by the projection when it raises a flag, by the review command).
CREATE TABLE abuse_flags (
    id                uuid        PRIMARY KEY,
    party_role        text        NOT NULL CHECK (party_role IN ('buyer', 'seller')),
    party_id          text        NOT NULL,
    kind              text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('open', 'confirmed', 'dismissed')),
    raised_at         timestamptz NOT NULL,
    metrics           jsonb       NOT NULL,
    threshold         jsonb       NOT NULL,
    evidence_return_ids uuid[]    NOT NULL,
    evidence_positions  bigint[]  NOT NULL,
    -- The stream version of the flag (1 when raised, 2 once reviewed, ...).
    version           integer     NOT NULL,
    reviewed_at       timestamptz,
    reviewed_by       text,
    -- The latest `flag.reviewed` (its note, personal data, is stored under this event id).
    review_event_id   uuid,
    -- The global position of the review that confirmed it: recommendations for a past moment only
    -- count flags confirmed before it.
    confirmed_position bigint
);
CREATE INDEX abuse_flags_status_idx ON abuse_flags (status, raised_at, id);
CREATE INDEX abuse_flags_party_idx ON abuse_flags (party_role, party_id, raised_at);
