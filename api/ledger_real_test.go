package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	itemsvc "github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// realLedger is the real-shaped ledger of testdata/ledgers: overdue,
// open-ended and date-only items, cooperating units, and one bad row.
const realLedger = "../testdata/ledgers/jiangcheng-2026.csv"

// badCell is the bad row's deadline, and fixedCell what it should say.
const badCell, fixedCell = "2026年13月1日", "2026年12月1日"

// send is e.do with a raw body of the given content type and extra
// headers; every answer is checked against openapi.yaml.
func (e *env) send(who, method, path, contentType string, body []byte, header map[string]string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	}
	res, err := e.srv.App().Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if err := contracttest.ValidateResponse(method, path, res.StatusCode, res.Header, b); err != nil {
		e.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", method, path, res.StatusCode, err, b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// jiangchengUnits creates the units the ledger names, as the demo city
// has them (codes and names of cmd/internal/demo).
func jiangchengUnits(t *testing.T, svc *models.Service) {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for _, u := range []struct{ code, parent, name, kind string }{
		{"JC", "", "江城市人民政府", "city"},
		{"JC-JB", "JC", "江城市江北区人民政府", "county"},
		{"JC-HB", "JC", "湖滨县人民政府", "county"},
		{"JC-SN", "JC", "山南县人民政府", "county"},
		{"JC-STHJ", "JC", "江城市生态环境局", "department"},
		{"JC-ZJ", "JC", "江城市住房和城乡建设局", "department"},
		{"JC-SL", "JC", "江城市水利局", "department"},
		{"JC-NY", "JC", "江城市农业农村局", "department"},
		{"JC-CG", "JC", "江城市城市管理局", "department"},
		{"JC-JT", "JC", "江城市交通运输局", "department"},
		{"JC-SW", "JC", "江城市城市水务集团有限公司", "company"},
		{"JC-HB-HGY", "JC-HB", "湖滨化工园区管理委员会", "department"},
	} {
		in := itemsvc.UnitInput{Code: ptr(u.code), Name: ptr(u.name), Kind: ptr(u.kind)}
		if u.parent != "" {
			in.ParentID = ptr(ids[u.parent])
		}
		ids[u.code] = must(itemsvc.New(svc).CreateUnit(ctx, system, in)).ID
	}
}

// csvToXLSX writes the CSV's rows into a workbook, as Excel would save
// the same ledger.
func csvToXLSX(t *testing.T, data []byte) []byte {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = v
		}
		if err := f.SetSheetRow("Sheet1", cell, &vals); err != nil {
			t.Fatal(err)
		}
	}
	b, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decodeReport(t *testing.T, b []byte) (rep struct {
	itemsvc.ImportReport
	UnknownColumns []string `json:"unknown_columns"`
}) {
	t.Helper()
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return rep
}

