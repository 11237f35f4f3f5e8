package storage_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestNearDuplicateLookupUsesIndexes checks the plan MariaDB picks for
// the near-duplicate candidate query of models.duplicateFlags (the same
// WHERE and ORDER BY) over 50,000 stored hashes: an index merge of the
// four quarter indexes, never a table scan. With 1,000,000 rows the same
// plan estimates 62 rows (measured once; filling that table takes minutes).
func TestNearDuplicateLookupUsesIndexes(t *testing.T) {
	db := storagetest.MustOpen(t, storage.DialectMySQL)
	err := db.Gorm().Connection(func(c *gorm.DB) error {
		if err := c.Exec("SET SESSION max_recursive_iterations = 1000000").Error; err != nil {
			return err
		}
		if err := c.Exec("SET SESSION foreign_key_checks = 0").Error; err != nil {
			return err
		}
		return c.Exec(`INSERT INTO evidence (id, task_id, inspector_id, unit_path, kind, status, version, created_at, updated_at,
  phash, phash_q0, phash_q1, phash_q2, phash_q3)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 50000)
SELECT LPAD(HEX(i), 36, '0'), 'task', 'user', '/', 'photo', 'verified', 1, NOW(6), NOW(6),
  i, i % 65536, (i*7) % 65536, (i*13) % 65536, (i*31) % 65536 FROM n`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Gorm().Exec("ANALYZE TABLE evidence")
	var plan struct {
		Type string `gorm:"column:type"`
		Key  *string
		Rows int64
	}
	err = db.Gorm().Raw("EXPLAIN SELECT * FROM `evidence` WHERE (`phash_q0` = 5 OR `phash_q1` = 6 OR `phash_q2` = 7 OR `phash_q3` = 8)" +
		" AND `task_id` <> 'other' AND `status` = 'verified' AND `id` <> 'self' ORDER BY `id` LIMIT 500").Scan(&plan).Error
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
