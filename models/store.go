package models

import (
	"context"
	"time"
)

// Store is the database as the domain sees it. The exported service method
// owns the transaction; everything inside it goes through Tx.
type Store interface {
	// Tx runs fn in one read-write transaction, committed when fn returns
	// nil and rolled back otherwise. What a caller must know:
	//
	//   - A transaction that fails for a reason that goes away on its own
	//     (a MySQL/MariaDB deadlock, lock wait timeout or snapshot
	//     conflict; SQLite busy or locked) is rolled back and fn runs
	//     again from the start, up to eight times in all. fn must
	//     therefore be idempotent apart from what it does through tx: set,
	//     not accumulate, whatever it leaves outside itself (reset results
	//     at its top), and do nothing inside it that cannot be undone
	//     (send a message, write a blob).
	//   - Change-log rows fn creates are held back and written together
	//     (500 rows a statement) when fn returns, before the commit, or earlier
	//     when fn next touches the change log (a read, a write, a
	//     condition with a subquery on it, SetOnce), so fn reads its
	//     own rows. A failing Create of a Change therefore reports its
	//     error later, from that statement or from Tx itself.
	//   - A record read with Get is read from the database once per
	//     transaction: later Gets of it return a copy of the first read,
	//     until a Create, UpdateWhere, SetOnce or Delete on its record
	//     type (or, on MySQL, a Lock on it) forgets every cached record of
	//     that type. An Update replaces the one record it wrote with what
	//     a read would now return (and forgets the type if it fails);
	//     Prefetch adds the records it reads. First, List, Count, Pluck and
	//     CountBy always read the database.
	Tx(ctx context.Context, fn func(tx Tx) error) error
	// Read runs fn outside a transaction: each statement reads what is
	// committed when it runs, with no BEGIN or COMMIT around them. It is
	// for the reads of every request that need no common snapshot (the
	// session behind a token, a sync client's row). fn must not write:
	// the Tx it gets refuses to (every write, Lock and SetOnce
	// return an error). As in Tx, a record read twice with Get in one
	// Read is read from the database once. A failure is never retried.
	Read(ctx context.Context, fn func(tx Tx) error) error
	// Snapshot runs fn in a read-only transaction: every statement reads
	// the same committed state (the database's snapshot as of the first
	// read), as a sync pull page needs its log bounds and its rows to
	// agree. fn must not write: the Tx it gets refuses to. It is never
	// re-run and holds no write lock where the database can avoid one
	// (MySQL); on SQLite it queues on the one connection as Tx does.
	Snapshot(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the database answers; /readyz uses it.
	Ping(ctx context.Context) error
}

// Tx is one transaction, valid only inside the fn it was given to. Records
// are the structs of this package and its packages; a record that is
// missing is ErrNotFound, a unique-key clash ErrDuplicate, and an update
// of a stale version ErrVersionConflict (all wrapped with %w). Store.Tx
// says what every caller must know: fn may run again from the start,
// change-log rows are written late, and Get answers from a
// per-transaction cache. Columns are named as Column (columns.go).
type Tx interface {
	// Create inserts rec. Change-log rows (and after HoldInserts every
	// single record) may be held back and written together before the
	// transaction commits or next reads their table.
	Create(rec any) error
	// Get loads the record with the given primary key into rec.
	Get(rec any, id string) error
	// Prefetch loads the records with the given primary keys into dst, a
	// pointer to a slice of records, in no particular order, those Get
	// has not read yet in one statement, and keeps them for the
	// transaction's Gets (a missing id is left out, and its Get reports
	// it). A push's batch reads its mutations' tasks, items and templates
	// this way, three statements instead of three for each task.
	Prefetch(dst any, ids []string) error
	// First loads the first record matching q into rec.
	First(rec any, q Query) error
	// Update writes every field of rec whose stored version is
	// rec.Version-1 (the caller has already incremented it).
	Update(rec any) error
	// UpdateWhere sets the columns in fields on every record of model's
	// table matching conds and returns how many rows changed.
	UpdateWhere(model any, conds []Cond, fields Set) (int64, error)
	// List loads the records matching q into dst, a pointer to a slice,
	// ordered by id ascending (keyset pagination).
	List(dst any, q Query) error
	// Delete removes the records of model's table matching conds and
	// returns how many it removed.
	Delete(model any, conds []Cond) (int64, error)
	// Count counts the records of model's table matching conds.
	Count(model any, conds []Cond) (int64, error)
	// Pluck loads one column of the records matching conds into dst
	// (a pointer to a slice), distinct.
	Pluck(model any, column Column, conds []Cond, dst any) error
	// CountBy counts the records of model's table matching conds per
	// distinct combination of the given columns' values, so that reports
	// are one GROUP BY rather than a count per combination. Groups come
	// in no particular order.
	CountBy(model any, columns []Column, conds []Cond) ([]Group, error)
	// Lock takes the row locks of the records of model's table matching
	// conds until the transaction ends (SELECT … FOR UPDATE), changing
	// nothing. Call it before reading: the transaction's reads then see
	// what committed while it waited. Where the database runs one writer
	// at a time (SQLite) it does nothing.
	Lock(model any, conds []Cond) error
	// SetOnce sets, for each row, the columns cols of the record of
	// model's table whose primary key is row[0] to row[1:], only where
	// cols[0] is still NULL, in as few statements as the database allows,
	// and returns how many records it set. It numbers what is numbered
	// once: change rows under the sync counter's lock (a transaction's own
	// before it commits, and rows left unnumbered by another), audit
	// entries in their chain. A statement per row would cost a round trip
	// per row on MySQL.
	SetOnce(model any, cols []Column, rows [][]any) (int64, error)
	// HoldInserts makes the transaction's later Creates of single records
	// wait, as the change log's rows always do: they are written together,
	// a multi-row INSERT per table, before the next statement on their
	// table (or with a subquery) and before the commit. A push's batch
	// calls it: its answers, notes and verifications go in a statement
	// per table instead of one each. A Create then reports nothing; a
	// duplicate key fails the statement that writes it, or Tx itself, so
	// only a transaction that abandons everything on any error (as the
	// batch does, falling back to a transaction per mutation) may hold
	// inserts.
	HoldInserts()
	// Principal loads the session with the given id with its device and
	// user in one statement: the read every authenticated request makes
	// (three primary-key lookups would be three round trips). A session
	// that does not exist is ErrNotFound.
	Principal(sessionID string) (Principal, error)
}

// Principal is what authentication reads of a session, its device and its
// user.
type Principal struct {
	SessionID        string
	SessionExpiresAt time.Time
	SessionRevokedAt *time.Time
	DeviceID         string
	DeviceRevokedAt  *time.Time
	UserID           string
	Username         string
	Role             string
	UnitID           string
	UnitPath         string
	Disabled         bool
	// MustChangePassword: see User.MustChangePassword.
	MustChangePassword bool
}

// Group is one combination of values in a CountBy, with how many records
// have it. Keys are in the order of the columns; NULL reads as "".
type Group struct {
	Keys  []string
	Count int64
}

// Op is a comparison in a Cond.
type Op string

// Comparisons.
const (
	OpEq      Op = "="
	OpNe      Op = "<>"
	OpLt      Op = "<"
	OpLe      Op = "<="
	OpGt      Op = ">"
	OpGe      Op = ">="
	OpIn      Op = "in"
	OpPrefix  Op = "prefix"
	OpNull    Op = "null"
	OpNotNull Op = "not_null"
	// OpAny is true when any of the conditions in Value ([]Cond) holds.
	OpAny Op = "any"
	// OpAll is true when all the conditions in Value ([]Cond) hold; a
	// list of Conds is already a conjunction, so it is only needed
	// inside OpAny.
	OpAll  Op = "all"
	OpLike Op = "contains"
	// OpInQuery is true when the column's value is one of those a
	// Subquery (Value) selects. The database evaluates it, so a filter
	// over a large related table needs neither a round trip nor a long
	// list of ids.
	OpInQuery Op = "in_query"
	// OpNotInQuery is true when the column's value is none of those a
	// Subquery (Value) selects (a column that is never NULL).
	OpNotInQuery Op = "not_in_query"
)

// Subquery selects one column of the records of Model's table that match
// Where, for OpInQuery.
type Subquery struct {
	Model  any
	Column Column
	Where  []Cond
}

// Cond is one condition on a column (see Column).
type Cond struct {
	Column Column
	Op     Op
	Value  any
}

// Eq is a shorthand for an equality condition.
func Eq(column Column, v any) Cond { return Cond{Column: column, Op: OpEq, Value: v} }

// Query selects records for List and First.
type Query struct {
	Where []Cond
	// After is the id after which a page starts (exclusive); empty for the
	// first page.
	After string
	// Limit bounds the rows returned; 0 means no bound.
	Limit int
	// OrderBy names the column to sort by instead of id, with an optional
	// " DESC", or several such, separated by commas ("at, id"); After only
	// applies to the id order. OrderBy(cols…) writes it from typed
	// columns.
	OrderBy string
	// Columns, when set, are the only columns read: the records' other
	// fields stay zero. For a read of a few columns of many rows that an
	// index holds whole (a pull's read of an inspector's tasks' references).
	Columns []Column
}

// Clock is the injected time source.
type Clock func() time.Time

// PasswordHasher hashes and checks passwords; the implementation lives
// outside models so that models imports the standard library only.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) bool
}
