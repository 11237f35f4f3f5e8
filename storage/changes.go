package storage

import (
	"context"
	"fmt"
)

// DeleteSupersededChanges deletes every stamped change row for which a
// newer stamped row exists for the same record and scope (the newer row
// carries the record's state). The derived table lets MySQL delete from
// the table it reads; SQLite runs the same statement.
func (db *DB) DeleteSupersededChanges(ctx context.Context) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `
DELETE FROM changes WHERE id IN (
  SELECT id FROM (
    SELECT c1.id FROM changes c1
    JOIN changes c2 ON c2.entity = c1.entity AND c2.record_id = c1.record_id
                   AND c2.scope = c1.scope AND c2.seq > c1.seq
    WHERE c1.seq IS NOT NULL
  ) AS superseded
)`)
	if err != nil {
		return 0, fmt.Errorf("compact changes: %w", translate(err))
	}
	return res.RowsAffected()
}
