package sheets

import (
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// The dispatch report's sheets.
const (
	DispatchUnitsSheet      = "按单位"
	DispatchUnitCatSheet    = "按单位和类别"
	DispatchCategoriesSheet = "按类别"
	DispatchProgressSheet   = "进展情况"
	DispatchExtensionsSheet = "延期情况"
)

// countHeaders head the figures of a group, in countCells' order.
func countHeaders() []string {
	h := []string{"问题总数"}
	for _, st := range models.ItemMachine.Statuses() {
		h = append(h, label(st))
	}
	return append(h, "本期销号", "逾期", "本期验收退回", "长期坚持", "已延期")
}

func countCells(c reporting.DispatchCounts) []any {
	out := []any{c.Items}
	for _, st := range models.ItemMachine.Statuses() {
		out = append(out, c.ByStatus[st])
	}
	return append(out, c.NewlyClosed, c.Overdue, c.Rejected, c.OpenEnded, c.Extended)
}

// WriteDispatch writes the dispatch report as an XLSX workbook: the
// figures by unit, by unit and category and by category, and the
// progress notes of the period, each sheet under a title row that names
// the period.
func WriteDispatch(out io.Writer, rep reporting.DispatchReport, loc *time.Location) error {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	last := rep.End.In(loc).AddDate(0, 0, -1)
	title := fmt.Sprintf("督察整改调度表 %s 至 %s（统计截至 %s）", rep.Start.In(loc).Format(time.DateOnly),
		last.Format(time.DateOnly), rep.AsOf.In(loc).Format(minuteLayout))
	unitName := map[string]string{}
	for _, u := range rep.Units {
		unitName[u.UnitID] = u.UnitName
	}
	var (
		byUnit, byUnitCat, byCat [][]any
		progress                 [][]any
	)
	for _, u := range rep.Units {
		byUnit = append(byUnit, append([]any{u.UnitName, u.UnitCode}, countCells(u.DispatchCounts)...))
		for _, c := range u.Categories {
			byUnitCat = append(byUnitCat, append([]any{u.UnitName, c.Category}, countCells(c.DispatchCounts)...))
		}
	}
	byUnit = append(byUnit, append([]any{"合计", ""}, countCells(rep.Total)...))
	for _, c := range rep.Categories {
		byCat = append(byCat, append([]any{c.Category}, countCells(c.DispatchCounts)...))
	}
	byCat = append(byCat, append([]any{"合计"}, countCells(rep.Total)...))
	for _, p := range rep.Progress {
		for _, n := range p.Notes {
			progress = append(progress, []any{p.Code, p.Title, unitName[p.UnitID], p.Category, p.Total,
				xlsxTime(when{t: n.At}, loc, st), label(n.Kind), n.Author, label(n.Conclusion), excelize.Cell{StyleID: st.text, Value: n.Text}})
		}
	}
	var extensions [][]any
	day := func(t time.Time) any { return xlsxTime(when{t: t, deadline: true}, loc, st) }
	for _, e := range rep.Extensions {
		decided := any(nil)
		if e.DecidedAt != nil {
			decided = xlsxTime(when{t: *e.DecidedAt}, loc, st)
		}
		extensions = append(extensions, []any{e.Code, e.Title, unitName[e.UnitID], label(e.Status), day(e.OriginalDeadline),
			day(e.PreviousDeadline), day(e.RequestedDeadline), excelize.Cell{StyleID: st.text, Value: e.Reason},
			xlsxTime(when{t: e.RequestedAt}, loc, st), decided})
	}
	sheets := []struct {
		name    string
		headers []string
		widths  []float64
		rows    [][]any
	}{
		{DispatchUnitsSheet, append([]string{"责任单位", "单位编码"}, countHeaders()...), []float64{24, 14}, byUnit},
		{DispatchUnitCatSheet, append([]string{"责任单位", "问题类别"}, countHeaders()...), []float64{24, 14}, byUnitCat},
		{DispatchCategoriesSheet, append([]string{"问题类别"}, countHeaders()...), []float64{16}, byCat},
		{DispatchProgressSheet, []string{"问题编号", "问题名称", "责任单位", "问题类别", "本期记录数", "时间", "类型", "记录人", "核查结论", "内容"},
			[]float64{14, 30, 20, 12, 10, 18, 10, 10, 12, 60}, progress},
		{DispatchExtensionsSheet, []string{"问题编号", "问题名称", "责任单位", "审批状态", "原整改时限", "申请前时限", "申请延至", "延期理由", "申请时间", "审批时间"},
			[]float64{14, 30, 20, 10, 12, 12, 12, 40, 18, 18}, extensions},
	}
	for i, s := range sheets {
		if i == 0 {
			err = f.SetSheetName("Sheet1", s.name)
		} else {
			_, err = f.NewSheet(s.name)
		}
		if err != nil {
			return err
		}
		if err := printSetup(f, s.name, paperA4, 2); err != nil {
			return err
		}
		if err := writeTable(f, s.name, title, s.headers, s.widths, s.rows, st); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(out)
	return err
}

// writeTable streams one sheet: the title, the headings, the rows.
func writeTable(f *excelize.File, sheet, title string, headers []string, widths []float64, rows [][]any, st xlsxStyles) error {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for i := range headers {
		w := 10.0
		if i < len(widths) {
			w = widths[i]
		}
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{excelize.Cell{Value: title}}); err != nil {
		return err
	}
	head := make([]any, len(headers))
	for i, h := range headers {
		head[i] = excelize.Cell{StyleID: st.header, Value: h}
	}
	if err := sw.SetRow("A2", head, excelize.RowOpts{Height: 30}); err != nil {
		return err
	}
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+3)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}
