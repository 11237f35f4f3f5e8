package demo_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/models"
	accsvc "github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/auth"
	evsvc "github.com/fieldsync/fieldsync/models/evidence"
	itemsvc "github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/reporting"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/media"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// sha256Hasher is a fast test double for the real (argon2id) hasher, which
// lives in another package.
type sha256Hasher struct{}

func (sha256Hasher) Hash(pw string) (string, error) {
	sum := sha256.Sum256([]byte(pw))
	return "sha256$" + hex.EncodeToString(sum[:]), nil
}

func (h sha256Hasher) Verify(hash, pw string) bool {
	want, _ := h.Hash(pw)
	return subtle.ConstantTimeCompare([]byte(hash), []byte(want)) == 1
}

var now = time.Date(2026, 3, 16, 1, 30, 0, 0, time.UTC)

func mustService(t *testing.T) *models.Service {
	t.Helper()
	db := storagetest.MustOpen(t, storage.DialectSQLite)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	photos := media.New()
	return &models.Service{
		Blobs:    blobs,
		Media:    photos,
		Renderer: photos,
		Store:    db,
		Now:      func() time.Time { return now },
		NewID:    func() string { return uuid.Must(uuid.NewV7()).String() },
		Hasher:   sha256Hasher{},
		Auth:     models.DefaultAuthPolicy,
		// As fieldsyncd is configured by default.
		Deadlines: models.DeadlinePolicy{EscalateAfter: 720 * time.Hour},
	}
}

var admin = models.Actor{UserID: "system", Role: models.RoleAdmin}

