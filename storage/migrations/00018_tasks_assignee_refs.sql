-- +goose Up
-- Nearly every pull of a busy inspector reads the ids of the items, sites
-- and templates of the inspector's open tasks (models.SyncView.Load): with
-- them in the index that finds the tasks, the read needs no table row. It
-- serves every lookup the index it replaces served.
CREATE INDEX idx_tasks_assignee_refs ON tasks (assignee_id, status, item_id, site_id, template_id, id);
DROP INDEX idx_tasks_assignee ON tasks;
