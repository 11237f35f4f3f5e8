package items

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// ImportRow is one row of an imported ledger: an item to create or update, with its
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
	// Args are the error's specifics, for the message catalogs.
	Args map[string]any `json:"-"`
}

// ImportReport tells what an import did (or, in a dry run, would do), or
// why it did nothing.
type ImportReport struct {
	Rows int `json:"rows"`
	// DryRun is true when nothing was written.
	DryRun    bool `json:"dry_run"`
	Created   int  `json:"created"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
	// Results say, row by row, what happened to each item.
	Results []ImportResult `json:"results"`
	Errors  []RowError     `json:"errors"`
}

// ImportResult is what an import does with one row.
type ImportResult struct {
	Row    int    `json:"row"`
	Code   string `json:"code"`
	Action string `json:"action"`
	// ItemID is the item's id: new in a real import, empty when a dry run
	// would create it.
	ItemID string `json:"item_id,omitempty"`
}

// Import actions.
const (
	ImportCreate    = "create"
	ImportUpdate    = "update"
	ImportUnchanged = "unchanged"
)

// ImportOptions change what ImportItems does.
type ImportOptions struct {
	// DryRun checks every row and reports what would be created or
	// updated, and writes nothing.
	DryRun bool
}

// MaxImportRows bounds one import, which is one transaction.
const MaxImportRows = 10000

// ImportItems creates or updates one item per row, with the rules of
// CreateItem and UpdateItem, in one transaction: either every row is valid
// and every item is written, or nothing is written and the report lists
// every row's problems (and the error is import_invalid). A row whose code
// names an existing item updates that item (re-importing a ledger brings
// it up to date); a code repeated in the file is a row error. Admins
// import anywhere, supervisors into their unit subtree. A dry run does
// all the checks and reports what it would do.
func (s *Service) ImportItems(ctx context.Context, a models.Actor, rows []ImportRow, opts ImportOptions) (ImportReport, error) {
	rep := ImportReport{Rows: len(rows), DryRun: opts.DryRun}
	if a.Role != models.RoleAdmin && a.Role != models.RoleSupervisor {
		return rep, models.Forbidden("import items")
	}
	if len(rows) > MaxImportRows {
		return rep, models.Errorf(models.CodeValidation, "%d rows are more than the %d one import takes; split the file", len(rows), MaxImportRows)
	}
	errDryRun := errors.New("dry run")
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		rep.Created, rep.Updated, rep.Unchanged, rep.Results, rep.Errors = 0, 0, 0, []ImportResult{}, nil
		units, err := loadUnitRefs(tx)
		if err != nil {
			return err
		}
		existing, err := existingItems(tx, rows)
		if err != nil {
			return err
		}
		now := s.Time()
		items := make([]models.RectificationItem, len(rows))
		befores := make([]*models.RectificationItem, len(rows))
		firstRow := map[string]int{}
		for i, row := range rows {
			errs := append([]RowError(nil), row.Errors...)
			add := func(field string, code models.Code, format string, args ...any) {
				errs = append(errs, RowError{Row: row.Row, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
			}
			in := row.Item
			if id, err := units.resolve(row.ResponsibleUnit); err != nil {
				errs = append(errs, RowError{Row: row.Row, Field: "responsible_unit_id", Code: err.Code, Message: err.Message, Args: err.Args})
			} else if id != "" {
				in.ResponsibleUnitID = &id
			}
			coop := []string{}
			for _, ref := range row.CooperatingUnits {
				id, err := units.resolve(ref)
				if err != nil {
					errs = append(errs, RowError{Row: row.Row, Field: "cooperating_unit_ids", Code: err.Code, Message: err.Message, Args: err.Args})
				} else if id != "" {
					coop = append(coop, id)
				}
			}
			in.CooperatingUnitIDs = &coop
			it := &items[i]
			code := ""
			if in.Code != nil {
				code = strings.TrimSpace(*in.Code)
			}
			if old, ok := existing[code]; ok {
				*it = old
				before := old
				befores[i] = &before
				if !a.CanWriteUnitRecord(old.UnitPath) {
					add("code", models.CodeOutsideYourUnit, "item %s belongs to a unit outside yours", code)
				}
				// A ledger that still shows the deadline an approved
				// extension replaced does not undo the extension.
				if old.OriginalDeadline != nil && in.Deadline != nil &&
					in.Deadline.EndOfDay(s.Deadlines.Location()).Equal(*old.OriginalDeadline) {
					in.Deadline = nil
				}
			} else {
				*it = models.RectificationItem{ID: s.NewID(), Status: models.ItemNotStarted, Version: 1, CreatedAt: now, UpdatedAt: now}
			}
			if err := s.applyItem(tx, it, in); err != nil {
				if e := models.AsError(err); e == nil {
					return err
				} else if !hasField(errs, e.Field) {
					// A unit already reported is not reported again as
					// missing.
					errs = append(errs, RowError{Row: row.Row, Field: e.Field, Code: e.Code, Message: e.Message, Args: e.Args})
				}
			} else if !a.CanWriteUnitRecord(it.UnitPath) {
				add("responsible_unit_id", models.CodeOutsideYourUnit, "the responsible unit is outside your unit")
			} else if b := befores[i]; b != nil && b.UnitPath != it.UnitPath {
				n, err := tx.Count(&models.InspectionTask{}, []models.Cond{models.Eq(models.TaskCols.ItemID, it.ID)})
				if err != nil {
					return err
				}
				if n > 0 {
					add("responsible_unit_id", models.CodeItemHasTasks, "item %s has %d tasks; it cannot move to another unit", it.Code, n)
				}
			}
			if it.Code != "" {
				if first, ok := firstRow[it.Code]; ok {
					add("code", models.CodeImportDuplicateCode, "item code %q is also on row %d", it.Code, first)
					errs[len(errs)-1].Args = map[string]any{"Code": it.Code}
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
			it, before := &items[i], befores[i]
			res := ImportResult{Row: rows[i].Row, Code: it.Code, Action: ImportCreate, ItemID: it.ID}
			switch {
			case before == nil:
				rep.Created++
				if opts.DryRun {
					res.ItemID = ""
				} else if err := s.importCreate(tx, a, it); err != nil {
					return err
				}
			case sameItem(before, it):
				res.Action = ImportUnchanged
				rep.Unchanged++
			default:
				res.Action = ImportUpdate
				rep.Updated++
				if !opts.DryRun {
					if err := s.importUpdate(tx, a, before, it); err != nil {
						return err
					}
				}
			}
			rep.Results = append(rep.Results, res)
		}
		if opts.DryRun {
			return errDryRun // roll back whatever the checks may have touched
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return rep, err
	}
	if len(rep.Errors) > 0 {
		sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Row < rep.Errors[j].Row })
		bad := map[int]bool{}
		for _, e := range rep.Errors {
			bad[e.Row] = true
		}
		return rep, models.Errorf(models.CodeImportInvalid, "%d of %d rows have errors; nothing was imported", len(bad), len(rows)).With("Bad", len(bad))
	}
	return rep, nil
}

func (s *Service) importCreate(tx models.Tx, a models.Actor, it *models.RectificationItem) error {
	if err := withCode(models.TranslateDup(tx.Create(it), models.CodeItemCodeTaken, "code", "item code %q is taken", it.Code), it.Code); err != nil {
		return err
	}
	if err := s.AuditTx(tx, a, models.AuditItemCreate, models.EntityItems, it.ID, map[string]any{"code": it.Code,
		"responsible_unit_id": it.ResponsibleUnitID, "status": it.Status, "imported": true}); err != nil {
		return err
	}
	return s.Changed(tx, models.EntityItems, it.ID, it.Version, models.OpUpsert, models.ScopeUnit(it.UnitPath))
}

func (s *Service) importUpdate(tx models.Tx, a models.Actor, before, it *models.RectificationItem) error {
	it.Version++
	it.UpdatedAt = s.Time()
	if err := tx.Update(it); err != nil {
		return err
	}
	detail := models.FieldChanges(before, it, "code", "responsible_unit_id", "deadline", "supervision_level", "key_item")
	detail["imported"] = true
	if err := s.AuditTx(tx, a, models.AuditItemUpdate, models.EntityItems, it.ID, detail); err != nil {
		return err
	}
	if err := s.MovedOut(tx, models.EntityItems, it.ID, it.Version, before.UnitPath, it.UnitPath); err != nil {
		return err
	}
	return s.ChangedShared(tx, models.EntityItems, models.TaskCols.ItemID, it.ID, it.Version, models.ScopeUnit(it.UnitPath))
}

// sameItem reports whether an import changed nothing of an item.
func sameItem(a, b *models.RectificationItem) bool {
	x, y := *a, *b
	x.Deadline, y.Deadline = time.Time{}, time.Time{}
	x.IssuedAt, y.IssuedAt, x.OriginalDeadline, y.OriginalDeadline, x.ClosedAt, y.ClosedAt, x.EscalatedAt, y.EscalatedAt = nil, nil, nil, nil, nil, nil, nil, nil
	return a.Deadline.Equal(b.Deadline) && sameTime(a.IssuedAt, b.IssuedAt) &&
		reflect.DeepEqual(x.CooperatingUnitIDs, y.CooperatingUnitIDs) && x.ID == y.ID &&
		x.Code == y.Code && x.Title == y.Title && x.Description == y.Description && x.Source == y.Source &&
		x.Category == y.Category && x.Area == y.Area && x.Target == y.Target && x.Measures == y.Measures &&
		x.ResponsibleUnitID == y.ResponsibleUnitID && x.FirstResponsible == y.FirstResponsible &&
		x.SpecificResponsible == y.SpecificResponsible && x.ReviewCadence == y.ReviewCadence &&
		x.SupervisionLevel == y.SupervisionLevel && x.KeyItem == y.KeyItem && x.PublicSummary == y.PublicSummary
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
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
		return "", models.Errorf(models.CodeUnknownUnit, "no unit has the code or name %q", ref).With("Ref", ref)
	default:
		return "", models.Errorf(models.CodeUnitAmbiguous, "%d units are named %q; give the unit's code", len(ids), ref).With("Ref", ref)
	}
}

// existingItems returns the items whose codes the rows name, by code.
func existingItems(tx models.Tx, rows []ImportRow) (map[string]models.RectificationItem, error) {
	var codes []string
	for _, r := range rows {
		if r.Item.Code != nil {
			codes = append(codes, strings.TrimSpace(*r.Item.Code))
		}
	}
	out := map[string]models.RectificationItem{}
	const batch = 500 // keeps each statement well under SQLite's limit on placeholders
	for len(codes) > 0 {
		n := min(batch, len(codes))
		var found []models.RectificationItem
		if err := tx.List(&found, models.Query{Where: []models.Cond{{Column: "code", Op: models.OpIn, Value: codes[:n]}}}); err != nil {
			return nil, err
		}
		for _, it := range found {
			out[it.Code] = it
		}
		codes = codes[n:]
	}
	return out, nil
}
