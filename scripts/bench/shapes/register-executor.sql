-- What the executor sends to register a new order (crates/app/src/aggregates/order.rs): round trip
-- 1 is BEGIN and the two loads, round trip 2 the append, the snapshot and COMMIT.
\set n random(1, 1000000000000)
\startpipeline
BEGIN;
SELECT state, version FROM snapshots WHERE stream_id = 'order-' || :n FOR UPDATE;
SELECT (state -> 'versions' -> -1 ->> 'policy_version')::bigint FROM snapshots WHERE stream_id = 'policy-s1';
\endpipeline
\startpipeline
SELECT * FROM append_events('order-' || :n, 0, ARRAY[gen_random_uuid()], ARRAY['order.registered'], ARRAY[1], ARRAY[bench_payload()], 'platform', 'platform-1', gen_random_uuid(), NULL, now());
INSERT INTO snapshots (stream_id, version, state) VALUES ('order-' || :n, 1, bench_payload()) ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state;
COMMIT;
\endpipeline
