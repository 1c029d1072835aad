-- A deadline whose command fails (anything but the database being unavailable) is set aside with
-- a back-off instead of being taken first again on every round: the scheduler goes on with the
-- others, and tries it again once `retry_at` has passed. A command that moves the deadline (the
-- return's state changed) clears both.
ALTER TABLE deadlines ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE deadlines ADD COLUMN retry_at timestamptz;
ALTER TABLE deadlines ADD COLUMN last_error text;
