package sheets

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/models/reporting"
)

// LedgerSheet is the name of the ledger's worksheet.
const LedgerSheet = "台账"

const (
	minuteLayout = "2006-01-02 15:04"
	secondLayout = time.DateTime
)

// endOfDay reports whether t is the last second of its day: a deadline
// given as a date alone.
func endOfDay(t time.Time) bool {
	return t.Hour() == 23 && t.Minute() == 59 && t.Second() == 59
}

// LedgerXLSX writes the ledger as an XLSX workbook. Rows go through
// excelize's StreamWriter, which keeps a bounded buffer in memory and the
// rest in a temporary file, so a ledger of any length needs little memory.
// Call Row for each item, then WriteTo, and Close in any case.
type LedgerXLSX struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	loc    *time.Location
	rows   int
	styles xlsxStyles
}

type xlsxStyles struct{ header, text, date, minute, second int }

// NewLedgerXLSX starts a ledger whose times are shown in loc.
func NewLedgerXLSX(loc *time.Location) (*LedgerXLSX, error) {
	f := excelize.NewFile()
	w := &LedgerXLSX{f: f, loc: loc}
	if err := w.start(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func (w *LedgerXLSX) start() error {
	if err := w.f.SetSheetName("Sheet1", LedgerSheet); err != nil {
		return err
	}
	var err error
	if w.styles, err = newStyles(w.f); err != nil {
		return err
	}
	if err := printSetup(w.f, LedgerSheet, paperA3, 1); err != nil {
		return err
	}
	if w.sw, err = w.f.NewStreamWriter(LedgerSheet); err != nil {
		return err
	}
	for i, c := range Columns {
		if err := w.sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	// The heading row and the code and title stay in view.
	if err := w.sw.SetPanes(&excelize.Panes{Freeze: true, XSplit: 3, YSplit: 1, TopLeftCell: "D2", ActivePane: "bottomRight"}); err != nil {
		return err
	}
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = excelize.Cell{StyleID: w.styles.header, Value: c.Header}
	}
	return w.sw.SetRow("A1", header, excelize.RowOpts{Height: 30})
}

func newStyles(f *excelize.File) (xlsxStyles, error) {
	var s xlsxStyles
	for _, st := range []struct {
		dst   *int
		style excelize.Style
	}{
		{&s.header, excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		{&s.text, excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}}},
		{&s.date, excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd"), Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&s.minute, excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm"), Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&s.second, excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm:ss"), Alignment: &excelize.Alignment{Vertical: "top"}}},
	} {
		id, err := f.NewStyle(&st.style)
		if err != nil {
			return s, err
		}
		*st.dst = id
	}
	return s, nil
}

func ptr[T any](v T) *T { return &v }

// Paper sizes (the spreadsheet's numbers for them).
const (
	paperA3 = 8
	paperA4 = 9
)

// printSetup makes a sheet print the way a 台账 is printed: landscape, as
// wide as one page, with the heading rows (1 to headRows) on every page.
// It must come before the sheet's StreamWriter, which writes these
// settings out from the sheet as it finds it.
func printSetup(f *excelize.File, sheet string, paper, headRows int) error {
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: ptr(true)}); err != nil {
		return err
	}
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: ptr(paper), Orientation: ptr("landscape"),
		FitToWidth: ptr(1), FitToHeight: ptr(0)}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", Scope: sheet,
		RefersTo: fmt.Sprintf("'%s'!$1:$%d", sheet, headRows)})
}

// Row adds one item.
func (w *LedgerXLSX) Row(r *reporting.LedgerRow) error {
	w.rows++
	vals := values(r, w.rows, w.loc)
	cells := make([]any, len(vals))
	for i, v := range vals {
		cells[i] = w.cell(v)
	}
	cell, err := excelize.CoordinatesToCellName(1, w.rows+1)
	if err != nil {
		return err
	}
	return w.sw.SetRow(cell, cells)
}

func (w *LedgerXLSX) cell(v any) any {
	switch v := v.(type) {
	case string:
		return excelize.Cell{StyleID: w.styles.text, Value: v}
	case when:
		return xlsxTime(v, w.loc, w.styles)
	}
	return v
}

// xlsxTime is a date cell: Excel keeps the wall-clock time of the zone.
func xlsxTime(v when, loc *time.Location, st xlsxStyles) excelize.Cell {
	t := v.t.In(loc)
	switch {
	case v.date, v.deadline && endOfDay(t):
		return excelize.Cell{StyleID: st.date, Value: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)}
	case v.deadline:
		return excelize.Cell{StyleID: st.second, Value: t}
	}
	return excelize.Cell{StyleID: st.minute, Value: t}
}

// WriteTo ends the ledger and writes the workbook to out.
func (w *LedgerXLSX) WriteTo(out io.Writer) (int64, error) {
	if w.rows > 0 {
		// A table gives the heading row filter buttons.
		last, err := excelize.CoordinatesToCellName(len(Columns), w.rows+1)
		if err != nil {
			return 0, err
		}
		if err := w.sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: "ledger", StyleName: "TableStyleLight9"}); err != nil {
			return 0, err
		}
	}
	if err := w.sw.Flush(); err != nil {
		return 0, err
	}
	return w.f.WriteTo(out)
}

// Close removes the temporary files.
func (w *LedgerXLSX) Close() error { return w.f.Close() }

// LedgerCSV writes the ledger as CSV: UTF-8 with a byte order mark, so
// that Excel reads the Chinese text, and the same columns as the XLSX.
type LedgerCSV struct {
	w    *csv.Writer
	loc  *time.Location
	rows int
}

// bom is the UTF-8 byte order mark.
const bom = "\uFEFF"

// NewLedgerCSV writes the heading row to out.
func NewLedgerCSV(out io.Writer, loc *time.Location) (*LedgerCSV, error) {
	if _, err := io.WriteString(out, bom); err != nil {
		return nil, err
	}
	w := &LedgerCSV{w: csv.NewWriter(out), loc: loc}
	header := make([]string, len(Columns))
	for i, c := range Columns {
		header[i] = c.Header
	}
	return w, w.w.Write(header)
}

// Row adds one item.
func (w *LedgerCSV) Row(r *reporting.LedgerRow) error {
	w.rows++
	vals := values(r, w.rows, w.loc)
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = csvCell(v, w.loc)
	}
	return w.w.Write(rec)
}

// Flush writes what is buffered.
func (w *LedgerCSV) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

func csvCell(v any, loc *time.Location) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return defuse(v)
	case int:
		return strconv.Itoa(v)
	case when:
		t := v.t.In(loc)
		switch {
		case v.date, v.deadline && endOfDay(t):
			return t.Format(time.DateOnly)
		case v.deadline:
			return t.Format(secondLayout)
		}
		return t.Format(minuteLayout)
	}
	return fmt.Sprint(v)
}

// defuse keeps a spreadsheet from running text as a formula (CSV
// injection): text that starts like one gets a leading apostrophe, which
// Excel shows as text. The XLSX needs none: its cells are typed.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
