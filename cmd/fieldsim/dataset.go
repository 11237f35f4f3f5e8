package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage"
)

// spec is the size of the simulated city.
type spec struct {
	Inspectors, Tasks, Sites, Items int
	// History is how many rows the change log should hold at least: the
	// set-up adds the inspectors' past notes until it does (0: none).
	History int
	// Password is every simulated account's.
	Password string
}

// Names of the simulated records: fixed, so that a second run finds
// what the first one made and creates only what is missing.
const (
	simCity      = "SIM"
	simCounties  = 10
	simTemplates = 5
	simAdmin     = "sim-admin"
)

func countyCode(i int) string    { return fmt.Sprintf("SIM-C%02d", i%simCounties+1) }
func inspectorName(i int) string { return fmt.Sprintf("sim-i%05d", i+1) }
func itemCode(i int) string      { return fmt.Sprintf("SIM-%05d", i+1) }
func siteName(i int) string      { return fmt.Sprintf("fieldsim site %05d", i+1) }
func templateName(i int) string  { return fmt.Sprintf("fieldsim checklist %d", i+1) }
func taskKey(i int) string       { return fmt.Sprintf("fieldsim task %06d", i+1) }

// siteAt places site i on a grid of about 400 m around 江城 (29.6°N
// 115.9°E), so that every site has its own 100 m geofence.
func siteAt(i int) (lat, lng float64) {
	return 29.6 + float64(i/100)*0.0036, 115.9 + float64(i%100)*0.0042
}

// system is the actor the data set is created as, like fieldctl's.
var system = models.Actor{UserID: "fieldsim", Username: "fieldsim", Role: models.RoleAdmin}

// onceHasher hashes the one password of the simulated accounts once and
// gives every account that hash: argon2id takes tens of milliseconds by
// design, and a thousand of them would dominate the set-up. The hash is
// a real one, so logins verify it as any other.
type onceHasher struct {
	models.PasswordHasher
	mu     sync.Mutex
	hashes map[string]string
}

func (h *onceHasher) Hash(password string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.hashes[password]; ok {
		return s, nil
	}
	s, err := h.PasswordHasher.Hash(password)
	if err == nil {
		h.hashes[password] = s
	}
	return s, err
}

// setupReport says what the set-up found and made.
type setupReport struct {
	Created  map[string]int `json:"created"`
	Existing map[string]int `json:"existing"`
	Seconds  float64        `json:"seconds"`
}

