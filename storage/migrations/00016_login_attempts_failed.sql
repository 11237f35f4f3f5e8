-- +goose Up
-- The login throttle counts a username's and an address's failed attempts
-- in its window (auth.checkThrottle). Its indexes had no `ok`, so the count
-- read every attempt of the window, the successful ones too: 1,300–4,600
-- rows a login from fieldsim's one address, and as many as an office
-- behind one NAT signs in. With `ok` between the name and the time, the
-- count reads the failed attempts only.
CREATE INDEX idx_login_attempts_user_failed ON login_attempts (username, ok, created_at);
CREATE INDEX idx_login_attempts_addr_failed ON login_attempts (address, ok, created_at);
DROP INDEX idx_login_attempts_user ON login_attempts;
DROP INDEX idx_login_attempts_addr ON login_attempts;
