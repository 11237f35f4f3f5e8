-- +goose Up
-- A spent refresh token remembers the token it was spent for (its hash,
-- and the token sealed with a key derived from the spent one), so that a
-- retry within the grace window receives the same token instead of
-- forking the session.
ALTER TABLE refresh_tokens ADD COLUMN child_hash CHAR(64) NULL;
ALTER TABLE refresh_tokens ADD COLUMN child_sealed VARCHAR(128) NULL;

-- A verification's position is kept in WGS-84 (lat, lng); a device that
-- reported it in GCJ-02 or BD-09 has its original datum and coordinates
-- kept beside it. Earlier rows were all sent as WGS-84.
ALTER TABLE verifications ADD COLUMN datum VARCHAR(8) NOT NULL DEFAULT 'wgs84';
ALTER TABLE verifications ADD COLUMN original_lat DOUBLE NULL;
ALTER TABLE verifications ADD COLUMN original_lng DOUBLE NULL;
