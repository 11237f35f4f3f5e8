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

// SetOnce sets cols of each row's record, the one whose primary key is
// row[0], to row[1:], only where cols[0] is still NULL, and returns how
// many records it set (models.Tx.SetOnce). The sequencer numbers change
// rows with it under the counter row's lock, and the audit chainer its
// entries. On MySQL a statement per row made stamping, the one serial
// step every write waited for, cost a round trip per change: there the
// values go in one statement, as a derived table joined on the primary
// key (a CASE over the keys would compare every row with every key).
// SQLite runs in-process, so a statement per row costs no round trip and
// was measured faster than any single statement.
func (t *tx) SetOnce(model any, cols []models.Column, rows [][]any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	if len(cols) == 0 {
		return 0, fmt.Errorf("storage: SetOnce on %T with no columns", model)
	}
	if err := t.wrote(model, nil); err != nil {
		return 0, err
	}
	p, err := planOf(t.g, recordType(model))
	if err != nil {
		return 0, err
	}
	if p.pk == nil {
		return 0, fmt.Errorf("storage: %T has no primary key of one column", model)
	}
	key := p.keyColumn
	for _, r := range rows {
		if len(r) != len(cols)+1 {
			return 0, fmt.Errorf("storage: SetOnce on %s: a row of %d values for %d columns and the key", p.table, len(r), len(cols))
		}
	}
	if t.g.Dialector.Name() != DialectMySQL {
		var q strings.Builder
		fmt.Fprintf(&q, "UPDATE `%s` SET ", p.table)
		for i, c := range cols {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "`%s` = ?", c)
		}
		fmt.Fprintf(&q, " WHERE `%s` = ? AND `%s` IS NULL", key, cols[0])
		var n int64
		args := make([]any, len(cols)+1)
		for _, r := range rows {
			copy(args, r[1:])
			args[len(cols)] = r[0]
			res := t.g.Exec(q.String(), args...)
			if res.Error != nil {
				return n, translate(res.Error)
			}
			n += res.RowsAffected
		}
		return n, nil
	}
	var q strings.Builder
	args := make([]any, 0, len(rows)*(len(cols)+1))
	fmt.Fprintf(&q, "UPDATE `%s` JOIN (", p.table)
	for i, r := range rows {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString("SELECT ?")
		if i == 0 {
			q.WriteString(" AS k")
		}
		for j := range cols {
			q.WriteString(", ?")
			if i == 0 {
				fmt.Fprintf(&q, " AS v%d", j)
			}
		}
		args = append(args, r...)
	}
	fmt.Fprintf(&q, ") AS v ON `%s`.`%s` = v.k SET ", p.table, key)
	for j, c := range cols {
		if j > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "`%s`.`%s` = v.v%d", p.table, c, j)
	}
	fmt.Fprintf(&q, " WHERE `%s`.`%s` IS NULL", p.table, cols[0])
	res := t.g.Exec(q.String(), args...)
	return res.RowsAffected, translate(res.Error)
}
