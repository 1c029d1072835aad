-- Personal data, kept out of the immutable log so that it can be erased.
--
-- Free text written by people (descriptions, messages, reason texts, notes, rationales, evidence
-- notes and links) is taken out of each event's data before the event is appended: the event keeps
-- `null` in its place and the value is stored here, keyed by event and field. Readers put it back.
-- Erasing a buyer replaces the values of their cases with tombstones of the same JSON type, and the
-- case history still replays.
CREATE TABLE personal_data (
    event_id  uuid        NOT NULL,
    field     text        NOT NULL,
    -- The data subject: the buyer of the return the text belongs to.
    buyer_id  text        NOT NULL,
    value     json        NOT NULL,
    erased_at timestamptz,
    PRIMARY KEY (event_id, field)
);
CREATE INDEX personal_data_buyer_idx ON personal_data (buyer_id);
