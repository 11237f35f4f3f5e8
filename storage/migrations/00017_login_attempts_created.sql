-- +goose Up
-- The janitor deletes the login attempts older than the throttle's window
-- (auth.PruneLoginAttempts). No index led on created_at, so the DELETE read
-- the whole table, and on MariaDB locked every row it read and the gaps
-- between them: sign-ins writing their attempt waited for it. With this
-- index it reads, and locks, the expired rows only.
CREATE INDEX idx_login_attempts_created ON login_attempts (created_at);

