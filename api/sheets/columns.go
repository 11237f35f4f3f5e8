package sheets

import (
	"fmt"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// Column is one column of the ledger. The export writes every column; an
// import reads the columns that have a Field and ignores the others.
type Column struct {
	// Key is the column's stable name, for programs; an import takes it
	// as a heading too.
	Key string
	// Header is the heading people read.
	Header string
	// Field is the ItemInput member (by its JSON name) the column fills
	// on import; empty for columns an import ignores, such as the status.
	Field string
	// Required columns must be in an imported file.
	Required bool
	width    float64
	get      func(r *reporting.LedgerRow, loc *time.Location) any
	set      func(row *items.ImportRow, cell string, loc *time.Location) error
}

// when is a time cell; a deadline at the very end of a day is shown as
// that date alone, as people write deadlines, and a date (an issue date)
// as its day alone.
type when struct {
	t        time.Time
	deadline bool
	date     bool
}

// Columns is the ledger's one column table, used by the export and the
// import alike. Keys are stable; headings and order may change.
var Columns = []Column{
	{Key: "seq", Header: "序号", width: 6},
	itemText("code", "问题编号", "code", true, 14,
		func(it *models.RectificationItem) string { return it.Code },
		func(in *items.ItemInput) **string { return &in.Code }),
	itemText("title", "问题名称", "title", true, 30,
		func(it *models.RectificationItem) string { return it.Title },
		func(in *items.ItemInput) **string { return &in.Title }),
	itemText("description", "问题描述", "description", false, 40,
		func(it *models.RectificationItem) string { return it.Description },
		func(in *items.ItemInput) **string { return &in.Description }),
	itemText("source", "问题来源", "source", true, 24,
		func(it *models.RectificationItem) string { return it.Source },
		func(in *items.ItemInput) **string { return &in.Source }),
	itemText("category", "问题类别", "category", true, 12,
		func(it *models.RectificationItem) string { return it.Category },
		func(in *items.ItemInput) **string { return &in.Category }),
	itemText("area", "所属领域", "area", false, 12,
		func(it *models.RectificationItem) string { return it.Area },
		func(in *items.ItemInput) **string { return &in.Area }),
	itemText("target", "整改目标", "target", true, 30,
		func(it *models.RectificationItem) string { return it.Target },
		func(in *items.ItemInput) **string { return &in.Target }),
	itemText("measures", "整改措施", "measures", true, 40,
		func(it *models.RectificationItem) string { return it.Measures },
		func(in *items.ItemInput) **string { return &in.Measures }),
	// An import takes the unit by its code when the code column has one,
	// by its code or name otherwise.
	{Key: "responsible_unit", Header: "责任单位", Field: "responsible_unit_id", Required: true, width: 20,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return r.ResponsibleUnit.Name },
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			if row.ResponsibleUnit == "" {
				row.ResponsibleUnit = v
			}
			return nil
		}},
	{Key: "responsible_unit_code", Header: "责任单位编码", Field: "responsible_unit_id", width: 14,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return r.ResponsibleUnit.Code },
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			if v != "" {
				row.ResponsibleUnit = v
			}
			return nil
		}},
	{Key: "cooperating_units", Header: "配合单位", Field: "cooperating_unit_ids", width: 24,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			names := make([]string, len(r.CooperatingUnits))
			for i, u := range r.CooperatingUnits {
				names[i] = u.Name
			}
			return strings.Join(names, unitSeparator)
		},
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			row.CooperatingUnits = splitUnits(v)
			return nil
		}},
	itemText("first_responsible", "第一责任人", "first_responsible", true, 12,
		func(it *models.RectificationItem) string { return it.FirstResponsible },
		func(in *items.ItemInput) **string { return &in.FirstResponsible }),
	itemText("specific_responsible", "具体责任人", "specific_responsible", false, 12,
		func(it *models.RectificationItem) string { return it.SpecificResponsible },
		func(in *items.ItemInput) **string { return &in.SpecificResponsible }),
	{Key: "issued_at", Header: "交办时间", Field: "issued_at", width: 12,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.Item.IssuedAt == nil {
				return nil
			}
			return when{t: *r.Item.IssuedAt, date: true}
		},
		set: func(row *items.ImportRow, v string, loc *time.Location) error {
			if v == "" {
				return nil
			}
			t, err := parseDateTime(v, loc)
			if err != nil {
				return err
			}
			row.Item.IssuedAt = t
			return nil
		}},
	// An open-ended item shows 长期坚持 here; an import takes that (or
	// 持续推进, 长期) as an open-ended item, reviewed quarterly unless the
	// 评估周期 column says otherwise.
	{Key: "deadline", Header: "整改时限", Field: "deadline", Required: true, width: 18,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.Item.ReviewCadence != "" {
				return openEnded
			}
			return when{t: r.Item.Deadline, deadline: true}
		},
		set: func(row *items.ImportRow, v string, loc *time.Location) error {
			if v == "" {
				return nil // the item rules say it is required
			}
			if openEndedWords[v] {
				if row.Item.ReviewCadence == nil {
					c := models.CadenceQuarterly
					row.Item.ReviewCadence = &c
				}
				return nil
			}
			t, err := parseDateTime(v, loc)
			if err != nil {
				return err
			}
			row.Item.Deadline = t
			return nil
		}},
	{Key: "review_cadence", Header: "评估周期", Field: "review_cadence", width: 10,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return label(r.Item.ReviewCadence) },
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			if v != "" {
				c := cadence(v)
				row.Item.ReviewCadence = &c
			}
			return nil
		}},
	{Key: "next_review", Header: "下次评估时间", width: 12,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.Item.ReviewCadence == "" {
				return nil
			}
			return when{t: r.Item.Deadline, deadline: true}
		}},
	{Key: "original_deadline", Header: "原整改时限", width: 12,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.Item.OriginalDeadline == nil {
				return nil
			}
			return when{t: *r.Item.OriginalDeadline, deadline: true}
		}},
	{Key: "extension", Header: "延期情况", width: 30,
		get: func(r *reporting.LedgerRow, loc *time.Location) any { return extensionText(r.Extension, loc) }},
	{Key: "supervision_level", Header: "督办级别", Field: "supervision_level", width: 10,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return label(r.Item.SupervisionLevel) },
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			if v != "" {
				l := level(v)
				row.Item.SupervisionLevel = &l
			}
			return nil
		}},
	{Key: "key_item", Header: "是否重点问题", Field: "key_item", width: 8,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return yesOrNo(r.Item.KeyItem) },
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			if v == "" {
				return nil
			}
			b, ok := yesNo[v]
			if !ok {
				return models.Errorf(models.CodeInvalidEnum, "%q is not 是 or 否", v)
			}
			row.Item.KeyItem = &b
			return nil
		}},
	itemText("public_summary", "信息公开摘要", "public_summary", false, 30,
		func(it *models.RectificationItem) string { return it.PublicSummary },
		func(in *items.ItemInput) **string { return &in.PublicSummary }),
	{Key: "status", Header: "整改状态", width: 10,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return label(r.Item.Status) }},
	{Key: "tasks_total", Header: "核查任务数", width: 8,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return r.TasksTotal }},
	{Key: "tasks_done", Header: "已完成核查任务数", width: 8,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return r.TasksDone }},
	{Key: "latest_progress", Header: "最新进展", width: 40,
		get: func(r *reporting.LedgerRow, loc *time.Location) any {
			if r.LatestNote == nil {
				return ""
			}
			return r.LatestNote.CreatedAt.In(loc).Format(minuteLayout) + " " + r.LatestNote.Text
		}},
	{Key: "overdue", Header: "是否逾期", width: 8,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return yesOrNo(r.Overdue) }},
	{Key: "overdue_days", Header: "逾期天数", width: 8,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return r.OverdueDays }},
	{Key: "escalated_at", Header: "升级督办时间", width: 18,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return optionalTime(r.Item.EscalatedAt) }},
	{Key: "closed_at", Header: "销号时间", width: 18,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return optionalTime(r.Item.ClosedAt) }},
	{Key: "last_verification_at", Header: "最近核查时间", width: 18,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.LastVerification == nil {
				return nil
			}
			return when{t: r.LastVerification.RecordedAt}
		}},
	{Key: "last_verification_conclusion", Header: "最近核查结论", width: 12,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.LastVerification == nil {
				return ""
			}
			return label(r.LastVerification.Conclusion)
		}},
	{Key: "last_inspector", Header: "核查人员", width: 10,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return r.Inspector }},
	{Key: "last_decision_at", Header: "最近验收时间", width: 18,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.LastDecision == nil {
				return nil
			}
			return when{t: r.LastDecision.CreatedAt}
		}},
	{Key: "last_decision", Header: "验收结果", width: 12,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.LastDecision == nil {
				return ""
			}
			return label(r.LastDecision.Kind)
		}},
	{Key: "last_decision_comment", Header: "验收意见", width: 30,
		get: func(r *reporting.LedgerRow, _ *time.Location) any {
			if r.LastDecision == nil {
				return ""
			}
			return r.LastDecision.Comment
		}},
}

