package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// loadDispatchData is November 2026 in Shanghai: five items, two of them
// rejected in the month and one of those accepted in December, with notes
// and a verification, then the clock on 10 December.
func loadDispatchData(t *testing.T, e *env) {
	f := e.fx
	e.svc.Deadlines.Zone = shanghai
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, shanghai).UTC()
	}
	endOf := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 23, 59, 59, 0, shanghai) }
	e.now = at(11, 2, 9)
	a2 := e.item("A-2", "工地扬尘", "扬尘", f.countyA, endOf(11, 10), models.SupervisionDaily)
	a3 := e.item("A-3", "支流黑臭", "黑臭水体", f.deptA, endOf(11, 20), models.SupervisionDaily)
	e.item("B-2", "道路扬尘", "扬尘", f.countyB, endOf(12, 31).AddDate(0, 1, 0), models.SupervisionDaily)
	e.setItem(f.itemA.ID, func(it *models.RectificationItem) { it.Status = models.ItemInProgress })
	closed := at(12, 3, 10)
	a2 = e.setItem(a2.ID, func(it *models.RectificationItem) { it.Status, it.ClosedAt = models.ItemAccepted, &closed })
	a3 = e.setItem(a3.ID, func(it *models.RectificationItem) { it.Status = models.ItemRejected })
	long := strings.Repeat("现场排口已封堵，", 40) // 320 characters
	e.insert(
		ptr(e.submission(a2, 1, at(11, 8, 10))),
		ptr(e.decision(a2, models.DecisionReject, models.ItemPendingAcceptance, models.ItemRejected, at(11, 12, 10), "扬尘网破损")),
		ptr(e.submission(a2, 2, at(11, 20, 10))),
		ptr(e.decision(a2, models.DecisionAccept, models.ItemPendingAcceptance, models.ItemAccepted, closed, "整改到位")),
		ptr(e.submission(a3, 1, at(11, 15, 10))),
		ptr(e.decision(a3, models.DecisionReject, models.ItemPendingAcceptance, models.ItemRejected, at(11, 18, 10), "仍有黑臭")),
		ptr(e.note(f.task1, "insp1", at(10, 30, 10), "十月的记录")),
		ptr(e.note(f.task1, "insp1", at(11, 20, 10), "截污纳管主体完工")),
		ptr(e.note(f.task2, "insp2", at(11, 21, 10), "第一段管网")),
		ptr(e.note(f.task2, "insp2", at(11, 22, 10), "第二段管网")),
		ptr(e.note(f.task2, "insp2", at(11, 23, 10), "第三段管网")),
		ptr(e.note(f.task2, "insp2", at(11, 24, 10), "第四段管网")),
		ptr(e.verification(f.task1, "insp1", at(11, 25, 10), models.ConclusionPartiallyRectified, long)),
		ptr(e.verification(f.task1, "insp1", at(11, 26, 10), models.ConclusionRectified, "")), // no notes: not listed
		ptr(e.note(f.taskB, "insp1", at(11, 26, 10), "B县排口复查")),
		ptr(e.note(f.task1, "insp1", at(12, 5, 10), "十二月的记录")),
	)
	e.advance(at(12, 10, 10))
}

type dispatchCounts struct {
	Items       int            `json:"items"`
	ByStatus    map[string]int `json:"by_status"`
	NewlyClosed int            `json:"newly_closed"`
	Overdue     int            `json:"overdue"`
	Rejected    int            `json:"rejected"`
}

type dispatchJSON struct {
	Period, Start, End, AsOf string         `json:"-"`
	Total                    dispatchCounts `json:"total"`
	Units                    []struct {
		UnitCode string `json:"unit_code"`
		dispatchCounts
		Categories []struct {
			Category string `json:"category"`
			dispatchCounts
		} `json:"categories"`
	} `json:"units"`
	Categories []struct {
		Category string `json:"category"`
		dispatchCounts
	} `json:"categories"`
	Progress []struct {
		Code  string `json:"code"`
		Total int    `json:"total"`
		Notes []struct {
			Kind, Author, Conclusion, Text string
			At                             time.Time
		} `json:"notes"`
	} `json:"progress"`
}

// statuses gives by_status in the machine's order, for short expectations.
func statuses(c dispatchCounts) [6]int {
	var out [6]int
	for i, s := range models.ItemMachine.Statuses() {
		out[i] = c.ByStatus[s]
	}
	return out
}

func (e *env) dispatch(who, query string) dispatchJSON {
	e.t.Helper()
	body := e.must(200, who, "GET", "/v1/reports/dispatch?"+query, nil)
	b, _ := json.Marshal(body)
	var d dispatchJSON
	if err := json.Unmarshal(b, &d); err != nil {
		e.t.Fatal(err)
	}
	d.Period, d.Start, d.End, d.AsOf = body["period"].(string), body["start"].(string), body["end"].(string), body["as_of"].(string)
	return d
}

