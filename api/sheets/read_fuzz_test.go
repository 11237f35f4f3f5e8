package sheets

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// storable is s as the item rules keep a text field, or false when they
// would refuse it (control characters among them: excelize writes U+FFFD
// for those).
func storable(s string) (string, bool) {
	s = strings.TrimSpace(s)
	return s, utf8.ValidString(s) && utf8.RuneCountInString(s) <= 2000 && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	})
}

// itemCode is the item rules' pattern for codes.
var itemCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// FuzzLedgerRoundTrip: a ledger row the server exports imports back as
// the same item, row for row (the round trip `fieldctl import items`
// promises for a ledger edited in Excel): every text exactly, the unit by
// its code, cooperating units by name, the deadline to the second, the
// supervision level and the key-item mark; and no row errors.
func FuzzLedgerRoundTrip(f *testing.F) {
	f.Add("DC-2024-017", "城北污水处理厂尾水排放口超标排放", "", "1. 截污纳管\n2. 建设湿地", "城北区人民政府", "CB", "城东区、城西区", int64(1798732799), uint8(1), true)
	f.Add("A.1_b", "=HYPERLINK(\"http://x\")", "+86 138", "@SUM(1)", "县", "CTY-A", "", int64(0), uint8(0), false)
	f.Add("X", "a\tb", "line\r\nbreak", "<b>&amp;</b>", "单位", "U1", "甲;乙", int64(4102444800), uint8(2), false)
	f.Add("X", "_x0041_", "_x005F_", "a_b", "单位", "U1", "", int64(1), uint8(2), false)
	f.Fuzz(func(t *testing.T, code, title, description, measures, unitName, unitCode, coop string, deadline int64, lvl uint8, key bool) {
		if !itemCode.MatchString(code) || !itemCode.MatchString(unitCode) {
			t.Skip()
		}
		var ok [5]bool
		title, ok[0] = storable(title)
		description, ok[1] = storable(description)
		measures, ok[2] = storable(measures)
		unitName, ok[3] = storable(unitName)
		coop, ok[4] = storable(coop)
		if slices.Contains(ok[:], false) || title == "" || measures == "" || unitName == "" || deadline < 0 || deadline > 253402300799 {
			t.Skip()
		}
		level := models.SupervisionLevels[int(lvl)%len(models.SupervisionLevels)]
		r := reporting.LedgerRow{
			Item: models.RectificationItem{Code: code, Title: title, Description: description, Source: "督察", Category: "水", Target: "达标",
				Measures: measures, FirstResponsible: "区长", Deadline: time.Unix(deadline, 0).UTC(), SupervisionLevel: level, KeyItem: key},
			ResponsibleUnit: models.Unit{Name: unitName, Code: unitCode},
		}
		for _, name := range splitUnits(coop) {
			r.CooperatingUnits = append(r.CooperatingUnits, models.Unit{Name: name})
		}
		w, err := NewLedgerXLSX(shanghai)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Row(&r); err != nil {
			t.Fatalf("export: %v", err)
		}
		var file bytes.Buffer
		if _, err := w.WriteTo(&file); err != nil {
			t.Fatalf("export: %v", err)
		}
		imp, err := ReadItems(bytes.NewReader(file.Bytes()), shanghai)
		if err != nil {
			t.Fatalf("the exported ledger does not import: %v", err)
		}
		if len(imp.Rows) != 1 || len(imp.Rows[0].Errors) > 0 {
			t.Fatalf("imported %d rows: %+v", len(imp.Rows), imp.Rows)
		}
		got := imp.Rows[0]
		for name, pair := range map[string][2]*string{
			"code": {&code, got.Item.Code}, "title": {&title, got.Item.Title}, "measures": {&measures, got.Item.Measures},
			"description": {&description, got.Item.Description},
		} {
			want, have := *pair[0], ""
			if pair[1] != nil {
				have = *pair[1]
			}
			if want != have {
				t.Errorf("%s exported as %q, imported as %q", name, want, have)
			}
		}
		if got.ResponsibleUnit != unitCode {
			t.Errorf("unit exported as %q, imported as %q", unitCode, got.ResponsibleUnit)
		}
		if names := splitUnits(coop); !slices.Equal(got.CooperatingUnits, names) {
			t.Errorf("cooperating units exported as %q, imported as %q", names, got.CooperatingUnits)
		}
		if got.Item.Deadline == nil || got.Item.Deadline.EndOfDay(shanghai).Sub(r.Item.Deadline).Abs() >= time.Second {
			t.Errorf("deadline exported as %v, imported as %v", r.Item.Deadline, got.Item.Deadline)
		}
		if got.Item.SupervisionLevel == nil || *got.Item.SupervisionLevel != level || got.Item.KeyItem == nil || *got.Item.KeyItem != key {
			t.Errorf("level %s and key %v imported as %v, %v", level, key, got.Item.SupervisionLevel, got.Item.KeyItem)
		}
	})
}