// values are one row's cells, in column order; seq is the row's number
// in the ledger.
func values(r *reporting.LedgerRow, seq int, loc *time.Location) []any {
	out := make([]any, len(Columns))
	for i, c := range Columns {
		if c.get == nil {
			out[i] = seq
			continue
		}
		out[i] = c.get(r, loc)
	}
	return out
}

// itemText is a column of one of the item's text fields.
func itemText(key, header, field string, required bool, width float64,
	get func(*models.RectificationItem) string, in func(*items.ItemInput) **string) Column {
	return Column{Key: key, Header: header, Field: field, Required: required, width: width,
		get: func(r *reporting.LedgerRow, _ *time.Location) any { return get(&r.Item) },
		set: func(row *items.ImportRow, v string, _ *time.Location) error {
			// An empty cell is no value, so that a required one is
			// reported as missing.
			if v != "" {
				*in(&row.Item) = &v
			}
			return nil
		}}
}

func yesOrNo(b bool) string {
	if b {
		return yes
	}
	return no
}

func optionalTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return when{t: *t}
}

// unitSeparator joins cooperating units in one cell; an import also
// splits on the other separators people use.
const unitSeparator = "、"

func splitUnits(v string) []string {
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune("、，,;；\n", r) })
	out := []string{}
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// openEnded is what the deadline column shows of an open-ended item.
const openEnded = "长期坚持"

// openEndedWords are what an imported deadline cell may say of an
// open-ended item.
var openEndedWords = map[string]bool{openEnded: true, "持续推进": true, "长期": true, "长期推进": true}

// extensionText is the ledger's account of an item's latest extension.
func extensionText(e *models.DeadlineExtension, loc *time.Location) string {
	if e == nil {
		return ""
	}
	to := e.RequestedDeadline.In(loc).Format(time.DateOnly)
	from := e.PreviousDeadline.In(loc).Format(time.DateOnly)
	switch e.Status {
	case models.ExtensionApproved:
		return fmt.Sprintf("已批准延期：%s 延至 %s（%s）", from, to, e.Reason)
	case models.ExtensionRefused:
		return fmt.Sprintf("延期未获批准：申请延至 %s（%s）", to, e.DecisionComment)
	}
	return fmt.Sprintf("延期申请待审批：申请延至 %s（%s）", to, e.Reason)
}
