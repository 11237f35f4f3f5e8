package storage_test

import (
	"context"
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// BenchmarkNearDuplicateLookup is the candidate query of
// models.duplicateFlags (ten hashes of the new photo, any quarter equal)
// over evidence_phashes filled for FIELDSYNC_BENCH_PHOTOS photos (default
// one million) with ten random hashes each, on SQLite and MariaDB:
//
//	FIELDSYNC_TEST_MYSQL_DSN=… go test ./storage -run '^$' -bench NearDuplicateLookup -benchtime 200x
func BenchmarkNearDuplicateLookup(b *testing.B) {
	photos := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("FIELDSYNC_BENCH_PHOTOS")); err == nil && v > 0 {
		photos = v
	}
	outer := b
	for _, dialect := range storagetest.Dialects {
		var db *storage.DB // opened and seeded on the sub-benchmark's first run, closed after all
		b.Run(dialect, func(b *testing.B) {
			if db == nil {
				db = storagetest.MustOpen(outer, dialect)
				start := time.Now()
				seedPHashes(b, db, dialect, photos)
				b.Logf("%s: %d photos, %d hash rows seeded in %s", dialect, photos, photos*10, time.Since(start).Round(time.Second))
				if dialect == storage.DialectMySQL {
					var plan []map[string]any
					db.Gorm().Raw("EXPLAIN SELECT * FROM evidence_phashes WHERE (q0 IN (1,2,3,4,5,6,7,8,9,10) OR q1 IN (1,2,3,4,5,6,7,8,9,10) OR q2 IN (1,2,3,4,5,6,7,8,9,10) OR q3 IN (1,2,3,4,5,6,7,8,9,10)) AND evidence_id <> 'self' ORDER BY evidence_id, part LIMIT 20000").Scan(&plan)
					b.Logf("plan: %v", plan)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var rows int
			b.ResetTimer()
			for range b.N {
				query := make([]uint64, 10)
				for i := range query {
					query[i] = rng.Uint64()
				}
				n, err := lookup(db, query)
				if err != nil {
					b.Fatal(err)
				}
				rows += n
			}
			b.ReportMetric(float64(rows)/float64(b.N), "candidates/op")
		})
	}
}

// phashRow is a row of evidence_phashes (models/evidence.EvidencePHash).
type phashRow struct {
	EvidenceID string `gorm:"primaryKey"`
	Part       int    `gorm:"primaryKey"`
	PHash      int64  `gorm:"column:phash"`
}

func (phashRow) TableName() string { return "evidence_phashes" }

// lookup runs the candidate query as models.duplicateFlags builds it.
func lookup(db *storage.DB, hashes []uint64) (int, error) {
	var qs [4][]int32
	for _, h := range hashes {
		qs[0] = append(qs[0], int32(h>>48&0xffff))
		qs[1] = append(qs[1], int32(h>>32&0xffff))
		qs[2] = append(qs[2], int32(h>>16&0xffff))
		qs[3] = append(qs[3], int32(h&0xffff))
	}
	var cands []phashRow
	err := db.Read(context.Background(), func(tx models.Tx) error {
		return tx.List(&cands, models.Query{Where: []models.Cond{{Op: models.OpAny, Value: []models.Cond{
			{Column: "q0", Op: models.OpIn, Value: qs[0]}, {Column: "q1", Op: models.OpIn, Value: qs[1]},
			{Column: "q2", Op: models.OpIn, Value: qs[2]}, {Column: "q3", Op: models.OpIn, Value: qs[3]},
		}}, {Column: "evidence_id", Op: models.OpNe, Value: "self"}}, OrderBy: "evidence_id, part", Limit: 20000})
	})
	// And the comparison of full hashes that follows.
	for _, c := range cands {
		for _, h := range hashes {
			_ = bits.OnesCount64(uint64(c.PHash)^h) <= 10
		}
	}
	return len(cands), err
}

// seedPHashes fills evidence_phashes in the database itself (a recursive
// sequence, hashes from a multiplicative mix of the row number), without
// evidence rows: foreign keys are off for the seeding connection.
func seedPHashes(b *testing.B, db *storage.DB, dialect string, photos int) {
	rows := photos * 10
	// Four pseudo-random 16-bit quarters from the row number (the high
	// bit of the first kept clear, so that every dialect's signed BIGINT
	// holds the hash).
	parts := `(i*40503) % 65536, (i*52711+7) % 65536, (i*61169+13) % 65536, (i*34607+29) % 65536`
	id, mod := "printf('%036x', i / 10)", "i % 10"
	if dialect == storage.DialectMySQL {
		id, mod = "LPAD(HEX(i DIV 10), 36, '0')", "i MOD 10"
	}
	// In batches of a million rows: one recursive sequence of ten million
	// overflows MariaDB's temporary table.
	const batch = 1_000_000
	seed := func(from int) string {
		return `INSERT INTO evidence_phashes (evidence_id, part, phash, q0, q1, q2, q3)
WITH RECURSIVE n(i) AS (SELECT ` + strconv.Itoa(from+1) + ` UNION ALL SELECT i+1 FROM n WHERE i < ` + strconv.Itoa(min(rows, from+batch)) + `),
m(i, a, b, c, d) AS (SELECT i, ` + parts + ` FROM n)
SELECT ` + id + `, ` + mod + `, ((a & 32767) << 48) | (b << 32) | (c << 16) | d, a, b, c, d FROM m`
	}
	err := db.Gorm().Connection(func(c *gorm.DB) error {
		if dialect == storage.DialectMySQL {
			for _, s := range []string{"SET SESSION max_recursive_iterations = 100000000", "SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0"} {
				if err := c.Exec(s).Error; err != nil {
					return err
				}
			}
		} else if err := c.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return err
		}
		// Without the quarter indexes while filling, then built sorted.
		for q := range 4 {
			if err := c.Exec("DROP INDEX idx_evidence_phashes_q" + strconv.Itoa(q) + onTable(dialect)).Error; err != nil {
				return err
			}
		}
		for from := 0; from < rows; from += batch {
			if err := c.Exec(seed(from)).Error; err != nil {
				return err
			}
		}
		for q := range 4 {
			n := strconv.Itoa(q)
			if err := c.Exec("CREATE INDEX idx_evidence_phashes_q" + n + " ON evidence_phashes (q" + n + ")").Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if dialect == storage.DialectMySQL {
		db.Gorm().Exec("ANALYZE TABLE evidence_phashes")
	} else {
		db.Gorm().Exec("ANALYZE")
	}
}

func onTable(dialect string) string {
	if dialect == storage.DialectMySQL {
		return " ON evidence_phashes"
	}
	return ""
}
