-- +goose Up
-- An administrator who resets a password may require the user to choose
-- a new one at the next sign-in; the login answer reports it.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