// TestDispatchReport checks the November report against the data, and
// December's and the two months', and October's, when nothing existed.
func TestDispatchReport(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			loadDispatchData(t, e)
			nov := e.dispatch("admin", "period=monthly&start=2026-11-01")
			if nov.Period != "monthly" || nov.Start != "2026-10-31T16:00:00Z" || nov.End != "2026-11-30T16:00:00Z" || nov.AsOf != nov.End {
				t.Errorf("November: %s %s..%s as of %s", nov.Period, nov.Start, nov.End, nov.AsOf)
			}
			// At the end of November: A-1 in progress, A-2 waiting for
			// acceptance (accepted only on 3 December), A-3 rejected, B-1
			// and B-2 not started; overdue; two rejections.
			if got := statuses(nov.Total); got != [6]int{2, 1, 1, 0, 1, 0} || nov.Total.Items != 5 ||
				nov.Total.NewlyClosed != 0 || nov.Total.Overdue != 2 || nov.Total.Rejected != 2 {
				t.Errorf("November total: %+v", nov.Total)
			}
			var units []string
			for _, u := range nov.Units {
				units = append(units, u.UnitCode)
			}
			if strings.Join(units, ",") != "CTY-A,CTY-A-EPB,CTY-B" {
				t.Fatalf("units %v", units)
			}
			a, epb, b := nov.Units[0], nov.Units[1], nov.Units[2]
			if statuses(a.dispatchCounts) != [6]int{0, 1, 1, 0, 0, 0} || a.Items != 2 || a.Overdue != 1 || a.Rejected != 1 ||
				len(a.Categories) != 2 || a.Categories[0].Category != "扬尘" || a.Categories[0].Items != 1 || a.Categories[0].Overdue != 1 ||
				a.Categories[1].Category != "黑臭水体" || statuses(a.Categories[1].dispatchCounts) != [6]int{0, 1, 0, 0, 0, 0} {
				t.Errorf("county A: %+v", a)
			}
			if statuses(epb.dispatchCounts) != [6]int{0, 0, 0, 0, 1, 0} || epb.Overdue != 1 || epb.Rejected != 1 {
				t.Errorf("county A's department: %+v", epb)
			}
			if statuses(b.dispatchCounts) != [6]int{2, 0, 0, 0, 0, 0} || b.Overdue != 0 || b.Rejected != 0 {
				t.Errorf("county B: %+v", b)
			}
			if len(nov.Categories) != 2 || nov.Categories[0].Category != "扬尘" || nov.Categories[0].Items != 2 || nov.Categories[0].Rejected != 1 ||
				nov.Categories[1].Category != "黑臭水体" || nov.Categories[1].Items != 3 || nov.Categories[1].Overdue != 1 {
				t.Errorf("categories: %+v", nov.Categories)
			}
			// Progress: A-1's six notes of November, the newest three;
			// B-1's one.
			if len(nov.Progress) != 2 || nov.Progress[0].Code != "A-1" || nov.Progress[0].Total != 6 || len(nov.Progress[0].Notes) != 3 ||
				nov.Progress[1].Code != "B-1" || nov.Progress[1].Total != 1 {
				t.Fatalf("progress: %+v", nov.Progress)
			}
			v := nov.Progress[0].Notes[0]
			if v.Kind != "verification" || v.Conclusion != models.ConclusionPartiallyRectified || v.Author != "用户insp1" ||
				utf8.RuneCountInString(v.Text) != reporting.DispatchNoteRunes || !strings.HasSuffix(v.Text, "…") {
				t.Errorf("the newest note: %+v", v)
			}
			if n := nov.Progress[0].Notes; n[1].Text != "第四段管网" || n[2].Text != "第三段管网" || n[1].Author != "用户insp2" {
				t.Errorf("older notes: %+v", n[1:])
			}

			// December, not over: as of now. A-2 accepted on 3
			// December; A-3 still overdue.
			dec := e.dispatch("admin", "start=2026-12-01")
			if dec.AsOf != "2026-12-10T02:00:00Z" || statuses(dec.Total) != [6]int{2, 1, 0, 1, 1, 0} ||
				dec.Total.NewlyClosed != 1 || dec.Total.Overdue != 1 || dec.Total.Rejected != 0 ||
				len(dec.Progress) != 1 || dec.Progress[0].Total != 1 || dec.Progress[0].Notes[0].Text != "十二月的记录" {
				t.Errorf("December: %+v", dec)
			}
			both := e.dispatch("admin", "period=bimonthly&start=2026-11-01")
			if both.End != "2026-12-31T16:00:00Z" || both.Total.NewlyClosed != 1 || both.Total.Rejected != 2 || both.Progress[0].Total != 7 {
				t.Errorf("November and December: %+v", both)
			}
			oct := e.dispatch("admin", "start=2026-10-01")
			if oct.Total.Items != 0 || len(oct.Units) != 0 || len(oct.Progress) != 0 {
				t.Errorf("October, before any item: %+v", oct)
			}

			// Scope: county B's supervisor sees county B only.
			supb := e.dispatch("supb", "start=2026-11-01")
			if supb.Total.Items != 2 || len(supb.Units) != 1 || supb.Units[0].UnitCode != "CTY-B" ||
				len(supb.Progress) != 1 || supb.Progress[0].Code != "B-1" {
				t.Errorf("county B's supervisor: %+v", supb)
			}
			if leada := e.dispatch("leada", "start=2026-11-01"); leada.Total.Items != 3 || len(leada.Units) != 2 {
				t.Errorf("county A's lead: %+v", leada.Total)
			}
			for _, path := range []string{"/v1/reports/dispatch", "/v1/reports/dispatch.xlsx"} {
				if r := e.do("insp1", "GET", path+"?start=2026-11-01", nil); r.Status != 403 || r.code(t) != "forbidden" {
					t.Errorf("inspector %s: %d %s", path, r.Status, r.Body)
				}
				for q, code := range map[string]string{
					"period=weekly":     "invalid_enum",
					"start=2026-13-01":  "invalid_date",
					"start=1.11.2026":   "invalid_date",
					"start=2026-11-15":  "period_start_invalid",
					"start=2027-01-01":  "period_start_invalid",
					"period=&start=bad": "invalid_date",
				} {
					r := e.do("admin", "GET", path+"?"+q, nil)
					if r.Status != 400 || r.code(t) != code {
						t.Errorf("%s?%s: %d %s, want 400 %s", path, q, r.Status, r.Body, code)
					}
				}
			}
		})
	}
}

