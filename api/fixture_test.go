package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// fixture is a small city: a root with two counties, county A with a
// department, users of every role, an item, a site and tasks in each
// county.
type fixture struct {
	root, countyA, deptA, countyB models.Unit
	users                         map[string]models.User
	itemA, itemB                  models.RectificationItem
	siteA, siteB                  models.Site
	tmpl                          models.ChecklistTemplate
	task1, task2, taskB           models.InspectionTask
}

var system = models.Actor{UserID: "system", Role: models.RoleAdmin}

func ptr[T any](v T) *T { return &v }

// must unwraps a fixture step; a failure there is a broken test set-up,
// reported by panicking with the error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func loadFixture(t testing.TB, svc *models.Service, now time.Time) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	unit := func(code, kind string, parent *models.Unit) models.Unit {
		in := items.UnitInput{Code: ptr(code), Name: ptr("单位 " + code), Kind: ptr(kind)}
		if parent != nil {
			in.ParentID = &parent.ID
		}
		return must(items.New(svc).CreateUnit(ctx, system, in))
	}
	f.root = unit("CITY", "city", nil)
	f.countyA = unit("CTY-A", "county", &f.root)
	f.deptA = unit("CTY-A-EPB", "department", &f.countyA)
	f.countyB = unit("CTY-B", "county", &f.root)

	f.users = map[string]models.User{}
	for _, u := range []struct {
		name, role string
		unit       models.Unit
	}{
		{"admin", models.RoleAdmin, f.root}, {"supa", models.RoleSupervisor, f.countyA}, {"supb", models.RoleSupervisor, f.countyB},
		{"leada", models.RoleUnitLead, f.countyA}, {"insp1", models.RoleInspector, f.deptA}, {"insp2", models.RoleInspector, f.deptA},
	} {
		f.users[u.name] = must(items.New(svc).CreateUser(ctx, system, items.UserInput{
			Username: ptr(u.name), Password: ptr("password-" + u.name), Role: ptr(u.role), UnitID: &u.unit.ID, DisplayName: ptr("用户" + u.name), Phone: ptr("13800000000"),
		}))
	}
	item := func(code string, unit models.Unit) models.RectificationItem {
		return must(items.New(svc).CreateItem(ctx, system, items.ItemInput{
			Code: ptr(code), Title: ptr("黑臭水体整治 " + code), Source: ptr("第二轮中央生态环境保护督察"), Category: ptr("黑臭水体"),
			Area: ptr("水环境"), Target: ptr("消除黑臭"), Measures: ptr("1. 截污纳管"), ResponsibleUnitID: &unit.ID,
			FirstResponsible: ptr("区长"), Deadline: models.At(now.AddDate(0, 6, 0)), SupervisionLevel: ptr(models.SupervisionKey),
		}))
	}
	f.itemA, f.itemB = item("A-1", f.countyA), item("B-1", f.countyB)
	site := func(unit models.Unit, lat float64) models.Site {
		return must(items.New(svc).CreateSite(ctx, system, items.SiteInput{
			UnitID: &unit.ID, Name: ptr("排污口"), Kind: ptr("sewage_outfall"), Lat: ptr(lat), Lng: ptr(116.0), RadiusM: ptr(100.0),
		}))
	}
	f.siteA, f.siteB = site(f.countyA, 29.7), site(f.countyB, 29.8)
	f.tmpl = must(items.New(svc).CreateTemplate(ctx, system, items.TemplateInput{Name: ptr("核查表"), Questions: &[]models.Question{
		{ID: "q1", Text: "排口是否封堵", Type: models.QuestionYesNo, Required: true},
		{ID: "q2", Text: "COD", Type: models.QuestionNumber, Unit: "mg/L"},
	}}))
	task := func(it models.RectificationItem, st models.Site, who string) models.InspectionTask {
		in := items.TaskInput{ItemID: &it.ID, SiteID: &st.ID, Kind: ptr(models.TaskProgressCheck), TemplateID: &f.tmpl.ID,
			WindowStart: ptr(now), DueAt: ptr(now.Add(72 * time.Hour))}
		if who != "" {
			in.AssigneeID = ptr(f.users[who].ID)
		}
		return must(items.New(svc).CreateTask(ctx, system, in))
	}
	f.task1 = task(f.itemA, f.siteA, "insp1")
	f.task2 = task(f.itemA, f.siteA, "insp2")
	f.taskB = task(f.itemB, f.siteB, "")
	return f
}
