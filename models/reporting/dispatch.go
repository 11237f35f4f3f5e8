package reporting

import (
	"context"
	"sort"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Dispatch periods: a report covers one calendar month, or two.
const (
	PeriodMonthly   = "monthly"
	PeriodBimonthly = "bimonthly"
)

// DispatchPeriods lists the periods a dispatch report covers.
var DispatchPeriods = []string{PeriodMonthly, PeriodBimonthly}

// Bounds of the progress notes in a dispatch report.
const (
	DispatchNotesPerItem = 3
	DispatchNoteRunes    = 200
)

// DispatchQuery asks for the dispatch report (调度) of one period. Period
// is monthly when empty; Start is the period's first day, YYYY-MM-DD, the
// first of a month in the deadlines' zone, and the current month when
// empty.
type DispatchQuery struct {
	Period string
	Start  string
}

// DispatchCounts are the figures of a dispatch report for a group of
// items, as of the period's end: how many there were, in each status, how
// many were accepted (closed) and how often rejected in the period, and
// how many were overdue.
type DispatchCounts struct {
	Items       int            `json:"items"`
	ByStatus    map[string]int `json:"by_status"`
	NewlyClosed int            `json:"newly_closed"`
	Overdue     int            `json:"overdue"`
	Rejected    int            `json:"rejected"`
	// OpenEnded counts the open-ended items (长期坚持); one of them is
	// overdue when its periodic review is.
	OpenEnded int `json:"open_ended"`
	// Extended counts the items whose deadline an approved extension
	// moved.
	Extended int `json:"extended"`
}

// DispatchCategory is one category's figures.
type DispatchCategory struct {
	Category string `json:"category"`
	DispatchCounts
}

// DispatchUnit is one responsible unit's figures, in all and by category.
type DispatchUnit struct {
	UnitID   string `json:"unit_id"`
	UnitCode string `json:"unit_code"`
	UnitName string `json:"unit_name"`
	DispatchCounts
	Categories []DispatchCategory `json:"categories"`
}

// Kinds of progress note in a dispatch report.
const (
	NoteKindNote         = "note"
	NoteKindVerification = "verification"
)

// DispatchNote is one note written in the period: a note on a task, or
// what an inspector wrote with a verification (with its conclusion).
type DispatchNote struct {
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Author     string    `json:"author"`
	Conclusion string    `json:"conclusion,omitempty"`
	// Text is cut to DispatchNoteRunes characters.
	Text string `json:"text"`
}

// DispatchProgress is the progress of one item in the period: how many
// notes were written, and the newest DispatchNotesPerItem of them.
type DispatchProgress struct {
	ItemID   string         `json:"item_id"`
	Code     string         `json:"code"`
	Title    string         `json:"title"`
	UnitID   string         `json:"unit_id"`
	Category string         `json:"category"`
	Total    int            `json:"total"`
	Notes    []DispatchNote `json:"notes"`
}

// DispatchReport is the periodic progress report (调度). Figures "at the
// end" are as of AsOf: the period's end, or now for a period not yet
// over.
type DispatchReport struct {
	Period     string             `json:"period"`
	Start      time.Time          `json:"start"`
	End        time.Time          `json:"end"`
	AsOf       time.Time          `json:"as_of"`
	Total      DispatchCounts     `json:"total"`
	Units      []DispatchUnit     `json:"units"`
	Categories []DispatchCategory `json:"categories"`
	Progress   []DispatchProgress `json:"progress"`
	// Extensions are the deadline extensions requested or decided in the
	// period, with each item's original deadline.
	Extensions []DispatchExtension `json:"extensions"`
}

// DispatchExtension is one deadline extension in a dispatch report.
type DispatchExtension struct {
	ItemID            string     `json:"item_id"`
	Code              string     `json:"code"`
	Title             string     `json:"title"`
	UnitID            string     `json:"unit_id"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason"`
	OriginalDeadline  time.Time  `json:"original_deadline"`
	PreviousDeadline  time.Time  `json:"previous_deadline"`
	RequestedDeadline time.Time  `json:"requested_deadline"`
	RequestedAt       time.Time  `json:"requested_at"`
	DecidedAt         *time.Time `json:"decided_at"`
}

// period reads a DispatchQuery against now.
func (s *Service) period(q DispatchQuery, now time.Time) (kind string, start, end time.Time, err error) {
	kind = q.Period
	if kind == "" {
		kind = PeriodMonthly
	}
	if err := models.OneOf("period", kind, DispatchPeriods); err != nil {
		return "", start, end, err
	}
	loc := s.Deadlines.Location()
	if q.Start == "" {
		y, m, _ := now.In(loc).Date()
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	} else if start, err = time.ParseInLocation(time.DateOnly, q.Start, loc); err != nil || !models.StorableTime(start) {
		return "", start, end, models.FieldError(models.CodeInvalidDate, "start", "start must be a date, YYYY-MM-DD, in the years 1000 to 9999")
	}
	if start.Day() != 1 {
		return "", start, end, models.FieldError(models.CodePeriodStartInvalid, "start", "a period starts on the first day of a month")
	}
	if start.After(now) {
		return "", start, end, models.FieldError(models.CodePeriodStartInvalid, "start", "the period has not begun")
	}
	months := 1
	if kind == PeriodBimonthly {
		months = 2
	}
	return kind, start, start.AddDate(0, months, 0), nil
}

// Dispatch builds the dispatch report of a period over the items the
// actor may see: admins all, supervisors and unit leads their unit
// subtree; inspectors are refused.
//
// An item's status at the end is read from its acceptance trail, which
// is append-only: the status its first submission or decision after the
// end moved it from, or its current status when there was none. Starting
// work leaves no record, so an item whose work began after the end counts
// as in progress. Newly closed counts the items accepted in the period
// (an item reopened since still counts), rejected the rejections made in
// it.
func (s *Service) Dispatch(ctx context.Context, a models.Actor, q DispatchQuery) (DispatchReport, error) {
	if !a.CanReview() {
		return DispatchReport{}, models.Forbidden("read dispatch reports")
	}
	now := s.Time()
	kind, start, end, err := s.period(q, now)
	if err != nil {
		return DispatchReport{}, err
	}
	if err := s.Audit(ctx, a, models.AuditExportDispatch, models.EntityItems, "", map[string]any{"period": kind, "start": start}); err != nil {
		return DispatchReport{}, err
	}
	scope, err := s.ReadScope(ctx, a, models.EntityItems)
	if err != nil {
		return DispatchReport{}, err
	}
	asOf := end
	if now.Before(end) {
		asOf = now
	}
	t := newTally()
	items := map[string]*DispatchProgress{}
	// An item counts from when it was issued, or else created: a ledger
	// loaded part-way through the campaign fills the earlier reports.
	conds := append(append([]models.Cond(nil), scope...), models.Cond{Column: "issued_at", Op: models.OpAny, Value: []models.Cond{
		{Column: "issued_at", Op: models.OpLt, Value: asOf},
		{Column: "created_at", Op: models.OpLt, Value: asOf},
	}})
	for after := ""; ; {
		var page []models.RectificationItem
		err := s.Store.Tx(ctx, func(tx models.Tx) error {
			page = nil
			if err := tx.List(&page, models.Query{Where: conds, After: after, Limit: ledgerPage}); err != nil {
				return err
			}
			return t.addPage(tx, page, start, asOf)
		})
		if err != nil {
			return DispatchReport{}, err
		}
		for _, it := range page {
			items[it.ID] = &DispatchProgress{ItemID: it.ID, Code: it.Code, Title: it.Title, UnitID: it.ResponsibleUnitID, Category: it.Category}
		}
		if len(page) < ledgerPage {
			break
		}
		after = page[len(page)-1].ID
	}
	rep := DispatchReport{Period: kind, Start: start.UTC(), End: end.UTC(), AsOf: asOf.UTC(), Total: *t.total}
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		var err error
		if rep.Units, rep.Categories, err = t.report(tx); err != nil {
			return err
		}
		if rep.Progress, err = periodNotes(tx, scope, items, start, asOf); err != nil {
			return err
		}
		rep.Extensions, err = periodExtensions(tx, scope, items, start, asOf)
		return err
	})
	return rep, err
}

