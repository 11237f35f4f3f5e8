package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies every pending migration, forward only, and records them
// in goose's version table. On MySQL, a named lock keeps two servers that
// start together on one database from migrating it at once. GET_LOCK names
// are server-wide, so the name carries the database's: servers of other
// databases on the same MySQL server do not wait for each other.
func (db *DB) Migrate(ctx context.Context) (applied []int64, err error) {
	if db.dialect == DialectMySQL {
		var schema string
		if err := db.sql.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&schema); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		unlock, err := db.namedLock(ctx, migrateLockName(schema), 2*time.Minute)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	p, err := db.migrations()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			applied = append(applied, r.Source.Version)
		}
	}
	if err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

// SchemaVersion returns the newest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := db.migrations()
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

func (db *DB) migrations() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var fsys fs.FS = sub
	dialect := goose.DialectSQLite3
	if db.dialect == DialectMySQL {
		dialect = goose.DialectMySQL
	} else {
		fsys = sqliteFS{sub}
	}
	p, err := goose.NewProvider(dialect, db.sql, fsys)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// migrateLockName names the migration lock of one database within
// GET_LOCK's 64 characters.
func migrateLockName(schema string) string {
	name := "fieldsync_migrate:" + schema
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(schema))
		name = "fieldsync_migrate:" + hex.EncodeToString(sum[:20])
	}
	return name
}

// namedLock takes a MySQL GET_LOCK on a connection of its own and returns
// the function that releases it.
func (db *DB) namedLock(ctx context.Context, name string, wait time.Duration) (func(), error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(wait.Seconds())).Scan(&got); err != nil || got != 1 {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("lock %s is held elsewhere", name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", name)
		conn.Close()
	}, nil
}

// sqliteFS serves the migrations with the spellings SQLite needs
// changed: the SQLite driver turns text into time.Time only for columns
// declared exactly DATETIME, while MySQL needs DATETIME(6) to keep
// microseconds (SQLite keeps whatever precision it is given); and MySQL
// drops an index "ON" its table, which SQLite does not take.
type sqliteFS struct{ fs.FS }

var dropIndexOn = regexp.MustCompile(`(DROP INDEX \w+) ON \w+`)

func (f sqliteFS) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(f.FS, name)
	b = dropIndexOn.ReplaceAll(b, []byte("$1"))
	return bytes.ReplaceAll(b, []byte("DATETIME(6)"), []byte("DATETIME")), err
}

func (f sqliteFS) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil || !strings.HasSuffix(name, ".sql") {
		return file, err
	}
	defer file.Close()
	b, err := f.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), file: file}, nil
}

// memFile is a migration file rewritten in memory.
type memFile struct {
	*bytes.Reader
	file fs.File
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.file.Stat() }
func (m *memFile) Close() error               { return nil }
