-- The abuse projection rewrites a party's metrics row (a few kB of JSON, stored out of line and
-- compressed) whenever the party has new facts. lz4 compresses and decompresses it several times
-- faster than the default pglz.
ALTER TABLE abuse_parties ALTER COLUMN metrics SET COMPRESSION lz4;
ALTER TABLE abuse_returns ALTER COLUMN memo SET COMPRESSION lz4;
ALTER TABLE abuse_baseline ALTER COLUMN baseline SET COMPRESSION lz4;
