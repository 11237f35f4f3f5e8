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

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldsync/fieldsync/models"
)

// Config chooses the database. Exactly one of MySQLDSN and SQLitePath is
// used; MySQLDSN wins when both are set.
type Config struct {
	MySQLDSN   string
	SQLitePath string
	// MaxOpenConns bounds the MySQL pool (SQLite always uses one).
	MaxOpenConns int
	Logger       *slog.Logger
}

// DB is the GORM-backed models.Store.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string
}

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
		NowFunc:                func() time.Time { return time.Now().UTC() },
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
		dialector, dialect = mysql.Open(dsn), DialectMySQL
	case cfg.SQLitePath != "":
		// One connection: SQLite has one writer, and a single connection
		// turns lock contention into queueing instead of SQLITE_BUSY.
		// Transactions take the write lock when they begin (_txlock):
		// another process on the same file (fieldctl beside the server)
		// then waits for it under busy_timeout, where a deferred
		// transaction that read first and wrote second would fail at once
		// with SQLITE_BUSY once the other had written.
		dsn := "file:" + cfg.SQLitePath + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_time_format=sqlite&_txlock=immediate"
		dialector, dialect = sqlite.Open(dsn), DialectSQLite
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
	db := &DB{gorm: g, sql: sqlDB, dialect: dialect}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("%s is unreachable: %w", dialect, err)
	}
	return db, nil
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

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }
