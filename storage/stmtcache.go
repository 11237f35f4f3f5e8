package storage

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"strings"
	"unicode"
)

// sqliteStmtCache and mysqlStmtCache bound the statements one connection
// keeps compiled. The server runs a few dozen distinct statements; the
// bound is for SQL that differs by its values (IN lists of varying
// length), which would otherwise grow a cache without end. MariaDB counts
// every connection's prepared statements against max_prepared_stmt_count
// (16,382 by default): 64 on each of a pool's 32 connections leaves room
// for several servers on one database.
const (
	sqliteStmtCache = 256
	mysqlStmtCache  = 64
)

// stmtCacheConnector opens connections that keep their statements
// compiled. modernc.org/sqlite compiles the SQL of a plain Exec or Query
// every time it runs it (sqlite3_prepare_v2 was 17% of the server's CPU
// under a push load), while a prepared statement keeps its compiled handle
// between runs; MariaDB parses every statement sent as text, and answers
// a prepared one in its binary protocol. The connections it opens run
// the queries and writes they see a second time through a prepared
// statement kept per connection and SQL text (cacheable, take), the least
// recently used closed beyond size. A statement the database refuses to
// prepare (a full max_prepared_stmt_count, SQL in error) runs as text,
// which reports the SQL's error; one that fails when run is dropped.
// GORM's own PrepareStmt cannot serve here: inside a transaction it
// prepares on the pool, which on SQLite's one writer connection waits for
// itself.
type stmtCacheConnector struct {
	driver.Connector
	size int
}

// Connect opens a connection and wraps it in its statement cache.
func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{conn: conn, size: c.size, stmts: map[string]*list.Element{}, lru: list.New(), seen: map[string]struct{}{}}, nil
}

// errNotCached is take's answer for a statement the cache does not prepare.
var errNotCached = errors.New("statement not cached")

// cachedStmt is a compiled statement and whether a query's rows still
// read from it.
type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool
	// owned is set for a statement prepared beside a busy cached one of the
	// same SQL (a query run again while its rows are open): it is closed
	// when released instead of kept.
	owned bool
}

// stmtCacheConn is one connection and its compiled statements.
// database/sql uses a connection from one goroutine at a time (its rows
// too: Next and Close run under the connection's lock), so the cache has
// no lock of its own.
type stmtCacheConn struct {
	conn  driver.Conn
	size  int
	stmts map[string]*list.Element // values are *cachedStmt
	lru   *list.List               // most recently used at the front
	seen  map[string]struct{}      // SQL run once as text, prepared if it comes again
}

// verb returns the first word of query, upper-cased.
func verb(query string) string {
	q := strings.TrimLeft(query, " \t\r\n(")
	end := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(q)
	}
	return strings.ToUpper(q[:end])
}

// cacheable reports whether the cache prepares query for an Exec (exec
// set) or for a Query: writes (INSERT, UPDATE, DELETE, REPLACE) for both,
// reads (SELECT, WITH) and writes with RETURNING for a Query only.
// MariaDB's driver, executing as an Exec a prepared statement that returns
// rows, reads the rows as the columns' definitions when the server caches
// them, and waits forever for more where there are fewer rows than columns
// (a prepared ANALYZE TABLE hung that way). Everything else (PRAGMA, SET,
// DDL, savepoints) runs once and goes as text.
func cacheable(query string, exec bool) bool {
	switch verb(query) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE":
		return !exec || !(strings.Contains(query, "RETURNING") || strings.Contains(query, "returning"))
	case "SELECT", "WITH":
		return !exec
	}
	return false
}

