package api_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	itemsvc "github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// importHeader is the heading row people's files have: the export's
// headings, in another order, with a column the import does not know and
// one it ignores.
var importHeader = []any{"序号", "问题编号", "问题名称", "问题来源", "问题类别", "所属领域", "整改目标", "整改措施",
	"责任单位", "责任单位编码", "配合单位", "第一责任人", "整改时限", "督办级别", "是否重点问题", "整改状态", "备注"}

// workbook writes rows under a title row and importHeader, as someone
// would in Excel, with a deadline typed as a date (a date cell, not text)
// into the cell dateAt when it is not empty.
func workbook(t *testing.T, dateAt string, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheets.LedgerSheet); err != nil {
		t.Fatal(err)
	}
	all := append([][]any{{"江城市督察整改台账（2026年）"}, importHeader}, rows...)
	for i, r := range all {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheets.LedgerSheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if dateAt != "" {
		if err := f.SetCellValue(sheets.LedgerSheet, dateAt, time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readImport(t *testing.T, file []byte) sheets.Import {
	t.Helper()
	imp, err := sheets.ReadItems(bytes.NewReader(file), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// TestImportItems imports a valid file, then one with many bad rows,
// which must report every one and write nothing.
func TestImportItems(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			e.svc.Deadlines.Zone = shanghai // as fieldsyncd is configured: a date alone ends there
			ctx := context.Background()
			good := workbook(t, "M4",
				[]any{1, "IMP-1", "城南垃圾填埋场渗滤液超标", "省级督察", "固体废物", "土壤", "渗滤液达标排放", "扩建处理站", "单位 CTY-A", "", "CTY-B、单位 CTY-A-EPB", "县长", "2027-06-30", "重点", "是", "整改中", "已核实"},
				[]any{2, "IMP-2", "餐饮油烟扰民", "信访", "大气", "", "油烟达标", "安装净化器", "", "CTY-A-EPB", "", "局长", "", "special", "否"},
				[]any{},
				[]any{4, "IMP-3", "河道垃圾", "群众举报", "水环境", "水", "河面无垃圾", "清理", "单位 CTY-B", "CTY-B", "", "镇长", "2027-01-15 18:00", "", ""},
			)
			imp := readImport(t, good)
			if !slices.Equal(imp.Unknown, []string{"备注"}) || len(imp.Rows) != 3 {
				t.Fatalf("read %d rows, unknown columns %v", len(imp.Rows), imp.Unknown)
			}
			before := countItems(t, e.svc.Store)
			rep, err := itemsvc.New(e.svc).ImportItems(ctx, system, imp.Rows, itemsvc.ImportOptions{})
			if err != nil || rep.Created != 3 || len(rep.Errors) != 0 {
				t.Fatalf("import: %v, %+v", err, rep)
			}
			if n := countItems(t, e.svc.Store); n != before+3 {
				t.Fatalf("%d items after the import, want %d", n, before+3)
			}
			items := map[string]models.RectificationItem{}
			page := must(itemsvc.New(e.svc).ListItems(ctx, system, models.ItemFilter{}, models.ListParams{Limit: 100}))
			for _, it := range page.Items {
				items[it.Code] = it
			}
			f := e.fx
			endOfJune := time.Date(2027, 6, 30, 23, 59, 59, 0, shanghai)
			for _, c := range []struct {
				code, unit, level string
				deadline          time.Time
				key               bool
				coop              []string
			}{
				{"IMP-1", f.countyA.ID, models.SupervisionKey, endOfJune, true, []string{f.countyB.ID, f.deptA.ID}},
				{"IMP-2", f.deptA.ID, models.SupervisionSpecial, time.Date(2027, 3, 31, 23, 59, 59, 0, shanghai), false, []string{}},
				{"IMP-3", f.countyB.ID, models.SupervisionDaily, time.Date(2027, 1, 15, 18, 0, 0, 0, shanghai), false, []string{}},
			} {
				it, ok := items[c.code]
				switch {
				case !ok:
					t.Errorf("%s was not created", c.code)
				case it.ResponsibleUnitID != c.unit || it.SupervisionLevel != c.level || !it.Deadline.Equal(c.deadline) ||
					it.KeyItem != c.key || !slices.Equal(it.CooperatingUnitIDs, c.coop) || it.Status != models.ItemNotStarted:
					t.Errorf("%s: %+v", c.code, it)
				}
			}
			if it := items["IMP-1"]; it.Title != "城南垃圾填埋场渗滤液超标" || it.Area != "土壤" || it.FirstResponsible != "县长" {
				t.Errorf("IMP-1's text: %+v", it)
			}

			bad := workbook(t, "",
				[]any{1, "BAD-1", "好的一行", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", ""},
				[]any{2, "BAD-2", "未知单位", "省级督察", "大气", "", "达标", "整改", "不存在的局", "", "", "县长", "2027-06-30", "", ""},
				[]any{3, "BAD-3", "", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", ""},
				[]any{4, "BAD-4", "日期不对", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "明年六月", "", ""},
				[]any{5, "BAD-1", "重复编号", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", ""},
				[]any{6, "IMP-1", "已有编号", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", ""},
				[]any{7, "BAD-7", "级别不对", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "超级", ""},
				[]any{8, "BAD-8", "重点写错", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", "也许"},
				[]any{9, "BAD-9", "期限已过", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2020-01-01", "", ""},
				[]any{10, "", "没有编号", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", ""},
			)
			before = countItems(t, e.svc.Store)
			rep, err = itemsvc.New(e.svc).ImportItems(ctx, system, readImport(t, bad).Rows, itemsvc.ImportOptions{})
			if models.ErrorCode(err) != models.CodeImportInvalid || rep.Created != 0 {
				t.Fatalf("a file with bad rows: %v, %+v", err, rep)
			}
			type rowCode struct {
				row   int
				field string
				code  models.Code
			}
			var got []rowCode
			for _, e := range rep.Errors {
				got = append(got, rowCode{e.Row, e.Field, e.Code})
				if e.Message == "" {
					t.Errorf("row %d: no message", e.Row)
				}
			}
			want := []rowCode{
				{4, "responsible_unit_id", models.CodeUnknownUnit},
				{5, "title", models.CodeRequired},
				{6, "deadline", models.CodeInvalidDate},
				{7, "code", models.CodeImportDuplicateCode},
				{9, "supervision_level", models.CodeInvalidEnum},
				{10, "key_item", models.CodeInvalidEnum},
				{12, "code", models.CodeRequired},
			}
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n got %v\nwant %v", got, want)
			}
			if n := countItems(t, e.svc.Store); n != before {
				t.Errorf("a refused import wrote %d items", n-before)
			}

			// Roles: unit leads and inspectors import nothing; a
			// supervisor only into their subtree.
			for _, who := range []string{"leada", "insp1"} {
				u := f.users[who]
				if _, err := itemsvc.New(e.svc).ImportItems(ctx, models.Actor{UserID: u.ID, Role: u.Role, UnitPath: u.UnitPath}, imp.Rows, itemsvc.ImportOptions{}); models.ErrorCode(err) != models.CodeForbidden {
					t.Errorf("%s imports: %v", who, err)
				}
			}
			supb := f.users["supb"]
			rep, err = itemsvc.New(e.svc).ImportItems(ctx, models.Actor{UserID: supb.ID, Role: supb.Role, UnitPath: supb.UnitPath},
				readImport(t, workbook(t, "", []any{1, "SUPB-1", "县外的问题", "省级督察", "大气", "", "达标", "整改", "单位 CTY-A", "", "", "县长", "2027-06-30", "", ""})).Rows, itemsvc.ImportOptions{})
			if models.ErrorCode(err) != models.CodeImportInvalid || len(rep.Errors) != 1 || rep.Errors[0].Code != models.CodeOutsideYourUnit {
				t.Errorf("supervisor of county B importing for county A: %v %+v", err, rep)
			}
		})
	}
}

// TestImportFileErrors: files that are not a ledger are refused as a
// whole.
func TestImportFileErrors(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetRow("Sheet1", "A1", &[]any{"问题编号", "问题名称"})
	noColumns, _ := f.WriteToBuffer()
	for name, file := range map[string][]byte{
		"not a workbook":    []byte("问题编号,问题名称\nA,B\n"),
		"no heading row":    workbookWithout(t),
		"required missing":  noColumns.Bytes(),
		"heading too low":   tooLow(t),
		"duplicate heading": duplicateHeading(t),
	} {
		if _, err := sheets.ReadItems(bytes.NewReader(file), shanghai); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func sheetOf(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("Sheet1", cell, &r)
	}
	b, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func workbookWithout(t *testing.T) []byte { return sheetOf(t, []any{"标题"}, []any{"a", "b"}) }

func tooLow(t *testing.T) []byte {
	rows := make([][]any, 11)
	for i := range rows {
		rows[i] = []any{"说明"}
	}
	return sheetOf(t, append(rows, importHeader)...)
}

func duplicateHeading(t *testing.T) []byte {
	return sheetOf(t, append(append([]any{}, importHeader...), "问题名称"))
}

// TestImportRoundTrip exports the ledger and imports it into a fresh
// database that has the same units: the items come back as they were.
func TestImportRoundTrip(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			ctx := context.Background()
			d := loadLedgerData(t, e)
			r := e.do("admin", "GET", "/v1/ledger.xlsx", nil)
			if r.Status != 200 {
				t.Fatalf("export: %d %s", r.Status, r.Body)
			}
			fresh := &models.Service{Store: storagetest.MustOpen(t, dialect), Now: func() time.Time { return d.t0 },
				NewID: func() string { return uuid.Must(uuid.NewV7()).String() }, Hasher: cheapHasher, Auth: models.DefaultAuthPolicy,
				Deadlines: models.DeadlinePolicy{Zone: shanghai}}
			// The same units, under other ids.
			byOld := map[string]string{}
			for _, u := range []models.Unit{e.fx.root, e.fx.countyA, e.fx.deptA, e.fx.countyB} {
				in := itemsvc.UnitInput{Code: ptr(u.Code), Name: ptr(u.Name), Kind: ptr(u.Kind)}
				if u.ParentID != nil {
					in.ParentID = ptr(byOld[*u.ParentID])
				}
				byOld[u.ID] = must(itemsvc.New(fresh).CreateUnit(ctx, system, in)).ID
			}
			imp := readImport(t, r.Body)
			rep, err := itemsvc.New(fresh).ImportItems(ctx, system, imp.Rows, itemsvc.ImportOptions{})
			if err != nil || rep.Created != 3 || len(imp.Unknown) != 0 {
				t.Fatalf("import of the export: %v %+v, unknown %v", err, rep, imp.Unknown)
			}
			got := map[string]models.RectificationItem{}
			for _, it := range must(itemsvc.New(fresh).ListItems(ctx, system, models.ItemFilter{}, models.ListParams{})).Items {
				got[it.Code] = it
			}
			for _, old := range []models.RectificationItem{d.itemA, d.itemB, d.itemC} {
				it := got[old.Code]
				var coop []string
				for _, id := range old.CooperatingUnitIDs {
					coop = append(coop, byOld[id])
				}
				if it.Title != old.Title || it.Description != old.Description || it.Source != old.Source || it.Category != old.Category ||
					it.Area != old.Area || it.Target != old.Target || it.Measures != old.Measures ||
					it.ResponsibleUnitID != byOld[old.ResponsibleUnitID] || !slices.Equal(it.CooperatingUnitIDs, append(models.StringList{}, coop...)) ||
					it.FirstResponsible != old.FirstResponsible || it.SpecificResponsible != old.SpecificResponsible ||
					!it.Deadline.Equal(old.Deadline) || it.SupervisionLevel != old.SupervisionLevel || it.KeyItem != old.KeyItem ||
					it.PublicSummary != old.PublicSummary {
					t.Errorf("%s came back as\n%+v\nfrom\n%+v", old.Code, it, old)
				}
			}
			// Importing it again changes nothing: the items are found by
			// their codes and are as the file says.
			rep, err = itemsvc.New(fresh).ImportItems(ctx, system, imp.Rows, itemsvc.ImportOptions{})
			if err != nil || rep.Unchanged != 3 || rep.Created+rep.Updated != 0 {
				t.Errorf("second import: %v %+v", err, rep)
			}
		})
	}
}
