// Package demo loads the demo data set that `fieldsyncd --demo` starts
// with: a fictional Yangtze-riverside prefecture-level city, 江城市
// (Jiangcheng, near 29.70°N 116.00°E between the Yangtze and Poyang Lake),
// working through 22 rectification items modelled on a real municipal
// rectification plan (督察反馈问题整改方案), with the sites, checklists and
// inspection tasks that go with them.
//
// Everything is created through models.Service, so the data passes the
// same validation and authorization rules as data entered through the API.
// The data set is fixed: the only input is the clock, from which deadlines
// and task windows are computed, so two loads at the same instant produce
// the same records (ids aside, which come from the service).
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// CampaignDays is how far into its campaign the demo city is: the
// feedback document issued every item that many days before the load.
const CampaignDays = 40

// Password is the password of every demo account. The architecture fixes
// it: the accounts exist only in demo mode.
const Password = "fieldsync-demo"

// ErrNotEmpty is returned by Load when the database already holds units.
// Load never merges the demo data into existing data: a second load (or a
// load into a real database) stops before creating anything.
var ErrNotEmpty = errors.New("demo: the database is not empty (it already has units); the demo data set loads only into an empty database")

// Summary says what Load created.
type Summary struct {
	Units, Users, Items, Sites, Templates, Tasks, Photos int
	// Logins are the demo accounts, in a fixed order, all with Password.
	Logins []Login
}

// Login is one demo account.
type Login struct {
	Username, Password, Role string
}

// system is the actor the demo data is created as.
var system = models.Actor{UserID: "system", Role: models.RoleAdmin}

// loader remembers the ids the service gave to the records created so far,
// by the keys the data files use to refer to them.
type loader struct {
	// svc is the caller's service on the loader's clock: each record is
	// made at the time of the campaign it belongs to.
	svc         *models.Service
	now         time.Time
	clock       time.Time
	actors      map[string]models.Actor // username → signed-in actor
	extensionID string
	units       map[string]string // unit code → id
	users       map[string]string // username → id
	items       map[string]string // item code → id
	sites       map[string]string // site key → id
	templates   map[string]string // template key → id
	sum         Summary
}

// Load fills an empty database with the demo data set through the domain
// service (so every business rule applies), and returns what it made.
//
// It returns ErrNotEmpty, having created nothing, when the database already
// has a unit. The records are created one service call at a time, each in
// its own transaction; if a call fails midway the records made before it
// stay, and the error names the record that failed.
func Load(ctx context.Context, svc *models.Service, now time.Time) (Summary, error) {
	page, err := items.New(svc).ListUnits(ctx, system, items.UnitFilter{}, models.ListParams{Limit: 1})
	if err != nil {
		return Summary{}, fmt.Errorf("demo: check the database is empty: %w", err)
	}
	if len(page.Items) > 0 {
		return Summary{}, ErrNotEmpty
	}
	l := &loader{
		now: now.UTC(), actors: map[string]models.Actor{},
		units: map[string]string{}, users: map[string]string{}, items: map[string]string{},
		sites: map[string]string{}, templates: map[string]string{},
	}
	onClock := *svc
	onClock.Now = func() time.Time { return l.clock }
	l.svc = &onClock
	// The city was set up the day the feedback document issued the
	// items; the campaign since then is history; the tasks still to do
	// are planned now.
	l.clock = l.day(-CampaignDays)
	for _, step := range []func(context.Context) error{
		l.loadUnits, l.loadUsers, l.loadTemplates, l.loadItems, l.loadSites, l.history,
	} {
		if err := step(ctx); err != nil {
			return l.sum, err
		}
	}
	l.clock = l.now
	if err := l.loadTasks(ctx); err != nil {
		return l.sum, err
	}
	// Items long overdue have gone up a supervision level, as the
	// server's hourly check would have done during the campaign.
	if _, err := items.New(l.svc).EscalateOverdue(ctx, l.now); err != nil {
		return l.sum, fmt.Errorf("demo: escalation: %w", err)
	}
	return l.sum, nil
}

func (l *loader) loadUnits(ctx context.Context) error {
	for _, u := range units {
		in := items.UnitInput{Code: ptr(u.code), Name: ptr(u.name), Kind: ptr(u.kind)}
		if u.parent != "" {
			id, err := l.ref(l.units, "unit", u.parent)
			if err != nil {
				return err
			}
			in.ParentID = &id
		}
		made, err := items.New(l.svc).CreateUnit(ctx, system, in)
		if err != nil {
			return fmt.Errorf("demo: unit %s: %w", u.code, err)
		}
		l.units[u.code] = made.ID
		l.sum.Units++
	}
	return nil
}

func (l *loader) loadUsers(ctx context.Context) error {
	for _, u := range users {
		unit, err := l.ref(l.units, "unit", u.unit)
		if err != nil {
			return err
		}
		made, err := items.New(l.svc).CreateUser(ctx, system, items.UserInput{
			Username: ptr(u.username), Password: ptr(Password), DisplayName: ptr(u.displayName),
			Phone: ptr(u.phone), Role: ptr(u.role), UnitID: &unit,
		})
		if err != nil {
			return fmt.Errorf("demo: user %s: %w", u.username, err)
		}
		l.users[u.username] = made.ID
		l.sum.Users++
		l.sum.Logins = append(l.sum.Logins, Login{Username: u.username, Password: Password, Role: u.role})
	}
	return nil
}

