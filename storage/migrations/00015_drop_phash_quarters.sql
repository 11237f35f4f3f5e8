-- +goose Up
-- The evidence table's quarters of the plain perceptual hash (00003) are
-- read by nothing since the near-duplicate index moved to
-- evidence_phashes (00009), whose rows the server now also makes for the
-- photos verified before it (evidence.BackfillPHashes). The plain hash,
-- evidence.phash, stays: it marks the photos that were analysed. SQLite
-- drops a column only once no index names it, so the indexes go first
-- (migrate.go drops the "ON evidence", which only MySQL takes).
DROP INDEX idx_evidence_phash_q0 ON evidence;
DROP INDEX idx_evidence_phash_q1 ON evidence;
DROP INDEX idx_evidence_phash_q2 ON evidence;
DROP INDEX idx_evidence_phash_q3 ON evidence;
ALTER TABLE evidence DROP COLUMN phash_q0;
ALTER TABLE evidence DROP COLUMN phash_q1;
ALTER TABLE evidence DROP COLUMN phash_q2;
ALTER TABLE evidence DROP COLUMN phash_q3;
