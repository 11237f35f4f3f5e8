-- +goose Up
-- Field records, the change log and the sync bookkeeping.

-- The change log: one row per record per scope that must see it. Writers
-- insert rows with seq NULL in the same transaction as the change; the
-- sequencer stamps committed rows with increasing seq; pulls read stamped
-- rows only, so a cursor never skips a row that commits late.
CREATE TABLE changes (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    seq         BIGINT       NULL,
    entity      VARCHAR(32)  NOT NULL,
    record_id   CHAR(36)     NOT NULL,
    version     BIGINT       NOT NULL,
    op          VARCHAR(8)   NOT NULL,
    scope       VARCHAR(600) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    CONSTRAINT uq_changes_seq UNIQUE (seq)
);
CREATE INDEX idx_changes_scope_seq ON changes (scope, seq);
CREATE INDEX idx_changes_record ON changes (entity, record_id, scope, seq);

-- Counters and identity of the log: 'seq' (the last stamped number),
-- 'retained_from' (removes below it were compacted away), 'epoch'.
CREATE TABLE sync_state (
    name   VARCHAR(32) NOT NULL PRIMARY KEY,
    num    BIGINT      NOT NULL,
    text   VARCHAR(64) NOT NULL
);
INSERT INTO sync_state (name, num, text) VALUES ('seq', 0, '');
INSERT INTO sync_state (name, num, text) VALUES ('retained_from', 0, '');

-- One row per syncing device: the last mutation id applied, written in the
-- same transaction as the mutation's effects.
CREATE TABLE sync_clients (
    id               CHAR(36)    NOT NULL PRIMARY KEY,
    user_id          CHAR(36)    NOT NULL,
    device_id        CHAR(36)    NOT NULL,
    last_mutation_id BIGINT      NOT NULL,
    created_at       DATETIME(6) NOT NULL,
    updated_at       DATETIME(6) NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (id)
);

-- The result of every mutation, so that a retried batch is answered with
-- what was decided the first time.
CREATE TABLE mutation_results (
    client_id   CHAR(36)     NOT NULL,
    mutation_id BIGINT       NOT NULL,
    name        VARCHAR(64)  NOT NULL,
    status      VARCHAR(16)  NOT NULL,
    code        VARCHAR(100) NOT NULL,
    message     VARCHAR(500) NOT NULL,
    server_version BIGINT    NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
);
CREATE INDEX idx_mutation_results_created ON mutation_results (created_at);

CREATE TABLE verifications (
    id            CHAR(36)     NOT NULL PRIMARY KEY,
    task_id       CHAR(36)     NOT NULL,
    item_id       CHAR(36)     NOT NULL,
    inspector_id  CHAR(36)     NOT NULL,
    device_id     CHAR(36)     NOT NULL,
    unit_path     VARCHAR(512) NOT NULL,
    conclusion    VARCHAR(32)  NOT NULL,
    notes         TEXT         NOT NULL,
    lat           DOUBLE       NOT NULL,
    lng           DOUBLE       NOT NULL,
    accuracy_m    DOUBLE       NOT NULL,
    mocked        BOOLEAN      NOT NULL,
    recorded_at   DATETIME(6)  NOT NULL,
    evidence_ids  TEXT         NOT NULL,
    version       BIGINT       NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    FOREIGN KEY (task_id) REFERENCES tasks (id),
    FOREIGN KEY (inspector_id) REFERENCES users (id)
);
CREATE INDEX idx_verifications_task ON verifications (task_id);
CREATE INDEX idx_verifications_inspector ON verifications (inspector_id);

CREATE TABLE answers (
    id            CHAR(36)     NOT NULL PRIMARY KEY,
    task_id       CHAR(36)     NOT NULL,
    question_id   VARCHAR(64)  NOT NULL,
    inspector_id  CHAR(36)     NOT NULL,
    device_id     CHAR(36)     NOT NULL,
    unit_path     VARCHAR(512) NOT NULL,
    value         TEXT         NOT NULL,
    version       BIGINT       NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    FOREIGN KEY (task_id) REFERENCES tasks (id),
    FOREIGN KEY (inspector_id) REFERENCES users (id)
);
CREATE INDEX idx_answers_task ON answers (task_id);

CREATE TABLE notes (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    task_id     CHAR(36)     NOT NULL,
    author_id   CHAR(36)     NOT NULL,
    device_id   CHAR(36)     NOT NULL,
    unit_path   VARCHAR(512) NOT NULL,
    text        TEXT         NOT NULL,
    version     BIGINT       NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    FOREIGN KEY (task_id) REFERENCES tasks (id),
    FOREIGN KEY (author_id) REFERENCES users (id)
);
CREATE INDEX idx_notes_task ON notes (task_id);

-- Photo and document evidence. A record can exist before its bytes (a
-- synced verification names it): it is then 'pending'.
CREATE TABLE evidence (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    task_id         CHAR(36)     NOT NULL,
    verification_id CHAR(36)     NULL,
    inspector_id    CHAR(36)     NOT NULL,
    unit_path       VARCHAR(512) NOT NULL,
    kind            VARCHAR(16)  NOT NULL,
    status          VARCHAR(16)  NOT NULL,
    version         BIGINT       NOT NULL,
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NOT NULL,
    FOREIGN KEY (task_id) REFERENCES tasks (id),
    FOREIGN KEY (inspector_id) REFERENCES users (id)
);
CREATE INDEX idx_evidence_task ON evidence (task_id);
CREATE INDEX idx_evidence_verification ON evidence (verification_id);
