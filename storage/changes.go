package storage

import (
	"context"
	"fmt"
	"strings"
)

// DeleteSupersededChanges deletes every stamped change row for which a
// newer stamped row exists for the same record and scope (the newer row
// carries the record's state). The candidates are found with a plain,
// non-locking read and deleted by id in small batches, so compaction never
// holds locks on the log that writers and the stamper wait for.
func (db *DB) DeleteSupersededChanges(ctx context.Context) (int64, error) {
	rows, err := db.sql.QueryContext(ctx, `
SELECT DISTINCT c1.id FROM changes c1
JOIN changes c2 ON c2.entity = c1.entity AND c2.record_id = c1.record_id
               AND c2.scope = c1.scope AND c2.seq > c1.seq
WHERE c1.seq IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("compact changes: %w", translate(err))
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	const batch = 500
	var total int64
	for len(ids) > 0 {
		n := min(batch, len(ids))
		res, err := db.sql.ExecContext(ctx, "DELETE FROM changes WHERE id IN (?"+strings.Repeat(",?", n-1)+")", ids[:n]...)
		if err != nil {
			return total, fmt.Errorf("compact changes: %w", translate(err))
		}
		d, _ := res.RowsAffected()
		total += d
		ids = ids[n:]
	}
	return total, nil
}

// StampChanges numbers the change rows ids first, first+1, … in the given
// order with one statement, leaving rows that already have a number
// alone, and returns how many it numbered. The sequencer calls it under
// the counter row's lock (it implements sync.BatchStamper): a row per
// statement made stamping the one serial step every write waits for.
func (t *tx) StampChanges(ids []string, first int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var q strings.Builder
	args := make([]any, 0, 3*len(ids))
	q.WriteString("UPDATE changes SET seq = CASE id")
	for i, id := range ids {
		q.WriteString(" WHEN ? THEN ?")
		args = append(args, id, first+int64(i))
	}
	q.WriteString(" END WHERE seq IS NULL AND id IN (?" + strings.Repeat(",?", len(ids)-1) + ")")
	for _, id := range ids {
		args = append(args, id)
	}
	res := t.g.Exec(q.String(), args...)
	return res.RowsAffected, translate(res.Error)
}
