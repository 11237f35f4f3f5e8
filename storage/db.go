// Package storage adapts the domain's interfaces to real backends: GORM on
// MySQL/MariaDB or SQLite for records, MinIO/S3 or a local directory for
// blobs (package storage/blob), and the embedded schema migrations.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	moderncsqlite "modernc.org/sqlite"

	"github.com/fieldsync/fieldsync/models"
)

// Config chooses the database. Exactly one of MySQLDSN and SQLitePath is
// used; MySQLDSN wins when both are set.
type Config struct {
	MySQLDSN   string
	SQLitePath string
	// MaxOpenConns bounds the MySQL pool (SQLite writes on one connection
	// and reads on sqliteReaders).
	MaxOpenConns int
	Logger       *slog.Logger
}

// DB is the GORM-backed models.Store.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
	// reads runs Read and Snapshot. On MySQL it is gorm; on SQLite a
	// session of gorm (the same callbacks) on a pool of read-only
	// connections, readSQL, beside the one that writes: in WAL mode a
	// reader reads the last commit while the writer writes the next.
	reads   *gorm.DB
	readSQL *sql.DB
	dialect string
	// stop ends SQLite's checkpointer and waits for it.
	stop func()
}

// sqliteReaders is the size of SQLite's pool of read-only connections.
const sqliteReaders = 4

// checkpointEvery is how often the SQLite checkpointer copies the WAL's
// committed pages into the database file.
const checkpointEvery = time.Second

var _ models.Store = (*DB)(nil)

// Dialects.
const (
	DialectMySQL  = "mysql"
	DialectSQLite = "sqlite"
)

