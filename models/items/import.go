package items

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// ImportRow is one row of an imported ledger: an item to create, with its
// units named the way people name them.
type ImportRow struct {
	// Row is the row's number in the file, for messages.
	Row  int
	Item ItemInput
	// ResponsibleUnit and CooperatingUnits name units by code or by name;
	// they take the place of the item's unit ids.
	ResponsibleUnit  string
	CooperatingUnits []string
	// Errors are what the file's reader could not read (a date that is
	// not one). The row is checked all the same, so that one report names
	// every problem.
	Errors []RowError
}

// RowError is one problem with one row of an import. Field is the
// ItemInput member at fault (its JSON name), or empty for the whole row.
type RowError struct {
	Row     int         `json:"row"`
	Field   string      `json:"field,omitempty"`
	Code    models.Code `json:"code"`
	Message string      `json:"message"`
}

// ImportReport tells what an import did, or why it did nothing.
type ImportReport struct {
	Rows    int        `json:"rows"`
	Created int        `json:"created"`
	Errors  []RowError `json:"errors"`
}

// MaxImportRows bounds one import, which is one transaction.
const MaxImportRows = 10000

// ImportItems creates one item per row, with the rules of CreateItem, in
// one transaction: either every row is valid and every item is created,
// or nothing is written and the report lists every row's problems (and the
// error is import_invalid). Codes must be new: taken in the database, or
// repeated in the file, is a row error. Admins import anywhere, supervisors
// into their unit subtree.
func (s *Service) ImportItems(ctx context.Context, a models.Actor, rows []ImportRow) (ImportReport, error) {
	rep := ImportReport{Rows: len(rows)}
	if !a.CanManage() {
		return rep, models.Forbidden("import items")
	}
	if len(rows) > MaxImportRows {
		return rep, models.Errorf(models.CodeValidation, "%d rows are more than the %d one import takes; split the file", len(rows), MaxImportRows)
	}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		rep.Created, rep.Errors = 0, nil
		units, err := loadUnitRefs(tx)
		if err != nil {
			return err
		}
		taken, err := takenCodes(tx, rows)
		if err != nil {
			return err
		}
		now := s.Time()
		items := make([]models.RectificationItem, len(rows))
		firstRow := map[string]int{}
		for i, row := range rows {
			errs := append([]RowError(nil), row.Errors...)
			add := func(field string, code models.Code, format string, args ...any) {
				errs = append(errs, RowError{Row: row.Row, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
			}
			in := row.Item
			if id, err := units.resolve(row.ResponsibleUnit); err != nil {
				add("responsible_unit_id", err.Code, "%s", err.Message)
			} else if id != "" {
				in.ResponsibleUnitID = &id
			}
			coop := []string{}
			for _, ref := range row.CooperatingUnits {
				id, err := units.resolve(ref)
				if err != nil {
					add("cooperating_unit_ids", err.Code, "%s", err.Message)
				} else if id != "" {
					coop = append(coop, id)
				}
			}
			in.CooperatingUnitIDs = &coop
			it := &items[i]
			*it = models.RectificationItem{ID: s.NewID(), Status: models.ItemNotStarted, Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := s.applyItem(tx, it, in); err != nil {
				if e := models.AsError(err); e == nil {
					return err
				} else if !hasField(errs, e.Field) {
					// A unit already reported is not reported again as
					// missing.
					errs = append(errs, RowError{Row: row.Row, Field: e.Field, Code: e.Code, Message: e.Message})
				}
			} else if !a.CanWriteUnitRecord(it.UnitPath) {
				add("responsible_unit_id", models.CodeOutsideYourUnit, "the responsible unit is outside your unit")
			}
			if it.Code != "" {
				if first, ok := firstRow[it.Code]; ok {
					add("code", models.CodeImportDuplicateCode, "item code %q is also on row %d", it.Code, first)
				} else if taken[it.Code] {
					add("code", models.CodeItemCodeTaken, "item code %q is taken", it.Code)
				} else {
					firstRow[it.Code] = row.Row
				}
			}
			rep.Errors = append(rep.Errors, errs...)
		}
		if len(rep.Errors) > 0 {
			return nil // nothing was written; the report says why
		}
		for i := range items {
			it := &items[i]
			if err := models.TranslateDup(tx.Create(it), models.CodeItemCodeTaken, "code", "item code %q is taken", it.Code); err != nil {
				return err
			}
			if err := s.AuditTx(tx, a, models.AuditItemCreate, models.EntityItems, it.ID, map[string]any{"code": it.Code,
				"responsible_unit_id": it.ResponsibleUnitID, "status": it.Status, "imported": true}); err != nil {
				return err
			}
			if err := s.Changed(tx, models.EntityItems, it.ID, it.Version, models.OpUpsert, models.ScopeUnit(it.UnitPath)); err != nil {
				return err
			}
		}
		rep.Created = len(items)
		return nil
	})
	if err != nil {
		return rep, err
	}
	if len(rep.Errors) > 0 {
		sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Row < rep.Errors[j].Row })
		bad := map[int]bool{}
		for _, e := range rep.Errors {
			bad[e.Row] = true
		}
		return rep, models.Errorf(models.CodeImportInvalid, "%d of %d rows have errors; nothing was imported", len(bad), len(rows))
	}
	return rep, nil
}

func hasField(errs []RowError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// unitRefs finds units by code or by name.
type unitRefs struct {
	byCode map[string]string
	byName map[string][]string
}

func loadUnitRefs(tx models.Tx) (unitRefs, error) {
	var units []models.Unit
	if err := tx.List(&units, models.Query{}); err != nil {
		return unitRefs{}, err
	}
	r := unitRefs{byCode: map[string]string{}, byName: map[string][]string{}}
	for _, u := range units {
		r.byCode[u.Code] = u.ID
		r.byName[u.Name] = append(r.byName[u.Name], u.ID)
	}
	return r, nil
}

// resolve returns the id of the unit ref names: a code first, then a name
// that only one unit has. An empty ref is no unit.
func (r unitRefs) resolve(ref string) (string, *models.Error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", nil
	}
	if id, ok := r.byCode[ref]; ok {
		return id, nil
	}
	switch ids := r.byName[ref]; len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", models.Errorf(models.CodeUnknownUnit, "no unit has the code or name %q", ref)
	default:
		return "", models.Errorf(models.CodeUnitAmbiguous, "%d units are named %q; give the unit's code", len(ids), ref)
	}
}

// takenCodes returns which of the rows' item codes already exist.
func takenCodes(tx models.Tx, rows []ImportRow) (map[string]bool, error) {
	var codes []string
	for _, r := range rows {
		if r.Item.Code != nil {
			codes = append(codes, strings.TrimSpace(*r.Item.Code))
		}
	}
	taken := map[string]bool{}
	const batch = 500 // keeps each statement well under SQLite's limit on placeholders
	for len(codes) > 0 {
		n := min(batch, len(codes))
		var found []string
		if err := tx.Pluck(&models.RectificationItem{}, "code", []models.Cond{{Column: "code", Op: models.OpIn, Value: codes[:n]}}, &found); err != nil {
			return nil, err
		}
		for _, c := range found {
			taken[c] = true
		}
		codes = codes[n:]
	}
	return taken, nil
}
