package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldsync/fieldsync/models"
)

// maxAttempts bounds how often a transaction that lost a deadlock or a
// lock wait is run again.
const maxAttempts = 8

// Tx runs fn in a transaction. A transaction that fails for a reason that
// goes away on its own (a MySQL deadlock or lock wait timeout, SQLite's
// busy snapshot) is run again from the start, so fn must not keep state
// across attempts. Attempts after the first wait a little longer each time
// (10 ms, 40 ms, 90 ms… 1.4 s in all): SQLite answers a busy snapshot at
// once, without its busy timeout, while the other process's write lasts.
func (db *DB) Tx(ctx context.Context, fn func(tx models.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 && !pause(ctx, time.Duration((attempt-1)*(attempt-1))*10*time.Millisecond) {
			break
		}
		err = db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			t := &tx{g: g}
			if err := fn(t); err != nil {
				return err
			}
			if err := t.flushHeld(); err != nil {
				return err
			}
			return t.numberChanges()
		})
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return translate(err)
}

// Read runs fn on the pool (SQLite's readers), outside a transaction,
// with a Tx that refuses writes.
func (db *DB) Read(ctx context.Context, fn func(tx models.Tx) error) error {
	return translate(fn(readOnly{&tx{g: db.reads.WithContext(ctx)}}))
}

// Snapshot runs fn in a read-only transaction: MySQL's START TRANSACTION
// READ ONLY (at the server's default REPEATABLE READ, one snapshot from
// the first read on, and no transaction id to assign); on SQLite a
// deferred BEGIN on one of the readers' connections, which reads one WAL
// snapshot while the writer goes on.
func (db *DB) Snapshot(ctx context.Context, fn func(tx models.Tx) error) error {
	return translate(db.reads.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		return fn(readOnly{&tx{g: g}})
	}, &sql.TxOptions{ReadOnly: true}))
}

// readOnly is the Tx of Read and Snapshot.
type readOnly struct{ *tx }

var errReadOnly = errors.New("storage: a write in Store.Read or Store.Snapshot, which are read-only")

func (readOnly) Create(any) error { return errReadOnly }
func (readOnly) Update(any) error { return errReadOnly }
func (readOnly) UpdateWhere(any, []models.Cond, models.Set) (int64, error) {
	return 0, errReadOnly
}
func (readOnly) Delete(any, []models.Cond) (int64, error)             { return 0, errReadOnly }
func (readOnly) Lock(any, []models.Cond) error                        { return errReadOnly }
func (readOnly) SetOnce(any, []models.Column, [][]any) (int64, error) { return 0, errReadOnly }

var _ models.Tx = readOnly{}

// tx is one transaction. Its change-log rows are held back and written
// together when fn returns (or before a statement on the log itself, so
// the transaction reads its own rows): every write of a push appends
// change rows, and one multi-row INSERT for all of them costs a push one
// statement on the log's four indexes instead of one per mutation. They
// are numbered last, just before the commit (numberChanges).
//
// The records its Get and Prefetch read, and those its Update writes, are
// kept for the rest of the transaction (readCache).
// After HoldInserts, its other inserts wait too, in held.
type tx struct {
	g       *gorm.DB
	changes []models.Change
	// unnumbered are the rows written before fn returned (by a statement
	// on the log), still without a number.
	unnumbered []string
	read       readCache
	hold       bool
	held       []heldTable
}

// heldTable is one table's held-back records: a slice of its record type.
type heldTable struct {
	typ  reflect.Type
	rows reflect.Value
}

func (t *tx) HoldInserts() { t.hold = true }

// holdInsert keeps a copy of rec, a pointer to one record, for flushHeld,
// and reports whether it did (only after HoldInserts).
func (t *tx) holdInsert(rec any) bool {
	v := reflect.ValueOf(rec)
	if !t.hold || v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	typ := v.Elem().Type()
	for i := range t.held {
		if t.held[i].typ == typ {
			t.held[i].rows = reflect.Append(t.held[i].rows, v.Elem())
			return true
		}
	}
	t.held = append(t.held, heldTable{typ: typ, rows: reflect.Append(reflect.MakeSlice(reflect.SliceOf(typ), 0, 8), v.Elem())})
	return true
}