// xmlText reports whether s is made of characters XML 1.0 allows, the
// only ones a cell of an XLSX file can hold.
func xmlText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	})
}

// FuzzReadItems: whatever a workbook's cells hold, ReadItems reads the
// row (never the file) as wrong: one row back, with its number, each text
// cell as written, and a deadline either read or refused as invalid_date.
func FuzzReadItems(f *testing.F) {
	f.Add("A-1", "标题", "2026-12-31", "是", "重点督办", "甲、乙")
	f.Add("", "", "", "", "", "")
	f.Add("=1+1", "_x0041_", "46387.7083449074", "maybe", "urgent", ",,,;")
	f.Add("A-2", "t", "9999999999", "yes", "key", "")
	f.Fuzz(func(t *testing.T, code, title, deadline, key, level, coop string) {
		for _, c := range []string{code, title, deadline, key, level, coop} {
			if !xmlText(c) {
				t.Skip() // an XLSX cannot hold it (excelize writes U+FFFD)
			}
		}
		x := excelize.NewFile()
		defer x.Close()
		heads := []any{headerOf("code"), headerOf("title"), headerOf("deadline"), headerOf("key_item"), headerOf("supervision_level"),
			headerOf("cooperating_units"), headerOf("source"), headerOf("category"), headerOf("target"), headerOf("measures"),
			headerOf("responsible_unit"), headerOf("first_responsible")}
		row := []any{code, title, deadline, key, level, coop, "s", "c", "t", "m", "u", "p"}
		// The stream writer, as the ledger export: it escapes text that
		// looks like OOXML's _xHHHH_ escapes, which SetSheetRow does not.
		sw, err := x.NewStreamWriter("Sheet1")
		if err != nil {
			t.Fatal(err)
		}
		if sw.SetRow("A1", heads) != nil || sw.SetRow("A2", row) != nil || sw.Flush() != nil {
			t.Skip() // excelize refuses the value (too long for a cell)
		}
		var file bytes.Buffer
		if _, err := x.WriteTo(&file); err != nil {
			t.Skip()
		}
		imp, err := ReadItems(bytes.NewReader(file.Bytes()), shanghai)
		if err != nil {
			t.Fatalf("a workbook with a heading row failed as a file: %v", err)
		}
		if len(imp.Rows) != 1 || imp.Rows[0].Row != 2 {
			t.Fatalf("read %+v, want row 2", imp.Rows)
		}
		got := imp.Rows[0]
		if want := strings.TrimSpace(title); want != "" && (got.Item.Title == nil || *got.Item.Title != want) {
			t.Errorf("title %q read as %q", want, deref(got.Item.Title))
		}
		var dateErr bool
		for _, e := range got.Errors {
			switch {
			case e.Field == "deadline" && e.Code == models.CodeInvalidDate:
				dateErr = true
			case e.Field == "key_item" && e.Code == models.CodeInvalidEnum:
			default:
				t.Errorf("row error %+v", e)
			}
		}
		if hasDate := got.Item.Deadline != nil; strings.TrimSpace(deadline) != "" && !openEndedWords[strings.TrimSpace(deadline)] && hasDate == dateErr {
			t.Errorf("deadline %q: read %v, error %v", deadline, got.Item.Deadline, dateErr)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
