package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/items"
)

// publicWorld is what the public disclosure tests publish from: items in
// both counties, some accepted, with sites at exact coordinates, field
// work with notes, and photos in every state. secrets are the private
// values no public answer may contain.
type publicWorld struct {
	acceptedA, openA, acceptedB, overdueB models.RectificationItem
	siteA, siteB                          models.Site
	// Evidence ids: gps (DSCN0010, GPS EXIF) and rotated (EXIF
	// orientation 6) are public on an accepted item; private never was,
	// withdrawn was and is no longer; openItem is public on an item not
	// accepted; rejected, pending and document can never be public.
	gps, rotated, private, withdrawn, openItem string
	rejected, pending, document                string
	originals                                  map[string][]byte
	secrets                                    []string
}

// Exact coordinates, which only their rounding may reach the public.
const (
	latA, lngA = 29.712345, 116.012345
	latB, lngB = 29.823456, 116.123456
)

func buildPublicWorld(t *testing.T, e *env) publicWorld {
	t.Helper()
	ctx := context.Background()
	e.svc.Disclosure.CoordDecimals = 2
	w := publicWorld{originals: map[string][]byte{}}
	w.secrets = append(w.secrets, "29.712", "116.012", "29.823", "116.123", "43.46", "11.88")
	for _, u := range e.fx.users {
		w.secrets = append(w.secrets, u.ID, u.Username, u.DisplayName, u.Phone)
	}
	item := func(code, category string, unit models.Unit, status string) models.RectificationItem {
		it := must(items.New(e.svc).CreateItem(ctx, system, items.ItemInput{
			Code: ptr(code), Title: ptr("整治 " + code), Source: ptr("第二轮中央生态环境保护督察"), Category: ptr(category), Area: ptr("水环境"),
			Description: ptr("内部描述 " + code + "：举报人孙丽华反映"), Target: ptr("内部目标 " + code), Measures: ptr("内部措施 " + code + "：约谈企业法人钱志强"),
			ResponsibleUnitID: &unit.ID, FirstResponsible: ptr("县长王建国" + code), SpecificResponsible: ptr("局长李秀英" + code),
			Deadline: models.At(e.now.AddDate(0, 1, 0)), PublicSummary: ptr("已完成截污纳管 " + code),
		}))
		w.secrets = append(w.secrets, it.Description, it.Target, it.Measures, it.FirstResponsible, it.SpecificResponsible, "王建国", "李秀英", "孙丽华", "钱志强")
		fields := models.Set{"status": status}
		if status == models.ItemAccepted {
			fields["closed_at"] = e.now.Add(-time.Hour)
		}
		setItem(t, e, it.ID, fields)
		return must(items.New(e.svc).GetItem(ctx, system, it.ID))
	}
	w.acceptedA = item("PUB-A1", "工业污染", e.fx.countyA, models.ItemAccepted)
	w.openA = item("PUB-A2", "工业污染", e.fx.countyA, models.ItemInProgress)
	w.acceptedB = item("PUB-B1", "黑臭水体", e.fx.countyB, models.ItemAccepted)
	w.overdueB = item("PUB-B2", "黑臭水体", e.fx.countyB, models.ItemNotStarted)
	setItem(t, e, w.overdueB.ID, models.Set{"deadline": e.now.Add(-48 * time.Hour)})

	site := func(unit models.Unit, name string, lat, lng float64) models.Site {
		return must(items.New(e.svc).CreateSite(ctx, system, items.SiteInput{UnitID: &unit.ID, Name: ptr(name), Kind: ptr("sewage_outfall"),
			Address: ptr("幸福路 88 号 张德明家后院"), Lat: ptr(lat), Lng: ptr(lng), RadiusM: ptr(100.0)}))
	}
	w.siteA, w.siteB = site(e.fx.countyA, "东沟排口", latA, lngA), site(e.fx.countyB, "南河排口", latB, lngB)
	other := site(e.fx.countyA, "西沟排口", 29.798765, 116.087654)
	w.secrets = append(w.secrets, "幸福路", "张德明", "29.798", "116.087")
	task := func(it models.RectificationItem, st models.Site, who string) models.InspectionTask {
		in := items.TaskInput{ItemID: &it.ID, SiteID: &st.ID, Kind: ptr(models.TaskAcceptanceCheck), TemplateID: &e.fx.tmpl.ID,
			WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7))}
		if who != "" {
			in.AssigneeID = ptr(e.fx.users[who].ID)
		}
		return must(items.New(e.svc).CreateTask(ctx, system, in))
	}
	tA, tOpen := task(w.acceptedA, w.siteA, "insp1"), task(w.openA, other, "insp1")
	task(w.acceptedB, w.siteB, "")
	// A cancelled task's site is not one of the item's.
	cancelled := task(w.acceptedA, other, "")
	must(items.New(e.svc).CancelTask(ctx, system, cancelled.ID, ptr(cancelled.Version)))

	fix := map[string]any{"lat": latA, "lng": lngA, "accuracy_m": 4, "mocked": false}
	photo := func(tk models.InspectionTask, file string) string {
		data := readPhoto(t, file)
		id := e.upload("insp1", tk, data, "image/jpeg", fix)["id"].(string)
		w.originals[id] = data
		ev := must(evidence.New(e.svc).GetEvidence(ctx, system, id))
		w.secrets = append(w.secrets, ev.DeviceID)
		return id
	}
	w.gps, w.rotated, w.private, w.withdrawn = photo(tA, "DSCN0010.jpg"), photo(tA, "orientation_landscape_6.jpg"),
		photo(tA, "DSCN0012.jpg"), photo(tA, "DSCN0021.jpg")
	w.openItem = photo(tOpen, "DSCN0025.jpg")
	w.rejected = e.upload("insp1", tA, []byte("a text file that claims to be a photo"), "image/jpeg", nil)["id"].(string)
	d := declaration(e, tA.ID, []byte("pending bytes"))
	e.must(201, "insp1", "POST", "/v1/evidence", d)
	w.pending = d["id"].(string)
	w.document = uploadDocument(e, tA)

	// Field work with private text and an exact fix.
	notes, remark := "现场核查：暗管已封堵，企业联系人周海燕 13912345678", "备注：复查时联系村支书吴国栋"
	w.secrets = append(w.secrets, notes, remark, "周海燕", "13912345678", "吴国栋")
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "verification.record", "args": map[string]any{"id": uuid.NewString(), "task_id": tA.ID, "conclusion": "rectified",
			"notes": notes, "location": map[string]any{"lat": 29.712399, "lng": 116.012399, "accuracy_m": 3, "mocked": false},
			"recorded_at": e.now, "evidence_ids": []string{w.gps}}},
		{"id": 2, "name": "note.add", "args": map[string]any{"id": uuid.NewString(), "task_id": tA.ID, "text": remark}},
	}})
	for _, r := range res["results"].([]any) {
		if r.(map[string]any)["status"] != "applied" {
			t.Fatalf("field work not applied: %v", res)
		}
	}

	for _, mark := range []struct {
		who, id string
		public  bool
	}{{"supa", w.gps, true}, {"admin", w.rotated, true}, {"supa", w.openItem, true}, {"supa", w.withdrawn, true}, {"admin", w.withdrawn, false}} {
		d := e.must(200, mark.who, "POST", "/v1/evidence/"+mark.id+"/public", map[string]any{"public": mark.public})
		if d["public"] != mark.public || d["evidence_id"] != mark.id || d["set_by"] != e.fx.users[mark.who].ID {
			t.Fatalf("marking %s: %v", mark.id, d)
		}
	}
	return w
}

// setItem changes an item in the store directly: the acceptance workflow
// that closes items is not part of these tests.
func setItem(t *testing.T, e *env, id string, fields models.Set) {
	t.Helper()
	err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		_, err := tx.UpdateWhere(&models.RectificationItem{}, []models.Cond{models.Eq("id", id)}, fields)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// uploadDocument makes a verified PDF, evidence that is not a photo.
func uploadDocument(e *env, task models.InspectionTask) string {
	e.t.Helper()
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	d := declaration(e, task.ID, pdf)
	d["kind"], d["content_type"] = "document", "application/pdf"
	e.must(201, "insp1", "POST", "/v1/evidence", d)
	id := d["id"].(string)
	e.putContent("insp1", id, pdf, 200)
	if rec := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/complete", nil); rec["status"] != "verified" {
		e.t.Fatalf("document: %v", rec)
	}
	return id
}
