-- +goose Up
-- Where each sync client last pulled to, for operators (fieldctl sync
-- device). Written after a pull at most once a minute per client, so it
-- costs an UPDATE per active device per minute, not one per pull; it may
-- trail the device by up to a minute of changes.
ALTER TABLE sync_clients ADD COLUMN pulled_seq BIGINT NULL;
ALTER TABLE sync_clients ADD COLUMN pulled_epoch VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE sync_clients ADD COLUMN pulled_at DATETIME(6) NULL;
