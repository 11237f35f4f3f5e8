package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// ledgerData is the state the ledger tests export: county A's item in
// progress with tasks, notes, verifications and a rejection, overdue by
// three days; county B's accepted two days and an hour late; and an item
// whose title looks like a formula.
type ledgerData struct {
	t0                  time.Time
	itemA, itemB, itemC models.RectificationItem
}

func loadLedgerData(t *testing.T, e *env) ledgerData {
	ctx := context.Background()
	f := e.fx
	d := ledgerData{t0: e.now}
	e.svc.Deadlines.Zone = shanghai
	d.itemC = e.item("C-1", "=1+1 公式样的标题", "扬尘", f.countyA, e.now.AddDate(1, 0, 0), models.SupervisionDaily)
	d.itemA = must(items.New(e.svc).UpdateItem(ctx, system, f.itemA.ID, items.ItemInput{
		CooperatingUnitIDs: &[]string{f.deptA.ID, f.countyB.ID}, SpecificResponsible: ptr("李娜"),
		PublicSummary: ptr("已完成截污纳管"), Description: ptr("督察组发现排口黑臭"), KeyItem: ptr(true), Version: &f.itemA.Version,
	}))
	d.itemA = e.setItem(f.itemA.ID, func(it *models.RectificationItem) { it.Status = models.ItemInProgress })
	closed := f.itemB.Deadline.Add(49 * time.Hour)
	d.itemB = e.setItem(f.itemB.ID, func(it *models.RectificationItem) { it.Status, it.ClosedAt = models.ItemAccepted, &closed })
	err := e.svc.Store.Tx(ctx, func(tx models.Tx) error {
		var task models.InspectionTask
		if err := tx.Get(&task, f.task1.ID); err != nil {
			return err
		}
		task.Status, task.Version = models.TaskCompleted, task.Version+1
		return tx.Update(&task)
	})
	if err != nil {
		t.Fatal(err)
	}
	h := func(n float64) time.Time { return d.t0.Add(time.Duration(n * float64(time.Hour))) }
	e.insert(
		ptr(e.note(f.task1, "insp1", h(0.5), "开始截污")),
		ptr(e.note(f.task2, "insp2", h(3), "截污管网完工80%")),
		ptr(e.verification(f.task1, "insp1", h(1), models.ConclusionRectified, "")),
		ptr(e.verification(f.task1, "insp1", h(2), models.ConclusionPartiallyRectified, "排口仍有渗漏")),
		ptr(e.decision(d.itemA, models.DecisionReject, models.ItemPendingAcceptance, models.ItemRejected, h(4), "照片不清晰，需补充")),
	)
	e.advance(d.itemA.Deadline.Add(72 * time.Hour))
	return d
}

// TestLedgerExport exports the ledger as XLSX and CSV, reads both back
// and checks the cells of the fixture's items.
func TestLedgerExport(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			d := loadLedgerData(t, e)
			inShanghai := func(t time.Time, layout string) string { return t.In(shanghai).Format(layout) }
			wantA := map[string]string{
				"序号": "1", "问题编号": "A-1", "问题名称": "黑臭水体整治 A-1", "问题描述": "督察组发现排口黑臭",
				"问题来源": "第二轮中央生态环境保护督察", "问题类别": "黑臭水体", "所属领域": "水环境", "整改目标": "消除黑臭",
				"整改措施": "1. 截污纳管", "责任单位": "单位 CTY-A", "责任单位编码": "CTY-A", "配合单位": "单位 CTY-A-EPB、单位 CTY-B",
				"第一责任人": "区长", "具体责任人": "李娜", "整改时限": inShanghai(d.itemA.Deadline, time.DateTime),
				"督办级别": "重点督办", "是否重点问题": "是", "信息公开摘要": "已完成截污纳管", "整改状态": "整改中",
				"核查任务数": "2", "已完成核查任务数": "1", "最新进展": inShanghai(d.t0.Add(3*time.Hour), "2006-01-02 15:04") + " 截污管网完工80%",
				"是否逾期": "是", "逾期天数": "3", "升级督办时间": "", "销号时间": "",
				"最近核查时间": inShanghai(d.t0.Add(2*time.Hour), "2006-01-02 15:04"), "最近核查结论": "部分整改", "核查人员": "用户insp1",
				"最近验收时间": inShanghai(d.t0.Add(4*time.Hour), "2006-01-02 15:04"), "验收结果": "验收不通过", "验收意见": "照片不清晰，需补充",
			}
			wantB := map[string]string{
				"问题编号": "B-1", "责任单位": "单位 CTY-B", "整改状态": "已验收销号", "是否逾期": "否", "逾期天数": "3",
				"销号时间": inShanghai(*d.itemB.ClosedAt, "2006-01-02 15:04"), "核查任务数": "1", "已完成核查任务数": "0",
				"最新进展": "", "最近核查时间": "", "验收结果": "", "配合单位": "",
			}
			for _, format := range []string{"xlsx", "csv"} {
				rows := e.ledger("admin", format, "")
				checkHeader(t, format, rows[0])
				if len(rows) != 4 {
					t.Fatalf("%s: %d rows, want a heading and 3 items", format, len(rows))
				}
				checkRow(t, format, rows[0], rows[1], wantA)
				checkRow(t, format, rows[0], rows[2], wantB)
				// The XLSX cell is text, shown as it is; the CSV cell is
				// defused so that Excel does not run it.
				wantTitle := map[string]string{"xlsx": "=1+1 公式样的标题", "csv": "'=1+1 公式样的标题"}[format]
				checkRow(t, format, rows[0], rows[3], map[string]string{"问题编号": "C-1", "问题名称": wantTitle, "督办级别": "日常督办", "是否重点问题": "否"})
			}
			r := e.do("admin", "GET", "/v1/ledger.xlsx", nil)
			if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="ledger-`) || !strings.Contains(cd, "filename*=UTF-8''%E5%8F%B0%E8%B4%A6-") {
				t.Errorf("Content-Disposition %q", cd)
			}
		})
	}
}

