-- +goose Up
-- Acceptance (验收销号): submissions for acceptance, the decisions made on
-- them, and what tasks and items keep of both.

-- One submission for acceptance (申请验收) by the responsible unit; the
-- acceptance tasks it created (and rework it adopted) name it as round_id.
CREATE TABLE submissions (
    id            CHAR(36)     NOT NULL PRIMARY KEY,
    item_id       CHAR(36)     NOT NULL,
    unit_path     VARCHAR(512) NOT NULL,
    round         INT          NOT NULL,
    submitted_by  CHAR(36)     NOT NULL,
    statement     TEXT         NOT NULL,
    version       BIGINT       NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    CONSTRAINT uq_submissions_round UNIQUE (item_id, round),
    FOREIGN KEY (item_id) REFERENCES items (id),
    FOREIGN KEY (submitted_by) REFERENCES users (id)
);

-- A supervisor's accept or reject, or an admin's reopening; append-only,
-- each bound to the digest of the evidence it was made on.
CREATE TABLE decisions (
    id                CHAR(36)     NOT NULL PRIMARY KEY,
    item_id           CHAR(36)     NOT NULL,
    unit_path         VARCHAR(512) NOT NULL,
    round_id          CHAR(36)     NULL,
    kind              VARCHAR(16)  NOT NULL,
    from_status       VARCHAR(32)  NOT NULL,
    to_status         VARCHAR(32)  NOT NULL,
    decider_id        CHAR(36)     NOT NULL,
    comment           TEXT         NOT NULL,
    reasons           TEXT         NOT NULL,
    required_evidence TEXT         NOT NULL,
    flag_acks         MEDIUMTEXT   NOT NULL,
    evidence_digest   CHAR(64)     NOT NULL,
    version           BIGINT       NOT NULL,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NOT NULL,
    FOREIGN KEY (item_id) REFERENCES items (id),
    FOREIGN KEY (decider_id) REFERENCES users (id)
);
CREATE INDEX idx_decisions_item ON decisions (item_id, created_at);
CREATE INDEX idx_decisions_created ON decisions (created_at);

ALTER TABLE tasks ADD COLUMN round_id CHAR(36) NULL;
ALTER TABLE tasks ADD COLUMN rework_of CHAR(36) NULL;
ALTER TABLE tasks ADD COLUMN reasons TEXT NULL;
ALTER TABLE tasks ADD COLUMN required_evidence VARCHAR(2000) NOT NULL DEFAULT '';
CREATE INDEX idx_tasks_round ON tasks (round_id);

ALTER TABLE items ADD COLUMN public_summary VARCHAR(2000) NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN closed_at DATETIME(6) NULL;
CREATE INDEX idx_items_closed ON items (closed_at);
CREATE INDEX idx_items_deadline ON items (deadline);
