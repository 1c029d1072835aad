-- Personal data is keyed by its data subject's role and id, not by a `buyer_id` alone: the notes
-- of a review of a seller's abuse flag are that seller's, and a buyer and a seller may carry the
-- same id string. Erasure picks the values of one (role, id).
ALTER TABLE personal_data RENAME COLUMN buyer_id TO subject_id;
ALTER TABLE personal_data ADD COLUMN subject_role text NOT NULL DEFAULT 'buyer';

-- Values written before: those of flag reviews belong to the flagged party, those of seller
-- policies to the seller; everything else (returns and orders) to the buyer.
UPDATE personal_data p SET subject_role = f.party_role
FROM events e JOIN abuse_flags f ON e.stream_id = 'flag-' || f.id::text
WHERE e.event_id = p.event_id;
UPDATE personal_data p SET subject_role = 'seller'
FROM events e
WHERE e.event_id = p.event_id AND e.stream_id LIKE 'policy-%';

ALTER TABLE personal_data ALTER COLUMN subject_role DROP DEFAULT;
DROP INDEX personal_data_buyer_idx;
CREATE INDEX personal_data_subject_idx ON personal_data (subject_role, subject_id);