// TestLedgerScopeAndFilters: each reader gets their subtree, with the
// item list's filters, flagged among them; inspectors are refused.
func TestLedgerScopeAndFilters(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			loadLedgerData(t, e)
			f := e.fx
			flag := models.Flags{{Code: evidence.FlagOutsideGeofence, Value: 250, Unit: "m", Detail: "250 m outside"}}
			e.insert(
				ptr(e.evidence(f.task1, models.EvidenceVerified, flag)),
				// Not flagged: pending evidence with a flag, verified
				// evidence without one.
				ptr(e.evidence(f.taskB, models.EvidencePending, flag)),
				ptr(e.evidence(f.taskB, models.EvidenceVerified, models.Flags{})),
			)
			for _, c := range []struct {
				who, query string
				want       []string
			}{
				{"admin", "", []string{"A-1", "B-1", "C-1"}},
				{"supa", "", []string{"A-1", "C-1"}},
				{"leada", "", []string{"A-1", "C-1"}},
				{"supb", "", []string{"B-1"}},
				{"admin", "overdue=true", []string{"A-1"}},
				{"admin", "flagged=true", []string{"A-1"}},
				{"supb", "flagged=true", nil},
				{"admin", "status=accepted", []string{"B-1"}},
				{"admin", "category=扬尘&supervision_level=daily", []string{"C-1"}},
				{"admin", "unit_id=" + f.countyB.ID, []string{"B-1"}},
			} {
				for _, format := range []string{"xlsx", "csv"} {
					rows := e.ledger(c.who, format, c.query)
					var got []string
					for _, r := range rows[1:] {
						got = append(got, r[1])
					}
					if strings.Join(got, ",") != strings.Join(c.want, ",") {
						t.Errorf("%s ledger.%s?%s: %v, want %v", c.who, format, c.query, got, c.want)
					}
				}
			}
			page := e.must(200, "admin", "GET", "/v1/items?flagged=true", nil)["items"].([]any)
			if len(page) != 1 || page[0].(map[string]any)["id"] != f.itemA.ID {
				t.Errorf("GET /v1/items?flagged=true: %v", page)
			}
			for _, path := range []string{"/v1/ledger.xlsx", "/v1/ledger.csv"} {
				if r := e.do("insp1", "GET", path, nil); r.Status != 403 || r.code(t) != "forbidden" {
					t.Errorf("inspector %s: %d %s", path, r.Status, r.Body)
				}
				if r := e.do("admin", "GET", path+"?flagged=yes", nil); r.Status != 400 || r.code(t) != "validation_failed" {
					t.Errorf("%s?flagged=yes: %d %s", path, r.Status, r.Body)
				}
				if r := e.do("admin", "GET", path+"?status=done", nil); r.Status != 400 || r.code(t) != "invalid_enum" {
					t.Errorf("%s?status=done: %d %s", path, r.Status, r.Body)
				}
			}
		})
	}
}

// ledger fetches the ledger and returns its rows as text, the heading
// row first: the XLSX as a spreadsheet program shows it, the CSV as read.
func (e *env) ledger(who, format, query string) [][]string {
	e.t.Helper()
	path := "/v1/ledger." + format
	if query != "" {
		path += "?" + query
	}
	r := e.do(who, "GET", path, nil)
	if r.Status != 200 {
		e.t.Fatalf("GET %s as %s: %d %s", path, who, r.Status, r.Body)
	}
	if format == "csv" {
		body, ok := bytes.CutPrefix(r.Body, []byte("\uFEFF"))
		if !ok {
			e.t.Fatal("the CSV has no byte order mark")
		}
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			e.t.Fatal(err)
		}
		return rows
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheets.LedgerSheet)
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func checkHeader(t *testing.T, format string, header []string) {
	t.Helper()
	if len(header) != len(sheets.Columns) {
		t.Fatalf("%s: %d headings, want %d", format, len(header), len(sheets.Columns))
	}
	for i, c := range sheets.Columns {
		if header[i] != c.Header {
			t.Errorf("%s: heading %d is %q, want %q", format, i, header[i], c.Header)
		}
	}
}

func checkRow(t *testing.T, format string, header, row []string, want map[string]string) {
	t.Helper()
	for i, h := range header {
		w, ok := want[h]
		if !ok {
			continue
		}
		got := ""
		if i < len(row) {
			got = row[i]
		}
		if got != w {
			t.Errorf("%s, %s: %s is %q, want %q", format, row[1], h, got, w)
		}
	}
}