// holds reports whether records of type typ are held back.
func (t *tx) holds(typ reflect.Type) bool {
	for _, h := range t.held {
		if h.typ == typ {
			return true
		}
	}
	return false
}

// flushHeld writes the held records, a table at a time in the order the
// tables were first written, in INSERTs of up to changeBatch rows.
func (t *tx) flushHeld() error {
	held := t.held
	t.held = nil
	for _, h := range held {
		rows := reflect.New(h.rows.Type())
		rows.Elem().Set(h.rows)
		if err := t.g.CreateInBatches(rows.Interface(), changeBatch).Error; err != nil {
			return translate(err)
		}
	}
	return nil
}

var _ models.Tx = (*tx)(nil)

// changeBatch bounds the rows of one INSERT into the log (an import of
// thousands of items must stay under max_allowed_packet).
const changeBatch = 500

var changeType = reflect.TypeFor[models.Change]()

// onChanges reports whether a record, a slice of records or a pointer to
// either is of the change log's table.
func onChanges(rec any) bool { return recordType(rec) == changeType }

func isChanges(typ reflect.Type) bool { return typ == changeType }

// flushChanges writes the held-back change rows.
func (t *tx) flushChanges() error {
	if len(t.changes) == 0 {
		return nil
	}
	rows := t.changes
	t.changes = nil
	t.read.forget(&models.Change{})
	for _, c := range rows {
		if c.Seq == nil {
			t.unnumbered = append(t.unnumbered, c.ID)
		}
	}
	return translate(t.g.CreateInBatches(&rows, changeBatch).Error)
}

// numberChanges gives the transaction's change rows the next sequence
// numbers and writes those still held back; Tx calls it last, right
// before the commit.
//
// Why this is commit-ordered: the numbers come from the 'seq' counter
// row, whose row lock (MariaDB) or the database's one write lock (SQLite)
// the transaction then holds until it commits. A writer that numbers
// later waits for that commit, so numbers are handed out in the order the
// transactions commit, and a transaction's rows and the counter become
// visible together. A reader that has seen seq n can therefore never be
// shown a lower number later: the trap an AUTO_INCREMENT id or a
// timestamp cursor falls into. The counter's lock is held only for the
// last INSERT and the commit; writers of other tables never take it.
func (t *tx) numberChanges() error {
	n := len(t.unnumbered)
	for _, c := range t.changes {
		if c.Seq == nil {
			n++
		}
	}
	if n == 0 {
		return t.flushChanges()
	}
	next, err := t.allocate(n)
	if err != nil {
		return err
	}
	for i := range t.changes {
		if t.changes[i].Seq == nil {
			seq := next
			t.changes[i].Seq = &seq
			next++
		}
	}
	if err := t.flushChanges(); err != nil {
		return err
	}
	rows := make([][]any, len(t.unnumbered))
	for i, id := range t.unnumbered {
		rows[i] = []any{id, next + int64(i)}
	}
	t.unnumbered = nil
	k, err := t.SetOnce(&models.Change{}, []models.Column{chg.Seq}, rows)
	if err == nil && k != int64(len(rows)) {
		err = fmt.Errorf("storage: numbered %d of the transaction's %d change rows", k, len(rows))
	}
	return err
}

// The statements that take n numbers from the counter row: MariaDB hands
// the new value back through LAST_INSERT_ID (in the statement's OK
// packet, no second round trip), SQLite through RETURNING.
var (
	allocateMySQL  = fmt.Sprintf("UPDATE %s SET %s = LAST_INSERT_ID(%[2]s + ?) WHERE %s = ?", stateTable, models.SyncStateCols.Num, models.SyncStateCols.Name)
	allocateSQLite = fmt.Sprintf("UPDATE %s SET %s = %[2]s + ? WHERE %s = ? RETURNING %[2]s", stateTable, models.SyncStateCols.Num, models.SyncStateCols.Name)
	stateTable     = models.SyncState{}.TableName()
)

// allocate takes n sequence numbers from the counter row, locking it
// until the commit, and returns the first.
func (t *tx) allocate(n int) (int64, error) {
	var last int64
	if t.g.Dialector.Name() == DialectMySQL {
		res, err := t.g.Statement.ConnPool.ExecContext(t.g.Statement.Context, allocateMySQL, n, models.SyncStateSeq)
		if err != nil {
			return 0, translate(err)
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return 0, fmt.Errorf("storage: the sequence counter row is missing (%d rows, %v)", k, err)
		}
		if last, err = res.LastInsertId(); err != nil {
			return 0, err
		}
	} else if err := t.g.Raw(allocateSQLite, n, models.SyncStateSeq).Row().Scan(&last); err != nil {
		return 0, fmt.Errorf("storage: taking %d sequence numbers: %w", n, translate(err))
	}
	return last - int64(n) + 1, nil
}

