-- One read and the event alone, without a snapshot: what a registration costs at least with the
-- events table as it is (three indexes).
\set n random(1, 1000000000000)
SELECT o.state, o.version, (SELECT (state -> 'versions' -> -1 ->> 'policy_version')::bigint FROM snapshots WHERE stream_id = 'policy-s1') FROM (SELECT 1) x LEFT JOIN snapshots o ON o.stream_id = 'order-' || :n;
SELECT * FROM append_events('order-' || :n, 0, ARRAY[gen_random_uuid()], ARRAY['order.registered'], ARRAY[1], ARRAY[bench_payload()], 'platform', 'platform-1', gen_random_uuid(), NULL, now());
