package sync_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// env is a sync engine on a fresh database with a small fixture: one
// county, two inspectors, a supervisor, an item, two sites and tasks.
type env struct {
	t       testing.TB
	db      *storage.DB
	svc     *models.Service
	eng     *fsync.Engine
	now     time.Time
	admin   models.Actor
	sup     models.Actor
	insp    [2]models.Actor
	item    models.RectificationItem
	sites   [2]models.Site
	tmpl    models.ChecklistTemplate
	tasks   []models.InspectionTask
	clients map[string]string // actor user id → client id
}

var system = models.Actor{UserID: "system", Role: models.RoleAdmin}

func ptr[T any](v T) *T { return &v }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newEnv(t testing.TB, dialect string) *env {
	t.Helper()
	db := storagetest.MustOpen(t, dialect)
	e := &env{t: t, db: db, now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), clients: map[string]string{}}
	e.svc = &models.Service{Store: db, Now: func() time.Time { return e.now }, NewID: func() string { return uuid.Must(uuid.NewV7()).String() },
		Hasher: authn.Argon2id{Time: 1, MemoryK: 64, Threads: 1}, Auth: models.DefaultAuthPolicy}
	e.eng = fsync.New(fsync.Config{Store: db, Service: e.svc, CursorKey: []byte("cursor-key-for-tests"), Compactor: db})
	ctx := context.Background()
	city := must(items.New(e.svc).CreateUnit(ctx, system, items.UnitInput{Code: ptr("CITY"), Name: ptr("市"), Kind: ptr("city")}))
	county := must(items.New(e.svc).CreateUnit(ctx, system, items.UnitInput{Code: ptr("CTY"), Name: ptr("县"), Kind: ptr("county"), ParentID: &city.ID}))
	actor := func(name, role string, u models.Unit) models.Actor {
		usr := must(items.New(e.svc).CreateUser(ctx, system, items.UserInput{Username: ptr(name), Password: ptr("password-" + name), Role: ptr(role), UnitID: &u.ID}))
		return models.Actor{UserID: usr.ID, Username: name, Role: role, UnitID: u.ID, UnitPath: u.Path, DeviceID: uuid.NewString()}
	}
	e.admin = actor("admin", models.RoleAdmin, city)
	e.sup = actor("sup", models.RoleSupervisor, county)
	e.insp[0] = actor("insp0", models.RoleInspector, county)
	e.insp[1] = actor("insp1", models.RoleInspector, county)
	e.item = must(items.New(e.svc).CreateItem(ctx, system, items.ItemInput{Code: ptr("W-1"), Title: ptr("排污口整治"), Source: ptr("督察"), Category: ptr("排污口"),
		Target: ptr("清零"), Measures: ptr("封堵"), ResponsibleUnitID: &county.ID, FirstResponsible: ptr("县长"), Deadline: models.At(e.now.AddDate(0, 6, 0))}))
	for i := range e.sites {
		e.sites[i] = must(items.New(e.svc).CreateSite(ctx, system, items.SiteInput{UnitID: &county.ID, Name: ptr("排口"), Kind: ptr("sewage_outfall"),
			Lat: ptr(43.4672), Lng: ptr(11.8849 + float64(i)/100), RadiusM: ptr(100.0)}))
	}
	e.tmpl = must(items.New(e.svc).CreateTemplate(ctx, system, items.TemplateInput{Name: ptr("核查表"), Questions: &[]models.Question{
		{ID: "q1", Text: "是否封堵", Type: models.QuestionYesNo}, {ID: "q2", Text: "COD", Type: models.QuestionNumber, Unit: "mg/L"},
		{ID: "q3", Text: "说明", Type: models.QuestionText},
	}}))
	// insp0 holds tasks 0 and 1 (two sites), insp1 holds task 2.
	for i, who := range []int{0, 0, 1} {
		e.tasks = append(e.tasks, must(items.New(e.svc).CreateTask(ctx, system, items.TaskInput{ItemID: &e.item.ID, SiteID: &e.sites[i%2].ID,
			Kind: ptr(models.TaskProgressCheck), TemplateID: &e.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)),
			AssigneeID: &e.insp[who].UserID})))
	}
	return e
}

func (e *env) client(a models.Actor) string {
	if id, ok := e.clients[a.UserID]; ok {
		return id
	}
	id := uuid.NewString()
	e.clients[a.UserID] = id
	return id
}

// pullAll pulls every page from cursor and returns the changes merged
// into a view of id → op ("upsert"/"remove") per entity, and the cursor.
func (e *env) pullAll(a models.Actor, cur *string) (map[string]map[string]json.RawMessage, map[string][]string, string) {
	e.t.Helper()
	ups := map[string]map[string]json.RawMessage{}
	rems := map[string][]string{}
	for range 1000 {
		res, err := e.eng.Pull(context.Background(), a, fsync.PullRequest{ClientID: e.client(a), Cursor: cur, SchemaVersion: fsync.SchemaVersion})
		if err != nil {
			e.t.Fatal(err)
		}
		if res.Reset {
			e.t.Fatal("unexpected reset")
		}
		for entity, ch := range res.Changes {
			if ups[entity] == nil && len(ch.Upserts) > 0 {
				ups[entity] = map[string]json.RawMessage{}
			}
			for _, u := range ch.Upserts {
				var r struct{ ID string }
				json.Unmarshal(u, &r)
				ups[entity][r.ID] = u
			}
			if len(ch.Removes) > 0 {
				rems[entity] = append(rems[entity], ch.Removes...)
			}
		}
		cur = &res.Cursor
		if !res.HasMore {
			return ups, rems, res.Cursor
		}
	}
	e.t.Fatal("pull did not end")
	return nil, nil, ""
}

func (e *env) push(a models.Actor, muts ...fsync.Mutation) fsync.PushResult {
	e.t.Helper()
	res, err := e.eng.Push(context.Background(), a, fsync.PushRequest{ClientID: e.client(a), SchemaVersion: fsync.SchemaVersion, Mutations: muts})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func mut(id int64, name string, args any) fsync.Mutation {
	b, _ := json.Marshal(args)
	return fsync.Mutation{ID: id, Name: name, Args: b}
}
