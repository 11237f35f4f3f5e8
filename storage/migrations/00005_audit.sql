-- +goose Up
-- The audit trail: one row per audited event, hash-chained.
--
-- A domain transaction inserts its entry with seq, prev_hash and hash NULL,
-- so audited writes never wait on one another. The chainer (models
-- ChainAudit) takes the lock of the audit_head row first, then gives the
-- committed unchained entries seq = head+1, head+2, ..., each prev_hash the
-- hash of the entry before it and hash = SHA-256 over prev_hash and the
-- entry's other columns, and moves the head. A changed entry no longer
-- matches its hash, a deleted one leaves a gap in seq.
CREATE TABLE audit_log (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    seq         BIGINT       NULL,
    at          DATETIME(6)  NOT NULL,
    actor_id    VARCHAR(64)  NOT NULL,
    actor_name  VARCHAR(64)  NOT NULL,
    actor_role  VARCHAR(32)  NOT NULL,
    device_id   VARCHAR(36)  NOT NULL,
    action      VARCHAR(64)  NOT NULL,
    entity      VARCHAR(32)  NOT NULL,
    record_id   VARCHAR(36)  NOT NULL,
    detail      TEXT         NOT NULL,
    prev_hash   CHAR(64)     NULL,
    hash        CHAR(64)     NULL,
    CONSTRAINT uq_audit_log_seq UNIQUE (seq)
);
CREATE INDEX idx_audit_log_action_seq ON audit_log (action, seq);
CREATE INDEX idx_audit_log_record_seq ON audit_log (entity, record_id, seq);
CREATE INDEX idx_audit_log_actor_seq ON audit_log (actor_id, seq);
CREATE INDEX idx_audit_log_at ON audit_log (at);

-- The head of the chain: the last seq given and its hash. Chainers
-- serialise on this row's lock; the verifier checks the chain ends here.
CREATE TABLE audit_head (
    name  VARCHAR(32) NOT NULL PRIMARY KEY,
    seq   BIGINT      NOT NULL,
    hash  CHAR(64)    NOT NULL
);
INSERT INTO audit_head (name, seq, hash) VALUES ('chain', 0, '0000000000000000000000000000000000000000000000000000000000000000');
