package storagetest

import (
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
)

// CommitUnnumbered writes change rows straight to the log, committed
// without sequence numbers, as a server older than commit-time numbering
// did, and as one still running during a rolling upgrade does; the
// sequencer (sync.Engine.Stamp) numbers such rows.
func CommitUnnumbered(tb testing.TB, db *storage.DB, rows []models.Change) {
	tb.Helper()
	for i := range rows {
		rows[i].Seq = nil
	}
	if err := db.Gorm().CreateInBatches(&rows, 500).Error; err != nil {
		tb.Fatal(err)
	}
}