// setup creates the data set in the server's database, through
// models.Service in this process (the same rules as the API, without a
// round trip and a token per record), reusing what a previous run made.
func setup(ctx context.Context, cfg config.Config, sp spec, log *slog.Logger, progress func(what string, done, total int)) (setupReport, error) {
	start := time.Now()
	rep := setupReport{Created: map[string]int{}, Existing: map[string]int{}}
	db, err := cfg.OpenStore(ctx, log)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	svc := cfg.Service(db, nil)
	svc.Hasher = &onceHasher{PasswordHasher: svc.Hasher, hashes: map[string]string{}}
	// SQLite has one writer: more workers only queue on it.
	workers := 8
	if db.Dialect() == storage.DialectSQLite {
		workers = 1
	}
	b := &builder{ctx: ctx, db: db, svc: svc, sp: sp, rep: &rep, workers: workers, progress: progress, now: time.Now().UTC()}
	for _, step := range []func() error{b.makeUnits, b.makeUsers, b.makeTemplates, b.makeItems, b.makeSites, b.makeTasks, b.history} {
		if err := step(); err != nil {
			return rep, err
		}
	}
	// Chain the audit entries now, so that the server does not spend the
	// first minutes of a measurement on it.
	// ChainAudit chains a bounded number of batches per call.
	chainer := audit.New(svc)
	for {
		n, err := chainer.ChainAudit(ctx)
		if err != nil {
			return rep, fmt.Errorf("chain the audit log: %w", err)
		}
		if n == 0 {
			break
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

type builder struct {
	ctx      context.Context
	db       *storage.DB
	svc      *models.Service
	sp       spec
	rep      *setupReport
	workers  int
	progress func(what string, done, total int)
	now      time.Time

	units, users, templates, items, sites map[string]string // key → id
}

// existing loads the key → id map of records of type T whose key column
// starts with prefix.
func existing[T any](b *builder, column models.Column, prefix string, key func(*T) (string, string)) (map[string]string, error) {
	var rows []T
	err := b.db.Tx(b.ctx, func(tx models.Tx) error {
		return tx.List(&rows, models.Query{Where: []models.Cond{{Column: column, Op: models.OpPrefix, Value: prefix}}})
	})
	out := make(map[string]string, len(rows))
	for i := range rows {
		k, id := key(&rows[i])
		out[k] = id
	}
	return out, err
}

// fill creates the records 0..n-1 whose keys are missing, with the
// builder's workers, and adds their ids to have.
func (b *builder) fill(what string, n int, have map[string]string, keyOf func(int) string, create func(int) (string, error)) error {
	var todo []int
	for i := range n {
		if _, ok := have[keyOf(i)]; !ok {
			todo = append(todo, i)
		}
	}
	b.rep.Existing[what] += n - len(todo)
	b.rep.Created[what] += len(todo)
	var (
		mu     sync.Mutex
		next   atomic.Int64
		done   atomic.Int64
		errs   = make(chan error, b.workers)
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	for range min(b.workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				k := int(next.Add(1)) - 1
				if k >= len(todo) || b.ctx.Err() != nil {
					return
				}
				id, err := b.retry(func() (string, error) { return create(todo[k]) })
				if err != nil {
					failed.Store(true)
					errs <- fmt.Errorf("%s %q: %w", what, keyOf(todo[k]), err)
					return
				}
				mu.Lock()
				have[keyOf(todo[k])] = id
				mu.Unlock()
				if d := int(done.Add(1)); b.progress != nil && (d%100 == 0 || d == len(todo)) {
					b.progress(what, d, len(todo))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return b.ctx.Err()
}

// retry runs create again when SQLite was busy. A running server writes
// the same file from another process (its stamper, its audit chainer),
// and a deferred SQLite transaction that meets another process's commit
// fails at once instead of waiting; storage retries a few times without
// pause, which another process's writes outlast.
func (b *builder) retry(create func() (string, error)) (string, error) {
	for attempt := 1; ; attempt++ {
		id, err := create()
		if err == nil || b.db.Dialect() != storage.DialectSQLite || attempt == 20 || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return id, err
		}
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
}

func (b *builder) makeUnits() error {
	var err error
	if b.units, err = existing(b, "code", simCity, func(u *models.Unit) (string, string) { return u.Code, u.ID }); err != nil {
		return err
	}
	// The city first: the counties hang under it.
	if err := b.fill("units", 1, b.units, func(int) string { return simCity }, func(int) (string, error) {
		u, err := items.New(b.svc).CreateUnit(b.ctx, system, items.UnitInput{Code: ptr(simCity), Name: ptr("模拟市 (fieldsim)"), Kind: ptr("city")})
		return u.ID, err
	}); err != nil {
		return err
	}
	city := b.units[simCity]
	return b.fill("units", simCounties, b.units, countyCode, func(i int) (string, error) {
		u, err := items.New(b.svc).CreateUnit(b.ctx, system, items.UnitInput{Code: ptr(countyCode(i)), Name: ptr(fmt.Sprintf("模拟县 %d", i+1)),
			Kind: ptr("county"), ParentID: &city})
		return u.ID, err
	})
}

func (b *builder) makeUsers() error {
	var err error
	if b.users, err = existing(b, "username", "sim-", func(u *models.User) (string, string) { return u.Username, u.ID }); err != nil {
		return err
	}
	city := b.units[simCity]
	if err := b.fill("admins", 1, b.users, func(int) string { return simAdmin }, func(int) (string, error) {
		u, err := items.New(b.svc).CreateUser(b.ctx, system, items.UserInput{Username: ptr(simAdmin), Password: ptr(b.sp.Password),
			DisplayName: ptr("模拟管理员"), Role: ptr(models.RoleAdmin), UnitID: &city})
		return u.ID, err
	}); err != nil {
		return err
	}
	return b.fill("inspectors", b.sp.Inspectors, b.users, inspectorName, func(i int) (string, error) {
		unit := b.units[countyCode(i)]
		u, err := items.New(b.svc).CreateUser(b.ctx, system, items.UserInput{Username: ptr(inspectorName(i)), Password: ptr(b.sp.Password),
			DisplayName: ptr(fmt.Sprintf("核查员 %d", i+1)), Phone: ptr(fmt.Sprintf("139%08d", i+1)),
			Role: ptr(models.RoleInspector), UnitID: &unit})
		return u.ID, err
	})
}

func (b *builder) makeTemplates() error {
	var err error
	if b.templates, err = existing(b, "name", "fieldsim checklist", func(t *models.ChecklistTemplate) (string, string) { return t.Name, t.ID }); err != nil {
		return err
	}
	return b.fill("templates", simTemplates, b.templates, templateName, func(i int) (string, error) {
		qs := checklist()
		t, err := items.New(b.svc).CreateTemplate(b.ctx, system, items.TemplateInput{Name: ptr(templateName(i)), Questions: &qs})
		return t.ID, err
	})
}

// checklist is every simulated template's questions: one of each type,
// so that the devices answer all of them.
func checklist() []models.Question {
	return []models.Question{
		{ID: "q1", Text: "排口是否已封堵", Type: models.QuestionYesNo, Required: true},
		{ID: "q2", Text: "COD 读数", Type: models.QuestionNumber, Unit: "mg/L"},
		{ID: "q3", Text: "现场情况", Type: models.QuestionText},
		{ID: "q4", Text: "封堵近景", Type: models.QuestionPhoto},
	}
}

func (b *builder) makeItems() error {
	var err error
	if b.items, err = existing(b, "code", simCity+"-", func(it *models.RectificationItem) (string, string) { return it.Code, it.ID }); err != nil {
		return err
	}
	return b.fill("items", b.sp.Items, b.items, itemCode, func(i int) (string, error) {
		unit := b.units[countyCode(i)]
		it, err := items.New(b.svc).CreateItem(b.ctx, system, items.ItemInput{
			Code: ptr(itemCode(i)), Title: ptr(fmt.Sprintf("模拟问题 %d：入河排口污水直排", i+1)), Description: ptr("fieldsim 生成的整改问题"),
			Source: ptr("中央生态环境保护督察"), Category: ptr("水污染"), Area: ptr("长江流域"), Target: ptr("排口污水全部截流"),
			Measures: ptr("截污纳管；封堵排口；定期监测"), ResponsibleUnitID: &unit, FirstResponsible: ptr("县长"),
			Deadline: models.At(b.now.AddDate(1, 0, 0)),
		})
		return it.ID, err
	})
}

func (b *builder) makeSites() error {
	var err error
	if b.sites, err = existing(b, "name", "fieldsim site", func(s *models.Site) (string, string) { return s.Name, s.ID }); err != nil {
		return err
	}
	return b.fill("sites", b.sp.Sites, b.sites, siteName, func(i int) (string, error) {
		unit := b.units[countyCode(i)]
		lat, lng := siteAt(i)
		s, err := items.New(b.svc).CreateSite(b.ctx, system, items.SiteInput{UnitID: &unit, Name: ptr(siteName(i)), Kind: ptr("sewage_outfall"),
			Address: ptr(fmt.Sprintf("模拟路 %d 号", i+1)), Lat: &lat, Lng: &lng, RadiusM: ptr(100.0)})
		return s.ID, err
	})
}

// tasks gives inspector k the tasks k*per … k*per+per-1; task i is at
// item i mod items and site i mod sites.
func (b *builder) makeTasks() error {
	have, err := existing(b, "instructions", "fieldsim task", func(t *models.InspectionTask) (string, string) { return t.Instructions, t.ID })
	if err != nil {
		return err
	}
	per := max(b.sp.Tasks/max(b.sp.Inspectors, 1), 1)
	return b.fill("tasks", b.sp.Tasks, have, taskKey, func(i int) (string, error) {
		item, site := b.items[itemCode(i%b.sp.Items)], b.sites[siteName(i%b.sp.Sites)]
		tmpl := b.templates[templateName(i%simTemplates)]
		who := b.users[inspectorName(min(i/per, b.sp.Inspectors-1))]
		t, err := items.New(b.svc).CreateTask(b.ctx, system, items.TaskInput{ItemID: &item, SiteID: &site, AssigneeID: &who,
			Kind: ptr(models.TaskProgressCheck), TemplateID: &tmpl, WindowStart: ptr(b.now.AddDate(0, 0, -30)),
			DueAt: ptr(b.now.AddDate(0, 6, 0)), Instructions: ptr(taskKey(i))})
		return t.ID, err
	})
}

func ptr[T any](v T) *T { return &v }