// before is called ahead of every statement on model's table (and those
// its conditions' subqueries read): one on a table with held-back rows
// first writes them.
func (t *tx) before(model any, conds []models.Cond) error {
	if len(t.held) > 0 && (t.holds(recordType(model)) || condsRead(conds, t.holds)) {
		if err := t.flushHeld(); err != nil {
			return err
		}
	}
	if onChanges(model) || condsRead(conds, isChanges) {
		return t.flushChanges()
	}
	return nil
}

// condsRead reports whether conditions read a table whose record type
// on accepts, in a subquery at any depth.
func condsRead(conds []models.Cond, on func(reflect.Type) bool) bool {
	for _, c := range conds {
		switch v := c.Value.(type) {
		case models.Subquery:
			if on(recordType(v.Model)) || condsRead(v.Where, on) {
				return true
			}
		case []models.Cond:
			if condsRead(v, on) {
				return true
			}
		}
	}
	return false
}

// wrote is called ahead of every write to (or lock on) model's table.
func (t *tx) wrote(model any, conds []models.Cond) error {
	t.read.forget(model)
	return t.before(model, conds)
}

func (t *tx) Create(rec any) error {
	switch r := rec.(type) {
	case *models.Change:
		t.changes = append(t.changes, *r)
		return nil
	case *[]models.Change:
		t.changes = append(t.changes, *r...)
		return nil
	}
	t.read.forget(rec)
	if t.holdInsert(rec) {
		return nil
	}
	return translate(t.g.Create(rec).Error)
}

func (t *tx) Get(rec any, id string) error {
	if t.read.load(rec, id) {
		return nil
	}
	if err := t.before(rec, nil); err != nil {
		return err
	}
	v := reflect.ValueOf(rec)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("storage: Get into %T, not a pointer to a record", rec)
	}
	p, err := planOf(t.g, v.Elem().Type())
	if err != nil {
		return err
	}
	if p.get == "" {
		return fmt.Errorf("storage: %T has no primary key of one column", rec)
	}
	rows, err := t.g.Table(p.table).Raw(p.get, id).Rows()
	if err == nil {
		err = p.scanRows(rows, v.Elem())
	}
	if err != nil {
		return translate(err)
	}
	t.remember(rec, id)
	return nil
}

func (t *tx) Prefetch(dst any, ids []string) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Slice || v.Elem().Type().Elem().Kind() != reflect.Struct {
		return fmt.Errorf("storage: Prefetch into %T, not a pointer to a slice of records", dst)
	}
	out := v.Elem()
	out.Set(reflect.MakeSlice(out.Type(), 0, len(ids)))
	typ := out.Type().Elem()
	var missing []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if c, ok := t.read[typ][id]; ok {
			rec := reflect.New(typ).Elem()
			deepCopy(rec, c)
			out.Set(reflect.Append(out, rec))
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := t.before(dst, nil); err != nil {
		return err
	}
	p, err := planOf(t.g, typ)
	if err != nil {
		return err
	}
	if p.pk == nil || typ.FieldByIndex(p.pk).Type.Kind() != reflect.String {
		return fmt.Errorf("storage: %s has no primary key of one string column", typ)
	}
	read := reflect.New(out.Type())
	rows, err := t.g.Table(p.table).Raw("SELECT * FROM `"+p.table+"` WHERE `"+p.keyColumn+"` IN ?", missing).Rows()
	if err == nil {
		err = p.scanRows(rows, read.Elem())
	}
	if err != nil {
		return translate(err)
	}
	for i := range read.Elem().Len() {
		rec := read.Elem().Index(i)
		t.remember(rec.Addr().Interface(), rec.FieldByIndex(p.pk).String())
	}
	out.Set(reflect.AppendSlice(out, read.Elem()))
	return nil
}

