-- +goose Up
-- Deadlines, escalation and the ledger.

-- When the escalation rule last raised an item's supervision level.
ALTER TABLE items ADD COLUMN escalated_at DATETIME(6) NULL;

-- The ledger shows each item's latest verification, and the dispatch
-- report reads the verifications and notes written in a period.
CREATE INDEX idx_verifications_item ON verifications (item_id, recorded_at);
CREATE INDEX idx_verifications_recorded ON verifications (recorded_at);
CREATE INDEX idx_notes_created ON notes (created_at);

-- Whether a piece of evidence carries a flag, kept by the database itself
-- from flags, so that the flagged filter (items with verified evidence
-- that has a flag) reads this index rather than every verified photo.
ALTER TABLE evidence ADD COLUMN flagged BOOLEAN GENERATED ALWAYS AS (flags IS NOT NULL AND flags <> '[]') VIRTUAL;
CREATE INDEX idx_evidence_flagged ON evidence (flagged, status, task_id);
