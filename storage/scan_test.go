package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// slimUnit reads the units table into fewer fields than it has columns.
type slimUnit struct {
	ID   string
	Code string
}

func (slimUnit) TableName() string { return "units" }

// UnitCode is a part of a record embedded through a pointer.
type UnitCode struct {
	Code string
}

// withPointer reaches a column through an embedded pointer.
type withPointer struct {
	ID string
	*UnitCode
}

func (withPointer) TableName() string { return "units" }

// TestScanRows: the reads that scan rows straight into records
// (storage/scan.go) behave as GORM's scanner did: columns the record
// lacks dropped, a list's slice replaced and empty rather than nil, a
// missing record not found and left as it was, a record type the scanner
// cannot fill refused rather than read half-right.
func TestScanRows(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			a := mkUnit(t, db, "A", nil)
			mkUnit(t, db, "B", &a)
			ctx := context.Background()
			err := db.Read(ctx, func(tx models.Tx) error {
				list := []slimUnit{{ID: "stale"}}
				if err := tx.List(&list, models.Query{OrderBy: "code"}); err != nil {
					return err
				}
				if len(list) != 2 || list[0].Code != "A" || list[1].Code != "B" || list[0].ID != a.ID {
					t.Errorf("units read into fewer fields: %+v", list)
				}
				none := []slimUnit{{ID: "stale"}}
				if err := tx.List(&none, models.Query{Where: []models.Cond{models.Eq("code", "Z")}}); err != nil {
					return err
				}
				if none == nil || len(none) != 0 {
					t.Errorf("an empty list is %#v, want an empty slice", none)
				}
				var one slimUnit
				if err := tx.First(&one, models.Query{OrderBy: "code DESC"}); err != nil || one.Code != "B" {
					t.Errorf("First: %+v, %v", one, err)
				}
				kept := slimUnit{ID: "kept", Code: "kept"}
				if err := tx.Get(&kept, "no-such-unit"); !models.IsNotFound(err) || kept.Code != "kept" {
					t.Errorf("Get of a missing unit: %v, record %+v", err, kept)
				}
				var full models.Unit
				if err := tx.Get(&full, a.ID); err != nil || full.Code != "A" || full.Path != a.Path || !full.CreatedAt.Equal(a.CreatedAt) {
					t.Errorf("Get: %+v, %v; want %+v", full, err, a)
				}
				err := tx.List(&[]withPointer{}, models.Query{})
				if err == nil || !strings.Contains(err.Error(), "cannot be scanned directly") {
					t.Errorf("a record with an embedded pointer was read: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
