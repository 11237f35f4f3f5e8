-- +goose Up
-- What the evidence pipeline records about each file. Perceptual hashes
-- are also kept as four 16-bit quarters, each indexed: two photos within
-- Hamming distance 3 share at least one quarter, so near-duplicate
-- candidates come from index lookups, never a table scan.
ALTER TABLE evidence ADD COLUMN device_id CHAR(36) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN site_id CHAR(36) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN sha256 CHAR(64) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE evidence ADD COLUMN content_type VARCHAR(100) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN captured_at DATETIME(6) NULL;
ALTER TABLE evidence ADD COLUMN captured_utc_offset INT NULL;
ALTER TABLE evidence ADD COLUMN location TEXT NULL;
ALTER TABLE evidence ADD COLUMN object_key VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN thumb_key VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN upload_id VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN media TEXT NULL;
ALTER TABLE evidence ADD COLUMN flags TEXT NULL;
ALTER TABLE evidence ADD COLUMN phash BIGINT NULL;
ALTER TABLE evidence ADD COLUMN phash_q0 INT NULL;
ALTER TABLE evidence ADD COLUMN phash_q1 INT NULL;
ALTER TABLE evidence ADD COLUMN phash_q2 INT NULL;
ALTER TABLE evidence ADD COLUMN phash_q3 INT NULL;
ALTER TABLE evidence ADD COLUMN reject_code VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN reject_reason VARCHAR(500) NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN completed_at DATETIME(6) NULL;
CREATE INDEX idx_evidence_sha256 ON evidence (sha256);
CREATE INDEX idx_evidence_phash_q0 ON evidence (phash_q0);
CREATE INDEX idx_evidence_phash_q1 ON evidence (phash_q1);
CREATE INDEX idx_evidence_phash_q2 ON evidence (phash_q2);
CREATE INDEX idx_evidence_phash_q3 ON evidence (phash_q3);
CREATE INDEX idx_evidence_status ON evidence (status, updated_at);
-- Records made before this migration (pending, from synced verifications).
UPDATE evidence SET flags = '[]' WHERE flags IS NULL;
UPDATE evidence SET site_id = (SELECT tasks.site_id FROM tasks WHERE tasks.id = evidence.task_id) WHERE site_id = '';
