-- Append events to a stream that must be at version $2 (0: must not exist yet), failing the
-- statement (and so the transaction) when it is not: see migrations/V13__command_executor.sql.
SELECT o_position, o_tx_id, o_version
FROM append_events($1, $2::bigint, $3::uuid[], $4::text[], $5::int4[], $6::json[],
                   $7, $8, $9, $10, $11)
