-- +goose Up
-- Public disclosure (信息公开): which verified photos a supervisor has made
-- public. Kept apart from the evidence records on purpose: those are hashed
-- into the digest a decision is bound to, and publishing a photo must not
-- change what a decision was made on.
--
-- object_key names the copy the public is served (metadata stripped,
-- re-encoded), never the original; it is '' while the photo is private.
-- item_id is the item of the evidence's task (a task never moves to another
-- item), so that the public list finds an item's photos by index.
CREATE TABLE photo_disclosures (
    evidence_id  CHAR(36)     NOT NULL PRIMARY KEY,
    item_id      CHAR(36)     NOT NULL,
    public       BOOLEAN      NOT NULL,
    object_key   VARCHAR(255) NOT NULL,
    set_by       CHAR(36)     NOT NULL,
    version      BIGINT       NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL,
    FOREIGN KEY (evidence_id) REFERENCES evidence (id),
    FOREIGN KEY (item_id) REFERENCES items (id),
    FOREIGN KEY (set_by) REFERENCES users (id)
);
CREATE INDEX idx_photo_disclosures_item ON photo_disclosures (item_id, public);