func (t *tx) First(rec any, q models.Query) error {
	if err := t.before(rec, q.Where); err != nil {
		return err
	}
	g, err := where(t.g, q.Where)
	if err != nil {
		return err
	}
	return t.scan(selectColumns(g, q).Order(orderBy(q)).Limit(1), rec)
}

// Update writes rec if its stored version is rec.Version-1; the version
// guard makes concurrent read-modify-write cycles safe.
// It writes one row, so the other cached records of rec's type stay.
func (t *tx) Update(rec any) error {
	if err := t.before(rec, nil); err != nil {
		return err
	}
	v := reflect.Indirect(reflect.ValueOf(rec)).FieldByName("Version")
	if !v.IsValid() {
		return fmt.Errorf("update %T: record has no Version", rec)
	}
	res := t.g.Model(rec).Where("version = ?", v.Int()-1).Select("*").Updates(rec)
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = fmt.Errorf("update %T: %w", rec, models.ErrVersionConflict)
	}
	if res.Error != nil {
		t.read.forget(rec)
		return translate(res.Error)
	}
	// Every column was written from rec (GORM set its UpdatedAt first):
	// what a Get would now read is kept, and the mutations after this one
	// in a push read their task without a statement.
	t.keep(rec)
	return nil
}

// keep puts what a Get would read of rec, a pointer to a record just
// written whole, in the read cache under its primary key (readCache.row).
// Any other spelling of that key is forgotten: MariaDB's collation finds
// "E563…" and "e563…" alike, and a Get by the one would otherwise read
// the record as it was. A record keep cannot map is forgotten instead.
func (t *tx) keep(rec any) {
	v := reflect.ValueOf(rec)
	p, err := planOf(t.g, recordType(rec))
	if err != nil || p.pk == nil || v.Kind() != reflect.Pointer || v.Elem().FieldByIndex(p.pk).Kind() != reflect.String {
		t.read.forget(rec)
		return
	}
	row, err := p.row(v.Elem())
	if err != nil {
		t.read.forget(rec)
		return
	}
	id := v.Elem().FieldByIndex(p.pk).String()
	for k := range t.read[p.typ] {
		if strings.EqualFold(k, id) {
			delete(t.read[p.typ], k)
		}
	}
	t.remember(row.Addr().Interface(), id)
}

// remember keeps a copy of rec in the read cache under id.
func (t *tx) remember(rec any, id string) {
	if t.read == nil {
		t.read = readCache{}
	}
	t.read.store(rec, id)
}

func (t *tx) UpdateWhere(model any, conds []models.Cond, fields models.Set) (int64, error) {
	if err := t.wrote(model, conds); err != nil {
		return 0, err
	}
	g, err := where(t.g.Model(model), conds)
	if err != nil {
		return 0, err
	}
	set := make(map[string]any, len(fields))
	for c, v := range fields {
		set[string(c)] = v
	}
	res := g.Updates(set)
	return res.RowsAffected, translate(res.Error)
}

func (t *tx) List(dst any, q models.Query) error {
	if err := t.before(dst, q.Where); err != nil {
		return err
	}
	g, err := where(t.g, q.Where)
	if err != nil {
		return err
	}
	if q.After != "" {
		g = g.Where("id > ?", q.After)
	}
	if q.Limit > 0 {
		g = g.Limit(q.Limit)
	}
	return t.scan(selectColumns(g, q).Order(orderBy(q)), dst)
}

// selectColumns reads only Query.Columns, when it names any.
func selectColumns(g *gorm.DB, q models.Query) *gorm.DB {
	if len(q.Columns) == 0 {
		return g
	}
	cols := make([]string, len(q.Columns))
	for i, c := range q.Columns {
		cols[i] = string(c)
	}
	return g.Select(cols)
}

// scan runs the query GORM built in g on dst's table and reads its rows
// into dst, a pointer to a slice of records or to one record (scanRows).
func (t *tx) scan(g *gorm.DB, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || (v.Elem().Kind() != reflect.Struct &&
		(v.Elem().Kind() != reflect.Slice || v.Elem().Type().Elem().Kind() != reflect.Struct)) {
		return fmt.Errorf("storage: reading into %T, not a pointer to a record or to a slice of them", dst)
	}
	p, err := planOf(t.g, recordType(dst))
	if err != nil {
		return err
	}
	rows, err := g.Model(dst).Rows()
	if err == nil {
		err = p.scanRows(rows, v.Elem())
	}
	return translate(err)
}