// tally adds up the figures of a report.
type tally struct {
	total      *DispatchCounts
	units      map[string]*DispatchCounts
	unitCats   map[[2]string]*DispatchCounts
	categories map[string]*DispatchCounts
}

func newTally() *tally {
	return &tally{total: newCounts(), units: map[string]*DispatchCounts{}, unitCats: map[[2]string]*DispatchCounts{}, categories: map[string]*DispatchCounts{}}
}

func newCounts() *DispatchCounts { return &DispatchCounts{ByStatus: statusCounts[int]()} }

// statusCounts is a zero count for every item status, so that reports
// list every status even where none is counted.
func statusCounts[N int | int64]() map[string]N {
	m := map[string]N{}
	for _, st := range models.ItemMachine.Statuses() {
		m[st] = 0
	}
	return m
}

func counts[K comparable](m map[K]*DispatchCounts, k K) *DispatchCounts {
	if m[k] == nil {
		m[k] = newCounts()
	}
	return m[k]
}

// addPage counts a page of items, with the decisions and submissions that
// tell their state in and after the period.
func (t *tally) addPage(tx models.Tx, page []models.RectificationItem, start, asOf time.Time) error {
	if len(page) == 0 {
		return nil
	}
	ids := make([]string, len(page))
	for i, it := range page {
		ids[i] = it.ID
	}
	var (
		decisions   []models.Decision
		submissions []models.Submission
	)
	byItem := models.Cond{Column: "item_id", Op: models.OpIn, Value: ids}
	if err := tx.List(&decisions, models.Query{Where: []models.Cond{byItem, {Column: "created_at", Op: models.OpGe, Value: start}}}); err != nil {
		return err
	}
	if err := tx.List(&submissions, models.Query{Where: []models.Cond{byItem, {Column: "created_at", Op: models.OpGe, Value: asOf}}}); err != nil {
		return err
	}
	// next is the first trail event at or after asOf and the status the
	// item had before it.
	type event struct {
		at   time.Time
		from string
	}
	next := map[string]event{}
	first := func(item string, at time.Time, from string) {
		if e, ok := next[item]; !ok || at.Before(e.at) {
			next[item] = event{at, from}
		}
	}
	closed, rejected := map[string]bool{}, map[string]int{}
	for _, d := range decisions {
		if !d.CreatedAt.Before(asOf) {
			first(d.ItemID, d.CreatedAt, d.FromStatus)
			continue
		}
		switch d.Kind {
		case models.DecisionAccept:
			closed[d.ItemID] = true
		case models.DecisionReject:
			rejected[d.ItemID]++
		}
	}
	for _, sub := range submissions {
		first(sub.ItemID, sub.CreatedAt, models.ItemInProgress)
	}
	for _, it := range page {
		status := it.Status
		if e, ok := next[it.ID]; ok {
			status = e.from
		}
		for _, c := range []*DispatchCounts{t.total, counts(t.units, it.ResponsibleUnitID),
			counts(t.unitCats, [2]string{it.ResponsibleUnitID, it.Category}), counts(t.categories, it.Category)} {
			c.Items++
			c.ByStatus[status]++
			if models.Overdue(status, it.Deadline, asOf) {
				c.Overdue++
			}
			if closed[it.ID] {
				c.NewlyClosed++
			}
			if it.ReviewCadence != "" {
				c.OpenEnded++
			}
			if it.OriginalDeadline != nil {
				c.Extended++
			}
			c.Rejected += rejected[it.ID]
		}
	}
	return nil
}

