package storage_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestNearDuplicateLookupUsesIndexes checks the plan MariaDB picks for
// the near-duplicate candidate query of models.duplicateFlags (the same
// WHERE, ORDER BY and LIMIT: ten hashes, any quarter equal) over 50,000
// stored hash rows: the four quarter indexes, never a table scan.
// BenchmarkNearDuplicateLookup times it at a million photos.
func TestNearDuplicateLookupUsesIndexes(t *testing.T) {
	db := storagetest.MustOpen(t, storage.DialectMySQL)
	err := db.Gorm().Connection(func(c *gorm.DB) error {
		if err := c.Exec("SET SESSION max_recursive_iterations = 1000000").Error; err != nil {
			return err
		}
		if err := c.Exec("SET SESSION foreign_key_checks = 0").Error; err != nil {
			return err
		}
		return c.Exec(`INSERT INTO evidence_phashes (evidence_id, part, phash, q0, q1, q2, q3)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 50000)
SELECT LPAD(HEX(i DIV 10), 36, '0'), i MOD 10, i, i % 65536, (i*7) % 65536, (i*13) % 65536, (i*31) % 65536 FROM n`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Gorm().Exec("ANALYZE TABLE evidence_phashes")
	var plan struct {
		Type string `gorm:"column:type"`
		Key  *string
		Rows int64
	}
	in := "(5, 105, 205, 305, 405, 505, 605, 705, 805, 905)"
	err = db.Gorm().Raw("EXPLAIN SELECT * FROM `evidence_phashes` WHERE (`q0` IN " + in + " OR `q1` IN " + in + " OR `q2` IN " + in + " OR `q3` IN " + in + ")" +
		" AND `evidence_id` <> 'self' ORDER BY evidence_id, part LIMIT 20000").Scan(&plan).Error
	if err != nil {
		t.Fatal(err)
	}
	key := ""
	if plan.Key != nil {
		key = *plan.Key
	}
	t.Logf("plan over 50,000 hashes: type=%s key=%s rows=%d", plan.Type, key, plan.Rows)
	if plan.Type == "ALL" || plan.Type == "index" || plan.Rows > 1000 {
		t.Fatalf("the near-duplicate lookup scans the table: type=%s key=%s rows=%d", plan.Type, key, plan.Rows)
	}
}