// orderBy turns Query.OrderBy into a clause: columns separated by commas,
// each with an optional " DESC", every one quoted.
func orderBy(q models.Query) clause.OrderBy {
	var ob clause.OrderBy
	for _, part := range strings.Split(q.OrderBy, ",") {
		col, desc := strings.CutSuffix(strings.TrimSpace(part), " DESC")
		if col == "" {
			col = "id"
		}
		ob.Columns = append(ob.Columns, clause.OrderByColumn{Column: clause.Column{Name: col}, Desc: desc})
	}
	return ob
}

func (t *tx) Delete(model any, conds []models.Cond) (int64, error) {
	if len(conds) == 0 {
		return 0, errors.New("storage: refusing to delete without conditions")
	}
	if err := t.wrote(model, conds); err != nil {
		return 0, err
	}
	g, err := where(t.g, conds)
	if err != nil {
		return 0, err
	}
	res := g.Delete(model)
	return res.RowsAffected, translate(res.Error)
}

func (t *tx) Count(model any, conds []models.Cond) (int64, error) {
	if err := t.before(model, conds); err != nil {
		return 0, err
	}
	g, err := where(t.g.Model(model), conds)
	if err != nil {
		return 0, err
	}
	var n int64
	return n, translate(g.Count(&n).Error)
}

func (t *tx) Pluck(model any, column models.Column, conds []models.Cond, dst any) error {
	if err := t.before(model, conds); err != nil {
		return err
	}
	g, err := where(t.g.Model(model), conds)
	if err != nil {
		return err
	}
	return translate(g.Distinct(string(column)).Pluck(string(column), dst).Error)
}

func (t *tx) Lock(model any, conds []models.Cond) error {
	if t.g.Dialector.Name() != DialectMySQL {
		return nil
	}
	if err := t.wrote(model, conds); err != nil {
		return err
	}
	g, err := where(t.g.Model(model).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}), conds)
	if err != nil {
		return err
	}
	var ids []string
	return translate(g.Pluck("id", &ids).Error)
}

func (t *tx) CountBy(model any, columns []models.Column, conds []models.Cond) ([]models.Group, error) {
	if len(columns) == 0 {
		return nil, errors.New("storage: CountBy needs at least one column")
	}
	if err := t.before(model, conds); err != nil {
		return nil, err
	}
	g, err := where(t.g.Model(model), conds)
	if err != nil {
		return nil, err
	}
	cols := make([]clause.Column, len(columns))
	for i, c := range columns {
		cols[i] = clause.Column{Name: string(c)}
	}
	sel := append(append([]clause.Column{}, cols...), clause.Column{Name: "COUNT(*)", Raw: true})
	rows, err := g.Clauses(clause.Select{Columns: sel}, clause.GroupBy{Columns: cols}).Rows()
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []models.Group
	keys := make([]sql.NullString, len(columns))
	dst := make([]any, len(columns)+1)
	for i := range keys {
		dst[i] = &keys[i]
	}
	for rows.Next() {
		var gr models.Group
		dst[len(columns)] = &gr.Count
		if err := rows.Scan(dst...); err != nil {
			return nil, translate(err)
		}
		for _, k := range keys {
			gr.Keys = append(gr.Keys, k.String)
		}
		out = append(out, gr)
	}
	return out, translate(rows.Err())
}

// where adds conditions; column names come from models, never from
// clients, and are quoted by GORM all the same.
func where(g *gorm.DB, conds []models.Cond) (*gorm.DB, error) {
	for _, c := range conds {
		e, err := condExpr(g, c)
		if err != nil {
			return nil, err
		}
		g = g.Where(e)
	}
	return g, nil
}