// report lists the units (by code) and categories (by name) counted.
func (t *tally) report(tx models.Tx) ([]DispatchUnit, []DispatchCategory, error) {
	ids := make([]string, 0, len(t.units))
	for id := range t.units {
		ids = append(ids, id)
	}
	var found []models.Unit
	if len(ids) > 0 {
		if err := tx.List(&found, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: ids}}}); err != nil {
			return nil, nil, err
		}
	}
	units := []DispatchUnit{}
	for _, u := range found {
		du := DispatchUnit{UnitID: u.ID, UnitCode: u.Code, UnitName: u.Name, DispatchCounts: *t.units[u.ID], Categories: []DispatchCategory{}}
		for k, c := range t.unitCats {
			if k[0] == u.ID {
				du.Categories = append(du.Categories, DispatchCategory{Category: k[1], DispatchCounts: *c})
			}
		}
		sortCategories(du.Categories)
		units = append(units, du)
	}
	sort.Slice(units, func(i, j int) bool { return units[i].UnitCode < units[j].UnitCode })
	cats := []DispatchCategory{}
	for k, c := range t.categories {
		cats = append(cats, DispatchCategory{Category: k, DispatchCounts: *c})
	}
	sortCategories(cats)
	return units, cats, nil
}

func sortCategories(c []DispatchCategory) {
	sort.Slice(c, func(i, j int) bool { return c[i].Category < c[j].Category })
}

// periodExtensions lists the extensions of the report's items requested
// or decided in the period, oldest request first.
func periodExtensions(tx models.Tx, scope []models.Cond, items map[string]*DispatchProgress, start, asOf time.Time) ([]DispatchExtension, error) {
	var exts []models.DeadlineExtension
	where := append(append([]models.Cond(nil), scope...), models.Cond{Column: "created_at", Op: models.OpLt, Value: asOf})
	if err := tx.List(&exts, models.Query{Where: where, OrderBy: "created_at"}); err != nil {
		return nil, err
	}
	inPeriod := func(t *time.Time) bool { return t != nil && !t.Before(start) && t.Before(asOf) }
	out := []DispatchExtension{}
	first := map[string]time.Time{}
	for _, e := range exts {
		if _, ok := first[e.ItemID]; !ok {
			first[e.ItemID] = e.PreviousDeadline
		}
	}
	for _, e := range exts {
		p := items[e.ItemID]
		if p == nil || !inPeriod(&e.CreatedAt) && !inPeriod(e.DecidedAt) {
			continue
		}
		out = append(out, DispatchExtension{ItemID: e.ItemID, Code: p.Code, Title: p.Title, UnitID: p.UnitID, Status: e.Status,
			Reason: e.Reason, OriginalDeadline: first[e.ItemID], PreviousDeadline: e.PreviousDeadline,
			RequestedDeadline: e.RequestedDeadline, RequestedAt: e.CreatedAt, DecidedAt: e.DecidedAt})
	}
	return out, nil
}
