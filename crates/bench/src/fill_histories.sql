-- Cases $1 .. $1 + $2 - 1, ten events each, shaped as the service writes them (events that the
-- domain decodes, with realistic sizes; free text is null, as in the log). $3 holds the cases'
-- RMA numbers. One statement: one transaction per call. Event and
-- return ids increase with k, as the service's UUIDv7 ids increase with time.
INSERT INTO events (event_id, stream_id, version, event_type, schema_version, data,
                    actor_role, actor_id, correlation_id, occurred_at)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(k * 10 + e), 12, '0'))::uuid,
       CASE WHEN e = 0 THEN 'order-o' || k
            ELSE 'return-' || ('00000000-0001-7000-8000-' || lpad(to_hex(k), 12, '0'))::uuid END,
       CASE WHEN e = 0 THEN 1 ELSE e END,
       CASE e WHEN 0 THEN 'order.registered' WHEN 1 THEN 'return.requested'
              WHEN 3 THEN 'return.escalated' WHEN 4 THEN 'return.deadline_missed'
              WHEN 5 THEN 'return.refunded' WHEN 6 THEN 'return.closed'
              ELSE 'return.message_posted' END,
       1,
       CASE e
         WHEN 0 THEN json_build_object('order', json_build_object(
             'order_id', 'o' || k, 'buyer_id', 'b' || (k % 2000), 'seller_id', 's' || (k % 200),
             'currency', 'EUR', 'jurisdiction', 'DE', 'placed_at', now() - interval '9 days',
             'lines', json_build_array(json_build_object('line_id', 'l1', 'sku', 'SKU-1',
                 'title', 'Wireless headphones', 'category', 'electronics', 'quantity', 1,
                 'unit_price_minor', 4999))), 'policy_version', 0)
         WHEN 1 THEN json_build_object('return_id', ('00000000-0001-7000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, 'rma', ($3::text[])[k - $1 + 1],
             'order_id', 'o' || k, 'buyer_id', 'b' || (k % 2000), 'seller_id', 's' || (k % 200),
             'currency', 'EUR', 'jurisdiction', 'DE',
             'items', json_build_array(json_build_object('line_id', 'l1', 'sku', 'SKU-1',
                 'title', 'Wireless headphones', 'category',
                 (ARRAY['electronics', 'apparel', 'home', 'toys'])[k % 4 + 1], 'quantity', 1,
                 'unit_price_minor', 4999)),
             'reason', (ARRAY['defective', 'not_as_described', 'size_fit', 'changed_mind'])[k % 4 + 1],
             'description', NULL, 'resolution', 'refund',
             'evaluation', json_build_object('eligible', true, 'rules',
                 json_build_array('eu_withdrawal_14d', 'seller_window_30d'),
                 'window_ends', now() + interval '21 days',
                 'items_total_minor', 4999, 'restocking_fee_percent', 0,
                 'restocking_fee_minor', 0, 'requested_amount_minor', 4999,
                 'buyer_pays_return_shipping', false, 'refund_due_days', 14,
                 'policy_version', 0),
             'at', now() - interval '8 days')
         WHEN 3 THEN json_build_object('trigger', 'buyer', 'reason_text', NULL,
             'decision_due', now() - interval '5 days', 'at', now() - interval '7 days')
         WHEN 4 THEN json_build_object('kind', 'decision_due', 'due_at', now() - interval '5 days',
             'at', now() - interval '5 days')
         WHEN 5 THEN json_build_object('amount_minor', 4999, 'principal_minor', 4999,
             'bonus_minor', 0, 'method', 'original_payment', 'reference', 'psp-' || k,
             'at', now() - interval '4 days')
         WHEN 6 THEN json_build_object('outcome', 'refunded', 'at', now() - interval '4 days')
         ELSE json_build_object('body', NULL, 'at', now() - interval '6 days')
       END,
       'system', 'bench', gen_random_uuid(), now()
FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS k,
     generate_series(0, 9) AS e
ORDER BY k, e
