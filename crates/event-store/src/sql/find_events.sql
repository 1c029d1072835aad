-- Where the given events already stand: used to answer a repeated append with its first result.
SELECT event_id, stream_id, version, position, tx_id
FROM events
WHERE event_id = ANY($1::uuid[])
ORDER BY version