func (l *loader) loadTemplates(ctx context.Context) error {
	for _, t := range templates {
		qs := append([]models.Question(nil), t.questions...)
		made, err := items.New(l.svc).CreateTemplate(ctx, system, items.TemplateInput{Name: ptr(t.name), Questions: &qs})
		if err != nil {
			return fmt.Errorf("demo: template %s: %w", t.key, err)
		}
		l.templates[t.key] = made.ID
		l.sum.Templates++
	}
	return nil
}

func (l *loader) loadItems(ctx context.Context) error {
	for _, it := range allItems() {
		unit, err := l.ref(l.units, "unit", it.unit)
		if err != nil {
			return err
		}
		coop := []string{}
		for _, c := range it.coop {
			id, err := l.ref(l.units, "unit", c)
			if err != nil {
				return err
			}
			coop = append(coop, id)
		}
		in := items.ItemInput{
			Code: ptr(it.code), Title: ptr(it.title), Description: ptr(it.description),
			Source: ptr(it.source), Category: ptr(it.category), Area: ptr(it.area),
			Target: ptr(it.target), Measures: ptr(it.measures),
			ResponsibleUnitID: &unit, CooperatingUnitIDs: &coop,
			FirstResponsible: ptr(it.first), SpecificResponsible: ptr(it.specific),
			IssuedAt:         l.date(-CampaignDays),
			SupervisionLevel: ptr(it.level), KeyItem: ptr(it.key),
		}
		if summary, ok := publicSummaries[it.code]; ok {
			in.PublicSummary = &summary
		}
		if it.cadence != "" {
			in.ReviewCadence = ptr(it.cadence)
		} else {
			in.Deadline = l.date(it.days)
		}
		made, err := items.New(l.svc).CreateItem(ctx, system, in)
		if err != nil {
			return fmt.Errorf("demo: item %s: %w", it.code, err)
		}
		l.items[it.code] = made.ID
		l.sum.Items++
	}
	return nil
}

func (l *loader) loadSites(ctx context.Context) error {
	for _, s := range sites {
		unit, err := l.ref(l.units, "unit", s.unit)
		if err != nil {
			return err
		}
		in := items.SiteInput{
			UnitID: &unit, Name: ptr(s.name), Kind: ptr(s.kind), Address: ptr(s.address),
			Lat: ptr(s.lat), Lng: ptr(s.lng),
		}
		if s.radius > 0 {
			in.RadiusM = ptr(s.radius)
		}
		if s.ring != nil {
			p := &models.Polygon{Type: "Polygon", Coordinates: [][][2]float64{closeRing(s.ring)}}
			in.Polygon = models.Nullable[models.Polygon]{Set: true, Value: p}
		}
		made, err := items.New(l.svc).CreateSite(ctx, system, in)
		if err != nil {
			return fmt.Errorf("demo: site %s: %w", s.key, err)
		}
		l.sites[s.key] = made.ID
		l.sum.Sites++
	}
	return nil
}

func (l *loader) loadTasks(ctx context.Context) error {
	for i, t := range tasks {
		item, err := l.ref(l.items, "item", t.item)
		if err != nil {
			return err
		}
		site, err := l.ref(l.sites, "site", t.site)
		if err != nil {
			return err
		}
		tmpl, err := l.ref(l.templates, "template", t.template)
		if err != nil {
			return err
		}
		who, err := l.ref(l.users, "user", t.assignee)
		if err != nil {
			return err
		}
		start := l.day(t.start)
		_, err = items.New(l.svc).CreateTask(ctx, system, items.TaskInput{
			ItemID: &item, SiteID: &site, AssigneeID: &who, Kind: ptr(t.kind), TemplateID: &tmpl,
			WindowStart: &start, DueAt: ptr(start.AddDate(0, 0, t.days)), Instructions: ptr(t.instructions),
		})
		if err != nil {
			return fmt.Errorf("demo: task %d (%s at %s): %w", i+1, t.item, t.site, err)
		}
		l.sum.Tasks++
	}
	return nil
}

// day is n days from the load's clock; n may be negative.
func (l *loader) day(n int) time.Time { return l.now.AddDate(0, 0, n) }

// date is the calendar date n days from the load's clock in the
// server's zone, as a ledger writes deadlines and issue dates: a deadline
// on it ends at the end of that day there.
func (l *loader) date(n int) *models.DateTime {
	y, m, d := l.day(n).In(l.svc.Deadlines.Location()).Date()
	return models.OnDate(y, m, d)
}

// ref resolves a key of the data files to the id of a record made earlier;
// a miss is a bug in the data files.
func (l *loader) ref(ids map[string]string, kind, key string) (string, error) {
	id, ok := ids[key]
	if !ok {
		return "", fmt.Errorf("demo: data set refers to unknown %s %q", kind, key)
	}
	return id, nil
}

// closeRing returns the ring with its first position repeated at the end,
// as GeoJSON requires.
func closeRing(pts [][2]float64) [][2]float64 {
	ring := append([][2]float64(nil), pts...)
	if len(ring) > 0 && ring[0] != ring[len(ring)-1] {
		ring = append(ring, ring[0])
	}
	return ring
}

func ptr[T any](v T) *T { return &v }
