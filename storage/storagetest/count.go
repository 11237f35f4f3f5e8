package storagetest

import (
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/storage"
)

// Statement kinds for CountStatements.
const (
	Inserts = "create"
	Selects = "query"
)

// CountStatements counts, from now on, the successful statements of one
// kind (Inserts or Selects) that db runs on table, so that a test can
// say how many a piece of work costs.
func CountStatements(tb testing.TB, db *storage.DB, kind, table string) *atomic.Int64 {
	tb.Helper()
	var n atomic.Int64
	count := func(g *gorm.DB) {
		if g.Statement.Table == table && g.Error == nil {
			n.Add(1)
		}
	}
	name := "storagetest:count:" + kind + ":" + table
	var err error
	switch kind {
	case Inserts:
		err = db.Gorm().Callback().Create().After("gorm:create").Register(name, count)
	case Selects:
		// Get, List and First read through Rows (storage/scan.go): GORM's
		// Row callbacks; the rest through its Query callbacks.
		err = db.Gorm().Callback().Query().After("gorm:query").Register(name, count)
		if err == nil {
			err = db.Gorm().Callback().Row().After("gorm:row").Register(name, count)
		}
	default:
		tb.Fatalf("storagetest: no statement kind %q", kind)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return &n
}
