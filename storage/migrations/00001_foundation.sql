-- +goose Up
-- The schema is written once for MySQL/MariaDB and SQLite: portable column
-- types, UUID primary keys, no AUTO_INCREMENT. Index prefixes stay under
-- InnoDB's 3072-byte key limit with utf8mb4.

CREATE TABLE units (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    parent_id   CHAR(36)     NULL,
    code        VARCHAR(64)  NOT NULL,
    name        VARCHAR(200) NOT NULL,
    kind        VARCHAR(32)  NOT NULL,
    path        VARCHAR(512) NOT NULL,
    version     BIGINT       NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    CONSTRAINT uq_units_code UNIQUE (code),
    FOREIGN KEY (parent_id) REFERENCES units (id)
);
CREATE INDEX idx_units_parent ON units (parent_id);
CREATE INDEX idx_units_path ON units (path);

CREATE TABLE users (
    id            CHAR(36)     NOT NULL PRIMARY KEY,
    username      VARCHAR(64)  NOT NULL,
    display_name  VARCHAR(100) NOT NULL,
    phone         VARCHAR(32)  NOT NULL,
    role          VARCHAR(32)  NOT NULL,
    unit_id       CHAR(36)     NOT NULL,
    unit_path     VARCHAR(512) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    disabled      BOOLEAN      NOT NULL,
    version       BIGINT       NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    CONSTRAINT uq_users_username UNIQUE (username),
    FOREIGN KEY (unit_id) REFERENCES units (id)
);
CREATE INDEX idx_users_unit_path ON users (unit_path);
CREATE INDEX idx_users_unit ON users (unit_id);

CREATE TABLE devices (
    id           CHAR(36)     NOT NULL PRIMARY KEY,
    user_id      CHAR(36)     NOT NULL,
    name         VARCHAR(100) NOT NULL,
    platform     VARCHAR(32)  NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    last_seen_at DATETIME(6)  NOT NULL,
    revoked_at   DATETIME(6)  NULL,
    FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE INDEX idx_devices_user ON devices (user_id);

CREATE TABLE sessions (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    user_id     CHAR(36)     NOT NULL,
    device_id   CHAR(36)     NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    revoked_at  DATETIME(6)  NULL,
    reason      VARCHAR(100) NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (id),
    FOREIGN KEY (device_id) REFERENCES devices (id)
);
CREATE INDEX idx_sessions_device ON sessions (device_id);
CREATE INDEX idx_sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash        CHAR(64)    NOT NULL PRIMARY KEY,
    session_id  CHAR(36)    NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    spent_at    DATETIME(6) NULL,
    FOREIGN KEY (session_id) REFERENCES sessions (id)
);
CREATE INDEX idx_refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_attempts (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    username    VARCHAR(128) NOT NULL,
    address     VARCHAR(64)  NOT NULL,
    ok          BOOLEAN      NOT NULL,
    created_at  DATETIME(6)  NOT NULL
);
CREATE INDEX idx_login_attempts_user ON login_attempts (username, created_at);
CREATE INDEX idx_login_attempts_addr ON login_attempts (address, created_at);

CREATE TABLE items (
    id                   CHAR(36)     NOT NULL PRIMARY KEY,
    code                 VARCHAR(64)  NOT NULL,
    title                VARCHAR(300) NOT NULL,
    description          TEXT         NOT NULL,
    source               VARCHAR(200) NOT NULL,
    category             VARCHAR(100) NOT NULL,
    area                 VARCHAR(100) NOT NULL,
    target               TEXT         NOT NULL,
    measures             TEXT         NOT NULL,
    responsible_unit_id  CHAR(36)     NOT NULL,
    unit_path            VARCHAR(512) NOT NULL,
    cooperating_unit_ids TEXT         NOT NULL,
    first_responsible    VARCHAR(100) NOT NULL,
    specific_responsible VARCHAR(100) NOT NULL,
    deadline             DATETIME(6)  NOT NULL,
    supervision_level    VARCHAR(16)  NOT NULL,
    key_item             BOOLEAN      NOT NULL,
    status               VARCHAR(32)  NOT NULL,
    version              BIGINT       NOT NULL,
    created_at           DATETIME(6)  NOT NULL,
    updated_at           DATETIME(6)  NOT NULL,
    CONSTRAINT uq_items_code UNIQUE (code),
    FOREIGN KEY (responsible_unit_id) REFERENCES units (id)
);
CREATE INDEX idx_items_unit_path ON items (unit_path);
CREATE INDEX idx_items_status ON items (status);
CREATE INDEX idx_items_unit ON items (responsible_unit_id);

CREATE TABLE sites (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    unit_id     CHAR(36)     NOT NULL,
    unit_path   VARCHAR(512) NOT NULL,
    name        VARCHAR(200) NOT NULL,
    kind        VARCHAR(32)  NOT NULL,
    address     VARCHAR(300) NOT NULL,
    lat         DOUBLE       NOT NULL,
    lng         DOUBLE       NOT NULL,
    radius_m    DOUBLE       NOT NULL,
    polygon     MEDIUMTEXT   NULL,
    version     BIGINT       NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    FOREIGN KEY (unit_id) REFERENCES units (id)
);
CREATE INDEX idx_sites_unit_path ON sites (unit_path);

CREATE TABLE templates (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    name        VARCHAR(200) NOT NULL,
    questions   MEDIUMTEXT   NOT NULL,
    version     BIGINT       NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL
);

CREATE TABLE tasks (
    id            CHAR(36)     NOT NULL PRIMARY KEY,
    item_id       CHAR(36)     NOT NULL,
    site_id       CHAR(36)     NOT NULL,
    assignee_id   CHAR(36)     NULL,
    unit_path     VARCHAR(512) NOT NULL,
    kind          VARCHAR(32)  NOT NULL,
    template_id   CHAR(36)     NOT NULL,
    window_start  DATETIME(6)  NOT NULL,
    due_at        DATETIME(6)  NOT NULL,
    instructions  TEXT         NOT NULL,
    status        VARCHAR(32)  NOT NULL,
    assigned_at   DATETIME(6)  NULL,
    version       BIGINT       NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    FOREIGN KEY (item_id) REFERENCES items (id),
    FOREIGN KEY (site_id) REFERENCES sites (id),
    FOREIGN KEY (assignee_id) REFERENCES users (id),
    FOREIGN KEY (template_id) REFERENCES templates (id)
);
CREATE INDEX idx_tasks_assignee ON tasks (assignee_id, status);
CREATE INDEX idx_tasks_item ON tasks (item_id);
CREATE INDEX idx_tasks_site ON tasks (site_id);
CREATE INDEX idx_tasks_unit_path ON tasks (unit_path);
