package storagetest

import (
	"context"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
)

// TestReusedDatabaseIsEmpty: a database a test wrote to comes back to the
// next test as the migrations left it — its rows gone, the migrations' own
// rows restored, the schema the same — on both dialects.
func TestReusedDatabaseIsEmpty(t *testing.T) {
	for _, dialect := range Dialects {
		t.Run(dialect, func(t *testing.T) {
			var first string
			unit := &models.Unit{ID: "00000000-0000-4000-8000-000000000001", Code: "C", Name: "市", Kind: "city", Path: "/C/", Version: 1}
			t.Run("writes", func(t *testing.T) {
				db := MustOpen(t, dialect)
				first = name(t, db)
				ctx := context.Background()
				if err := db.Tx(ctx, func(tx models.Tx) error { return tx.Create(unit) }); err != nil {
					t.Fatal(err)
				}
				// The sequencer's counter, a row the migrations insert, moves on.
				if err := db.Gorm().Exec("UPDATE sync_state SET num = 41 WHERE name = 'seq'").Error; err != nil {
					t.Fatal(err)
				}
			})
			t.Run("reads", func(t *testing.T) {
				db := MustOpen(t, dialect)
				if dialect == storage.DialectMySQL && name(t, db) != first {
					t.Fatalf("the pool gave %s, not the database the last test gave back (%s)", name(t, db), first)
				}
				var n int64
				if err := db.Gorm().Table("units").Count(&n).Error; err != nil || n != 0 {
					t.Fatalf("%d units left from the last test (%v)", n, err)
				}
				var seq int64
				if err := db.Gorm().Raw("SELECT num FROM sync_state WHERE name = 'seq'").Scan(&seq).Error; err != nil || seq != 0 {
					t.Fatalf("sequencer counter %d after reuse, want 0 as migrated (%v)", seq, err)
				}
				if applied, err := db.Migrate(context.Background()); err != nil || len(applied) != 0 {
					t.Fatalf("a reused database needed migrations %v (%v)", applied, err)
				}
			})
		})
	}
}

func name(t *testing.T, db *storage.DB) string {
	var s string
	q := "SELECT DATABASE()"
	if db.Dialect() == storage.DialectSQLite {
		q = "SELECT file FROM pragma_database_list WHERE name = 'main'"
	}
	if err := db.Gorm().Raw(q).Scan(&s).Error; err != nil {
		t.Fatal(err)
	}
	return s
}