// all reads every page of a service list.
func all[T models.Record](t *testing.T, list func(models.ListParams) (models.Page[T], error)) []T {
	t.Helper()
	var out []T
	p := models.ListParams{Limit: models.MaxPageSize}
	for {
		page, err := list(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		p.After = page.Next
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	svc := mustService(t)
	sum, err := demo.Load(ctx, svc, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %+v", sum)

	units := all(t, func(p models.ListParams) (models.Page[models.Unit], error) {
		return itemsvc.New(svc).ListUnits(ctx, admin, itemsvc.UnitFilter{}, p)
	})
	kinds := map[string]int{}
	for _, u := range units {
		kinds[u.Kind]++
	}
	if len(units) != sum.Units || kinds["city"] != 1 || kinds["county"] != 3 || kinds["department"] < 6 {
		t.Errorf("units: %d (summary %d), by kind %v; want 1 city, 3 counties, >= 6 departments", len(units), sum.Units, kinds)
	}
	// Every county has a department of its own, so subtree rules bite.
	byID := map[string]models.Unit{}
	for _, u := range units {
		byID[u.ID] = u
	}
	for _, c := range units {
		if c.Kind != "county" {
			continue
		}
		found := false
		for _, u := range units {
			if u.Kind == "department" && u.ParentID != nil && *u.ParentID == c.ID {
				found = true
			}
		}
		if !found {
			t.Errorf("county %s has no department", c.Name)
		}
	}

	items := all(t, func(p models.ListParams) (models.Page[models.RectificationItem], error) {
		return itemsvc.New(svc).ListItems(ctx, admin, models.ItemFilter{}, p)
	})
	areas, levels := map[string]int{}, map[string]int{}
	var overdue, escalated, openEnded []string
	// A ledger dates its items: the issue date is the start of that day
	// in the server's zone.
	loc := svc.Deadlines.Location()
	y, m, d := now.AddDate(0, 0, -demo.CampaignDays).In(loc).Date()
	issued := time.Date(y, m, d, 0, 0, 0, 0, loc)
	for _, it := range items {
		areas[it.Area]++
		levels[it.SupervisionLevel]++
		// The city is 40 days into its campaign: every item was issued
		// then; a few are overdue already, one long enough to have gone
		// up a level; one is open-ended, reviewed quarterly.
		if it.IssuedAt == nil || !it.IssuedAt.Equal(issued) {
			t.Errorf("item %s: issued %v", it.Code, it.IssuedAt)
		}
		if it.IsOverdue(now) {
			overdue = append(overdue, it.Code)
		}
		if it.EscalatedAt != nil {
			escalated = append(escalated, it.Code)
		}
		if it.ReviewCadence != "" {
			openEnded = append(openEnded, it.Code)
		}
		if want := wantStatus(it.Code); it.Status != want {
			t.Errorf("item %s: status %s, want %s", it.Code, it.Status, want)
		}
		if (it.OriginalDeadline != nil) != (it.Code == "ZY1-DQ-01") {
			t.Errorf("item %s: original deadline %v; only ZY1-DQ-01 was extended", it.Code, it.OriginalDeadline)
		}
		if _, ok := byID[it.ResponsibleUnitID]; !ok {
			t.Errorf("item %s: unknown responsible unit", it.Code)
		}
	}
	if strings.Join(overdue, " ") != "ZY1-GF-01 SJ-ST-01" || strings.Join(escalated, " ") != "ZY1-GF-01" || strings.Join(openEnded, " ") != "ZY2-ST-01" {
		t.Errorf("overdue %v, escalated %v, open-ended %v", overdue, escalated, openEnded)
	}
	if len(items) != 22 || sum.Items != 22 {
		t.Errorf("items: %d (summary %d), want 22", len(items), sum.Items)
	}
	if len(areas) != 4 {
		t.Errorf("areas: %v, want 4", areas)
	}
	if len(levels) != 3 {
		t.Errorf("supervision levels: %v, want all three", levels)
	}

	sites := all(t, func(p models.ListParams) (models.Page[models.Site], error) {
		return itemsvc.New(svc).ListSites(ctx, admin, itemsvc.SiteFilter{}, p)
	})
	polygons := 0
	for i := range sites {
		s := &sites[i]
		if err := s.ValidateGeofence(); err != nil {
			t.Errorf("site %s: %v", s.Name, err)
		}
		if s.Lat < 29.4 || s.Lat > 29.9 || s.Lng < 115.7 || s.Lng > 116.4 {
			t.Errorf("site %s at %v,%v is outside the city", s.Name, s.Lat, s.Lng)
		}
		if s.Polygon != nil {
			polygons++
			if d := s.DistanceOutsideM(s.Lat, s.Lng); d != 0 {
				t.Errorf("site %s: its own position is %.0f m outside its polygon", s.Name, d)
			}
		}
	}
	if len(sites) != sum.Sites || len(sites) < 20 || polygons < 2 {
		t.Errorf("sites: %d (summary %d), %d polygons; want >= 20 and >= 2 polygons", len(sites), sum.Sites, polygons)
	}

	tmpls := all(t, func(p models.ListParams) (models.Page[models.ChecklistTemplate], error) {
		return itemsvc.New(svc).ListTemplates(ctx, admin, p)
	})
	if len(tmpls) != sum.Templates || len(tmpls) < 3 {
		t.Errorf("templates: %d (summary %d), want >= 3", len(tmpls), sum.Templates)
	}

	tasks := all(t, func(p models.ListParams) (models.Page[models.InspectionTask], error) {
		return itemsvc.New(svc).ListTasks(ctx, admin, itemsvc.TaskFilter{}, p)
	})
	if len(tasks) != sum.Tasks || len(tasks) < 35 {
		t.Errorf("tasks: %d (summary %d), want >= 35", len(tasks), sum.Tasks)
	}
	taskKinds, taskStatus := map[string]int{}, map[string]int{}
	for _, tk := range tasks {
		taskKinds[tk.Kind]++
		if tk.AssigneeID == nil {
			t.Errorf("task %s is not assigned", tk.ID)
		}
		taskStatus[tk.Status]++
	}
	if taskStatus[models.TaskCompleted] < 10 || taskStatus[models.TaskAssigned] < 30 {
		t.Errorf("tasks by status: %v, want the campaign's visits done and the planned ones assigned", taskStatus)
	}
	if taskKinds[models.TaskAcceptanceCheck] == 0 || taskKinds[models.TaskProgressCheck] <= taskKinds[models.TaskAcceptanceCheck] {
		t.Errorf("task kinds: %v, want mostly progress checks and some acceptance checks", taskKinds)
	}

	checkLogins(t, ctx, svc, sum, len(items))
	checkCampaign(t, ctx, svc, items, sum)
}

// wantStatus is where the campaign has brought each item.
func wantStatus(code string) string {
	switch code {
	case "ZY1-SHJ-01", "JSP-SHJ-01":
		return models.ItemAccepted
	case "SJ-DQ-02":
		return models.ItemRejected
	case "JSP-GF-01":
		return models.ItemPendingAcceptance
	case "ZY2-SHJ-02", "ZY2-SHJ-03", "ZY1-GF-01", "ZY1-DQ-01", "ZY2-GF-01", "ZY2-ST-01", "ZY2-DQ-02":
		return models.ItemInProgress
	}
	return models.ItemNotStarted
}

// checkCampaign checks what the 40 days left: photos through the real
// pipeline (thumbnails, the flags meant), the item under review flagged,
// the rejected item's rework out, public items with photos, last month's
// dispatch report with progress.
func checkCampaign(t *testing.T, ctx context.Context, svc *models.Service, items []models.RectificationItem, sum demo.Summary) {
	byCode := map[string]string{}
	for _, it := range items {
		byCode[it.Code] = it.ID
	}
	var evidence []models.Evidence
	if err := svc.Store.Tx(ctx, func(tx models.Tx) error { return tx.List(&evidence, models.Query{}) }); err != nil {
		t.Fatal(err)
	}
	if len(evidence) != sum.Photos || len(evidence) < 8 {
		t.Errorf("evidence: %d (summary %d), want >= 8", len(evidence), sum.Photos)
	}
	flags := map[string]int{}
	for _, e := range evidence {
		if e.Status != models.EvidenceVerified || e.ThumbKey == "" || e.Media == nil || !e.Media.HasGPS || e.Media.TakenAt == nil {
			t.Errorf("evidence %s: %s, thumbnail %q, media %+v; want verified with a thumbnail, GPS and time", e.ID, e.Status, e.ThumbKey, e.Media)
		}
		for _, f := range e.Flags {
			flags[f.Code]++
		}
	}
	want := map[string]int{evsvc.FlagOutsideGeofence: 1, evsvc.FlagExifGPSMismatch: 1, evsvc.FlagNearDuplicatePhoto: 1}
	if fmt.Sprint(flags) != fmt.Sprint(want) {
		t.Errorf("flags %v, want exactly %v (on JSP-GF-01's photos)", flags, want)
	}

	sup := signIn(t, ctx, svc, "supervisor")
	queue, err := accsvc.New(svc).ReviewQueue(ctx, sup, models.ItemFilter{}, models.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(queue.Items) != 1 || queue.Items[0].Item.Code != "JSP-GF-01" || queue.Items[0].FlaggedEvidence != 2 {
		t.Errorf("review queue %+v, want JSP-GF-01 with 2 flagged photos", queue.Items)
	}
	rework := all(t, func(p models.ListParams) (models.Page[models.InspectionTask], error) {
		return itemsvc.New(svc).ListTasks(ctx, admin, itemsvc.TaskFilter{ItemID: byCode["SJ-DQ-02"], Status: models.TaskAssigned, Kind: models.TaskAcceptanceCheck}, p)
	})
	if len(rework) != 1 || rework[0].ReworkOf == nil {
		t.Errorf("SJ-DQ-02's open acceptance checks: %+v, want the rework", rework)
	}

	public, err := reporting.New(svc).PublicItems(ctx, models.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	photos := 0
	for _, p := range public.Items {
		if p.PublicSummary == "" {
			t.Errorf("public item %s has no summary", p.Code)
		}
		photos += len(p.Photos)
	}
	if len(public.Items) != 2 || photos != 3 {
		t.Errorf("public items: %d with %d photos, want 2 with 3", len(public.Items), photos)
	}

	loc := svc.Deadlines.Location()
	y, m, _ := now.In(loc).Date()
	last := time.Date(y, m-1, 1, 0, 0, 0, 0, loc).Format(time.DateOnly)
	report, err := reporting.New(svc).Dispatch(ctx, sup, reporting.DispatchQuery{Period: reporting.PeriodMonthly, Start: last})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Progress) < 3 {
		t.Errorf("dispatch report of %s: %d items with progress, want >= 3", last, len(report.Progress))
	}
	// The extension is of the last 11 days: in one of the two months.
	report, err = reporting.New(svc).Dispatch(ctx, sup, reporting.DispatchQuery{Period: reporting.PeriodBimonthly, Start: last})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Extensions) != 1 || report.Extensions[0].Code != "ZY1-DQ-01" {
		t.Errorf("dispatch report of two months from %s: extensions %+v, want ZY1-DQ-01's", last, report.Extensions)
	}
}

// signIn returns the actor of a demo account's session.
func signIn(t *testing.T, ctx context.Context, svc *models.Service, username string) models.Actor {
	t.Helper()
	g, err := auth.New(svc).Login(ctx, auth.LoginInput{Username: username, Password: demo.Password, DeviceID: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(svc).Authenticate(ctx, g.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkLogins signs in with every demo account and checks what each role
// sees: the supervisor every item, each inspector only its own tasks.
func checkLogins(t *testing.T, ctx context.Context, svc *models.Service, sum demo.Summary, nItems int) {
	want := map[string]string{
		"admin": models.RoleAdmin, "supervisor": models.RoleSupervisor,
		"inspector1": models.RoleInspector, "inspector2": models.RoleInspector, "inspector3": models.RoleInspector,
	}
	if len(sum.Logins) != len(want) || sum.Users != len(want) {
		t.Fatalf("logins: %+v (users %d), want exactly %v", sum.Logins, sum.Users, want)
	}
	for _, l := range sum.Logins {
		if want[l.Username] != l.Role || l.Password != demo.Password {
			t.Errorf("login %+v: want role %q and the demo password", l, want[l.Username])
			continue
		}
		g, err := auth.New(svc).Login(ctx, auth.LoginInput{Username: l.Username, Password: l.Password, DeviceID: uuid.NewString()})
		if err != nil {
			t.Errorf("login %s: %v", l.Username, err)
			continue
		}
		a, err := auth.New(svc).Authenticate(ctx, g.Session.ID)
		if err != nil {
			t.Fatalf("authenticate %s: %v", l.Username, err)
		}
		switch l.Role {
		case models.RoleSupervisor:
			items := all(t, func(p models.ListParams) (models.Page[models.RectificationItem], error) {
				return itemsvc.New(svc).ListItems(ctx, a, models.ItemFilter{}, p)
			})
			if len(items) != nItems {
				t.Errorf("supervisor sees %d items, want all %d", len(items), nItems)
			}
		case models.RoleInspector:
			tasks := all(t, func(p models.ListParams) (models.Page[models.InspectionTask], error) {
				return itemsvc.New(svc).ListTasks(ctx, a, itemsvc.TaskFilter{}, p)
			})
			if len(tasks) < 8 {
				t.Errorf("%s has %d tasks, want >= 8", l.Username, len(tasks))
			}
			for _, tk := range tasks {
				if tk.AssigneeID == nil || *tk.AssigneeID != a.UserID {
					t.Errorf("%s sees task %s assigned to someone else", l.Username, tk.ID)
				}
				open := tk.Status == models.TaskAssigned || tk.Status == models.TaskInProgress
				if open && (tk.WindowStart.Before(now.AddDate(0, 0, -10)) || tk.WindowStart.After(now.AddDate(0, 0, 10))) || !tk.DueAt.After(tk.WindowStart) {
					t.Errorf("task %s: window %s..%s", tk.ID, tk.WindowStart, tk.DueAt)
				}
			}
		}
	}
}

func TestLoadTwiceRefuses(t *testing.T) {
	ctx := context.Background()
	svc := mustService(t)
	first, err := demo.Load(ctx, svc, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := demo.Load(ctx, svc, now)
	if !errors.Is(err, demo.ErrNotEmpty) {
		t.Fatalf("second load: %v, want ErrNotEmpty", err)
	}
	if second.Units != 0 || second.Items != 0 || len(second.Logins) != 0 {
		t.Errorf("second load reports %+v, want nothing made", second)
	}
	units := all(t, func(p models.ListParams) (models.Page[models.Unit], error) {
		return itemsvc.New(svc).ListUnits(ctx, admin, itemsvc.UnitFilter{}, p)
	})
	if len(units) != first.Units {
		t.Errorf("after the second load: %d units, want %d", len(units), first.Units)
	}
}

func TestLoadIsDeterministic(t *testing.T) {
	ctx := context.Background()
	fingerprint := func() []string {
		svc := mustService(t)
		if _, err := demo.Load(ctx, svc, now); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range all(t, func(p models.ListParams) (models.Page[models.RectificationItem], error) {
			return itemsvc.New(svc).ListItems(ctx, admin, models.ItemFilter{}, p)
		}) {
			out = append(out, fmt.Sprintf("item %s %s %s %s", it.Code, it.Title, it.Deadline.Format(time.RFC3339), it.SupervisionLevel))
		}
		for _, s := range all(t, func(p models.ListParams) (models.Page[models.Site], error) {
			return itemsvc.New(svc).ListSites(ctx, admin, itemsvc.SiteFilter{}, p)
		}) {
			out = append(out, fmt.Sprintf("site %s %v %v %v", s.Name, s.Lat, s.Lng, s.RadiusM))
		}
		for _, tk := range all(t, func(p models.ListParams) (models.Page[models.InspectionTask], error) {
			return itemsvc.New(svc).ListTasks(ctx, admin, itemsvc.TaskFilter{}, p)
		}) {
			out = append(out, fmt.Sprintf("task %s %s %s", tk.Kind, tk.WindowStart.Format(time.RFC3339), tk.Instructions))
		}
		return out
	}
	// Ids are time-ordered UUIDs, so both lists come in creation order.
	a, b := fingerprint(), fingerprint()
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("two loads at the same instant differ:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}
