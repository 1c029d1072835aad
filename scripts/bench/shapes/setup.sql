-- Shared by the shapes: the ~400-byte order payload (as the service writes it) and the plain table
-- of pgbench's one-row INSERT.
CREATE FUNCTION bench_payload() RETURNS json IMMUTABLE LANGUAGE sql AS $$
  SELECT '{"order_id":"o-123456","buyer_id":"buyer-1","seller_id":"seller-1","items":[{"line_id":"l1","sku":"SKU-1","quantity":1,"unit_price":{"amount":1999,"currency":"EUR"}}],"paid":{"amount":1999,"currency":"EUR"},"placed_at":"2026-12-01T10:00:00Z","jurisdiction":"FR","category":"electronics","policy_version":0}'::json
$$;
CREATE TABLE bench_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL);
