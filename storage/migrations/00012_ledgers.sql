-- +goose Up
-- Real ledgers: the original issue date, open-ended items and deadline
-- extensions (延期).

-- When the feedback document issued the item (交办时间), kept apart from
-- created_at, when the record was made.
ALTER TABLE items ADD COLUMN issued_at DATETIME(6) NULL;
-- An open-ended item (长期坚持) has a review cadence (monthly, quarterly,
-- semiannual, annual) instead of a final deadline; its deadline column
-- then holds when its next periodic review is due. Empty for an item with
-- a fixed deadline.
ALTER TABLE items ADD COLUMN review_cadence VARCHAR(16) NOT NULL DEFAULT '';
-- The deadline before the first approved extension; NULL if never
-- extended.
ALTER TABLE items ADD COLUMN original_deadline DATETIME(6) NULL;

-- Requests to extend an item's deadline, and the supervisor's answer.
CREATE TABLE deadline_extensions (
    id                 CHAR(36)     NOT NULL PRIMARY KEY,
    item_id            CHAR(36)     NOT NULL,
    unit_path          VARCHAR(512) NOT NULL,
    status             VARCHAR(16)  NOT NULL,
    reason             TEXT         NOT NULL,
    previous_deadline  DATETIME(6)  NOT NULL,
    requested_deadline DATETIME(6)  NOT NULL,
    requested_by       CHAR(36)     NOT NULL,
    decided_by         VARCHAR(36)  NOT NULL,
    decision_comment   TEXT         NOT NULL,
    decided_at         DATETIME(6)  NULL,
    version            BIGINT       NOT NULL,
    created_at         DATETIME(6)  NOT NULL,
    updated_at         DATETIME(6)  NOT NULL,
    FOREIGN KEY (item_id) REFERENCES items (id)
);
CREATE INDEX idx_deadline_extensions_item ON deadline_extensions (item_id, created_at);
