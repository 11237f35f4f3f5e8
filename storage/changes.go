package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// The statements on the change log that are not built from models.Tx
// calls, with its table and columns as models names them.
var (
	changesTable = models.Change{}.TableName()
	chg          = &models.ChangeCols

	// supersededSQL selects the stamped rows that a newer stamped row for
	// the same record and scope supersedes.
	supersededSQL = fmt.Sprintf(`
SELECT DISTINCT c1.%[2]s FROM %[1]s c1
JOIN %[1]s c2 ON c2.%[3]s = c1.%[3]s AND c2.%[4]s = c1.%[4]s
               AND c2.%[5]s = c1.%[5]s AND c2.%[6]s > c1.%[6]s
WHERE c1.%[6]s IS NOT NULL`, changesTable, chg.ID, chg.Entity, chg.RecordID, chg.Scope, chg.Seq)
	// deleteChangesSQL deletes rows by id; IN (?…) follows.
	deleteChangesSQL = fmt.Sprintf("DELETE FROM %s WHERE %s IN ", changesTable, chg.ID)
	// stampRowSQL numbers one unnumbered row.
	stampRowSQL = fmt.Sprintf("UPDATE %[1]s SET %[2]s = ? WHERE %[3]s = ? AND %[2]s IS NULL", changesTable, chg.Seq, chg.ID)
)

// DeleteSupersededChanges deletes every stamped change row for which a
// newer stamped row exists for the same record and scope (the newer row
// carries the record's state). The candidates are found with a plain,
// non-locking read and deleted by id in small batches, so compaction never
// holds locks on the log that writers and the stamper wait for.
func (db *DB) DeleteSupersededChanges(ctx context.Context) (int64, error) {
	rows, err := db.sql.QueryContext(ctx, supersededSQL)
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
		res, err := db.sql.ExecContext(ctx, deleteChangesSQL+"(?"+strings.Repeat(",?", n-1)+")", ids[:n]...)
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
// order, leaving rows that already have a number alone, and returns how
// many it numbered (models.Tx.StampChanges). The sequencer calls it
// under the counter row's lock. On MySQL a statement per row made
// stamping, the one serial step every write waits for, cost a round
// trip per change: there the numbers go in one statement, as a derived
// table joined on the primary key (a CASE over the ids would compare
// every row with every id). SQLite runs in-process, so a statement per
// row costs no round trip and was measured faster than any single
// statement.
func (t *tx) StampChanges(ids []string, first int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if err := t.flushChanges(); err != nil {
		return 0, err
	}
	t.read.forget(&models.Change{})
	if t.g.Dialector.Name() != DialectMySQL {
		var n int64
		for i, id := range ids {
			res := t.g.Exec(stampRowSQL, first+int64(i), id)
			if res.Error != nil {
				return n, translate(res.Error)
			}
			n += res.RowsAffected
		}
		return n, nil
	}
	var q strings.Builder
	args := make([]any, 0, 2*len(ids))
	fmt.Fprintf(&q, "UPDATE %s JOIN (", changesTable)
	for i, id := range ids {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString("SELECT ? AS id, ? AS seq")
		args = append(args, id, first+int64(i))
	}
	fmt.Fprintf(&q, ") AS v ON %[1]s.%[2]s = v.id SET %[1]s.%[3]s = v.seq WHERE %[1]s.%[3]s IS NULL", changesTable, chg.ID, chg.Seq)
	res := t.g.Exec(q.String(), args...)
	return res.RowsAffected, translate(res.Error)
}