// condExpr turns one condition into SQL; g is the statement it belongs
// to, from which subqueries are built.
func condExpr(g *gorm.DB, c models.Cond) (clause.Expression, error) {
	col := clause.Column{Name: string(c.Column)}
	switch c.Op {
	case models.OpEq:
		return clause.Eq{Column: col, Value: c.Value}, nil
	case models.OpNe:
		return clause.Neq{Column: col, Value: c.Value}, nil
	case models.OpLt:
		return clause.Lt{Column: col, Value: c.Value}, nil
	case models.OpLe:
		return clause.Lte{Column: col, Value: c.Value}, nil
	case models.OpGt:
		return clause.Gt{Column: col, Value: c.Value}, nil
	case models.OpGe:
		return clause.Gte{Column: col, Value: c.Value}, nil
	case models.OpIn:
		return clause.IN{Column: col, Values: anySlice(c.Value)}, nil
	case models.OpNull:
		return clause.Expr{SQL: "? IS NULL", Vars: []any{col}}, nil
	case models.OpNotNull:
		return clause.Expr{SQL: "? IS NOT NULL", Vars: []any{col}}, nil
	case models.OpPrefix:
		return clause.Expr{SQL: "? LIKE ? ESCAPE '!'", Vars: []any{col, escapeLike(fmt.Sprint(c.Value)) + "%"}}, nil
	case models.OpLike:
		return clause.Expr{SQL: "? LIKE ? ESCAPE '!'", Vars: []any{col, "%" + escapeLike(fmt.Sprint(c.Value)) + "%"}}, nil
	case models.OpAny, models.OpAll:
		sub, ok := c.Value.([]models.Cond)
		if !ok || len(sub) == 0 {
			return nil, fmt.Errorf("storage: %q needs a non-empty []Cond", c.Op)
		}
		ors := make([]clause.Expression, len(sub))
		for i, sc := range sub {
			e, err := condExpr(g, sc)
			if err != nil {
				return nil, err
			}
			ors[i] = e
		}
		if c.Op == models.OpAll {
			return clause.And(ors...), nil
		}
		return clause.Or(ors...), nil
	case models.OpInQuery, models.OpNotInQuery:
		sub, ok := c.Value.(models.Subquery)
		if !ok || sub.Model == nil || sub.Column == "" {
			return nil, fmt.Errorf("storage: %q needs a models.Subquery with a model and a column", c.Op)
		}
		// A new statement on the same session: GORM renders it inline,
		// with its own placeholders, where the outer query uses it.
		q, err := where(g.Session(&gorm.Session{NewDB: true}).Model(sub.Model).Select(string(sub.Column)), sub.Where)
		if err != nil {
			return nil, err
		}
		if c.Op == models.OpNotInQuery {
			return clause.Expr{SQL: "? NOT IN (?)", Vars: []any{col, q}}, nil
		}
		return clause.Expr{SQL: "? IN (?)", Vars: []any{col, q}}, nil
	}
	return nil, fmt.Errorf("storage: unknown operator %q", c.Op)
}

func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

func anySlice(v any) []any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return []any{v}
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

// translate turns database errors into the domain's sentinels, wrapped so
// that the detail stays in logs.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case models.AsError(err) != nil:
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("db: %w", models.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("db: %v: %w", err, models.ErrDuplicate)
	}
	var myErr *mysqldrv.MySQLError
	if errors.As(err, &myErr) && (myErr.Number == 1406 || myErr.Number == 1366 || myErr.Number == 1264) {
		// Data too long / wrong value / out of range: the input is at fault.
		return &models.Error{Code: models.CodeValidation, Message: "a value is too long or out of range for the database", Err: err}
	}
	return unavailable(err)
}

// unavailable marks errors that mean the database cannot be reached, so
// that the API answers 503 with Retry-After rather than 500.
func unavailable(err error) error {
	var netErr net.Error
	var myErr *mysqldrv.MySQLError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysqldrv.ErrInvalidConn),
		errors.As(err, &netErr):
		return fmt.Errorf("db: %v: %w", err, models.ErrUnavailable)
	case errors.As(err, &myErr) && (myErr.Number == 1040 || myErr.Number == 1053 || myErr.Number == 2006 || myErr.Number == 2013):
		return fmt.Errorf("db: %v: %w", err, models.ErrUnavailable)
	}
	return err
}

// pause waits d, or until ctx ends (false).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryable reports errors after which the whole transaction may simply be
// run again: MySQL deadlocks (1213) and lock wait timeouts (1205), and
// SQLite's busy/locked.
func retryable(err error) bool {
	var myErr *mysqldrv.MySQLError
	if errors.As(err, &myErr) {
		// 1213 deadlock, 1205 lock wait timeout, 1020 a row changed since
		// the snapshot (MariaDB with innodb_snapshot_isolation).
		return myErr.Number == 1213 || myErr.Number == 1205 || myErr.Number == 1020
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}
