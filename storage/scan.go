package storage

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"sync"

	"gorm.io/gorm"
)

// Reading rows into records without GORM's scanner (fix 20 in
// BENCHMARKS.md). Under the sync load GORM's Scan was 16% of the server's
// CPU: for every value of every row it takes a holder from a pool,
// scans into it and copies it into the field by reflection. A record
// type's columns are mapped to its fields once (scanPlan), and each row is
// scanned straight into the fields of the record it fills; database/sql
// converts the values as it did for GORM, and a field that implements
// sql.Scanner (the JSON columns) scans itself.
//
// Get's statement is written here once per type; List and First still
// have GORM build theirs. All of them run through GORM's Row callbacks
// (Rows), so what observes statements there still sees them.

// scanPlan is how the rows of one record type are read.
type scanPlan struct {
	typ    reflect.Type
	table  string
	fields map[string][]int // column → field index path
	// get reads one record by its primary key ("" without a primary key
	// of one column): column keyColumn, field index pk.
	get       string
	keyColumn string
	pk        []int
}

// scanPlans caches a plan per record type.
var scanPlans sync.Map // reflect.Type → *scanPlan

// planOf returns the plan for typ, a struct type of a table.
func planOf(g *gorm.DB, typ reflect.Type) (*scanPlan, error) {
	if p, ok := scanPlans.Load(typ); ok {
		return p.(*scanPlan), nil
	}
	stmt := &gorm.Statement{DB: g}
	if err := stmt.Parse(reflect.New(typ).Interface()); err != nil {
		return nil, err
	}
	s := stmt.Schema
	p := &scanPlan{typ: typ, table: s.Table, fields: map[string][]int{}}
	for _, f := range s.Fields {
		if f.DBName == "" || !f.Readable {
			continue
		}
		sf, ok := typ.FieldByName(f.Name)
		if !ok || f.Serializer != nil || throughPointer(typ, sf.Index) {
			// GORM's own ways (serializers, embedded pointers) are not
			// this scanner's; no record here uses them.
			return nil, fmt.Errorf("storage: %s.%s cannot be scanned directly", typ, f.Name)
		}
		p.fields[f.DBName] = sf.Index
	}
	if pk := s.PrioritizedPrimaryField; pk != nil {
		// Both dialects quote with backticks (SQLite accepts MySQL's).
		p.get = "SELECT * FROM `" + s.Table + "` WHERE `" + pk.DBName + "` = ? LIMIT 1"
		p.keyColumn, p.pk = pk.DBName, p.fields[pk.DBName]
	}
	scanPlans.Store(typ, p)
	return p, nil
}

// throughPointer reports whether the field at index is reached through a
// pointer (an embedded *struct), which scanning would have to allocate.
func throughPointer(typ reflect.Type, index []int) bool {
	for i := 1; i < len(index); i++ {
		if typ.FieldByIndex(index[:i]).Type.Kind() == reflect.Pointer {
			return true
		}
	}
	return false
}

// scanRows reads rows into dst: a slice of p's records, replaced by the
// rows', or one record, filled from the first row (gorm.ErrRecordNotFound
// when there is none); dst must be settable. It closes rows.
func (p *scanPlan) scanRows(rows *sql.Rows, dst reflect.Value) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	// A column the record does not have (one a newer migration than this
	// build's added) is read and dropped, as GORM did.
	index := make([][]int, len(cols))
	for i, c := range cols {
		index[i] = p.fields[c]
	}
	dest := make([]any, len(cols))
	one := dst.Kind() == reflect.Struct
	if !one {
		// As GORM's Find: the slice is replaced, and empty is not nil.
		dst.Set(reflect.MakeSlice(dst.Type(), 0, 0))
	}
	for rows.Next() {
		rec := dst
		if one {
			rec.SetZero()
		} else {
			// Scanned in place, in the slice's next element.
			n := dst.Len()
			dst.Grow(1)
			dst.SetLen(n + 1)
			rec = dst.Index(n)
		}
		for i, idx := range index {
			if idx == nil {
				dest[i] = new(any)
			} else {
				dest[i] = rec.FieldByIndex(idx).Addr().Interface()
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if one {
			return rows.Close()
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if one {
		return gorm.ErrRecordNotFound
	}
	return nil
}

// row returns what reading rec's row back would give: its columns' fields
// alone (a field that is no column, such as one tagged gorm:"-", stays
// zero), each through its driver.Valuer and sql.Scanner where it has them
// (a nil JSON list is stored as [] and reads back empty, not nil).
func (p *scanPlan) row(rec reflect.Value) (reflect.Value, error) {
	out := reflect.New(p.typ).Elem()
	for _, idx := range p.fields {
		src, dst := rec.FieldByIndex(idx), out.FieldByIndex(idx)
		if src.Kind() == reflect.Pointer && src.IsNil() {
			continue // NULL reads back as nil
		}
		// database/sql scans into a pointer field by allocating its value.
		target := dst.Addr()
		if dst.Kind() == reflect.Pointer {
			target = reflect.New(dst.Type().Elem())
		}
		valuer, ok := src.Interface().(driver.Valuer)
		scanner, ok2 := target.Interface().(sql.Scanner)
		if !ok || !ok2 {
			dst.Set(src)
			continue
		}
		val, err := valuer.Value()
		if err == nil {
			err = scanner.Scan(val)
		}
		if err != nil {
			return out, err
		}
		if dst.Kind() == reflect.Pointer {
			dst.Set(target)
		}
	}
	return out, nil
}