// TestRealLedgerImport loads the real-shaped ledger through the API: as
// it is (its bad row refused, nothing written, the message in Chinese or
// English), fixed and dry-run (what would be created, nothing written),
// imported, checked item by item, imported again (unchanged), as XLSX
// (unchanged), and edited (one row updated by its code).
func TestRealLedgerImport(t *testing.T) {
	raw, err := os.ReadFile(realLedger)
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			e.svc.Deadlines.Zone = shanghai
			jiangchengUnits(t, e.svc)
			before := countItems(t, e.svc.Store)

			// As it is: row 10 (the 8th item) has a date that is not one.
			r := e.send("admin", "POST", "/v1/items/import", "text/csv", raw, nil)
			if r.Status != 400 || r.code(t) != "import_invalid" {
				t.Fatalf("the ledger with a bad row: %d %s", r.Status, r.Body)
			}
			var prob struct {
				Detail string `json:"detail"`
				Report struct {
					Errors []itemsvc.RowError `json:"errors"`
				} `json:"report"`
			}
			json.Unmarshal(r.Body, &prob)
			if len(prob.Report.Errors) != 1 || prob.Report.Errors[0].Row != 10 || prob.Report.Errors[0].Field != "deadline" ||
				prob.Report.Errors[0].Code != models.CodeInvalidDate || !strings.Contains(prob.Report.Errors[0].Message, "2026-12-31") {
				t.Errorf("errors: %+v", prob.Report.Errors)
			}
			if !strings.Contains(prob.Detail, "台账有错误") || !strings.Contains(prob.Detail, "1 行") {
				t.Errorf("Chinese detail: %q", prob.Detail)
			}
			if en := e.send("admin", "POST", "/v1/items/import", "text/csv", raw, map[string]string{"Accept-Language": "en"}); !strings.Contains(string(en.Body), "The ledger has errors") {
				t.Errorf("English detail: %s", en.Body)
			}
			if n := countItems(t, e.svc.Store); n != before {
				t.Fatalf("a refused import wrote %d items", n-before)
			}

			// Fixed, as a dry run: eight items would be created, none is.
			fixed := bytes.Replace(raw, []byte(badCell), []byte(fixedCell), 1)
			r = e.send("admin", "POST", "/v1/items/import?dry_run=true", "text/csv", fixed, nil)
			rep := decodeReport(t, r.Body)
			if r.Status != 200 || !rep.DryRun || rep.Created != 8 || len(rep.Results) != 8 || !slices.Equal(rep.UnknownColumns, []string{"备注"}) {
				t.Fatalf("dry run: %d %s", r.Status, r.Body)
			}
			for _, res := range rep.Results {
				if res.Action != itemsvc.ImportCreate || res.ItemID != "" {
					t.Errorf("dry run row %+v", res)
				}
			}
			if n := countItems(t, e.svc.Store); n != before {
				t.Fatalf("a dry run wrote %d items", n-before)
			}

			// Imported.
			r = e.send("admin", "POST", "/v1/items/import", "text/csv", fixed, nil)
			if rep = decodeReport(t, r.Body); r.Status != 200 || rep.DryRun || rep.Created != 8 {
				t.Fatalf("import: %d %s", r.Status, r.Body)
			}
			items := map[string]models.RectificationItem{}
			for _, it := range must(itemsvc.New(e.svc).ListItems(context.Background(), system, models.ItemFilter{}, models.ListParams{Limit: 100})).Items {
				items[it.Code] = it
			}
			day := func(y int, m time.Month, d, h, min, s int) time.Time {
				return time.Date(y, m, d, h, min, s, 0, shanghai)
			}
			for _, c := range []struct {
				code     string
				deadline time.Time
				cadence  string
				issued   time.Time
				coop     int
				overdue  bool
			}{
				{"JC-DC-2026-001", day(2026, 6, 30, 23, 59, 59), "", day(2026, 3, 15, 0, 0, 0), 2, true},
				{"JC-DC-2026-002", day(2026, 12, 31, 23, 59, 59), models.CadenceQuarterly, day(2026, 3, 15, 0, 0, 0), 1, false},
				{"JC-DC-2026-003", day(2026, 11, 30, 23, 59, 59), models.CadenceMonthly, day(2026, 3, 15, 0, 0, 0), 1, false},
				{"JC-DC-2026-004", day(2027, 6, 30, 23, 59, 59), "", day(2026, 3, 15, 0, 0, 0), 2, false},
				{"JC-DC-2026-005", day(2025, 12, 31, 23, 59, 59), "", day(2025, 6, 10, 0, 0, 0), 1, true},
				{"JC-DC-2026-006", day(2026, 12, 31, 23, 59, 59), "", day(2026, 3, 15, 0, 0, 0), 2, false},
				{"JC-DC-2026-007", day(2026, 12, 31, 18, 0, 0), "", day(2026, 3, 15, 0, 0, 0), 1, false},
				{"JC-DC-2026-008", day(2026, 12, 1, 23, 59, 59), "", day(2026, 3, 15, 0, 0, 0), 1, false},
			} {
				it, ok := items[c.code]
				if !ok {
					t.Errorf("%s not imported", c.code)
					continue
				}
				if !it.Deadline.Equal(c.deadline) || it.ReviewCadence != c.cadence || it.IssuedAt == nil || !it.IssuedAt.Equal(c.issued) ||
					len(it.CooperatingUnitIDs) != c.coop || it.IsOverdue(e.now) != c.overdue || !it.CreatedAt.Equal(e.now) {
					t.Errorf("%s: deadline %v cadence %q issued %v coop %d overdue %v", c.code, it.Deadline.In(shanghai), it.ReviewCadence,
						it.IssuedAt, len(it.CooperatingUnitIDs), it.IsOverdue(e.now))
				}
			}
			// The overdue filter finds the items whose deadline had passed
			// before they were loaded.
			var overdue []string
			for _, it := range e.must(200, "admin", "GET", "/v1/items?overdue=true", nil)["items"].([]any) {
				overdue = append(overdue, it.(map[string]any)["code"].(string))
			}
			slices.Sort(overdue)
			if !slices.Equal(overdue, []string{"A-1", "B-1", "JC-DC-2026-001", "JC-DC-2026-005"}[2:]) {
				t.Errorf("overdue: %v", overdue)
			}

			// The ledger shows the open-ended items as 长期坚持.
			r = e.do("admin", "GET", "/v1/ledger.csv", nil)
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			col := func(h string) int { return slices.Index(rows[0], h) }
			for _, row := range rows[1:] {
				code, deadline, cadence, issued := row[col("问题编号")], row[col("整改时限")], row[col("评估周期")], row[col("交办时间")]
				switch code {
				case "JC-DC-2026-002":
					if deadline != "长期坚持" || cadence != "每季度" || row[col("下次评估时间")] != "2026-12-31" || issued != "2026-03-15" {
						t.Errorf("002 in the ledger: %q %q %q", deadline, cadence, issued)
					}
				case "JC-DC-2026-001":
					if deadline != "2026-06-30" || row[col("是否逾期")] != "是" {
						t.Errorf("001 in the ledger: %q", deadline)
					}
				}
			}

			// Again: every item is found by its code and unchanged.
			r = e.send("admin", "POST", "/v1/items/import", "text/csv", fixed, nil)
			if rep = decodeReport(t, r.Body); r.Status != 200 || rep.Unchanged != 8 || rep.Created+rep.Updated != 0 {
				t.Fatalf("re-import: %d %s", r.Status, r.Body)
			}
			// The same ledger saved as XLSX reads the same.
			r = e.send("admin", "POST", "/v1/items/import?dry_run=true",
				"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", csvToXLSX(t, fixed), nil)
			if rep = decodeReport(t, r.Body); r.Status != 200 || rep.Unchanged != 8 {
				t.Fatalf("the XLSX ledger: %d %s", r.Status, r.Body)
			}
			// Edited: one title changed, one deadline moved; those two rows
			// update their items by code.
			edited := bytes.Replace(fixed, []byte("城北污水处理厂尾水超标排放"), []byte("城北污水处理厂尾水氨氮超标排放"), 1)
			edited = bytes.Replace(edited, []byte("2026-12-31 18:00"), []byte("2027-03-31"), 1)
			r = e.send("admin", "POST", "/v1/items/import?dry_run=true", "text/csv", edited, nil)
			if rep = decodeReport(t, r.Body); rep.Updated != 2 || rep.Unchanged != 6 {
				t.Fatalf("dry run of the edited ledger: %s", r.Body)
			}
			if got := must(itemsvc.New(e.svc).GetItem(context.Background(), system, items["JC-DC-2026-001"].ID)); got.Title != items["JC-DC-2026-001"].Title {
				t.Fatalf("the dry run changed the item: %q", got.Title)
			}
			r = e.send("admin", "POST", "/v1/items/import", "text/csv", edited, nil)
			if rep = decodeReport(t, r.Body); rep.Updated != 2 || rep.Unchanged != 6 {
				t.Fatalf("import of the edited ledger: %s", r.Body)
			}
			var updated []string
			for _, res := range rep.Results {
				if res.Action == itemsvc.ImportUpdate {
					updated = append(updated, res.Code)
				}
			}
			if !slices.Equal(updated, []string{"JC-DC-2026-001", "JC-DC-2026-007"}) {
				t.Errorf("updated %v", updated)
			}
			got := must(itemsvc.New(e.svc).GetItem(context.Background(), system, items["JC-DC-2026-007"].ID))
			if !got.Deadline.Equal(day(2027, 3, 31, 23, 59, 59)) || got.Version != 2 {
				t.Errorf("007 after the edited import: %v v%d", got.Deadline, got.Version)
			}
			audit, _ := e.auditList("entity=items&record_id=" + got.ID)
			if len(audit) != 2 {
				t.Fatalf("audit of 007: %v", audit)
			}
			if last := audit[1]; last["action"] != "item.update" || detail(last)["imported"] != true {
				t.Errorf("audit of the re-import: %v", audit[1])
			}
			if n := countItems(t, e.svc.Store); n != before+8 {
				t.Errorf("%d items, want %d", n, before+8)
			}

			// Who may import: not a unit lead, not an inspector.
			for _, who := range []string{"leada", "insp1"} {
				if r := e.send(who, "POST", "/v1/items/import", "text/csv", fixed, nil); r.Status != 403 {
					t.Errorf("%s imports: %d", who, r.Status)
				}
			}
			if r := e.send("admin", "POST", "/v1/items/import", "application/pdf", fixed, nil); r.Status != 415 {
				t.Errorf("a PDF: %d %s", r.Status, r.Body)
			}
			if r := e.send("admin", "POST", "/v1/items/import?dry_run=maybe", "text/csv", fixed, nil); r.Status != 400 || r.code(t) != "validation_failed" {
				t.Errorf("dry_run=maybe: %d %s", r.Status, r.Body)
			}
			if r := e.send("admin", "POST", "/v1/items/import", "text/csv", []byte("a,b\n1,2\n"), nil); r.Status != 400 || r.code(t) != "import_invalid" {
				t.Errorf("not a ledger: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestItemDates: a deadline in the past and a date alone through the API,
// an open-ended item, and the words of a bad date in both languages.
func TestItemDates(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	e.svc.Deadlines.Zone = shanghai
	f := e.fx
	item := func(code string, over map[string]any) map[string]any {
		m := map[string]any{"code": code, "title": "河道垃圾", "source": "群众举报", "category": "水环境", "target": "河面无垃圾",
			"measures": "清理", "responsible_unit_id": f.countyA.ID, "first_responsible": "镇长"}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	past := e.must(201, "admin", "POST", "/v1/items", item("PAST-1", map[string]any{"deadline": "2026-06-30", "issued_at": "2026-03-15"}))
	if past["deadline"] != "2026-06-30T15:59:59Z" || past["issued_at"] != "2026-03-14T16:00:00Z" || past["created_at"] != "2026-11-28T09:00:00Z" {
		t.Errorf("a past date-only deadline: %v %v %v", past["deadline"], past["issued_at"], past["created_at"])
	}
	overdue := e.must(200, "admin", "GET", "/v1/items?overdue=true", nil)["items"].([]any)
	if len(overdue) != 1 || overdue[0].(map[string]any)["code"] != "PAST-1" {
		t.Errorf("overdue: %v", overdue)
	}
	open := e.must(201, "admin", "POST", "/v1/items", item("OPEN-1", map[string]any{"review_cadence": "quarterly"}))
	if open["review_cadence"] != "quarterly" || open["deadline"] != "2026-12-31T15:59:59Z" {
		t.Errorf("open-ended: %v %v", open["review_cadence"], open["deadline"])
	}
	// Back to a fixed deadline needs one.
	if r := e.do("admin", "PATCH", "/v1/items/"+open["id"].(string), map[string]any{"review_cadence": "", "deadline": "2027-01-31", "version": 1}); r.Status != 200 || r.json(t)["deadline"] != "2027-01-31T15:59:59Z" {
		t.Errorf("fixed again: %d %s", r.Status, r.Body)
	}
	bad := item("BAD-1", map[string]any{"deadline": "31.12.2026"})
	zh := e.send("admin", "POST", "/v1/items", "application/json", mustJSON(t, bad), nil)
	en := e.send("admin", "POST", "/v1/items", "application/json", mustJSON(t, bad), map[string]string{"Accept-Language": "en-US,en;q=0.9"})
	for _, r := range []response{zh, en} {
		if r.Status != 400 || r.code(t) != "invalid_date" || r.json(t)["field"] != "deadline" {
			t.Fatalf("bad date: %d %s", r.Status, r.Body)
		}
		if d := r.json(t)["detail"].(string); !strings.Contains(d, "2026-12-31") || strings.Contains(d, "2006") || strings.Contains(d, "parsing time") {
			t.Errorf("detail %q", d)
		}
	}
	if d := zh.json(t)["detail"].(string); !strings.Contains(d, "整改时限") || !strings.Contains(d, "日期格式不正确") {
		t.Errorf("Chinese detail %q", d)
	}
	if d := en.json(t)["detail"].(string); !strings.Contains(d, "deadline must be a date such as 2026-12-31") {
		t.Errorf("English detail %q", d)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAcceptLanguage: the same error's detail in Chinese by default and
// for zh-CN, in English for en; code and field do not change.
func TestAcceptLanguage(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	for _, c := range []struct{ accept, want string }{
		{"", "缺少必填项（问题名称）"},
		{"zh-CN,zh;q=0.9", "缺少必填项（问题名称）"},
		{"en", "title is required"},
	} {
		r := e.send("admin", "POST", "/v1/items", "application/json", mustJSON(t, map[string]any{"code": "X-1"}),
			map[string]string{"Accept-Language": c.accept})
		p := r.json(t)
		if r.Status != 400 || p["code"] != "required" || p["field"] != "title" || p["detail"] != c.want {
			t.Errorf("Accept-Language %q: %d %v", c.accept, r.Status, p)
		}
	}
	for accept, want := range map[string]string{"zh-CN": "接口不存在", "en": "no such endpoint"} {
		if p := e.send("", "GET", "/v1/nothing", "", nil, map[string]string{"Accept-Language": accept}).json(t); p["detail"] != want {
			t.Errorf("%s: %v", accept, p)
		}
	}
}

// TestDeadlineExtensions: a unit lead asks for more time; an inspector
// cannot ask, the unit lead cannot approve, another county's supervisor
// cannot see it; the county's supervisor approves; the item, the audit
// trail, the ledger and the dispatch report show it with the original
// deadline; a second request is refused with a comment.
func TestDeadlineExtensions(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			e.svc.Deadlines.Zone = shanghai
			f := e.fx
			base := "/v1/items/" + f.itemA.ID + "/extensions"
			ask := map[string]any{"deadline": "2027-08-31", "reason": "汛期施工受阻，管网工程顺延"}
			if r := e.do("insp1", "POST", base, ask); r.Status != 403 {
				t.Errorf("an inspector asks: %d %s", r.Status, r.Body)
			}
			if r := e.do("supb", "POST", base, ask); r.Status != 404 {
				t.Errorf("another county's supervisor asks: %d %s", r.Status, r.Body)
			}
			if r := e.do("leada", "POST", base, map[string]any{"deadline": "2027-08-31"}); r.Status != 400 || r.code(t) != "required" {
				t.Errorf("no reason: %d %s", r.Status, r.Body)
			}
			if r := e.do("leada", "POST", base, map[string]any{"deadline": "2026-01-31", "reason": "x"}); r.Status != 400 || r.code(t) != "extension_not_later" {
				t.Errorf("an earlier deadline: %d %s", r.Status, r.Body)
			}
			ext := e.must(201, "leada", "POST", base, ask)
			if ext["status"] != "pending" || ext["requested_deadline"] != "2027-08-31T15:59:59Z" || ext["requested_by"] != f.users["leada"].ID {
				t.Errorf("request: %v", ext)
			}
			if r := e.do("leada", "POST", base, ask); r.Status != 409 || r.code(t) != "extension_pending" {
				t.Errorf("a second request: %d %s", r.Status, r.Body)
			}
			decide := base + "/" + ext["id"].(string) + "/decision"
			approve := map[string]any{"decision": "approve", "comment": "同意延期"}
			for who, want := range map[string]int{"insp1": 403, "leada": 403, "supb": 404} {
				if r := e.do(who, "POST", decide, approve); r.Status != want {
					t.Errorf("%s approves: %d %s", who, r.Status, r.Body)
				}
			}
			if r := e.do("supa", "POST", decide, map[string]any{"decision": "maybe"}); r.Status != 400 || r.code(t) != "invalid_enum" {
				t.Errorf("a bad decision: %d %s", r.Status, r.Body)
			}
			got := e.must(200, "supa", "POST", decide, approve)
			if got["status"] != "approved" || got["decided_by"] != f.users["supa"].ID {
				t.Errorf("approval: %v", got)
			}
			if r := e.do("supa", "POST", decide, approve); r.Status != 409 || r.code(t) != "extension_already_decided" {
				t.Errorf("approved twice: %d %s", r.Status, r.Body)
			}
			it := e.must(200, "supa", "GET", "/v1/items/"+f.itemA.ID, nil)
			origDeadline := f.itemA.Deadline.UTC().Format(time.RFC3339Nano)
			if it["deadline"] != "2027-08-31T15:59:59Z" || it["original_deadline"] != origDeadline {
				t.Errorf("item after approval: deadline %v original %v (want %s)", it["deadline"], it["original_deadline"], origDeadline)
			}
			// Refused, with a comment required.
			ext2 := e.must(201, "supa", "POST", base, map[string]any{"deadline": "2027-12-31", "reason": "再延期"})
			decide2 := base + "/" + ext2["id"].(string) + "/decision"
			if r := e.do("supa", "POST", decide2, map[string]any{"decision": "refuse"}); r.Status != 400 || r.code(t) != "required" {
				t.Errorf("a refusal without a comment: %d %s", r.Status, r.Body)
			}
			e.must(200, "admin", "POST", decide2, map[string]any{"decision": "refuse", "comment": "理由不充分"})
			list := e.must(200, "leada", "GET", base, nil)["items"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["status"] != "approved" || list[1].(map[string]any)["status"] != "refused" {
				t.Errorf("list: %v", list)
			}
			if r := e.do("insp1", "GET", base, nil); r.Status != 403 {
				t.Errorf("an inspector lists: %d", r.Status)
			}

			// The audit trail of the item.
			var actions []string
			entries, _ := e.auditList("entity=items&record_id=" + f.itemA.ID)
			for _, a := range entries {
				actions = append(actions, a["action"].(string))
			}
			for _, want := range []string{"item.extension_request", "item.extension_approve", "item.extension_refuse"} {
				if !slices.Contains(actions, want) {
					t.Errorf("audit lacks %s: %v", want, actions)
				}
			}
			// The ledger: the new deadline, the original one and the latest
			// request.
			r := e.do("supa", "GET", "/v1/ledger.csv", nil)
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			col := func(h string) int { return slices.Index(rows[0], h) }
			found := false
			for _, row := range rows[1:] {
				if row[col("问题编号")] != f.itemA.Code {
					continue
				}
				found = true
				want := f.itemA.Deadline.In(shanghai).Format("2006-01-02 15:04:05")
				if row[col("整改时限")] != "2027-08-31" || row[col("原整改时限")] != want || !strings.Contains(row[col("延期情况")], "延期未获批准") {
					t.Errorf("ledger: %q %q %q", row[col("整改时限")], row[col("原整改时限")], row[col("延期情况")])
				}
			}
			if !found {
				t.Error("the item is not in the ledger")
			}
			// The dispatch report of this month, a minute on, lists both
			// with the original deadline.
			e.now = e.now.Add(time.Minute)
			rep := e.must(200, "supa", "GET", "/v1/reports/dispatch?period=monthly&start=2026-11-01", nil)
			exts := rep["extensions"].([]any)
			if len(exts) != 2 || exts[0].(map[string]any)["original_deadline"] != origDeadline || rep["total"].(map[string]any)["extended"] != 1.0 {
				t.Errorf("dispatch: %v, total %v", exts, rep["total"])
			}
			// And its spreadsheet, on the sheet 延期情况.
			x := e.do("supa", "GET", "/v1/reports/dispatch.xlsx?period=monthly&start=2026-11-01", nil)
			wb, err := excelize.OpenReader(bytes.NewReader(x.Body))
			if err != nil {
				t.Fatal(err)
			}
			sheet, err := wb.GetRows(sheets.DispatchExtensionsSheet)
			wb.Close()
			if err != nil || len(sheet) != 4 || sheet[1][4] != "原整改时限" || sheet[2][3] != "已批准" || sheet[3][3] != "未批准" ||
				sheet[2][4] != f.itemA.Deadline.In(shanghai).Format("2006-01-02 15:04:05") || sheet[2][6] != "2027-08-31" {
				t.Errorf("延期情况: %v %q", err, sheet)
			}
			// An extension of an open-ended item is refused.
			open := must(itemsvc.New(e.svc).CreateItem(context.Background(), system, itemsvc.ItemInput{Code: ptr("OPEN-9"), Title: ptr("岸线巡查"),
				Source: ptr("督察"), Category: ptr("生态"), Target: ptr("不反弹"), Measures: ptr("巡查"), ResponsibleUnitID: &f.countyA.ID,
				FirstResponsible: ptr("区长"), ReviewCadence: ptr(models.CadenceQuarterly)}))
			if r := e.do("supa", "POST", "/v1/items/"+open.ID+"/extensions", ask); r.Status != 409 || r.code(t) != "extension_not_possible" {
				t.Errorf("an open-ended item: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestOpenEndedReview: an open-ended item's review is due at the end of
// the current quarter; a verification recorded on it is that quarter's
// review and moves the next one to the end of the following quarter; the
// escalation rule treats a late review as it treats a passed deadline.
func TestOpenEndedReview(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	e.svc.Deadlines.Zone = shanghai
	f := e.fx
	ctx := context.Background()
	it := must(itemsvc.New(e.svc).CreateItem(ctx, system, itemsvc.ItemInput{Code: ptr("OPEN-R"), Title: ptr("岸线巡查"), Source: ptr("督察"),
		Category: ptr("生态"), Target: ptr("不反弹"), Measures: ptr("巡查"), ResponsibleUnitID: &f.countyA.ID,
		FirstResponsible: ptr("区长"), ReviewCadence: ptr(models.CadenceQuarterly)}))
	endOfQ4 := time.Date(2026, 12, 31, 23, 59, 59, 0, shanghai)
	if !it.Deadline.Equal(endOfQ4) || it.IsOverdue(e.now) {
		t.Fatalf("first review due %v", it.Deadline)
	}
	task := must(itemsvc.New(e.svc).CreateTask(ctx, system, itemsvc.TaskInput{ItemID: &it.ID, SiteID: &f.siteA.ID, Kind: ptr(models.TaskProgressCheck),
		TemplateID: &f.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)), AssigneeID: ptr(f.users["insp1"].ID)}))
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "verification.record", "args": map[string]any{"id": uuid.NewString(), "task_id": task.ID, "conclusion": "rectified",
			"notes": "岸线无反弹", "location": map[string]any{"lat": 29.7, "lng": 116.0, "accuracy_m": 5, "mocked": false},
			"recorded_at": e.now, "evidence_ids": []string{}}},
	}})
	if st := res["results"].([]any)[0].(map[string]any)["status"]; st != "applied" {
		t.Fatalf("push: %v", res)
	}
	got := must(itemsvc.New(e.svc).GetItem(ctx, system, it.ID))
	if endOfQ1 := time.Date(2027, 3, 31, 23, 59, 59, 0, shanghai); !got.Deadline.Equal(endOfQ1) {
		t.Errorf("after the review the next is due %v, want %v", got.Deadline.In(shanghai), endOfQ1)
	}
	// Without a review in Q1 it is overdue, and escalated a month later.
	e.svc.Deadlines.EscalateAfter = 30 * 24 * time.Hour
	if n, err := itemsvc.New(e.svc).EscalateOverdue(ctx, time.Date(2027, 5, 2, 0, 0, 0, 0, shanghai)); err != nil || n != 1 {
		t.Errorf("escalation of the late review: %d %v", n, err)
	}
}
