-- The same rows with the fewest statements: one read, then one statement writing the event and the
-- snapshot (no explicit transaction, no lock).
\set n random(1, 1000000000000)
SELECT o.state, o.version, (SELECT (state -> 'versions' -> -1 ->> 'policy_version')::bigint FROM snapshots WHERE stream_id = 'policy-s1') FROM (SELECT 1) x LEFT JOIN snapshots o ON o.stream_id = 'order-' || :n;
WITH a AS (SELECT * FROM append_events('order-' || :n, 0, ARRAY[gen_random_uuid()], ARRAY['order.registered'], ARRAY[1], ARRAY[bench_payload()], 'platform', 'platform-1', gen_random_uuid(), NULL, now())), s AS (INSERT INTO snapshots (stream_id, version, state) VALUES ('order-' || :n, 1, bench_payload()) ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state) SELECT count(*) FROM a;
