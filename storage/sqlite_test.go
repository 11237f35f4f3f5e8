package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
)

// openSQLite migrates a SQLite database of the test's own, closes it
// (which checkpoints the whole WAL into the file), and opens it again.
func openSQLite(t *testing.T) (*storage.DB, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fieldsync.db")
	db, err := storage.Open(ctx, storage.Config{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db, err = storage.Open(ctx, storage.Config{SQLitePath: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// createUnits writes n units in one transaction.
func createUnits(t *testing.T, db *storage.DB, n int) {
	t.Helper()
	now := time.Now().UTC()
	units := make([]models.Unit, n)
	for i := range units {
		units[i] = models.Unit{ID: newID(), Code: newID(), Name: "生态环境局分局", Kind: "department", Version: 1, CreatedAt: now, UpdatedAt: now}
		units[i].Path = "/" + units[i].ID + "/"
	}
	mustTx(t, db, func(tx models.Tx) error { return tx.Create(&units) })
}

// TestSQLiteReadsBesideTheWriter: on SQLite, Read and Snapshot run on
// connections of their own while a write transaction holds the writer,
// and see the last commit, not the open transaction's rows; once it
// commits, the next read sees them.
func TestSQLiteReadsBesideTheWriter(t *testing.T) {
	db, _ := openSQLite(t)
	ctx := context.Background()
	before := mkUnit(t, db, "R-1", nil)
	count := func(tx models.Tx) int64 {
		n, err := tx.Count(&models.Unit{}, nil)
		if err != nil {
			t.Error(err)
		}
		return n
	}

	inside, release := make(chan struct{}), make(chan struct{})
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	wrote := make(chan error, 1)
	go func() {
		wrote <- db.Tx(ctx, func(tx models.Tx) error {
			now := time.Now().UTC()
			u := models.Unit{ID: newID(), Code: "R-2", Name: "写入中", Kind: "department", Version: 1, CreatedAt: now, UpdatedAt: now}
			u.Path = "/" + u.ID + "/"
			if err := tx.Create(&u); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-wrote:
		t.Fatalf("the write transaction ended before holding the writer: %v", err)
	}
	// The writer is held until both reads have returned: with reads on
	// the writer's connection they would wait for it forever.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var read, snap int64
	if err := db.Read(rctx, func(tx models.Tx) error { read = count(tx); return nil }); err != nil {
		t.Fatalf("Read while the writer is held: %v", err)
	}
	if err := db.Snapshot(rctx, func(tx models.Tx) error {
		snap = count(tx)
		var u models.Unit
		return tx.Get(&u, before.ID)
	}); err != nil {
		t.Fatalf("Snapshot while the writer is held: %v", err)
	}
	close(release)
	released = true
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if read != 1 || snap != 1 {
		t.Errorf("during the write: Read counted %d units, Snapshot %d; want the committed 1", read, snap)
	}
	if err := db.Read(ctx, func(tx models.Tx) error { read = count(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if read != 2 {
		t.Errorf("after the commit: %d units, want 2", read)
	}
	if err := db.Read(ctx, func(tx models.Tx) error { return tx.Create(&models.Unit{}) }); err == nil {
		t.Error("a write inside Read succeeded")
	}
}

// TestSQLiteCheckpointer: the writer never checkpoints the WAL itself
// (its automatic checkpoint is off), and the checkpointer copies the
// committed pages into the database file in the background.
func TestSQLiteCheckpointer(t *testing.T) {
	db, path := openSQLite(t)
	var auto int
	if err := db.Gorm().Raw("PRAGMA wal_autocheckpoint").Row().Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("the writer's wal_autocheckpoint is %d, want 0", auto)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	start := size()
	createUnits(t, db, 500) // pages the file does not have yet
	if wal, err := os.Stat(path + "-wal"); err != nil || wal.Size() == 0 {
		t.Fatalf("no WAL after the commit: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); size() <= start; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is still %d bytes 30 s after the commit: nothing checkpointed", size())
		}
	}
}

// TestSQLiteWALTruncated: once the WAL holds more pages than the limit,
// the checkpointer empties it (a PASSIVE checkpoint copies the pages but
// never shrinks the file).
func TestSQLiteWALTruncated(t *testing.T) {
	defer storage.SetWALLimit(8)()
	db, path := openSQLite(t)
	createUnits(t, db, 500)
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if walSize() == 0 {
		t.Fatal("no WAL after the commit")
	}
	for deadline := time.Now().Add(30 * time.Second); walSize() > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL is still %d bytes 30 s after the commit", walSize())
		}
	}
	var n int64
	if err := db.Read(context.Background(), func(tx models.Tx) (err error) {
		n, err = tx.Count(&models.Unit{}, nil)
		return err
	}); err != nil || n != 500 {
		t.Errorf("after the truncation: %d units, %v; want 500", n, err)
	}
}