// Open connects to the configured database and checks that it answers.
// It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	gcfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		// What the columns keep (models.Stamp): a record GORM stamped
		// equals the row read back.
		NowFunc: func() time.Time { return models.Stamp(time.Now()) },
	}
	var (
		dialector gorm.Dialector
		dialect   string
	)
	switch {
	case cfg.MySQLDSN != "":
		dsn, err := mysqlDSN(cfg.MySQLDSN)
		if err != nil {
			return nil, err
		}
		conf, err := gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("mysql dsn %s: %w", redactDSN(dsn), err)
		}
		// The columns keep microseconds. A time sent with nine digits of
		// a second is a value MariaDB cannot take as a DATETIME(6)
		// without loss, and a condition on it reads no index: the
		// janitor's DELETE of expired login attempts scanned the table.
		if err := conf.Apply(gomysql.TimeTruncate(time.Microsecond)); err != nil {
			return nil, err
		}
		c, err := gomysql.NewConnector(conf)
		if err != nil {
			return nil, fmt.Errorf("mysql dsn %s: %w", redactDSN(dsn), err)
		}
		dialector, dialect = mysql.New(mysql.Config{DSNConfig: conf, Conn: sql.OpenDB(stmtCacheConnector{c, mysqlStmtCache})}), DialectMySQL
	case cfg.SQLitePath != "":
		// One connection writes: SQLite has one writer, and a single
		// connection turns lock contention into queueing instead of
		// SQLITE_BUSY. Transactions take the write lock when they begin
		// (_txlock): another process on the same file (fieldctl beside the
		// server) then waits for it under busy_timeout, where a deferred
		// transaction that read first and wrote second would fail at once
		// with SQLITE_BUSY once the other had written. The writer never
		// checkpoints (wal_autocheckpoint 0): the checkpointer does, off
		// the request path (openSQLiteReaders).
		conn, err := openSQLite(cfg.SQLitePath, "&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		dialector, dialect = sqlite.New(sqlite.Config{Conn: conn}), DialectSQLite
	default:
		return nil, errors.New("storage: no database configured")
	}
	g, err := gorm.Open(dialector, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if dialect == DialectSQLite {
		sqlDB.SetMaxOpenConns(1)
	} else {
		n := cfg.MaxOpenConns
		if n <= 0 {
			n = 32
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	db := &DB{gorm: g, sql: sqlDB, reads: g, dialect: dialect, stop: func() {}}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("%s is unreachable: %w", dialect, err)
	}
	if dialect == DialectSQLite {
		// After the writer's ping, which made the file a WAL database.
		if err := db.openSQLiteReaders(cfg.SQLitePath, cfg.Logger); err != nil {
			sqlDB.Close()
			return nil, err
		}
	}
	return db, nil
}

// sqliteCommon are the DSN parameters of every SQLite connection.
const sqliteCommon = "_pragma=busy_timeout(10000)&_time_format=sqlite"

// openSQLite opens a pool of SQLite connections to the file at path with
// sqliteCommon and the DSN parameters params, each keeping its statements
// compiled (stmtCacheConnector).
func openSQLite(path, params string) (*sql.DB, error) {
	c, err := moderncsqlite.NewConnector("file:" + path + "?" + sqliteCommon + params)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return sql.OpenDB(stmtCacheConnector{c, sqliteStmtCache}), nil
}

// openSQLiteReaders opens the pool that Read and Snapshot use, and starts
// the checkpointer on it.
func (db *DB) openSQLiteReaders(path string, log *slog.Logger) error {
	readSQL, err := openSQLite(path, "&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	readSQL.SetMaxOpenConns(sqliteReaders)
	readSQL.SetMaxIdleConns(sqliteReaders)
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := readSQL.PingContext(pctx); err != nil {
		readSQL.Close()
		return fmt.Errorf("sqlite readers: %w", err)
	}
	// A session carries the statement's connection pool to every
	// statement made from it, and shares the callbacks of db.gorm.
	reads := db.gorm.Session(&gorm.Session{Context: context.Background()})
	reads.Statement.ConnPool = readSQL
	db.reads, db.readSQL = reads, readSQL
	db.stop = db.checkpointer(log)
	return nil
}

// checkpointer copies the WAL's committed pages into the database file
// every checkpointEvery, on a reader's connection. A PASSIVE checkpoint
// waits for nobody: the writer goes on appending to the WAL meanwhile,
// and the pages a reader still reads are left for the next round. SQLite's
// own automatic checkpoint would instead run inside the commit that
// crossed 1,000 pages, holding the only writer (and the push waiting on
// it) for the copy. The WAL starts again from its beginning only when no
// reader is on it; should readers keep it from doing so until it holds
// walLimit pages, a TRUNCATE checkpoint waits for them (and holds the
// writer meanwhile, under busy_timeout) and empties it.
func (db *DB) checkpointer(log *slog.Logger) func() {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(checkpointEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := db.checkpoint(ctx, log); err != nil && ctx.Err() == nil {
				log.Warn("sqlite checkpoint failed", "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// walLimit is the WAL's size, in pages (4 KiB), past which the
// checkpointer truncates it.
var walLimit = 16384

// checkpoint runs one round of the checkpointer.
func (db *DB) checkpoint(ctx context.Context, log *slog.Logger) error {
	var busy, pages, copied int
	if err := db.readSQL.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &pages, &copied); err != nil {
		return err
	}
	if pages < walLimit {
		return nil
	}
	before := pages
	if err := db.readSQL.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &pages, &copied); err != nil {
		return err
	}
	log.Info("sqlite WAL truncated", "pages_before", before, "done", busy == 0)
	return nil
}

// mysqlDSN adds the parameters fieldsync relies on: times in UTC parsed
// into time.Time, utf8mb4 for Chinese text, and arguments interpolated
// by the driver. Without interpolation every statement with arguments is
// prepared, executed and closed on the server: three round trips instead
// of one, and most of a push's time under load (fieldsim's sustained
// scenario). The driver refuses to interpolate in the few multi-byte
// charsets where escaping would not be safe; utf8mb4 is not one of them.
func mysqlDSN(dsn string) (string, error) {
	if !strings.Contains(dsn, "/") {
		return "", fmt.Errorf("mysql dsn %q has no database name (user:pass@tcp(host:3306)/dbname)", redactDSN(dsn))
	}
	want := map[string]string{"parseTime": "true", "loc": "UTC", "charset": "utf8mb4", "interpolateParams": "true"}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for k, v := range want {
		if !strings.Contains(dsn, k+"=") {
			dsn += sep + k + "=" + v
			sep = "&"
		}
	}
	return dsn, nil
}

// redactDSN hides the password of a MySQL DSN for messages.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.Index(dsn, ":")
	if at < 0 || colon < 0 || colon > at {
		return dsn
	}
	return dsn[:colon+1] + "***" + dsn[at:]
}

// Dialect names the database in use.
func (db *DB) Dialect() string { return db.dialect }

// Gorm exposes the handle for adapters in this module (migrations, tests).
func (db *DB) Gorm() *gorm.DB { return db.gorm }

// Ping checks the connection.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("db: %w", unavailable(err))
	}
	return nil
}

// Close stops the checkpointer and closes the pools, the writer last: the
// last connection to close checkpoints the WAL into the file.
func (db *DB) Close() error {
	db.stop()
	if db.readSQL != nil {
		if err := db.readSQL.Close(); err != nil {
			db.sql.Close()
			return err
		}
	}
	return db.sql.Close()
}
