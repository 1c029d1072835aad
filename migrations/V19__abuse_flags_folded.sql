-- The abuse projection becomes the only writer of `abuse_flags`: it folds `flag.raised` and
-- `flag.reviewed` from the log (the review command only appends its event), so the table can be
-- rebuilt from the log like the projection's other tables.
--
-- `raised_position` is the global position of the flag's `flag.raised`. It is null for a flag the
-- projection has raised (appended, in the same transaction as this row) but not folded yet: such a
-- row keeps the flag from being raised twice and does not yet count as a flag on its party.
ALTER TABLE abuse_flags ADD COLUMN raised_position bigint;
UPDATE abuse_flags f SET raised_position = e.position
FROM events e WHERE e.stream_id = 'flag-' || f.id::text AND e.version = 1;