// take returns a compiled statement for query, marked busy, or an error:
// errNotCached when query is not cacheable or is seen for the first time
// (SQL whose text varies with its values, such as an IN list, would
// otherwise be prepared once and never used again: MariaDB's prepare is a
// round trip of its own), or the driver's if it could not be prepared.
func (c *stmtCacheConn) take(ctx context.Context, query string, exec bool) (*cachedStmt, error) {
	if !cacheable(query, exec) {
		return nil, errNotCached
	}
	e, ok := c.stmts[query]
	switch {
	case ok && !e.Value.(*cachedStmt).busy:
		s := e.Value.(*cachedStmt)
		s.busy = true
		c.lru.MoveToFront(e)
		return s, nil
	case ok:
		st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		return &cachedStmt{query: query, stmt: st, busy: true, owned: true}, nil
	}
	if _, again := c.seen[query]; !again {
		if len(c.seen) >= 4*c.size {
			clear(c.seen)
		}
		c.seen[query] = struct{}{}
		return nil, errNotCached
	}
	delete(c.seen, query)
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{query: query, stmt: st, busy: true}
	c.stmts[query] = c.lru.PushFront(s)
	c.evict()
	return s, nil
}

// evict closes the least recently used idle statements beyond the bound.
func (c *stmtCacheConn) evict() {
	for e := c.lru.Back(); e != nil && c.lru.Len() > c.size; {
		prev := e.Prev()
		if s := e.Value.(*cachedStmt); !s.busy {
			c.drop(e)
		}
		e = prev
	}
}

// drop closes the cached statement of e and forgets it.
func (c *stmtCacheConn) drop(e *list.Element) {
	s := e.Value.(*cachedStmt)
	c.lru.Remove(e)
	delete(c.stmts, s.query)
	s.stmt.Close()
}

// release is called when s has run (err is its error, or its rows'
// Close's): a statement of its own is closed; a cached one is idle again,
// or dropped if it failed, so that a statement the server no longer knows
// (an unknown prepared statement handler) is prepared again next time.
func (c *stmtCacheConn) release(s *cachedStmt, err error) {
	switch {
	case s.owned:
		s.stmt.Close()
	case err != nil:
		if e, ok := c.stmts[s.query]; ok && e.Value == s {
			c.drop(e)
		}
	default:
		s.busy = false
	}
}

// ExecContext runs query through its compiled statement, or as text.
func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.take(ctx, query, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	res, err := s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	c.release(s, err)
	return res, err
}

// QueryContext runs query through its compiled statement, which stays
// busy until the rows are closed, or as text.
func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.take(ctx, query, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(s, err)
		return nil, err
	}
	return &stmtCacheRows{Rows: rows, release: func(err error) { c.release(s, err) }}, nil
}

// Close closes the compiled statements, then the connection.
func (c *stmtCacheConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.stmts, c.lru = nil, list.New()
	return c.conn.Close()
}

// The rest forwards what the driver's connections implement, as
// modernc.org/sqlite asks of a wrapper (NewConnector's documentation).

func (c *stmtCacheConn) Unwrap() driver.Conn { return c.conn }

func (c *stmtCacheConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *stmtCacheConn) Begin() (driver.Tx, error) { return c.conn.Begin() }

func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCacheConn) Ping(ctx context.Context) error {
	return c.conn.(driver.Pinger).Ping(ctx)
}

func (c *stmtCacheConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtCacheConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

// CheckNamedValue converts arguments as the driver's connection does
// (MariaDB's), or as database/sql does by default (SQLite's).
func (c *stmtCacheConn) CheckNamedValue(nv *driver.NamedValue) error {
	if v, ok := c.conn.(driver.NamedValueChecker); ok {
		return v.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// stmtCacheRows releases its statement when closed, and passes on the
// column types the driver reports (GORM reads them to scan).
type stmtCacheRows struct {
	driver.Rows
	release func(error)
}

func (r *stmtCacheRows) Close() error {
	err := r.Rows.Close()
	if r.release != nil {
		r.release(err)
		r.release = nil
	}
	return err
}

func (r *stmtCacheRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *stmtCacheRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *stmtCacheRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *stmtCacheRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *stmtCacheRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *stmtCacheRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *stmtCacheRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
