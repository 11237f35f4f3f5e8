-- +goose Up
-- The near-duplicate index (issue 12). Each verified photo stores several
-- perceptual hashes: the whole upright picture's, then those of nine
-- parts of it (the centre 90%, a 10% strip cut from each side, a 10%
-- corner cut), so that a copy cropped by up to 10% is close to one of
-- them. The hash is the same for all eight mirrorings and 90° turns of a
-- picture. A lookup matches any of the new photo's hashes on any of the
-- four 16-bit quarters, each an index, and compares the full hashes of
-- what it finds: never a scan of all hashes.
--
-- Photos verified before this migration hashed differently (a plain
-- pHash, kept in evidence.phash); they are not in this index.
CREATE TABLE evidence_phashes (
    evidence_id  CHAR(36)  NOT NULL,
    part         SMALLINT  NOT NULL,
    phash        BIGINT    NOT NULL,
    q0           INT       NOT NULL,
    q1           INT       NOT NULL,
    q2           INT       NOT NULL,
    q3           INT       NOT NULL,
    PRIMARY KEY (evidence_id, part),
    FOREIGN KEY (evidence_id) REFERENCES evidence (id)
);
CREATE INDEX idx_evidence_phashes_q0 ON evidence_phashes (q0);
CREATE INDEX idx_evidence_phashes_q1 ON evidence_phashes (q1);
CREATE INDEX idx_evidence_phashes_q2 ON evidence_phashes (q2);
CREATE INDEX idx_evidence_phashes_q3 ON evidence_phashes (q3);