// TestDispatchXLSX reads the November workbook back.
func TestDispatchXLSX(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			loadDispatchData(t, e)
			r := e.do("admin", "GET", "/v1/reports/dispatch.xlsx?period=monthly&start=2026-11-01", nil)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="dispatch-monthly-2026-11.xlsx"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			f, err := excelize.OpenReader(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join([]string{sheets.DispatchUnitsSheet, sheets.DispatchUnitCatSheet,
				sheets.DispatchCategoriesSheet, sheets.DispatchProgressSheet, sheets.DispatchExtensionsSheet}, ",") {
				t.Fatalf("sheets %v", got)
			}
			rows := func(sheet string) [][]string {
				rows, err := f.GetRows(sheet)
				if err != nil {
					t.Fatal(err)
				}
				return rows
			}
			units := rows(sheets.DispatchUnitsSheet)
			if !strings.Contains(units[0][0], "2026-11-01 至 2026-11-30") {
				t.Errorf("title %q", units[0][0])
			}
			want := [][]string{
				{"责任单位", "单位编码", "问题总数", "未启动", "整改中", "待验收", "已验收销号", "验收未通过", "已重新打开", "本期销号", "逾期", "本期验收退回", "长期坚持", "已延期"},
				{"单位 CTY-A", "CTY-A", "2", "0", "1", "1", "0", "0", "0", "0", "1", "1", "0", "0"},
				{"单位 CTY-A-EPB", "CTY-A-EPB", "1", "0", "0", "0", "0", "1", "0", "0", "1", "1", "0", "0"},
				{"单位 CTY-B", "CTY-B", "2", "2", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"},
				{"合计", "", "5", "2", "1", "1", "0", "1", "0", "0", "2", "2", "0", "0"},
			}
			if len(units) != len(want)+1 {
				t.Fatalf("按单位 has %d rows: %q", len(units), units)
			}
			for i, w := range want {
				if strings.Join(units[i+1], "|") != strings.Join(w, "|") {
					t.Errorf("按单位 row %d: %q, want %q", i+2, units[i+1], w)
				}
			}
			if cats := rows(sheets.DispatchCategoriesSheet); len(cats) != 5 || cats[2][0] != "扬尘" || cats[3][0] != "黑臭水体" || cats[4][0] != "合计" {
				t.Errorf("按类别: %q", cats)
			}
			if uc := rows(sheets.DispatchUnitCatSheet); len(uc) != 7 || uc[2][0] != "单位 CTY-A" || uc[2][1] != "扬尘" {
				t.Errorf("按单位和类别: %q", uc)
			}
			progress := rows(sheets.DispatchProgressSheet)
			if len(progress) != 6 || progress[2][0] != "A-1" || progress[2][4] != "6" || progress[2][6] != "现场核查" ||
				progress[2][8] != "部分整改" || progress[5][0] != "B-1" || progress[2][5] != "2026-11-25 10:00" {
				t.Errorf("进展情况: %q", progress)
			}
		})
	}
}
