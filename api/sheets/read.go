package sheets

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// Import is what ReadItems found in a file.
type Import struct {
	Rows []items.ImportRow
	// Unknown are the headings of columns that are not ledger columns;
	// they are not read.
	Unknown []string
}

// MaxUpload bounds an uploaded ledger, through the API or the console:
// ten thousand rows of long text fit well within it.
const MaxUpload = 32 << 20

// headerSearch is how many rows from the top the heading row may be:
// people's ledgers often have a title row or two above it.
const headerSearch = 10

// ReadItems reads the items of an XLSX ledger with the ledger's columns,
// from the sheet named 台账, or else the first sheet. The heading row is
// the first row of the first ten that names the code column. Cells are
// read as stored, not as displayed, so a date typed in Excel is read as a
// date whatever its display format; a date without a time is the end of
// that day in loc. Columns the import does not read (status, progress and
// the like) are skipped. A cell that cannot be read is an error of its
// row, not of the file; a file that is not a ledger is an error.
func ReadItems(r io.Reader, loc *time.Location) (Import, error) {
	var out Import
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true})
	if err != nil {
		return out, fmt.Errorf("not an XLSX file: %w", err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	for _, name := range f.GetSheetList() {
		if name == LedgerSheet {
			sheet = name
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	out, err = readTable(sheet, func() ([]string, bool, error) {
		if !rows.Next() {
			return nil, false, rows.Error()
		}
		cells, err := rows.Columns()
		return cells, true, err
	}, loc)
	return out, err
}

// ReadItemsCSV reads the items of a CSV ledger (UTF-8, with or without
// the byte order mark Excel writes) as ReadItems does an XLSX one; dates
// are text in one of the forms people write them.
func ReadItemsCSV(r io.Reader, loc *time.Location) (Import, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	return readTable("CSV", func() ([]string, bool, error) {
		cells, err := cr.Read()
		if err == io.EOF {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("not a CSV file: %w", err)
		}
		if !utf8.ValidString(strings.Join(cells, "")) {
			return nil, false, errors.New("the file is not UTF-8; save it as \"CSV UTF-8\"")
		}
		return cells, true, nil
	}, loc)
}

// readTable reads a ledger's rows from next, which returns each row's
// cells until it reports no more.
func readTable(sheet string, next func() ([]string, bool, error), loc *time.Location) (Import, error) {
	var out Import
	var cols []*Column // by position in the file; nil for a column not read
	for n := 1; ; n++ {
		cells, ok, err := next()
		if err != nil {
			return out, fmt.Errorf("row %d: %w", n, err)
		}
		if !ok {
			break
		}
		if cols == nil {
			if n > headerSearch {
				return out, fmt.Errorf("sheet %s: no heading row with %q in its first %d rows", sheet, headerOf("code"), headerSearch)
			}
			if cols, err = headings(cells, &out); err != nil {
				return out, fmt.Errorf("sheet %s, row %d: %w", sheet, n, err)
			}
			continue
		}
		if blank(cells) {
			continue
		}
		if len(out.Rows) == items.MaxImportRows {
			return out, fmt.Errorf("sheet %s has more than %d rows; split it", sheet, items.MaxImportRows)
		}
		out.Rows = append(out.Rows, readRow(n, cells, cols, loc))
	}
	if cols == nil {
		return out, fmt.Errorf("sheet %s has no heading row with %q", sheet, headerOf("code"))
	}
	return out, nil
}

// headings maps a row of headings to columns; it returns nil, nil when
// the row is not the heading row.
func headings(cells []string, imp *Import) ([]*Column, error) {
	byName := map[string]*Column{}
	for i := range Columns {
		c := &Columns[i]
		byName[c.Header], byName[c.Key] = c, c
	}
	cols := make([]*Column, len(cells))
	seen := map[string]bool{}
	isHeader := false
	var unknown []string
	for i, h := range cells {
		h = strings.TrimSpace(h)
		c, ok := byName[h]
		switch {
		case h == "":
			continue
		case !ok:
			unknown = append(unknown, h)
			continue
		case seen[c.Key]:
			return nil, fmt.Errorf("the column %s is there twice", c.Header)
		}
		seen[c.Key] = true
		isHeader = isHeader || c.Key == "code"
		if c.set != nil {
			cols[i] = c
		}
	}
	if !isHeader {
		return nil, nil
	}
	var missing []string
	for _, c := range Columns {
		if c.Required && !seen[c.Key] {
			missing = append(missing, c.Header)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the columns %s are missing", strings.Join(missing, ", "))
	}
	imp.Unknown = unknown
	return cols, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// readRow reads one row's cells into an ImportRow; cells that cannot be
// read become errors of the row.
func readRow(n int, cells []string, cols []*Column, loc *time.Location) items.ImportRow {
	row := items.ImportRow{Row: n}
	for i, c := range cols {
		if c == nil {
			continue
		}
		v := ""
		if i < len(cells) {
			v = strings.TrimSpace(cells[i])
		}
		if err := c.set(&row, v, loc); err != nil {
			e := models.AsError(err)
			if e == nil {
				e = &models.Error{Code: models.CodeValidation, Message: err.Error()}
			}
			row.Errors = append(row.Errors, items.RowError{Row: n, Field: c.Field, Code: e.Code, Message: e.Message})
		}
	}
	return row
}

// headerOf is the heading of the column with the given key.
func headerOf(key string) string {
	for _, c := range Columns {
		if c.Key == key {
			return c.Header
		}
	}
	return key
}

// FieldHeader is the heading of the column an import reads the ItemInput
// member field from, to name it in messages; field itself when no column
// has it.
func FieldHeader(field string) string {
	for _, c := range Columns {
		if c.Field == field && field != "" {
			return c.Header
		}
	}
	return field
}

// dateLayouts are the ways people write a date, with and without a time.
var dateLayouts = []struct {
	layout   string
	dateOnly bool
}{
	{time.DateOnly, true}, {"2006/1/2", true}, {"2006.1.2", true}, {"2006-1-2", true}, {"2006年1月2日", true},
	{time.DateTime, false}, {"2006-01-02 15:04", false}, {"2006/1/2 15:04:05", false}, {"2006/1/2 15:04", false},
	{time.RFC3339, false},
}

var errNotADate = errors.New("not a date")

// sheetDateForms names, by example, the forms of dateLayouts a person is
// told to write; an Excel date cell is read too.
const sheetDateForms = "2026-12-31, 2026/12/31, 2026年12月31日, 2026-12-31 18:00"

// parseDateTime reads a date cell: an Excel date (a serial number of
// days) or text in one of dateLayouts. A date alone stays a date, for the
// item rules to place in the day (a deadline ends with its day).
func parseDateTime(v string, loc *time.Location) (*models.DateTime, error) {
	t, dateOnly, err := parseDate(v, loc)
	if err != nil {
		return nil, models.Errorf(models.CodeInvalidDate, "%q is not a date: write it as %s", v, sheetDateForms).
			With("Value", v, "Forms", sheetDateForms)
	}
	if dateOnly {
		return models.OnDate(t.Date()), nil
	}
	return models.At(t), nil
}

func parseDate(v string, loc *time.Location) (time.Time, bool, error) {
	if serial, err := strconv.ParseFloat(v, 64); err == nil {
		if serial <= 0 || serial > 2958465 { // 9999-12-31, Excel's last date
			return time.Time{}, false, errNotADate
		}
		t, err := excelize.ExcelDateToTime(serial, false)
		if err != nil {
			return time.Time{}, false, err
		}
		// The serial is the wall clock; float days are read to the
		// nearest second.
		t = t.Round(time.Second)
		_, frac := math.Modf(serial)
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc), frac == 0, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l.layout, v, loc); err == nil {
			return t, l.dateOnly, nil
		}
	}
	return time.Time{}, false, errNotADate
}
