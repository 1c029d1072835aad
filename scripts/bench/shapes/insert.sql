-- The ceiling: one row, one index, one statement.
INSERT INTO bench_plain (payload) VALUES (bench_payload()::jsonb);
